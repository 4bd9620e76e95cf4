// Built-in functions and capture validation: the parts of the VM that interpret
// user text. Locale-independent by construction: numbers are parsed with
// from_chars and dates with fixed formats.

#include <charconv>
#include <cmath>
#include <ctime>
#include <regex>

#include "runtime/base/civil_time.h"
#include "runtime/vm/vm.h"

namespace waflow::vm {

namespace {

enum Fn : std::uint32_t {
#define WAFLOW_FUNCTION(name, text) k##name,
#include "runtime/bytecode/functions.def"
#undef WAFLOW_FUNCTION
};

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return s;
}

std::string upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return s;
}

std::string trim(std::string_view s) {
  const std::size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) {
    return {};
  }
  const std::size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

bool parse_number(std::string_view text, double& out) {
  std::string s = trim(text);
  // One decimal comma reads as a decimal point ("2,5"), whatever the locale.
  if (s.find(',') != std::string::npos && s.find('.') == std::string::npos &&
      s.find(',') == s.rfind(',')) {
    s[s.find(',')] = '.';
  }
  if (!s.empty() && s[0] == '+') {
    s.erase(0, 1);
  }
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && ptr == end && !s.empty() && std::isfinite(out);
}

struct LocalTime {
  std::int64_t year;
  unsigned month, day, hour, minute, second;
  unsigned weekday;  // 0 = Monday.
};

LocalTime local_time(std::int64_t utc_ms, std::int64_t offset_ms) {
  const std::int64_t ms = utc_ms + offset_ms;
  std::int64_t days = ms / 86'400'000;
  std::int64_t rest = ms % 86'400'000;
  if (rest < 0) {
    rest += 86'400'000;
    --days;
  }
  LocalTime t{};
  const CivilDate date = civil_from_days(days);
  t.year = date.year;
  t.month = date.month;
  t.day = date.day;
  t.hour = static_cast<unsigned>(rest / 3'600'000);
  t.minute = static_cast<unsigned>((rest / 60'000) % 60);
  t.second = static_cast<unsigned>((rest / 1000) % 60);
  // 1970-01-01 was a Thursday (3 with Monday = 0).
  t.weekday = static_cast<unsigned>(((days % 7) + 7 + 3) % 7);
  return t;
}

constexpr const char* kWeekdays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                     "Friday", "Saturday", "Sunday"};
constexpr const char* kMonths[] = {"January",   "February", "March",    "April",
                                   "May",       "June",     "July",     "August",
                                   "September", "October",  "November", "December"};

// Formats with the pattern letters of docs/functions.md: YYYY, MM, DD, HH, mm,
// ss, ddd, dddd, MMM, MMMM; anything else is copied.
std::string format_time(const LocalTime& t, std::string_view pattern) {
  std::string out;
  char buf[16];
  auto two = [&](unsigned v) {
    std::snprintf(buf, sizeof buf, "%02u", v);
    out += buf;
  };
  for (std::size_t i = 0; i < pattern.size();) {
    auto starts = [&](std::string_view token) {
      return pattern.substr(i, token.size()) == token;
    };
    if (starts("YYYY")) {
      out += std::to_string(t.year);
      i += 4;
    } else if (starts("MMMM")) {
      out += kMonths[t.month - 1];
      i += 4;
    } else if (starts("MMM")) {
      out += std::string(kMonths[t.month - 1]).substr(0, 3);
      i += 3;
    } else if (starts("MM")) {
      two(t.month);
      i += 2;
    } else if (starts("DD")) {
      two(t.day);
      i += 2;
    } else if (starts("dddd")) {
      out += kWeekdays[t.weekday];
      i += 4;
    } else if (starts("ddd")) {
      out += std::string(kWeekdays[t.weekday]).substr(0, 3);
      i += 3;
    } else if (starts("HH")) {
      two(t.hour);
      i += 2;
    } else if (starts("mm")) {
      two(t.minute);
      i += 2;
    } else if (starts("ss")) {
      two(t.second);
      i += 2;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

// Reads a date ("2026-11-22", "22/11/2026", "22.11.2026", "today", "tomorrow")
// as days since the epoch.
bool parse_date(std::string_view raw, const Context& context, std::int64_t& days) {
  const std::string s = lower(trim(raw));
  const LocalTime now = local_time(context.now_ms, context.tz_offset_ms);
  const std::int64_t today = days_from_civil(now.year, now.month, now.day);
  if (s == "today") {
    days = today;
    return true;
  }
  if (s == "tomorrow") {
    days = today + 1;
    return true;
  }
  unsigned a = 0;
  unsigned b = 0;
  unsigned c = 0;
  char s1 = 0;
  char s2 = 0;
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%u%c%u%c%u%n", &a, &s1, &b, &s2, &c, &consumed) != 5 ||
      static_cast<std::size_t>(consumed) != s.size() || s1 != s2) {
    return false;
  }
  std::int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  if (s1 == '-' && a > 999) {
    y = a;
    m = b;
    d = c;
  } else if ((s1 == '/' || s1 == '.') && c > 999) {
    y = c;
    m = b;
    d = a;
  } else {
    return false;
  }
  if (m < 1 || m > 12 || d < 1 || d > 31) {
    return false;
  }
  days = days_from_civil(y, m, d);
  const CivilDate back = civil_from_days(days);
  return back.year == y && back.month == m && back.day == d;
}

Value date_value(std::int64_t days) {
  const CivilDate date = civil_from_days(days);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(date.year), date.month,
                date.day);
  return Value::text(buf, Tag::Date);
}

// Milliseconds since the epoch (UTC) of a value that stands for a moment.
bool moment_of(const Value& v, const Context& context, std::int64_t& utc_ms) {
  if (v.is_number()) {
    utc_ms = static_cast<std::int64_t>(v.as_number());
    return true;
  }
  std::int64_t days = 0;
  if (v.is_text() && parse_date(v.as_text(), context, days)) {
    utc_ms = days * 86'400'000 - context.tz_offset_ms;
    return true;
  }
  return false;
}

std::size_t utf8_count(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    n += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U ? 1 : 0;
  }
  return n;
}

// Byte offset of code point `index` in s.
std::size_t utf8_offset(std::string_view s, std::size_t index) {
  std::size_t cp = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0U) != 0x80U) {
      if (cp == index) {
        return i;
      }
      ++cp;
    }
  }
  return s.size();
}

bool number_arg(const std::vector<Value>& args, std::size_t i, double& out, std::string& error,
                const char* fn) {
  if (i < args.size() && args[i].is_number()) {
    out = args[i].as_number();
    return true;
  }
  if (i < args.size() && args[i].is_text() && parse_number(args[i].as_text(), out)) {
    return true;
  }
  error = std::string(fn) + "() needs a number, not " +
          (i < args.size() ? args[i].kind_name() : std::string("nothing"));
  return false;
}

}  // namespace

bool call_function(std::uint32_t fn, const std::vector<Value>& args, const Context& context,
                   const bytecode::FlowInfo& flow, const bytecode::Bundle& /*bundle*/,
                   Value& result, std::string& error) {
  auto text = [&](std::size_t i) {
    return i < args.size() ? args[i].to_text() : std::string();
  };
  double x = 0;
  double y = 0;
  switch (fn) {
    case kLower:
      result = Value::text(lower(text(0)));
      return true;
    case kUpper:
      result = Value::text(upper(text(0)));
      return true;
    case kTrim:
      result = Value::text(trim(text(0)));
      return true;
    case kLen:
      if (!args.empty() && args[0].type() == Value::Type::List) {
        result = Value::number(static_cast<double>(args[0].as_list().size()));
      } else {
        result = Value::number(static_cast<double>(utf8_count(text(0))));
      }
      return true;
    case kStartsWith:
      result = Value::boolean(text(0).rfind(text(1), 0) == 0);
      return true;
    case kEndsWith: {
      const std::string s = text(0);
      const std::string t = text(1);
      result =
          Value::boolean(s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0);
      return true;
    }
    case kReplace: {
      std::string s = text(0);
      const std::string from = text(1);
      const std::string to = text(2);
      if (!from.empty()) {
        for (std::size_t at = s.find(from); at != std::string::npos;
             at = s.find(from, at + to.size())) {
          s.replace(at, from.size(), to);
        }
      }
      result = Value::text(std::move(s));
      return true;
    }
    case kSubstring: {
      const std::string s = text(0);
      if (!number_arg(args, 1, x, error, "substring")) {
        return false;
      }
      const auto start = static_cast<std::size_t>(std::max(0.0, x));
      std::size_t count = std::string::npos;
      if (args.size() > 2) {
        if (!number_arg(args, 2, y, error, "substring")) {
          return false;
        }
        count = static_cast<std::size_t>(std::max(0.0, y));
      }
      const std::size_t b = utf8_offset(s, start);
      const std::size_t e = count == std::string::npos ? s.size() : utf8_offset(s, start + count);
      result = Value::text(s.substr(b, e - b));
      return true;
    }
    case kSplit: {
      const std::string s = text(0);
      const std::string sep = args.size() > 1 ? text(1) : ",";
      Value::List parts;
      if (sep.empty()) {
        parts.push_back(Value::text(s));
      } else {
        std::size_t start = 0;
        for (std::size_t at = s.find(sep); at != std::string::npos; at = s.find(sep, start)) {
          parts.push_back(Value::text(trim(s.substr(start, at - start))));
          start = at + sep.size();
        }
        parts.push_back(Value::text(trim(s.substr(start))));
      }
      result = Value::list(std::move(parts));
      return true;
    }
    case kJoin: {
      std::string out;
      const std::string sep = args.size() > 1 ? text(1) : ", ";
      if (!args.empty() && args[0].type() == Value::Type::List) {
        for (const Value& v : args[0].as_list()) {
          out += out.empty() ? "" : sep;
          out += v.to_text();
        }
      } else {
        out = text(0);
      }
      result = Value::text(std::move(out));
      return true;
    }
    case kNumber:
      if (!args.empty() && args[0].is_number()) {
        result = Value::number(args[0].as_number());
      } else if (parse_number(text(0), x)) {
        result = Value::number(x);
      } else {
        result = Value();
      }
      return true;
    case kText:
      result = Value::text(text(0));
      return true;
    case kRound:
    case kFloor:
    case kCeil:
    case kAbs: {
      const char* names[] = {"round", "floor", "ceil", "abs"};
      if (!number_arg(args, 0, x, error, names[fn - kRound])) {
        return false;
      }
      double places = 0;
      if (fn == kRound && args.size() > 1 && !number_arg(args, 1, places, error, "round")) {
        return false;
      }
      const double scale = std::pow(10.0, places);
      const double v = fn == kRound   ? std::round(x * scale) / scale
                       : fn == kFloor ? std::floor(x)
                       : fn == kCeil  ? std::ceil(x)
                                      : std::fabs(x);
      result = Value::number(v);
      return true;
    }
    case kMin:
    case kMax: {
      if (!number_arg(args, 0, x, error, fn == kMin ? "min" : "max") ||
          !number_arg(args, 1, y, error, fn == kMin ? "min" : "max")) {
        return false;
      }
      result = Value::number(fn == kMin ? std::min(x, y) : std::max(x, y));
      return true;
    }
    case kFormatDate: {
      std::int64_t ms = 0;
      if (args.empty() || !moment_of(args[0], context, ms)) {
        error = "format_date() needs a date";
        return false;
      }
      // A calendar date has no time of day and no zone; show it as it is.
      const bool calendar = args[0].is_text();
      const std::int64_t offset = calendar ? 0 : context.tz_offset_ms;
      const std::int64_t shown = calendar ? ms + context.tz_offset_ms : ms;
      result = Value::text(
          format_time(local_time(shown, offset), args.size() > 1 ? text(1) : "%Y-%m-%d"));
      return true;
    }
    case kWeekday: {
      std::int64_t ms = 0;
      if (args.empty() || !moment_of(args[0], context, ms)) {
        error = "weekday() needs a date";
        return false;
      }
      const bool calendar = args[0].is_text();
      const LocalTime t = local_time(calendar ? ms + context.tz_offset_ms : ms,
                                     calendar ? 0 : context.tz_offset_ms);
      result = Value::number(static_cast<double>(t.weekday + 1));
      return true;
    }
    case kInHours: {
      if (flow.hours.empty()) {
        result = Value::boolean(true);
        return true;
      }
      const LocalTime t = local_time(context.now_ms, context.tz_offset_ms);
      const unsigned minute = t.hour * 60 + t.minute;
      bool open = false;
      for (const bytecode::HoursRange& h : flow.hours) {
        open = open || (((h.days >> t.weekday) & 1U) != 0 && minute >= h.open && minute < h.close);
      }
      result = Value::boolean(open);
      return true;
    }
    case kDefault:
      result = (!args.empty() && !args[0].is_null() && args[0].to_text() != "")
                   ? args[0]
                   : (args.size() > 1 ? args[1] : Value());
      return true;
    case kIsEmpty:
      result = Value::boolean(
          args.empty() || args[0].is_null() || (args[0].is_text() && args[0].as_text().empty()) ||
          (args[0].type() == Value::Type::List && args[0].as_list().empty()) ||
          (args[0].type() == Value::Type::Object && args[0].as_object().empty()));
      return true;
    default:
      error = "unknown function";
      return false;
  }
}

bool validate_capture(std::uint32_t capture, const Value& message, const Value& prompt,
                      const Context& context, Value& value) {
  enum Capture : std::uint32_t {
    Text,
    Number,
    Email,
    Phone,
    Date,
    Url,
    Choice,
    YesNo,
    Regex,
    Media,
    Location
  };
  const Value* type_field = message.field("type");
  const std::string type = type_field != nullptr ? type_field->to_text() : "text";
  const Value* text_field = message.field("text");
  const std::string raw = text_field != nullptr ? text_field->to_text() : message.to_text();
  const std::string t = trim(raw);
  switch (capture) {
    case Text:
      if (t.empty()) {
        return false;
      }
      value = Value::text(raw);
      return true;
    case Number: {
      double x = 0;
      if (!parse_number(t, x)) {
        return false;
      }
      value = Value::number(x);
      return true;
    }
    case Email: {
      static const std::regex kEmail(R"(^[^@\s]+@[^@\s]+\.[^@\s]+$)");
      if (!std::regex_match(t, kEmail)) {
        return false;
      }
      value = Value::text(lower(t));
      return true;
    }
    case Phone: {
      std::string digits;
      for (char c : t) {
        if (c >= '0' && c <= '9') {
          digits += c;
        } else if (c != ' ' && c != '-' && c != '(' && c != ')' && c != '.' &&
                   !(c == '+' && digits.empty())) {
          return false;
        }
      }
      if (digits.size() < 7 || digits.size() > 15) {
        return false;
      }
      value = Value::text("+" + digits);
      return true;
    }
    case Date: {
      std::int64_t days = 0;
      if (!parse_date(t, context, days)) {
        return false;
      }
      value = date_value(days);
      return true;
    }
    case Url: {
      static const std::regex kUrl(R"(^https?://[^\s/$.?#][^\s]*$)", std::regex::icase);
      if (!std::regex_match(t, kUrl)) {
        return false;
      }
      value = Value::text(t);
      return true;
    }
    case Choice: {
      // The options: buttons, or the rows of every list section.
      std::vector<Value> options;
      if (const Value* buttons = prompt.field("buttons")) {
        options = buttons->as_list();
      }
      if (const Value* sections = prompt.field("sections")) {
        for (const Value& s : sections->as_list()) {
          if (const Value* rows = s.field("rows")) {
            options.insert(options.end(), rows->as_list().begin(), rows->as_list().end());
          }
        }
      }
      const Value* payload = message.field("payload");
      const std::string tapped = payload != nullptr ? payload->to_text() : "";
      const std::string wanted = lower(t);
      for (std::size_t i = 0; i < options.size(); ++i) {
        const std::string id =
            options[i].field("id") != nullptr ? options[i].field("id")->to_text() : "";
        const std::string title =
            options[i].field("title") != nullptr ? options[i].field("title")->to_text() : "";
        // A tap carries the id; typed text may be the title, the id or the option's number
        // (gateways without buttons show numbered options).
        const bool hit = (!tapped.empty() && tapped == id) ||
                         (!wanted.empty() && (wanted == lower(title) || wanted == lower(id) ||
                                              wanted == std::to_string(i + 1)));
        if (hit) {
          value =
              Value::object({{"id", Value::text(id)}, {"title", Value::text(title)}}, Tag::Choice);
          return true;
        }
      }
      return false;
    }
    case YesNo: {
      static const char* kYes[] = {"yes", "y",  "yeah", "yep", "sure", "ok", "okay",
                                   "si",  "sí", "ja",   "oui", "sim",  "1",  "true"};
      static const char* kNo[] = {"no",  "n",   "nope", "nah", "nein",
                                  "non", "não", "nao",  "0",   "false"};
      const Value* payload = message.field("payload");
      const std::string word =
          lower(payload != nullptr && !payload->to_text().empty() ? payload->to_text() : t);
      for (const char* y : kYes) {
        if (word == y) {
          value = Value::boolean(true);
          return true;
        }
      }
      for (const char* n : kNo) {
        if (word == n) {
          value = Value::boolean(false);
          return true;
        }
      }
      return false;
    }
    case Regex: {
      const Value* pattern = prompt.field("pattern");
      try {
        const std::regex re(pattern != nullptr ? pattern->to_text() : "", std::regex::ECMAScript);
        if (!std::regex_search(t, re)) {
          return false;
        }
      } catch (const std::regex_error&) {
        return false;
      }
      value = Value::text(t);
      return true;
    }
    case Media: {
      if (type != "image" && type != "audio" && type != "video" && type != "document" &&
          type != "sticker") {
        return false;
      }
      Value::Object fields = {{"type", Value::text(type)}};
      for (const char* key : {"url", "mime", "caption", "filename"}) {
        if (const Value* f = message.field(key)) {
          fields.emplace_back(key, *f);
        }
      }
      value = Value::object(std::move(fields), Tag::Media);
      return true;
    }
    case Location: {
      if (type != "location") {
        return false;
      }
      Value::Object fields;
      for (const char* key : {"latitude", "longitude", "name", "address"}) {
        if (const Value* f = message.field(key)) {
          fields.emplace_back(key, *f);
        }
      }
      value = Value::object(std::move(fields), Tag::Location);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace waflow::vm
