#include <array>
#include <charconv>
#include <cstring>

#include "compiler/ir/expr.h"
#include "compiler/ir/flow.h"
#include "runtime/base/duration.h"

namespace waflow::ir {

namespace {

template <typename Enum, std::size_t N>
bool parse_name(const std::array<const char*, N>& names, const std::string& name, Enum& out) {
  for (std::size_t i = 0; i < N; ++i) {
    if (name == names[i]) {
      out = static_cast<Enum>(i);
      return true;
    }
  }
  return false;
}

constexpr std::array kValueTypeNames = {"unknown",  "text",     "number", "bool",  "date",
                                        "datetime", "duration", "choice", "media", "location",
                                        "object",   "list",     "null"};
constexpr std::array kScopeNames = {"flow", "conversation", "contact", "message", "system"};
constexpr std::array kCaptureNames = {"text",   "number", "email", "phone", "date",    "url",
                                      "choice", "yesno",  "regex", "media", "location"};
constexpr std::array kMediaNames = {"image", "audio", "video", "document", "sticker"};
constexpr std::array kTriggerNames = {"keyword",       "exact",   "regex", "any",
                                      "first_contact", "payload", "api",   "schedule"};

}  // namespace

const char* value_type_name(ValueType type) {
  return kValueTypeNames.at(static_cast<std::size_t>(type));
}

const char* scope_name(Scope scope) {
  return kScopeNames.at(static_cast<std::size_t>(scope));
}

std::string VarRef::qualified() const {
  if (scope == Scope::Flow || scope == Scope::System) {
    return name;
  }
  return std::string(scope_name(scope)) + "." + name;
}

const char* capture_type_name(CaptureType type) {
  return kCaptureNames.at(static_cast<std::size_t>(type));
}

bool parse_capture_type(const std::string& name, CaptureType& type) {
  return parse_name(kCaptureNames, name, type);
}

ValueType capture_value_type(CaptureType type) {
  switch (type) {
    case CaptureType::Number:
      return ValueType::Number;
    case CaptureType::Date:
      return ValueType::Date;
    case CaptureType::Choice:
      return ValueType::Choice;
    case CaptureType::YesNo:
      return ValueType::Bool;
    case CaptureType::Media:
      return ValueType::Media;
    case CaptureType::Location:
      return ValueType::Location;
    case CaptureType::Text:
    case CaptureType::Email:
    case CaptureType::Phone:
    case CaptureType::Url:
    case CaptureType::Regex:
      return ValueType::Text;
  }
  return ValueType::Unknown;
}

const char* media_kind_name(MediaKind kind) {
  return kMediaNames.at(static_cast<std::size_t>(kind));
}

const char* trigger_kind_name(TriggerKind kind) {
  return kTriggerNames.at(static_cast<std::size_t>(kind));
}

bool parse_trigger_kind(const std::string& name, TriggerKind& kind) {
  return parse_name(kTriggerNames, name, kind);
}

const char* step_keyword(const StepBody& body) {
  struct Visitor {
    const char* operator()(const SayStep&) const { return "say"; }
    const char* operator()(const MediaStep& s) const { return media_kind_name(s.kind); }
    const char* operator()(const LocationStep&) const { return "location"; }
    const char* operator()(const TemplateStep&) const { return "template"; }
    const char* operator()(const TypingStep&) const { return "typing"; }
    const char* operator()(const AskStep&) const { return "ask"; }
    const char* operator()(const AiReplyStep&) const { return "ai reply"; }
    const char* operator()(const AiExtractStep&) const { return "ai extract"; }
    const char* operator()(const AiClassifyStep&) const { return "ai classify"; }
    const char* operator()(const IfStep&) const { return "if"; }
    const char* operator()(const MatchStep&) const { return "match"; }
    const char* operator()(const SetStep&) const { return "set"; }
    const char* operator()(const GotoStep&) const { return "goto"; }
    const char* operator()(const CallStep&) const { return "call"; }
    const char* operator()(const ReturnStep&) const { return "return"; }
    const char* operator()(const StageStep&) const { return "stage"; }
    const char* operator()(const TagStep& s) const { return s.add ? "tag" : "untag"; }
    const char* operator()(const HttpStep&) const { return "http"; }
    const char* operator()(const StoreStep&) const { return "store"; }
    const char* operator()(const DelayStep&) const { return "delay"; }
    const char* operator()(const HandoffStep&) const { return "handoff"; }
    const char* operator()(const EndStep&) const { return "end"; }
  };
  return std::visit(Visitor{}, body);
}

bool parse_duration(const std::string& text, std::int64_t& ms) {
  return waflow::parse_duration(text, ms);
}

}  // namespace waflow::ir

namespace waflow::ir {

bool parse_value_type(const std::string& name, ValueType& type) {
  if (name == "unknown" || name == "null") {
    return false;
  }
  return parse_name(kValueTypeNames, name, type);
}

namespace {

bool parse_day(std::string_view word, int& day) {
  static constexpr std::array kDays = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  for (std::size_t i = 0; i < kDays.size(); ++i) {
    if (word == kDays[i]) {
      day = static_cast<int>(i);
      return true;
    }
  }
  return false;
}

bool parse_clock(std::string_view text, int& minutes) {
  if (text.size() != 5 || text[2] != ':') {
    return false;
  }
  int h = 0;
  int m = 0;
  auto r1 = std::from_chars(text.data(), text.data() + 2, h);
  auto r2 = std::from_chars(text.data() + 3, text.data() + 5, m);
  if (r1.ec != std::errc() || r2.ec != std::errc() || r1.ptr != text.data() + 2 ||
      r2.ptr != text.data() + 5 || h > 24 || m > 59 || (h == 24 && m != 0)) {
    return false;
  }
  minutes = h * 60 + m;
  return true;
}

}  // namespace

bool parse_hours_text(const std::string& text, HoursRange& range) {
  const std::size_t space = text.find(' ');
  if (space == std::string::npos) {
    return false;
  }
  const std::string_view days(text.data(), space);
  std::string_view times(text);
  times.remove_prefix(space);
  while (!times.empty() && times.front() == ' ') {
    times.remove_prefix(1);
  }
  range.days.clear();
  std::size_t start = 0;
  while (start <= days.size()) {
    std::size_t comma = days.find(',', start);
    if (comma == std::string_view::npos) {
      comma = days.size();
    }
    const std::string_view part = days.substr(start, comma - start);
    const std::size_t dash = part.find('-');
    int first = 0;
    int last = 0;
    if (dash == std::string_view::npos) {
      if (!parse_day(part, first)) {
        return false;
      }
      last = first;
    } else if (!parse_day(part.substr(0, dash), first) || !parse_day(part.substr(dash + 1), last) ||
               last < first) {
      return false;
    }
    for (int d = first; d <= last; ++d) {
      range.days.push_back(d);
    }
    start = comma + 1;
  }
  const std::size_t dash = times.find('-');
  if (dash == std::string_view::npos || !parse_clock(times.substr(0, dash), range.open) ||
      !parse_clock(times.substr(dash + 1), range.close) || range.close <= range.open) {
    return false;
  }
  return true;
}

}  // namespace waflow::ir
