// The ordered JSON value of the visual writer.

#include "compiler/visual/json_value.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace waflow::visual {

JsonValue JsonValue::string(std::string value) {
  JsonValue v;
  v.kind_ = Kind::String;
  v.text_ = std::move(value);
  return v;
}

JsonValue JsonValue::boolean(bool value) {
  JsonValue v;
  v.kind_ = Kind::Bool;
  v.text_ = value ? "true" : "false";
  return v;
}

JsonValue JsonValue::number_text(std::string text) {
  JsonValue v;
  v.kind_ = Kind::Number;
  v.text_ = std::move(text);
  return v;
}

JsonValue JsonValue::number(double value) {
  if (!std::isfinite(value)) {
    return JsonValue();
  }
  // 2^53: beyond it doubles are not all integers any more.
  constexpr double kExactIntegers = 9007199254740992.0;
  char buffer[64];
  if (value == std::trunc(value) && std::fabs(value) < kExactIntegers) {
    const auto whole = static_cast<long long>(value);
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, whole);
    (void)ec;
    return number_text(std::string(buffer, end));
  }
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  (void)ec;
  return number_text(std::string(buffer, end));
}

JsonValue JsonValue::array() {
  JsonValue v;
  v.kind_ = Kind::Array;
  return v;
}

JsonValue JsonValue::object() {
  JsonValue v;
  v.kind_ = Kind::Object;
  return v;
}

JsonValue& JsonValue::set(std::string key, JsonValue value) {
  members_.emplace_back(std::move(key), std::move(value));
  return members_.back().second;
}

JsonValue& JsonValue::push(JsonValue value) {
  items_.push_back(std::move(value));
  return items_.back();
}

std::string JsonValue::dump() const {
  std::string out;
  print(out, 0);
  return out;
}

void JsonValue::print(std::string& out, std::size_t indent) const {
  switch (kind_) {
    case Kind::Null:
      out += "null";
      return;
    case Kind::Bool:
    case Kind::Number:
      out += text_;
      return;
    case Kind::String:
      out += json_quote(text_);
      return;
    case Kind::Array:
    case Kind::Object:
      break;
  }
  const bool object = kind_ == Kind::Object;
  const std::size_t count = object ? members_.size() : items_.size();
  if (count == 0) {
    out += object ? "{}" : "[]";
    return;
  }
  out += object ? "{\n" : "[\n";
  const std::string pad(indent + 2, ' ');
  for (std::size_t i = 0; i < count; ++i) {
    out += pad;
    if (object) {
      out += json_quote(members_[i].first);
      out += ": ";
      members_[i].second.print(out, indent + 2);
    } else {
      items_[i].print(out, indent + 2);
    }
    out += i + 1 < count ? ",\n" : "\n";
  }
  out += std::string(indent, ' ');
  out += object ? '}' : ']';
}

bool is_json_number(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  auto digits = [&] {
    const std::size_t start = i;
    while (i < n && text[i] >= '0' && text[i] <= '9') {
      ++i;
    }
    return i > start;
  };
  if (i < n && text[i] == '-') {
    ++i;
  }
  if (i < n && text[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < n && text[i] == '.') {
    ++i;
    if (!digits()) {
      return false;
    }
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) {
      ++i;
    }
    if (!digits()) {
      return false;
    }
  }
  return i == n;
}

std::string json_quote(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace waflow::visual
