#include "adapters/gateways/wire.h"

#include <cmath>
#include <limits>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace waflow::gateways::wire {

namespace {

char lower_ascii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = lower_ascii(c);
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 &&
               hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string hmac_raw(Digest digest, std::string_view key, std::string_view body) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  const EVP_MD* md = digest == Digest::Sha256 ? EVP_sha256() : EVP_sha512();
  // An empty key is still a key: HMAC() wants a non-null pointer for it.
  static const char kEmpty = 0;
  if (HMAC(md, key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), out,
           &size) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string at(const std::string& path, const char* key) {
  return path.empty() ? std::string(key) : path + "." + key;
}

}  // namespace

std::optional<std::string_view> header(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

bool is_json(std::string_view content_type) {
  std::string media;
  for (char c : content_type) {
    if (c == ';') {
      break;
    }
    if (c != ' ' && c != '\t') {
      media += lower_ascii(c);
    }
  }
  return media == "application/json";
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) {
      continue;
    }
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(percent_decode(part), "");
    } else {
      out.emplace_back(percent_decode(part.substr(0, eq)), percent_decode(part.substr(eq + 1)));
    }
  }
  return out;
}

std::optional<std::string> query_value(std::string_view query, std::string_view key) {
  for (auto& [k, v] : parse_query(query)) {
    if (k == key) {
      return std::move(v);
    }
  }
  return std::nullopt;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // The lengths of secrets are not secret; the contents are.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool hmac_matches(Digest digest, std::string_view key, std::string_view body,
                  std::string_view hex) {
  const std::string expected = hmac_raw(digest, key, body);
  if (expected.empty() || hex.size() != expected.size() * 2) {
    return false;
  }
  std::string given(expected.size(), '\0');
  for (std::size_t i = 0; i < given.size(); ++i) {
    const int hi = hex_digit(hex[2 * i]);
    const int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    given[i] = static_cast<char>(hi * 16 + lo);
  }
  return constant_time_equal(given, expected);
}

std::string hmac_hex(Digest digest, std::string_view key, std::string_view body) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (const char byte : hmac_raw(digest, key, body)) {
    const auto c = static_cast<unsigned char>(byte);
    out += kHex[c >> 4U];
    out += kHex[c & 15U];
  }
  return out;
}

std::int64_t retry_after_ms(std::string_view header) {
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) {
    header.remove_prefix(1);
  }
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t')) {
    header.remove_suffix(1);
  }
  if (header.empty() || header.size() > 9) {
    return -1;  // absent, or a date, or beyond any sensible wait (over 30 years)
  }
  std::int64_t seconds = 0;
  for (char c : header) {
    if (c < '0' || c > '9') {
      return -1;
    }
    seconds = seconds * 10 + (c - '0');
  }
  return seconds * 1000;
}

std::string dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<WebhookError> parse_body(std::string_view body, Json& out) {
  try {
    out = Json::parse(body);
    return std::nullopt;
  } catch (const Json::parse_error& e) {
    // Not e.what(): it quotes the body, which may be anything.
    return WebhookError{400, "malformed JSON at byte " + std::to_string(e.byte)};
  } catch (const Json::exception&) {
    return WebhookError{400, "malformed JSON: a number is out of range"};
  }
}

std::string scalar_text(const Json* value) {
  if (value == nullptr) {
    return {};
  }
  if (value->is_string()) {
    return value->get<std::string>();
  }
  if (value->is_number()) {
    return value->dump();
  }
  return {};
}

const Json* field(const Json& object, const char* key) {
  if (!object.is_object()) {
    return nullptr;
  }
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

const Json& need_object(const Json& object, const char* key, const std::string& path) {
  const Json* f = field(object, key);
  if (f == nullptr) {
    throw Malformed("missing field " + at(path, key));
  }
  if (!f->is_object()) {
    throw Malformed(at(path, key) + " is not an object");
  }
  return *f;
}

const Json& need_array(const Json& object, const char* key, const std::string& path) {
  const Json* f = field(object, key);
  if (f == nullptr) {
    throw Malformed("missing field " + at(path, key));
  }
  if (!f->is_array()) {
    throw Malformed(at(path, key) + " is not a list");
  }
  return *f;
}

std::string need_string(const Json& object, const char* key, const std::string& path) {
  const Json* f = field(object, key);
  if (f == nullptr) {
    throw Malformed("missing field " + at(path, key));
  }
  if (!f->is_string()) {
    throw Malformed(at(path, key) + " is not a text");
  }
  return f->get<std::string>();
}

std::string text(const Json& object, const char* key) {
  const Json* f = field(object, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : std::string();
}

std::optional<double> number(const Json& object, const char* key) {
  const Json* f = field(object, key);
  if (f == nullptr) {
    return std::nullopt;
  }
  if (f->is_number()) {
    const double v = f->get<double>();
    return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
  }
  if (f->is_string()) {
    const std::string& s = f->get_ref<const std::string&>();
    // Parsed by hand: strtod follows LC_NUMERIC, and a provider's "1.5" is never "1,5".
    double v = 0;
    double scale = 0;
    bool digits = false;
    std::size_t i = 0;
    const bool negative = !s.empty() && s[0] == '-';
    i = negative || (!s.empty() && s[0] == '+') ? 1 : 0;
    for (; i < s.size(); ++i) {
      const char c = s[i];
      if (c >= '0' && c <= '9') {
        digits = true;
        if (scale == 0) {
          v = v * 10 + (c - '0');
        } else {
          v += (c - '0') * scale;
          scale /= 10;
        }
      } else if (c == '.' && scale == 0) {
        scale = 0.1;
      } else {
        return std::nullopt;
      }
    }
    if (!digits || !std::isfinite(v)) {
      return std::nullopt;
    }
    return negative ? -v : v;
  }
  return std::nullopt;
}

std::int64_t timestamp_ms(const Json& object, const char* key, const std::string& path) {
  if (field(object, key) == nullptr) {
    return 0;
  }
  const std::optional<double> seconds = number(object, key);
  // Up to the end of year 9999: anything later is a broken or hostile value.
  constexpr double kLatest = 253402300799.0;
  if (!seconds || *seconds < 0 || *seconds > kLatest) {
    throw Malformed(at(path, key) + " is not a time in seconds since 1970");
  }
  return std::llround(*seconds * 1000.0);
}

std::string value_text(const vm::Value& value, std::string_view key) {
  const vm::Value* f = value.field(key);
  return f == nullptr || f->is_null() ? std::string() : f->to_text();
}

bool is_url(std::string_view s) {
  std::string head;
  for (std::size_t i = 0; i < s.size() && i < 8; ++i) {
    head += lower_ascii(s[i]);
  }
  return head.rfind("http://", 0) == 0 || head.rfind("https://", 0) == 0;
}

}  // namespace waflow::gateways::wire
