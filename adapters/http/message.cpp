#include "adapters/http/message.h"

namespace waflow::http {

namespace {

std::string_view find_in(const StringMap& map, std::string_view key) {
  auto it = map.find(key);
  return it == map.end() ? std::string_view() : std::string_view(it->second);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view Request::header(std::string_view name) const {
  return find_in(headers, name);
}
std::string_view Request::query_param(std::string_view name) const {
  return find_in(query, name);
}
std::string_view Request::param(std::string_view name) const {
  return find_in(params, name);
}

Response Response::text(int status, std::string body) {
  return Response{status, "text/plain; charset=utf-8", {}, std::move(body)};
}

Response Response::json(int status, std::string body) {
  return Response{status, "application/json", {}, std::move(body)};
}

Response Response::error(int status, std::string_view code, std::string_view message) {
  return json(status, "{\"error\":{\"code\":" + json_quote(code) +
                          ",\"message\":" + json_quote(message) + "}}");
}

std::string json_quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
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
      default:
        if (byte < 0x20) {
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && c == '+') ? ' ' : c;
  }
  return out;
}

std::string_view trim_ows(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
    value.remove_prefix(1);
  }
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
    value.remove_suffix(1);
  }
  return value;
}

std::int64_t retry_after_seconds_ms(std::string_view value) {
  value = trim_ows(value);
  if (value.empty() || value.size() > 9) {
    return -1;  // absent, or a date, or beyond any sensible wait (over 30 years)
  }
  std::int64_t seconds = 0;
  for (char c : value) {
    if (c < '0' || c > '9') {
      return -1;
    }
    seconds = seconds * 10 + (c - '0');
  }
  return seconds * 1000;
}

}  // namespace waflow::http
