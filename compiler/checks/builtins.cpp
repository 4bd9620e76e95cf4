// The table of built-in variables and functions (see builtins.h), and the one
// regex validator. The order of the tables is the order of docs/functions.md.

#include "compiler/checks/builtins.h"

#include <array>
#include <regex>

namespace waflow::builtins {

namespace {

using ir::Scope;
using ir::ValueType;
using A = ArgKind;
using R = ResultRule;

constexpr std::array kVariables = {
    Variable{Scope::Contact, "id", ValueType::Text, "The contact's WhatsApp id (wa_id)."},
    Variable{Scope::Contact, "name", ValueType::Text,
             "The contact's WhatsApp profile name; may be empty."},
    Variable{Scope::Contact, "phone", ValueType::Text,
             "The contact's phone number in international format, e.g. +4915112345678."},
    Variable{Scope::Conversation, "id", ValueType::Text, "The id of this conversation."},
    Variable{Scope::Message, "id", ValueType::Text,
             "The provider's id of the message being handled."},
    Variable{Scope::Message, "text", ValueType::Text,
             "The message's text; for a tapped button or list row, its title; for media, the "
             "caption."},
    Variable{Scope::Message, "type", ValueType::Text,
             "text, button, list, image, audio, video, document, sticker, location or "
             "unsupported."},
    Variable{Scope::Message, "payload", ValueType::Text,
             "The id of the tapped button or list row; empty for other messages."},
    Variable{Scope::Message, "transcript", ValueType::Text,
             "A voice note's words, when the device transcribes them (devices[].media); also "
             "its message.text. Empty for other messages."},
    Variable{Scope::Message, "description", ValueType::Text,
             "An image's description by the device's model (devices[].media); empty for other "
             "messages."},
    Variable{Scope::System, "now", ValueType::DateTime,
             "The current date and time in the business time zone."},
    Variable{Scope::System, "today", ValueType::Date, "Today's date in the business time zone."},
};

constexpr std::array kFunctions = {
    // Text.
    Function{"lower",
             "Text",
             1,
             1,
             {A::Text},
             ValueType::Text,
             R::Fixed,
             "lower(text)",
             "The text in lower case (Unicode simple case mapping)."},
    Function{"upper",
             "Text",
             1,
             1,
             {A::Text},
             ValueType::Text,
             R::Fixed,
             "upper(text)",
             "The text in upper case (Unicode simple case mapping)."},
    Function{"trim",
             "Text",
             1,
             1,
             {A::Text},
             ValueType::Text,
             R::Fixed,
             "trim(text)",
             "The text without leading and trailing white space."},
    Function{"len",
             "Text",
             1,
             1,
             {A::TextOrList},
             ValueType::Number,
             R::Fixed,
             "len(value)",
             "The number of characters (code points) of a text, or of items of a list."},
    Function{"starts_with",
             "Text",
             2,
             2,
             {A::Text, A::Text},
             ValueType::Bool,
             R::Fixed,
             "starts_with(text, prefix)",
             "Whether the text begins with prefix."},
    Function{"ends_with",
             "Text",
             2,
             2,
             {A::Text, A::Text},
             ValueType::Bool,
             R::Fixed,
             "ends_with(text, suffix)",
             "Whether the text ends with suffix."},
    Function{"replace",
             "Text",
             3,
             3,
             {A::Text, A::Text, A::Text},
             ValueType::Text,
             R::Fixed,
             "replace(text, old, new)",
             "The text with every occurrence of old replaced by new."},
    Function{"substring",
             "Text",
             2,
             3,
             {A::Text, A::Number, A::Number},
             ValueType::Text,
             R::Fixed,
             "substring(text, start, length?)",
             "Characters from start (0 is the first) on, at most length of them; out-of-range "
             "bounds are clamped."},
    Function{"split",
             "Text",
             2,
             2,
             {A::Text, A::Text},
             ValueType::List,
             R::Fixed,
             "split(text, separator)",
             "The parts of the text between separators, as a list."},
    Function{"join",
             "Text",
             2,
             2,
             {A::List, A::Text},
             ValueType::Text,
             R::Fixed,
             "join(list, separator)",
             "The list's items as text, with separator between them."},
    // Conversions.
    Function{"number",
             "Conversions",
             1,
             1,
             {A::Any},
             ValueType::Number,
             R::Fixed,
             "number(value)",
             "The value as a number: text is read with '.' as the decimal point whatever the "
             "locale; null when it is not a number."},
    Function{"text",
             "Conversions",
             1,
             1,
             {A::Any},
             ValueType::Text,
             R::Fixed,
             "text(value)",
             "The value as text, as a {{placeholder}} would show it."},
    // Numbers.
    Function{"round",
             "Numbers",
             1,
             2,
             {A::Number, A::Number},
             ValueType::Number,
             R::Fixed,
             "round(number, digits?)",
             "The number rounded half away from zero, to digits decimals (default 0)."},
    Function{"floor",
             "Numbers",
             1,
             1,
             {A::Number},
             ValueType::Number,
             R::Fixed,
             "floor(number)",
             "The largest whole number not above the number."},
    Function{"ceil",
             "Numbers",
             1,
             1,
             {A::Number},
             ValueType::Number,
             R::Fixed,
             "ceil(number)",
             "The smallest whole number not below the number."},
    Function{"abs",
             "Numbers",
             1,
             1,
             {A::Number},
             ValueType::Number,
             R::Fixed,
             "abs(number)",
             "The number without its sign."},
    Function{"min",
             "Numbers",
             2,
             kVariadic,
             {A::Number, A::Number},
             ValueType::Number,
             R::Fixed,
             "min(a, b, ...)",
             "The smallest of its arguments."},
    Function{"max",
             "Numbers",
             2,
             kVariadic,
             {A::Number, A::Number},
             ValueType::Number,
             R::Fixed,
             "max(a, b, ...)",
             "The largest of its arguments."},
    // Dates and time.
    Function{"format_date",
             "Dates and time",
             2,
             2,
             {A::Time, A::Text},
             ValueType::Text,
             R::Fixed,
             "format_date(date, pattern)",
             "The date as text. Pattern letters: YYYY year, MM month (01-12), DD day, HH hour "
             "(00-23), mm minute, ss second, ddd Mon, dddd Monday, MMM Jan, MMMM January; "
             "other characters are copied. Names are in English."},
    Function{"weekday",
             "Dates and time",
             1,
             1,
             {A::Time},
             ValueType::Number,
             R::Fixed,
             "weekday(date)",
             "The day of the week: 1 for Monday to 7 for Sunday."},
    Function{"in_hours",
             "Dates and time",
             0,
             0,
             {},
             ValueType::Bool,
             R::Fixed,
             "in_hours()",
             "Whether now is within the business hours declared in the flow's file (hours ...)."},
    // Utilities.
    Function{"default",
             "Utilities",
             2,
             2,
             {A::Any, A::Any},
             ValueType::Unknown,
             R::SameAsFirst,
             "default(value, fallback)",
             "The value, or fallback when the value is null or empty."},
    Function{"is_empty",
             "Utilities",
             1,
             1,
             {A::Any},
             ValueType::Bool,
             R::Fixed,
             "is_empty(value)",
             "Whether the value is null, empty text, an empty list or object."},
};

}  // namespace

std::span<const Variable> variables() {
  return kVariables;
}
std::span<const Function> functions() {
  return kFunctions;
}

const Variable* find_variable(ir::Scope scope, std::string_view name) {
  for (const Variable& v : kVariables) {
    if (v.scope == scope && v.name == name) {
      return &v;
    }
  }
  return nullptr;
}

const Function* find_function(std::string_view name) {
  for (const Function& f : kFunctions) {
    if (f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

ArgKind param_kind(const Function& fn, std::size_t index) {
  if (fn.max_args == 0) {
    return ArgKind::Any;
  }
  const auto declared =
      static_cast<std::size_t>(fn.max_args == kVariadic ? fn.min_args : fn.max_args);
  const std::size_t last = std::min(declared, kMaxParams) - 1;
  return fn.params[std::min(index, last)];
}

bool accepts_arity(const Function& fn, std::size_t count) {
  const auto n = static_cast<int>(count);
  return n >= fn.min_args && (fn.max_args == kVariadic || n <= fn.max_args);
}

std::string arity_text(const Function& fn) {
  if (fn.max_args == kVariadic) {
    return "at least " + std::to_string(fn.min_args);
  }
  if (fn.min_args == fn.max_args) {
    return std::to_string(fn.min_args);
  }
  const char* joiner = fn.max_args == fn.min_args + 1 ? " or " : " to ";
  return std::to_string(fn.min_args) + joiner + std::to_string(fn.max_args);
}

bool accepts(ArgKind kind, ir::ValueType type) {
  using ir::ValueType;
  if (type == ValueType::Unknown || type == ValueType::Null) {
    return true;
  }
  switch (kind) {
    case ArgKind::Any:
      return true;
    case ArgKind::Text:
      return type == ValueType::Text;
    case ArgKind::Number:
      return type == ValueType::Number;
    case ArgKind::Time:
      return type == ValueType::Date || type == ValueType::DateTime;
    case ArgKind::List:
      return type == ValueType::List;
    case ArgKind::TextOrList:
      return type == ValueType::Text || type == ValueType::List;
  }
  return true;
}

std::string_view arg_kind_text(ArgKind kind) {
  switch (kind) {
    case ArgKind::Any:
      return "any value";
    case ArgKind::Text:
      return "text";
    case ArgKind::Number:
      return "a number";
    case ArgKind::Time:
      return "a date";
    case ArgKind::List:
      return "a list";
    case ArgKind::TextOrList:
      return "text or a list";
  }
  return "any value";
}

namespace {

// Finds the common mistakes in a pattern and names them precisely; std::regex
// reports several of them under one unhelpful code. Returns "" when it finds none.
std::string scan_regex(std::string_view p) {
  constexpr int kMaxGroupDepth = 32;
  const char* kNothing = "a repetition (*, +, ? or {n}) follows nothing";
  int depth = 0;
  bool after_nothing = true;  // At the start, after '(' or '|'.
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') {
      if (i + 1 == p.size()) {
        return "the pattern ends with a lone backslash";
      }
      if (p[i + 1] == 'p' || p[i + 1] == 'P') {
        return "Unicode property escapes (\\p{...}) are not supported";
      }
      ++i;
      after_nothing = false;
    } else if (c == '[') {
      std::size_t j = i + 1;
      if (j < p.size() && p[j] == '^') {
        ++j;
      }
      if (j < p.size() && p[j] == ']') {
        ++j;
      }
      while (j < p.size() && p[j] != ']') {
        j += p[j] == '\\' ? 2U : 1U;
      }
      if (j >= p.size()) {
        return "'[' is not closed by ']'";
      }
      i = j;
      after_nothing = false;
    } else if (c == '(') {
      if (++depth > kMaxGroupDepth) {
        return "groups are nested deeper than " + std::to_string(kMaxGroupDepth) + " levels";
      }
      if (p.substr(i, 4) == "(?<=" || p.substr(i, 4) == "(?<!") {
        return "lookbehind ((?<= and (?<!) is not supported";
      }
      if (p.substr(i, 3) == "(?<") {
        return "named groups ((?<name>...)) are not supported";
      }
      if (p.substr(i, 3) == "(?:" || p.substr(i, 3) == "(?=" || p.substr(i, 3) == "(?!") {
        i += 2;
      }
      after_nothing = true;
    } else if (c == ')') {
      if (depth == 0) {
        return "')' has no matching '('";
      }
      --depth;
      after_nothing = false;
    } else if (c == '|') {
      after_nothing = true;
    } else if (c == '*' || c == '+' || c == '?') {
      if (after_nothing) {
        return kNothing;
      }
    } else {
      after_nothing = false;
    }
  }
  if (depth > 0) {
    return "'(' is not closed by ')'";
  }
  return "";
}

}  // namespace

std::optional<std::string> regex_error(std::string_view pattern) {
  // std::regex compiles recursively; bound the input so that no pattern can
  // exhaust the stack or take long to compile.
  constexpr std::size_t kMaxLength = 1000;
  if (pattern.size() > kMaxLength) {
    return "the pattern is longer than " + std::to_string(kMaxLength) + " characters";
  }
  if (std::string problem = scan_regex(pattern); !problem.empty()) {
    return problem;
  }
  try {
    std::regex re(pattern.begin(), pattern.end(), std::regex::ECMAScript);
    (void)re;
  } catch (const std::regex_error& e) {
    // The library's own texts differ between implementations; name the problem in
    // our words so that messages are the same everywhere.
    switch (e.code()) {
      case std::regex_constants::error_collate:
      case std::regex_constants::error_ctype:
        return std::string("invalid character class or collating element name");
      case std::regex_constants::error_escape:
        return std::string("invalid escape or trailing backslash");
      case std::regex_constants::error_backref:
        return std::string("back reference to a group that does not exist");
      case std::regex_constants::error_brack:
        return std::string("'[' is not closed by ']'");
      case std::regex_constants::error_paren:
        return std::string("unbalanced parentheses");
      case std::regex_constants::error_brace:
        return std::string("unbalanced braces");
      case std::regex_constants::error_badbrace:
        return std::string("invalid repetition count in braces");
      case std::regex_constants::error_range:
        return std::string("invalid character range");
      case std::regex_constants::error_space:
      case std::regex_constants::error_complexity:
      case std::regex_constants::error_stack:
        return std::string("the pattern is too complex");
      case std::regex_constants::error_badrepeat:
        return std::string("a repetition (*, +, ? or {n}) follows nothing");
      default:
        return std::string("the pattern does not compile");
    }
  }
  return std::nullopt;
}

}  // namespace waflow::builtins
