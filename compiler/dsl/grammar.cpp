// The PEGTL 3.2.7 grammar of the .wf language: expressions, string literals and
// every statement a line can hold. This is the only translation unit that
// includes PEGTL, so its template cost is paid once.
//
// Parsing works on one logical line at a time (layout.cpp finds them). Actions
// push typed tokens into a LineState; expression actions build ir::Expr trees on
// a value stack. The grammar avoids backtracking over rules that carry actions
// (lookahead with at<> where two forms share a prefix), so actions never leave
// stale values behind.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tao/pegtl.hpp>

#include "compiler/dsl/expr_parser.h"
#include "compiler/dsl/statement.h"

namespace waflow::dsl {

namespace {

namespace pg = tao::pegtl;

// Deeper nesting than this is refused with a diagnostic, before the stack runs out.
constexpr std::size_t kMaxDepth = 64;

struct Frame {
  std::size_t base = 0;
  std::string name;
  std::size_t keys_base = 0;
  SourceSpan span;
};

struct LineState {
  FileId file = kNoFile;
  const char* base = nullptr;  // Byte 0 of the file.
  Statement statement;
  std::vector<ir::Expr> values;
  std::vector<std::string> ops;
  std::vector<Frame> frames;
  std::vector<std::string> keys;
  std::size_t depth = 0;
  Diagnostics* diags = nullptr;

  template <typename Input>
  SourceSpan span_of(const Input& in) const {
    return {file, static_cast<std::uint32_t>(in.begin() - base),
            static_cast<std::uint32_t>(in.end() - base)};
  }
  ir::Expr pop() {
    ir::Expr e = std::move(values.back());
    values.pop_back();
    return e;
  }
};

// --- Lexical rules -----------------------------------------------------------

struct Comment : pg::seq<pg::one<'#'>, pg::until<pg::at<pg::sor<pg::eol, pg::eof>>>> {};
struct Space : pg::sor<pg::one<' ', '\t', '\r', '\n'>, Comment> {};
struct Sp : pg::star<Space> {};
struct Sp1 : pg::plus<Space> {};

struct IdentFirst : pg::ranges<'a', 'z', 'A', 'Z', '_'> {};
struct IdentOther : pg::ranges<'a', 'z', 'A', 'Z', '0', '9', '_'> {};
struct IdentChars : pg::seq<IdentFirst, pg::star<IdentOther>> {};
struct NameChars
    : pg::seq<IdentFirst,
              pg::star<pg::sor<pg::ranges<'a', 'z', 'A', 'Z', '0', '9'>, pg::one<'_', '-'>>>> {};

template <typename... Words>
struct KeywordOf : pg::seq<pg::sor<Words...>, pg::not_at<IdentOther>> {};

// Escapes and string bodies. Cooking happens in the action, which reports bad
// escapes; the grammar only finds where the string ends.
struct Escape : pg::seq<pg::one<'\\'>, pg::any> {};
struct TripleQuote : pg::string<'"', '"', '"'> {};
struct TripleBody : pg::star<pg::sor<Escape, pg::seq<pg::not_at<TripleQuote>, pg::any>>> {};
struct TripleString : pg::seq<TripleQuote, TripleBody, TripleQuote> {};
struct DoubleBody : pg::star<pg::sor<Escape, pg::not_one<'"', '\n'>>> {};
struct DoubleString : pg::seq<pg::one<'"'>, DoubleBody, pg::one<'"'>> {};
struct SingleBody : pg::star<pg::sor<Escape, pg::not_one<'\'', '\n'>>> {};
struct SingleString : pg::seq<pg::one<'\''>, SingleBody, pg::one<'\''>> {};
struct Str : pg::sor<TripleString, DoubleString, SingleString> {};

struct Digits : pg::plus<pg::digit> {};
struct Fraction : pg::seq<pg::one<'.'>, Digits> {};
struct Exponent : pg::seq<pg::one<'e', 'E'>, pg::opt<pg::one<'+', '-'>>, Digits> {};
struct NumberChars : pg::seq<Digits, pg::opt<Fraction>, pg::opt<Exponent>, pg::not_at<IdentOther>> {
};
struct Num : NumberChars {};
struct SignedNum : pg::seq<pg::opt<pg::one<'-'>>, NumberChars> {};
struct DurUnit : pg::sor<pg::string<'m', 's'>, pg::one<'s', 'm', 'h', 'd', 'w'>> {};
struct Dur : pg::seq<pg::plus<Digits, DurUnit>, pg::not_at<IdentOther>> {};

struct Name : pg::sor<NameChars> {};
struct ScopedName : pg::seq<IdentChars, pg::opt<pg::one<'.'>, IdentChars>> {};
struct Var : ScopedName {};
struct Colon : pg::one<':'> {};

// --- Expressions ---------------------------------------------------------------

struct Expr;
struct KwTrue : KeywordOf<pg::string<'t', 'r', 'u', 'e'>> {};
struct KwFalse : KeywordOf<pg::string<'f', 'a', 'l', 's', 'e'>> {};
struct KwNull : KeywordOf<pg::string<'n', 'u', 'l', 'l'>> {};
struct KwAnd : KeywordOf<pg::string<'a', 'n', 'd'>> {};
struct KwOr : KeywordOf<pg::string<'o', 'r'>> {};
struct KwNot : KeywordOf<pg::string<'n', 'o', 't'>> {};
struct KwContains : KeywordOf<pg::string<'c', 'o', 'n', 't', 'a', 'i', 'n', 's'>> {};
struct KwMatches : KeywordOf<pg::string<'m', 'a', 't', 'c', 'h', 'e', 's'>> {};
struct Reserved : pg::sor<KwTrue, KwFalse, KwNull, KwAnd, KwOr, KwNot, KwContains, KwMatches> {};

struct ExprString : Str {};
struct ExprNumber : NumberChars {};
struct ExprDuration : Dur {};
struct ExprTrue : KwTrue {};
struct ExprFalse : KwFalse {};
struct ExprNull : KwNull {};
struct ExprIdent : pg::seq<pg::not_at<Reserved>, IdentChars> {};

struct CallOpen : pg::one<'('> {};
struct CallArgs : pg::opt<Expr, pg::star<Sp, pg::one<','>, Sp, pg::must<Expr>>> {};
struct CallClose : pg::one<')'> {};
struct CallTail : pg::seq<CallOpen, Sp, CallArgs, Sp, pg::must<CallClose>> {};
struct IdentOrCall : pg::seq<ExprIdent, pg::opt<CallTail>> {};

struct ListOpen : pg::one<'['> {};
struct ListClose : pg::one<']'> {};
// A trailing comma is allowed: an item after a comma is optional.
struct ListItems : pg::opt<Expr, pg::star<Sp, pg::one<','>, Sp, Expr>, pg::opt<Sp, pg::one<','>>> {
};
struct ListLit : pg::seq<ListOpen, Sp, ListItems, Sp, pg::must<ListClose>> {};

struct ObjectKeyString : Str {};
struct ObjectKey : pg::sor<ObjectKeyString, IdentChars> {};
struct ObjectEntry : pg::seq<ObjectKey, Sp, pg::must<pg::one<':'>>, Sp, pg::must<Expr>> {};
struct ObjectOpen : pg::one<'{'> {};
struct ObjectClose : pg::one<'}'> {};
struct ObjectItems
    : pg::opt<ObjectEntry, pg::star<Sp, pg::one<','>, Sp, ObjectEntry>, pg::opt<Sp, pg::one<','>>> {
};
struct ObjectLit : pg::seq<ObjectOpen, Sp, ObjectItems, Sp, pg::must<ObjectClose>> {};

struct ParenOpen : pg::one<'('> {};
struct Paren : pg::seq<ParenOpen, Sp, pg::must<Expr>, Sp, pg::must<pg::one<')'>>> {};

struct Primary : pg::sor<ExprString, ExprDuration, ExprNumber, ExprTrue, ExprFalse, ExprNull,
                         IdentOrCall, ListLit, ObjectLit, Paren> {};
struct MemberTail : pg::seq<pg::one<'.'>, pg::must<IdentChars>> {};
struct IndexTail : pg::seq<pg::one<'['>, Sp, pg::must<Expr>, Sp, pg::must<pg::one<']'>>> {};
struct Postfix : pg::seq<Primary, pg::star<pg::sor<MemberTail, IndexTail>>> {};

struct Unary;
struct NegOp : pg::one<'-'> {};
struct Negate : pg::seq<NegOp, Sp, pg::must<Unary>> {};
struct Unary : pg::sor<Negate, Postfix> {};

struct MulOp : pg::one<'*', '/', '%'> {};
struct MulTail : pg::seq<MulOp, Sp, pg::must<Unary>> {};
struct Mul : pg::seq<Unary, pg::star<Sp, MulTail>> {};
struct AddOp : pg::one<'+', '-'> {};
struct AddTail : pg::seq<AddOp, Sp, pg::must<Mul>> {};
struct Add : pg::seq<Mul, pg::star<Sp, AddTail>> {};
struct CmpOp : pg::sor<pg::string<'=', '='>, pg::string<'!', '='>, pg::string<'<', '='>,
                       pg::string<'>', '='>, pg::one<'<'>, pg::one<'>'>, KwContains, KwMatches> {};
struct CmpTail : pg::seq<CmpOp, Sp, pg::must<Add>> {};
struct Cmp : pg::seq<Add, pg::opt<Sp, CmpTail>> {};
struct NotLevel;
struct NotOp : pg::seq<KwNot, Sp, pg::must<NotLevel>> {};
struct NotLevel : pg::sor<NotOp, Cmp> {};
struct AndOp : KwAnd {};
struct AndTail : pg::seq<AndOp, Sp, pg::must<NotLevel>> {};
struct And : pg::seq<NotLevel, pg::star<Sp, AndTail>> {};
struct OrOp : KwOr {};
struct OrTail : pg::seq<OrOp, Sp, pg::must<And>> {};
struct Expr : pg::seq<And, pg::star<Sp, OrTail>> {};
struct ExprToken : Expr {};
struct WholeExpression : pg::seq<Sp, pg::must<Expr>, Sp, pg::must<pg::eof>> {};

// --- Statements -----------------------------------------------------------------

template <char... Cs>
struct Kw : KeywordOf<pg::string<Cs...>> {};
// A statement's leading keyword; its action records it.
template <typename K>
struct Key : K {};
// An option word inside a statement; its action pushes a Word token.
template <typename K>
struct Word : K {};

using KwFlow = Kw<'f', 'l', 'o', 'w'>;
using KwTimezone = Kw<'t', 'i', 'm', 'e', 'z', 'o', 'n', 'e'>;
using KwHours = Kw<'h', 'o', 'u', 'r', 's'>;
using KwTrigger = Kw<'t', 'r', 'i', 'g', 'g', 'e', 'r'>;
using KwPriority = Kw<'p', 'r', 'i', 'o', 'r', 'i', 't', 'y'>;
using KwVar = Kw<'v', 'a', 'r'>;
using KwTool = Kw<'t', 'o', 'o', 'l'>;
using KwParam = Kw<'p', 'a', 'r', 'a', 'm'>;
using KwRequest = Kw<'r', 'e', 'q', 'u', 'e', 's', 't'>;
using KwRemind = Kw<'r', 'e', 'm', 'i', 'n', 'd'>;
using KwAfter = Kw<'a', 'f', 't', 'e', 'r'>;
using KwLabel = Kw<'l', 'a', 'b', 'e', 'l'>;
using KwSay = Kw<'s', 'a', 'y'>;
using KwButton = Kw<'b', 'u', 't', 't', 'o', 'n'>;
using KwList = Kw<'l', 'i', 's', 't'>;
using KwSection = Kw<'s', 'e', 'c', 't', 'i', 'o', 'n'>;
using KwRow = Kw<'r', 'o', 'w'>;
using KwHeader = Kw<'h', 'e', 'a', 'd', 'e', 'r'>;
using KwFooter = Kw<'f', 'o', 'o', 't', 'e', 'r'>;
using KwImage = Kw<'i', 'm', 'a', 'g', 'e'>;
using KwAudio = Kw<'a', 'u', 'd', 'i', 'o'>;
using KwVideo = Kw<'v', 'i', 'd', 'e', 'o'>;
using KwDocument = Kw<'d', 'o', 'c', 'u', 'm', 'e', 'n', 't'>;
using KwSticker = Kw<'s', 't', 'i', 'c', 'k', 'e', 'r'>;
using KwCaption = Kw<'c', 'a', 'p', 't', 'i', 'o', 'n'>;
using KwFilename = Kw<'f', 'i', 'l', 'e', 'n', 'a', 'm', 'e'>;
using KwMime = Kw<'m', 'i', 'm', 'e'>;
using KwLocation = Kw<'l', 'o', 'c', 'a', 't', 'i', 'o', 'n'>;
using KwName = Kw<'n', 'a', 'm', 'e'>;
using KwAddress = Kw<'a', 'd', 'd', 'r', 'e', 's', 's'>;
using KwTemplate = Kw<'t', 'e', 'm', 'p', 'l', 'a', 't', 'e'>;
using KwLang = Kw<'l', 'a', 'n', 'g'>;
using KwTyping = Kw<'t', 'y', 'p', 'i', 'n', 'g'>;
using KwAsk = Kw<'a', 's', 'k'>;
using KwPattern = Kw<'p', 'a', 't', 't', 'e', 'r', 'n'>;
using KwOn = Kw<'o', 'n'>;
using KwInvalid = Kw<'i', 'n', 'v', 'a', 'l', 'i', 'd'>;
using KwRetry = Kw<'r', 'e', 't', 'r', 'y'>;
using KwTimeout = Kw<'t', 'i', 'm', 'e', 'o', 'u', 't'>;
using KwError = Kw<'e', 'r', 'r', 'o', 'r'>;
using KwAi = Kw<'a', 'i'>;
using KwReply = Kw<'r', 'e', 'p', 'l', 'y'>;
using KwInto = Kw<'i', 'n', 't', 'o'>;
using KwExtract = Kw<'e', 'x', 't', 'r', 'a', 'c', 't'>;
using KwClassify = Kw<'c', 'l', 'a', 's', 's', 'i', 'f', 'y'>;
using KwFrom = Kw<'f', 'r', 'o', 'm'>;
using KwModel = Kw<'m', 'o', 'd', 'e', 'l'>;
using KwFallback = Kw<'f', 'a', 'l', 'l', 'b', 'a', 'c', 'k'>;
using KwSystem = Kw<'s', 'y', 's', 't', 'e', 'm'>;
using KwPrompt = Kw<'p', 'r', 'o', 'm', 'p', 't'>;
using KwTemperature = Kw<'t', 'e', 'm', 'p', 'e', 'r', 'a', 't', 'u', 'r', 'e'>;
using KwHistory = Kw<'h', 'i', 's', 't', 'o', 'r', 'y'>;
using KwMaxTokens = Kw<'m', 'a', 'x', '_', 't', 'o', 'k', 'e', 'n', 's'>;
using KwBuffer = Kw<'b', 'u', 'f', 'f', 'e', 'r'>;
using KwTools = Kw<'t', 'o', 'o', 'l', 's'>;
using KwField = Kw<'f', 'i', 'e', 'l', 'd'>;
using KwOptional = Kw<'o', 'p', 't', 'i', 'o', 'n', 'a', 'l'>;
using KwIntent = Kw<'i', 'n', 't', 'e', 'n', 't'>;
using KwOther = Kw<'o', 't', 'h', 'e', 'r'>;
using KwIf = Kw<'i', 'f'>;
using KwElif = Kw<'e', 'l', 'i', 'f'>;
using KwElse = Kw<'e', 'l', 's', 'e'>;
using KwMatch = Kw<'m', 'a', 't', 'c', 'h'>;
using KwCase = Kw<'c', 'a', 's', 'e'>;
using KwSet = Kw<'s', 'e', 't'>;
using KwGoto = Kw<'g', 'o', 't', 'o'>;
using KwCall = Kw<'c', 'a', 'l', 'l'>;
using KwReturn = Kw<'r', 'e', 't', 'u', 'r', 'n'>;
using KwEnd = Kw<'e', 'n', 'd'>;
using KwStage = Kw<'s', 't', 'a', 'g', 'e'>;
using KwTag = Kw<'t', 'a', 'g'>;
using KwUntag = Kw<'u', 'n', 't', 'a', 'g'>;
using KwHttp = Kw<'h', 't', 't', 'p'>;
using KwJson = Kw<'j', 's', 'o', 'n'>;
using KwBody = Kw<'b', 'o', 'd', 'y'>;
using KwRetries = Kw<'r', 'e', 't', 'r', 'i', 'e', 's'>;
using KwMap = Kw<'m', 'a', 'p'>;
using KwStore = Kw<'s', 't', 'o', 'r', 'e'>;
using KwDelay = Kw<'d', 'e', 'l', 'a', 'y'>;
using KwHandoff = Kw<'h', 'a', 'n', 'd', 'o', 'f', 'f'>;
using KwQueue = Kw<'q', 'u', 'e', 'u', 'e'>;
using KwTz = Kw<'t', 'z'>;

struct Method : pg::seq<pg::plus<pg::upper>, pg::not_at<IdentOther>> {};
struct RestOfLine : pg::plus<pg::not_one<'#', '\n'>> {};
struct TypeAnnotation : pg::seq<Sp, Colon, Sp, pg::must<Name>> {};
struct Assign : pg::seq<Sp, pg::one<'='>, Sp> {};
struct TextArg : pg::seq<Sp1, Str> {};
template <typename K>
struct StrOption : pg::seq<Sp1, Word<K>, Sp1, pg::must<Str>> {};

struct FlowStmt : pg::seq<Key<KwFlow>, pg::must<Sp1, Name>, pg::opt<TextArg>> {};
struct TimezoneStmt : pg::seq<Key<KwTimezone>, pg::must<Sp1, Str>> {};
struct HoursStmt : pg::seq<Key<KwHours>, pg::must<Sp1, RestOfLine>> {};
struct TriggerOption : pg::sor<Str, pg::seq<Word<KwPriority>, Sp1, pg::must<Num>>,
                               pg::seq<Word<KwTz>, Sp1, pg::must<Str>>> {};
struct TriggerStmt : pg::seq<Key<KwTrigger>, pg::must<Sp1, Name>, pg::star<Sp1, TriggerOption>> {};
struct PriorityStmt : pg::seq<Key<KwPriority>, pg::must<Sp1, Num>> {};
struct VarStmt : pg::seq<Key<KwVar>, pg::must<Sp1, Var>, pg::opt<TypeAnnotation>,
                         pg::opt<Assign, pg::must<ExprToken>>> {};
struct ToolStmt : pg::seq<Key<KwTool>, pg::must<Sp1, Name>, pg::opt<TextArg>> {};
struct ParamDecl
    : pg::seq<Name, pg::opt<TypeAnnotation>, pg::opt<TextArg>, pg::opt<Sp1, Word<KwOptional>>> {};
struct ParamStmt : pg::seq<Key<KwParam>, pg::must<Sp1, pg::sor<Str, ParamDecl>>> {};
struct RequestStmt : pg::seq<Key<KwRequest>, pg::must<Sp1, Method, Sp1, Str>> {};
struct RemindStmt : pg::seq<Key<KwRemind>, pg::must<Sp1, Word<KwAfter>, Sp1, Dur, Sp1, Str>> {};
struct LabelStmt : pg::seq<Key<KwLabel>, pg::must<Sp1, Name>> {};
struct SayStmt : pg::seq<Key<KwSay>, pg::must<Sp1, Str>> {};
struct OptionId : pg::sor<Str, Name> {};
struct ButtonStmt : pg::seq<Key<KwButton>, pg::must<Sp1, OptionId, Sp1, Str>> {};
struct ListStmt : pg::seq<Key<KwList>, pg::must<Sp1, Str>> {};
struct SectionStmt : pg::seq<Key<KwSection>, pg::opt<TextArg>> {};
struct RowStmt : pg::seq<Key<KwRow>, pg::must<Sp1, OptionId, Sp1, Str>, pg::opt<TextArg>> {};
struct HeaderStmt : pg::seq<Key<KwHeader>, pg::must<Sp1, Str>, pg::opt<TextArg>> {};
struct FooterStmt : pg::seq<Key<KwFooter>, pg::must<Sp1, Str>> {};
struct MediaOption : pg::sor<StrOption<KwCaption>, StrOption<KwFilename>, StrOption<KwMime>> {};
struct MediaStmt : pg::seq<Key<pg::sor<KwImage, KwAudio, KwVideo, KwDocument, KwSticker>>,
                           pg::must<Sp1, Str>, pg::star<MediaOption>> {};
struct LocationOption : pg::sor<StrOption<KwName>, StrOption<KwAddress>> {};
struct LocationStmt
    : pg::seq<Key<KwLocation>, pg::must<Sp1, SignedNum, Sp1, SignedNum>, pg::star<LocationOption>> {
};
struct TemplateStmt : pg::seq<Key<KwTemplate>, pg::must<Sp1, Name>, pg::opt<StrOption<KwLang>>> {};
struct TypingStmt : pg::seq<Key<KwTyping>, pg::must<Sp1, Dur>> {};
struct AskStmt
    : pg::seq<Key<KwAsk>, pg::must<Sp1, Var>, pg::opt<TypeAnnotation>, pg::must<Sp1, Str>> {};
struct PatternStmt : pg::seq<Key<KwPattern>, pg::must<Sp1, Str>> {};
struct OnInvalid
    : pg::seq<Word<KwInvalid>,
              pg::star<Sp1, pg::sor<pg::seq<Word<KwRetry>, Sp1, pg::must<Num>>, Str>>> {};
struct OnTimeout : pg::seq<Word<KwTimeout>, pg::must<Sp1, Dur>> {};
struct OnStmt : pg::seq<Key<KwOn>, pg::must<Sp1, pg::sor<OnInvalid, OnTimeout, Word<KwError>>>> {};
struct AiReply : pg::seq<Word<KwReply>, pg::opt<Sp1, Word<KwInto>, Sp1, pg::must<Var>>> {};
struct AiExtract : pg::seq<Word<KwExtract>, pg::must<Sp1, Var>> {};
struct AiClassify : pg::seq<Word<KwClassify>, pg::must<Sp1, Var>,
                            pg::opt<Sp1, Word<KwFrom>, Sp1, pg::must<ExprToken>>> {};
struct AiStmt : pg::seq<Key<KwAi>, pg::must<Sp1, pg::sor<AiReply, AiExtract, AiClassify>>> {};
struct ModelStmt : pg::seq<Key<KwModel>, pg::must<Sp1, Str>> {};
struct FallbackStmt : pg::seq<Key<KwFallback>, pg::must<Sp1, Str>, pg::star<Sp1, Str>> {};
struct SystemStmt : pg::seq<Key<KwSystem>, pg::must<Sp1, Str>> {};
struct PromptStmt : pg::seq<Key<KwPrompt>, pg::must<Sp1, Str>> {};
struct TemperatureStmt : pg::seq<Key<KwTemperature>, pg::must<Sp1, SignedNum>> {};
struct HistoryStmt : pg::seq<Key<KwHistory>, pg::must<Sp1, SignedNum>> {};
struct MaxTokensStmt : pg::seq<Key<KwMaxTokens>, pg::must<Sp1, SignedNum>> {};
struct BufferStmt : pg::seq<Key<KwBuffer>, pg::must<Sp1, Dur>> {};
struct TimeoutStmt : pg::seq<Key<KwTimeout>, pg::must<Sp1, Dur>> {};
struct ToolsStmt : pg::seq<Key<KwTools>, pg::must<Sp1, Name>, pg::star<Sp1, Name>> {};
struct FieldStmt : pg::seq<Key<KwField>, pg::must<Sp1, Name>, pg::opt<TypeAnnotation>,
                           pg::opt<TextArg>, pg::opt<Sp1, Word<KwOptional>>> {};
struct IntentStmt : pg::seq<Key<KwIntent>, pg::must<Sp1, Name>, pg::opt<TextArg>> {};
struct OtherStmt : pg::seq<Key<KwOther>> {};
struct IfStmt : pg::seq<Key<KwIf>, pg::must<Sp1, ExprToken>> {};
struct ElifStmt : pg::seq<Key<KwElif>, pg::must<Sp1, ExprToken>> {};
struct ElseStmt : pg::seq<Key<KwElse>> {};
struct MatchStmt : pg::seq<Key<KwMatch>, pg::must<Sp1, ExprToken>> {};
struct CaseStmt : pg::seq<Key<KwCase>, pg::must<Sp1, ExprToken>,
                          pg::star<Sp, pg::one<','>, Sp, pg::must<ExprToken>>> {};
struct SetStmt : pg::seq<Key<KwSet>, pg::must<Sp1, Var, Sp, pg::one<'='>, Sp, ExprToken>> {};
struct GotoStmt : pg::seq<Key<KwGoto>, pg::must<Sp1, Name>> {};
struct CallStmt : pg::seq<Key<KwCall>, pg::must<Sp1, Name>> {};
struct ReturnStmt : pg::seq<Key<KwReturn>> {};
struct EndStmt : pg::seq<Key<KwEnd>> {};
struct StageStmt : pg::seq<Key<KwStage>, pg::must<Sp1, OptionId>> {};
struct TagStmt
    : pg::seq<Key<pg::sor<KwTag, KwUntag>>, pg::must<Sp1, OptionId>, pg::star<Sp1, OptionId>> {};
struct AssignTarget : pg::seq<Var, Assign> {};
struct HttpStmt : pg::seq<Key<KwHttp>, pg::must<Sp1>, pg::opt<pg::at<AssignTarget>, AssignTarget>,
                          pg::must<Method, Sp1, Str>> {};
struct JsonStmt : pg::seq<Key<KwJson>, pg::must<Sp1, ExprToken>> {};
struct BodyStmt : pg::seq<Key<KwBody>, pg::must<Sp1, Str>> {};
struct RetriesStmt : pg::seq<Key<KwRetries>, pg::must<Sp1, SignedNum>> {};
struct MapStmt : pg::seq<Key<KwMap>, pg::must<Sp1, Name, Sp, pg::one<'='>, Sp, Str>> {};
struct StoreStmt : pg::seq<Key<KwStore>, pg::must<Sp1>, pg::opt<pg::at<AssignTarget>, AssignTarget>,
                           pg::must<Name, Sp1, ExprToken>> {};
struct DelayStmt : pg::seq<Key<KwDelay>, pg::must<Sp1, Dur>> {};
struct HandoffOption : pg::sor<Str, pg::seq<Word<KwQueue>, Sp1, pg::must<Str>>> {};
struct HandoffStmt : pg::seq<Key<KwHandoff>, pg::star<Sp1, HandoffOption>> {};

// Longer keywords that share a prefix with shorter ones come first (tools/tool).
struct AnyStatement
    : pg::sor<FlowStmt, TimezoneStmt, HoursStmt, TriggerStmt, PriorityStmt, VarStmt, ToolsStmt,
              ToolStmt, ParamStmt, RequestStmt, RemindStmt, LabelStmt, SayStmt, ButtonStmt,
              ListStmt, SectionStmt, RowStmt, HeaderStmt, FooterStmt, MediaStmt, LocationStmt,
              TemplateStmt, TypingStmt, AskStmt, PatternStmt, OnStmt, AiStmt, ModelStmt,
              FallbackStmt, SystemStmt, PromptStmt, TemperatureStmt, HistoryStmt, MaxTokensStmt,
              BufferStmt, TimeoutStmt, FieldStmt, IntentStmt, OtherStmt, IfStmt, ElifStmt, ElseStmt,
              MatchStmt, CaseStmt, SetStmt, GotoStmt, CallStmt, ReturnStmt, EndStmt, StageStmt,
              TagStmt, HttpStmt, JsonStmt, BodyStmt, RetriesStmt, MapStmt, StoreStmt, DelayStmt,
              HandoffStmt> {};
struct EndOfLine : pg::eof {};
struct Line : pg::seq<AnyStatement, Sp, pg::must<EndOfLine>> {};

// --- Error messages ------------------------------------------------------------

template <typename Rule>
struct Expected {
  static constexpr const char* text = nullptr;
};
// Some rules are only ever reached through sor<> (ExpectedOr), so clang sees
// their text as unused.
#define WAFLOW_EXPECTED(rule, message)                            \
  template <>                                                     \
  struct Expected<rule> {                                         \
    [[maybe_unused]] static constexpr const char* text = message; \
  };
WAFLOW_EXPECTED(Expr, "an expression")
WAFLOW_EXPECTED(ExprToken, "an expression")
WAFLOW_EXPECTED(Unary, "a value")
WAFLOW_EXPECTED(Mul, "a value")
WAFLOW_EXPECTED(Add, "a value")
WAFLOW_EXPECTED(And, "a condition")
WAFLOW_EXPECTED(NotLevel, "a condition")
WAFLOW_EXPECTED(Str, "a quoted string")
WAFLOW_EXPECTED(Name, "a name (letters, digits, _ and -)")
WAFLOW_EXPECTED(IdentChars, "a field name")
WAFLOW_EXPECTED(Var, "a variable name")
WAFLOW_EXPECTED(Num, "a number")
WAFLOW_EXPECTED(SignedNum, "a number")
WAFLOW_EXPECTED(Dur, "a duration such as 30s, 5m, 2h or 1d")
WAFLOW_EXPECTED(Method, "an HTTP method such as GET or POST")
WAFLOW_EXPECTED(Sp1, "a space")
WAFLOW_EXPECTED(EndOfLine, "the end of the line")
WAFLOW_EXPECTED(CallClose, "')' to close the argument list")
WAFLOW_EXPECTED(ListClose, "']' to close the list")
WAFLOW_EXPECTED(ObjectClose, "'}' to close the object")
WAFLOW_EXPECTED(ObjectEntry, "a 'key: value' entry")
WAFLOW_EXPECTED(RestOfLine, "opening hours such as mon-fri 09:00-17:00")
WAFLOW_EXPECTED(OptionId, "an id or a quoted string")
WAFLOW_EXPECTED(pg::eof, "the end of the expression")
WAFLOW_EXPECTED(Word<KwAfter>, "'after'")
WAFLOW_EXPECTED(pg::one<')'>, "')'")
WAFLOW_EXPECTED(pg::one<']'>, "']'")
WAFLOW_EXPECTED(pg::one<':'>, "':'")
WAFLOW_EXPECTED(pg::one<'='>, "'='")
#undef WAFLOW_EXPECTED
template <typename Rule>
struct ExpectedOr {
  static constexpr const char* text = Expected<Rule>::text;
};
template <typename... Rules>
struct ExpectedOr<pg::sor<Rules...>> {
  static constexpr const char* text = "one of the allowed options";
};
template <>
struct ExpectedOr<pg::sor<OnInvalid, OnTimeout, Word<KwError>>> {
  static constexpr const char* text = "'invalid', 'timeout' or 'error'";
};
template <>
struct ExpectedOr<pg::sor<AiReply, AiExtract, AiClassify>> {
  static constexpr const char* text = "'reply', 'extract' or 'classify'";
};
template <>
struct ExpectedOr<pg::sor<Str, ParamDecl>> {
  static constexpr const char* text = "a parameter name or a quoted string";
};

// Rules whose nesting counts towards kMaxDepth.
template <typename Rule>
inline constexpr bool kCountsDepth = false;
template <>
inline constexpr bool kCountsDepth<Paren> = true;
template <>
inline constexpr bool kCountsDepth<ListLit> = true;
template <>
inline constexpr bool kCountsDepth<ObjectLit> = true;
template <>
inline constexpr bool kCountsDepth<CallTail> = true;
template <>
inline constexpr bool kCountsDepth<Negate> = true;
template <>
inline constexpr bool kCountsDepth<NotOp> = true;
template <>
inline constexpr bool kCountsDepth<IndexTail> = true;

template <typename Rule>
struct Control : pg::normal<Rule> {
  template <typename Input, typename... States>
  [[noreturn]] static void raise(const Input& in, States&&... /*unused*/) {
    const char* text = ExpectedOr<Rule>::text;
    throw pg::parse_error(std::string("expected ") + (text != nullptr ? text : "something else"),
                          in);
  }
  template <typename Input>
  static void start(const Input& in, LineState& state) {
    if constexpr (kCountsDepth<Rule>) {
      if (++state.depth > kMaxDepth) {
        throw pg::parse_error("nesting too deep", in);
      }
    }
  }
  template <typename Input>
  static void success(const Input& /*in*/, LineState& state) {
    if constexpr (kCountsDepth<Rule>) {
      --state.depth;
    }
  }
  template <typename Input>
  static void failure(const Input& /*in*/, LineState& state) {
    if constexpr (kCountsDepth<Rule>) {
      --state.depth;
    }
  }
};

// --- String cooking -------------------------------------------------------------

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Removes the indentation common to all non-blank lines of a """ string, and the
// line break right after the opening quotes and before the closing ones.
std::string dedent(std::string_view body) {
  if (!body.empty() && body.front() == '\n') {
    body.remove_prefix(1);
  }
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= body.size()) {
    const std::size_t nl = body.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(body.substr(start));
      break;
    }
    lines.push_back(body.substr(start, nl - start));
    start = nl + 1;
  }
  std::size_t common = std::string_view::npos;
  for (std::string_view line : lines) {
    const std::size_t indent = line.find_first_not_of(' ');
    if (indent != std::string_view::npos) {
      common = std::min(common, indent);
    }
  }
  if (common == std::string_view::npos) {
    common = 0;
  }
  // A last line of only spaces holds the closing quotes; drop it.
  if (lines.size() > 1 && lines.back().find_first_not_of(' ') == std::string_view::npos) {
    lines.pop_back();
  }
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      out += '\n';
    }
    std::string_view line = lines[i];
    out += line.substr(std::min(common, line.size()));
  }
  return out;
}

// Cooks the body of a string literal (without quotes) starting at `offset` in the
// file. Template escapes (\{) are kept, since templates read them later.
std::string cook(std::string_view body, std::uint32_t offset, FileId file, Diagnostics& diags) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i + 1 >= body.size()) {
      out += '\\';
      break;
    }
    const char e = body[++i];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case '"':
      case '\'':
      case '\\':
        out += e;
        break;
      case '{':
        out += "\\{";
        break;
      case 'u': {
        const std::size_t close = body.find('}', i);
        std::uint32_t cp = 0;
        bool ok = i + 1 < body.size() && body[i + 1] == '{' && close != std::string_view::npos;
        if (ok) {
          const char* first = body.data() + i + 2;
          const char* last = body.data() + close;
          auto [ptr, ec] = std::from_chars(first, last, cp, 16);
          ok = ec == std::errc() && ptr == last && first != last && cp <= 0x10FFFF &&
               !(cp >= 0xD800 && cp <= 0xDFFF);
        }
        if (!ok) {
          const auto at = static_cast<std::uint32_t>(offset + i - 1);
          diags.report(DiagnosticKind::InvalidEscape, SourceSpan{file, at, at + 2}, "\\u");
          break;
        }
        append_utf8(out, cp);
        i = close;
        break;
      }
      default: {
        const auto at = static_cast<std::uint32_t>(offset + i - 1);
        diags.report(DiagnosticKind::InvalidEscape, SourceSpan{file, at, at + 2},
                     std::string("\\") + e);
        out += e;
      }
    }
  }
  return out;
}

// Cooks a whole string literal token (quotes included).
std::string cook_literal(std::string_view literal, std::uint32_t offset, FileId file,
                         Diagnostics& diags) {
  if (literal.size() >= 6 && literal.substr(0, 3) == "\"\"\"") {
    const std::string body = dedent(literal.substr(3, literal.size() - 6));
    return cook(body, offset + 3, file, diags);
  }
  return cook(literal.substr(1, literal.size() - 2), offset + 1, file, diags);
}

double to_number(std::string_view text) {
  double value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// --- Actions ---------------------------------------------------------------------

template <typename Rule>
struct Action : pg::nothing<Rule> {};

void push_token(LineState& s, TokenKind kind, std::string text, SourceSpan span) {
  Token t;
  t.kind = kind;
  t.text = std::move(text);
  t.span = span;
  s.statement.tokens.push_back(std::move(t));
}

template <typename K>
struct Action<Key<K>> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    s.statement.keyword = in.string();
    s.statement.keyword_span = s.span_of(in);
  }
};

template <typename K>
struct Action<Word<K>> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    push_token(s, TokenKind::Word, in.string(), s.span_of(in));
  }
};

template <>
struct Action<Method> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    push_token(s, TokenKind::Word, in.string(), s.span_of(in));
  }
};

template <>
struct Action<Name> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    push_token(s, TokenKind::Name, in.string(), s.span_of(in));
  }
};

template <>
struct Action<Var> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    push_token(s, TokenKind::Var, in.string(), s.span_of(in));
  }
};

template <>
struct Action<Colon> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    push_token(s, TokenKind::Colon, ":", s.span_of(in));
  }
};

template <>
struct Action<Str> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    const SourceSpan span = s.span_of(in);
    push_token(s, TokenKind::Str, cook_literal(in.string_view(), span.begin, s.file, *s.diags),
               span);
  }
};

template <>
struct Action<Num> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    push_token(s, TokenKind::Num, in.string(), s.span_of(in));
    s.statement.tokens.back().number = to_number(in.string_view());
  }
};

template <>
struct Action<SignedNum> : Action<Num> {};

template <>
struct Action<Dur> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    push_token(s, TokenKind::Dur, in.string(), s.span_of(in));
  }
};

template <>
struct Action<RestOfLine> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    std::string text = in.string();
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
      text.pop_back();
    }
    SourceSpan span = s.span_of(in);
    span.end = span.begin + static_cast<std::uint32_t>(text.size());
    push_token(s, TokenKind::Raw, std::move(text), span);
  }
};

template <>
struct Action<ExprToken> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    Token t;
    t.kind = TokenKind::Expr;
    t.expr = s.pop();
    t.span = s.span_of(in);
    s.statement.tokens.push_back(std::move(t));
  }
};

ir::Expr make(ir::ExprKind kind, std::string text, SourceSpan span) {
  ir::Expr e;
  e.kind = kind;
  e.text = std::move(text);
  e.span = span;
  return e;
}

template <>
struct Action<ExprString> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    const SourceSpan span = s.span_of(in);
    s.values.push_back(make(ir::ExprKind::String,
                            cook_literal(in.string_view(), span.begin, s.file, *s.diags), span));
  }
};

template <>
struct Action<ExprNumber> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    ir::Expr e = make(ir::ExprKind::Number, in.string(), s.span_of(in));
    e.number = to_number(in.string_view());
    s.values.push_back(std::move(e));
  }
};

template <>
struct Action<ExprDuration> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    ir::Expr e = make(ir::ExprKind::Duration, in.string(), s.span_of(in));
    std::int64_t ms = 0;
    if (!ir::parse_duration(e.text, ms)) {
      s.diags->report(DiagnosticKind::InvalidDuration, e.span, e.text);
    }
    e.number = static_cast<double>(ms);
    s.values.push_back(std::move(e));
  }
};

template <>
struct Action<ExprTrue> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    s.values.push_back(make(ir::ExprKind::Bool, "true", s.span_of(in)));
  }
};

template <>
struct Action<ExprFalse> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    s.values.push_back(make(ir::ExprKind::Bool, "false", s.span_of(in)));
  }
};

template <>
struct Action<ExprNull> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    s.values.push_back(make(ir::ExprKind::Null, "null", s.span_of(in)));
  }
};

// Scope words that turn `contact.name` into a scoped variable.
bool scope_of(std::string_view word, ir::Scope& scope) {
  if (word == "contact") {
    scope = ir::Scope::Contact;
  } else if (word == "conversation" || word == "conv") {
    scope = ir::Scope::Conversation;
  } else if (word == "message") {
    scope = ir::Scope::Message;
  } else if (word == "flow") {
    scope = ir::Scope::Flow;
  } else {
    return false;
  }
  return true;
}

template <>
struct Action<ExprIdent> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    ir::Expr e = make(ir::ExprKind::Var, "", s.span_of(in));
    e.var.name = in.string();
    e.var.span = e.span;
    e.var.scope =
        (e.var.name == "now" || e.var.name == "today") ? ir::Scope::System : ir::Scope::Flow;
    s.values.push_back(std::move(e));
  }
};

template <>
struct Action<CallOpen> {
  template <typename Input>
  static void apply(const Input& /*in*/, LineState& s) {
    ir::Expr callee = s.pop();
    s.frames.push_back(Frame{s.values.size(), callee.var.name, s.keys.size(), callee.span});
  }
};

template <>
struct Action<CallTail> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    Frame frame = s.frames.back();
    s.frames.pop_back();
    ir::Expr e = make(ir::ExprKind::Call, frame.name, frame.span);
    e.span.end = s.span_of(in).end;
    for (std::size_t i = frame.base; i < s.values.size(); ++i) {
      e.args.push_back(std::move(s.values[i]));
    }
    s.values.resize(frame.base);
    s.values.push_back(std::move(e));
  }
};

template <>
struct Action<ListOpen> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    s.frames.push_back(Frame{s.values.size(), "", s.keys.size(), s.span_of(in)});
  }
};

template <>
struct Action<ListLit> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    Frame frame = s.frames.back();
    s.frames.pop_back();
    ir::Expr e = make(ir::ExprKind::List, "", s.span_of(in));
    for (std::size_t i = frame.base; i < s.values.size(); ++i) {
      e.args.push_back(std::move(s.values[i]));
    }
    s.values.resize(frame.base);
    s.values.push_back(std::move(e));
  }
};

template <>
struct Action<ObjectOpen> : Action<ListOpen> {};

template <>
struct Action<ObjectKey> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    std::string_view text = in.string_view();
    if (!text.empty() && (text.front() == '"' || text.front() == '\'')) {
      s.keys.push_back(cook_literal(text, s.span_of(in).begin, s.file, *s.diags));
    } else {
      s.keys.emplace_back(text);
    }
  }
};

template <>
struct Action<ObjectLit> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    Frame frame = s.frames.back();
    s.frames.pop_back();
    ir::Expr e = make(ir::ExprKind::Object, "", s.span_of(in));
    for (std::size_t i = frame.base; i < s.values.size(); ++i) {
      e.args.push_back(std::move(s.values[i]));
    }
    for (std::size_t i = frame.keys_base; i < s.keys.size(); ++i) {
      e.keys.push_back(std::move(s.keys[i]));
    }
    s.values.resize(frame.base);
    s.keys.resize(frame.keys_base);
    s.values.push_back(std::move(e));
  }
};

template <>
struct Action<MemberTail> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    const std::string field = in.string().substr(1);
    ir::Expr base = s.pop();
    ir::Scope scope = ir::Scope::Flow;
    // `contact.name` is one variable, not a field of a variable named contact.
    if (base.kind == ir::ExprKind::Var && base.var.scope == ir::Scope::Flow &&
        base.var.name.find('.') == std::string::npos && scope_of(base.var.name, scope) &&
        base.span.end == s.span_of(in).begin) {
      base.var.scope = scope;
      base.var.name = field;
      base.span.end = s.span_of(in).end;
      base.var.span = base.span;
      s.values.push_back(std::move(base));
      return;
    }
    ir::Expr e = make(ir::ExprKind::Member, field, base.span);
    e.span.end = s.span_of(in).end;
    e.args.push_back(std::move(base));
    s.values.push_back(std::move(e));
  }
};

template <>
struct Action<IndexTail> {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    ir::Expr index = s.pop();
    ir::Expr base = s.pop();
    ir::Expr e = make(ir::ExprKind::Index, "", base.span);
    e.span.end = s.span_of(in).end;
    e.args.push_back(std::move(base));
    e.args.push_back(std::move(index));
    s.values.push_back(std::move(e));
  }
};

template <typename Rule>
struct PushOp {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    s.ops.push_back(in.string());
  }
};
template <>
struct Action<MulOp> : PushOp<MulOp> {};
template <>
struct Action<AddOp> : PushOp<AddOp> {};
template <>
struct Action<CmpOp> : PushOp<CmpOp> {};
template <>
struct Action<AndOp> : PushOp<AndOp> {};
template <>
struct Action<OrOp> : PushOp<OrOp> {};

struct BuildBinary {
  template <typename Input>
  static void apply(const Input& /*in*/, LineState& s) {
    ir::Expr rhs = s.pop();
    ir::Expr lhs = s.pop();
    ir::Expr e = make(ir::ExprKind::Binary, s.ops.back(), lhs.span);
    s.ops.pop_back();
    e.span.end = rhs.span.end;
    e.args.push_back(std::move(lhs));
    e.args.push_back(std::move(rhs));
    s.values.push_back(std::move(e));
  }
};
template <>
struct Action<MulTail> : BuildBinary {};
template <>
struct Action<AddTail> : BuildBinary {};
template <>
struct Action<CmpTail> : BuildBinary {};
template <>
struct Action<AndTail> : BuildBinary {};
template <>
struct Action<OrTail> : BuildBinary {};

template <typename Op>
struct BuildUnary {
  template <typename Input>
  static void apply(const Input& in, LineState& s) {
    ir::Expr operand = s.pop();
    ir::Expr e = make(ir::ExprKind::Unary, Op::text, s.span_of(in));
    e.args.push_back(std::move(operand));
    s.values.push_back(std::move(e));
  }
};
struct MinusText {
  static constexpr const char* text = "-";
};
struct NotText {
  static constexpr const char* text = "not";
};
template <>
struct Action<Negate> : BuildUnary<MinusText> {};
template <>
struct Action<NotOp> : BuildUnary<NotText> {};

// Turns a PEGTL parse error into a diagnostic at its position.
// `base` is the file offset where the parsed input starts; `limit` its length.
void report_parse_error(const pg::parse_error& e, const LineState& state, std::uint32_t base,
                        std::uint32_t limit, Diagnostics& diags) {
  std::uint32_t at = 0;
  if (!e.positions().empty()) {
    at = static_cast<std::uint32_t>(e.positions().front().byte);
  }
  at = base + std::min(at, limit);
  const SourceSpan span{state.file, at, at};
  const std::string message(e.message());
  if (message == "nesting too deep") {
    diags.report(DiagnosticKind::NestingTooDeep, span, kMaxDepth);
  } else {
    diags.report(DiagnosticKind::SyntaxError, span, message);
  }
}

}  // namespace

const std::vector<std::string>& statement_keywords() {
  static const std::vector<std::string> words = {
      "flow",        "timezone", "hours",      "trigger",  "priority", "var",    "tool",
      "tools",       "param",    "request",    "remind",   "label",    "say",    "button",
      "list",        "section",  "row",        "header",   "footer",   "image",  "audio",
      "video",       "document", "sticker",    "location", "template", "typing", "ask",
      "pattern",     "on",       "ai",         "model",    "fallback", "system", "prompt",
      "temperature", "history",  "max_tokens", "buffer",   "timeout",  "field",  "intent",
      "other",       "if",       "elif",       "else",     "match",    "case",   "set",
      "goto",        "call",     "return",     "end",      "stage",    "tag",    "untag",
      "http",        "json",     "body",       "retries",  "map",      "store",  "delay",
      "handoff"};
  return words;
}

std::optional<Statement> parse_statement(const std::string& text, FileId file, std::uint32_t begin,
                                         std::uint32_t end, Diagnostics& diags) {
  LineState state;
  state.file = file;
  state.base = text.data();
  state.diags = &diags;
  state.statement.span = SourceSpan{file, begin, end};
  pg::memory_input<pg::tracking_mode::lazy, pg::eol::lf_crlf> in(text.data() + begin,
                                                                 text.data() + end, "");
  try {
    // memory_input positions count from its own start; rebase them to the file.
    if (!pg::parse<Line, Action, Control>(in, state)) {
      std::string first;
      for (std::uint32_t i = begin;
           i < end && (std::isalnum(static_cast<unsigned char>(text[i])) != 0 || text[i] == '_');
           ++i) {
        first += text[i];
      }
      Diagnostic& d =
          first.empty() ? diags.report(DiagnosticKind::SyntaxError,
                                       SourceSpan{file, begin, begin + 1}, "expected a statement")
                        : diags.report(DiagnosticKind::SyntaxError,
                                       SourceSpan{file, begin,
                                                  begin + static_cast<std::uint32_t>(first.size())},
                                       "unknown statement '" + first + "'");
      if (!first.empty()) {
        suggest(d, first, statement_keywords());
      }
      return std::nullopt;
    }
  } catch (const pg::parse_error& e) {
    // Positions count from the start of the line; report_parse_error rebases them.
    report_parse_error(e, state, begin, end - begin, diags);
    return std::nullopt;
  }
  return std::move(state.statement);
}

std::optional<ir::Expr> parse_expression(std::string_view text, SourceSpan origin,
                                         Diagnostics& diags) {
  // The input's bytes must map to file offsets: parse a copy and shift spans by
  // origin.begin afterwards.
  LineState state;
  state.file = origin.file;
  state.base = text.data();
  state.diags = &diags;
  const std::size_t before = diags.all().size();
  pg::memory_input<pg::tracking_mode::lazy, pg::eol::lf_crlf> in(text.data(),
                                                                 text.data() + text.size(), "");
  bool ok = false;
  try {
    ok = pg::parse<WholeExpression, Action, Control>(in, state);
  } catch (const pg::parse_error& e) {
    report_parse_error(e, state, 0, static_cast<std::uint32_t>(text.size()), diags);
    ok = false;
  }
  // Shift every span reported or recorded during this parse into file offsets.
  auto shift = [&](SourceSpan& span) {
    span.file = origin.file;
    span.begin += origin.begin;
    span.end += origin.begin;
  };
  for (std::size_t i = before; i < diags.all().size(); ++i) {
    shift(diags.all()[i].span);
  }
  if (!ok || state.values.size() != 1) {
    return std::nullopt;
  }
  ir::Expr result = std::move(state.values.back());
  struct Shifter {
    decltype(shift)& fn;
    void operator()(ir::Expr& e) const {
      fn(e.span);
      if (e.kind == ir::ExprKind::Var) {
        fn(e.var.span);
      }
      for (ir::Expr& a : e.args) {
        (*this)(a);
      }
    }
  };
  Shifter{shift}(result);
  return result;
}

}  // namespace waflow::dsl
