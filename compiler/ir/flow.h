#pragma once

// The flow IR: one typed tree that the DSL, YAML and visual front ends all lower
// into, and that checks, codegen and `waflow convert` read.
//
// A flow is a block of steps; branching steps (if, match, ask exits, ai classify,
// http error exits) own nested blocks, and control that leaves a nested block
// continues after the step that owns it. goto jumps to a step id in the same flow.
// Every step has a stable id: an explicit label or one derived from its kind and
// position (see assign_step_ids in ids.h).

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "compiler/ir/expr.h"

namespace waflow::ir {

struct Step;
using Block = std::vector<Step>;

enum class CaptureType { Text, Number, Email, Phone, Date, Url, Choice, YesNo, Regex, Media, Location };

const char* capture_type_name(CaptureType type);
bool parse_capture_type(const std::string& name, CaptureType& type);
ValueType capture_value_type(CaptureType type);

struct Button {
  std::string id;
  Text title;
  SourceSpan span;
};

struct ListRow {
  std::string id;
  Text title;
  Text description;
  SourceSpan span;
};

struct ListSection {
  Text title;
  std::vector<ListRow> rows;
  SourceSpan span;
};

// Reply buttons or a list attached to a message (never both).
struct Options {
  std::vector<Button> buttons;
  Text list_button;  // The label of the button that opens the list.
  std::vector<ListSection> sections;

  bool has_list() const { return !sections.empty() || !list_button.empty(); }
  bool empty() const { return buttons.empty() && !has_list(); }
};

struct Reminder {
  Duration after;
  Text text;
  SourceSpan span;
};

struct SayStep {
  Text text;
  Text header;
  Text footer;
  Options options;
};

enum class MediaKind { Image, Audio, Video, Document, Sticker };
const char* media_kind_name(MediaKind kind);

struct MediaStep {
  MediaKind kind = MediaKind::Image;
  Text source;  // A URL or a provider media id.
  Text caption;
  Text filename;
  std::string mime;  // Declared MIME type, when the URL does not tell.
  SourceSpan mime_span;
};

struct LocationStep {
  Expr latitude;
  Expr longitude;
  Text name;
  Text address;
};

struct TemplateStep {
  std::string name;
  std::string language;  // "en_US".
  std::vector<Text> params;
  SourceSpan name_span;
};

struct TypingStep {
  Duration duration;
};

struct AskStep {
  VarRef var;
  // Without an explicit type, an ask with buttons or a list is a choice, else text.
  CaptureType type = CaptureType::Text;
  Text prompt;
  Options options;
  std::string pattern;  // For CaptureType::Regex.
  SourceSpan pattern_span;
  // on invalid [retry N] ["re-prompt"] [block]
  bool has_invalid = false;
  std::optional<int> retries;
  Text reprompt;
  Block on_invalid;
  SourceSpan invalid_span;
  // on timeout DURATION [block]
  std::optional<Duration> timeout;
  Block on_timeout;
  std::vector<Reminder> reminders;
};

struct AiOptions {
  std::string model;
  std::vector<std::string> fallbacks;
  Text system;
  Text prompt;
  std::optional<double> temperature;
  std::optional<int> history;
  std::optional<int> max_tokens;
  std::optional<Duration> buffer;
  std::optional<Duration> timeout;
  std::vector<std::string> tools;
  std::vector<SourceSpan> tool_spans;
  SourceSpan temperature_span;
  SourceSpan history_span;
  SourceSpan max_tokens_span;
};

struct AiReplyStep {
  AiOptions ai;
  std::optional<VarRef> into;  // Store the answer instead of sending it.
  bool has_error = false;
  Block on_error;
};

struct ExtractField {
  std::string name;
  std::optional<CaptureType> type;
  Text description;
  bool optional = false;
  SourceSpan span;
};

struct AiExtractStep {
  AiOptions ai;
  VarRef var;
  std::vector<ExtractField> fields;
  bool has_invalid = false;
  std::optional<int> retries;
  Block on_invalid;
  SourceSpan invalid_span;
  bool has_error = false;
  Block on_error;
};

struct Intent {
  std::string name;
  Text description;
  Block body;
  SourceSpan span;
};

struct AiClassifyStep {
  AiOptions ai;
  VarRef var;
  std::optional<Expr> input;  // Defaults to the last user message.
  std::vector<Intent> intents;
  bool has_other = false;
  Block other;
  bool has_error = false;
  Block on_error;
};

struct Branch {
  Expr condition;
  Block body;
  SourceSpan span;
};

struct IfStep {
  std::vector<Branch> branches;  // if, elif, elif...
  bool has_else = false;
  Block otherwise;
};

struct Case {
  std::vector<Expr> values;
  Block body;
  SourceSpan span;
};

struct MatchStep {
  Expr subject;
  std::vector<Case> cases;
  bool has_else = false;
  Block otherwise;
};

struct SetStep {
  VarRef var;
  Expr value;
};

struct GotoStep {
  std::string target;
  SourceSpan target_span;
};

struct CallStep {
  std::string flow;
  SourceSpan flow_span;
};

struct ReturnStep {};
struct EndStep {};

struct StageStep {
  std::string name;
};

struct TagStep {
  bool add = true;
  std::vector<std::string> tags;
};

struct Header {
  std::string name;
  Text value;
  SourceSpan span;
};

struct Mapping {
  std::string name;
  std::string path;  // "$.data.id"
  SourceSpan span;
};

struct HttpStep {
  std::optional<VarRef> var;
  std::string method = "GET";
  SourceSpan method_span;
  Text url;
  std::vector<Header> headers;
  std::optional<Expr> json;
  Text body;
  std::optional<Duration> timeout;
  std::optional<int> retries;
  std::vector<Mapping> mappings;
  bool has_error = false;
  Block on_error;
};

struct StoreStep {
  std::optional<VarRef> var;  // Receives the stored record (its .id).
  std::string collection;
  Expr record;
};

struct DelayStep {
  Duration duration;
};

struct HandoffStep {
  Text note;
  std::string queue;
};

using StepBody = std::variant<SayStep, MediaStep, LocationStep, TemplateStep, TypingStep, AskStep,
                              AiReplyStep, AiExtractStep, AiClassifyStep, IfStep, MatchStep,
                              SetStep, GotoStep, CallStep, ReturnStep, StageStep, TagStep,
                              HttpStep, StoreStep, DelayStep, HandoffStep, EndStep>;

// Where a step sits on a visual canvas; kept through conversions.
struct Position {
  double x = 0;
  double y = 0;
};

struct Step {
  std::string id;
  bool explicit_id = false;
  StepBody body;
  SourceSpan span;
  SourceSpan id_span;
  std::optional<Position> position;
};

// The keyword of a step's kind: "say", "ask", "ai reply", "http", ...
const char* step_keyword(const StepBody& body);

enum class TriggerKind { Keyword, Exact, Regex, Any, FirstContact, Payload, Api, Schedule };
const char* trigger_kind_name(TriggerKind kind);
bool parse_trigger_kind(const std::string& name, TriggerKind& kind);

struct Trigger {
  TriggerKind kind = TriggerKind::Any;
  std::vector<std::string> values;  // Keywords, phrases, a regex, payloads, a cron line.
  std::string timezone;             // For schedules.
  std::optional<int> priority;
  SourceSpan span;
};

struct VarDecl {
  VarRef var;
  ValueType type = ValueType::Unknown;
  std::optional<Expr> init;
  SourceSpan span;
};

struct ToolParam {
  std::string name;
  CaptureType type = CaptureType::Text;
  Text description;
  bool optional = false;
  SourceSpan span;
};

struct Tool {
  std::string name;
  Text description;
  std::vector<ToolParam> params;
  std::string method = "GET";
  Text url;
  std::vector<Header> headers;
  std::optional<Expr> json;
  std::optional<Duration> timeout;
  SourceSpan span;
};

struct Flow {
  std::string name;
  Text title;
  std::vector<Trigger> triggers;
  std::optional<int> priority;
  std::vector<VarDecl> vars;
  std::vector<Tool> tools;
  std::vector<Reminder> reminders;  // Defaults for every wait in the flow.
  Block steps;
  SourceSpan span;
  SourceSpan name_span;
  std::optional<Position> position;  // Of the visual start node.
};

// Opening hours: days (0 = Monday) and minutes since midnight.
struct HoursRange {
  std::vector<int> days;
  int open = 0;
  int close = 0;
  std::string text;  // As written: "mon-fri 09:00-17:00".
  SourceSpan span;
};

// Parses "mon-fri 09:00-17:00" (days: mon..sun, ranges and commas; times HH:MM).
bool parse_hours_text(const std::string& text, HoursRange& range);

// One source file.
struct Module {
  FileId file = kNoFile;
  std::string timezone;
  SourceSpan timezone_span;
  std::vector<HoursRange> hours;
  std::vector<Flow> flows;
};

struct Project {
  std::vector<Module> modules;
};

}  // namespace waflow::ir
