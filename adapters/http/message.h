#pragma once

// Requests, responses and log hooks of the HTTP server (adapters/http).
//
// Plain values with no Beast or Asio types, so the rest of waflow (webhook
// ingress, the API, the web chat) can build and test handlers without pulling
// the networking headers into its translation units.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace waflow::http {

// A map whose lookups accept string_view keys.
using StringMap = std::map<std::string, std::string, std::less<>>;

struct Request {
  std::string method;          // As sent, e.g. "GET" (methods are case-sensitive).
  std::string target;          // As sent: path and query, e.g. "/api/v1/x?limit=5".
  std::string path;            // The target's path, still percent-encoded.
  std::string query_string;    // The raw query, without the '?'.
  StringMap query;             // Decoded ('+' is a space); a repeated key keeps its first value.
  StringMap headers;           // Names in lower case; repeated fields joined with ", ".
  std::string body;            // Raw bytes (chunked bodies arrive de-chunked).
  std::string remote_address;  // The peer's IP address.
  std::uint16_t remote_port = 0;
  StringMap params;  // From the route pattern ({name} segments, "*" for a prefix route), decoded.

  // The value of a header (name in lower case), a query parameter or a route
  // parameter; "" when absent.
  std::string_view header(std::string_view name) const;
  std::string_view query_param(std::string_view name) const;
  std::string_view param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  // Extra header fields. Content-Length, Connection and Server are set by the
  // server; a field whose name or value holds CR or LF is dropped and logged.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static Response text(int status, std::string body);
  static Response json(int status, std::string body);
  // {"error":{"code":"<code>","message":"<message>"}}, the shape of every error
  // the server itself produces.
  static Response error(int status, std::string_view code, std::string_view message);
};

// Quotes and escapes a string as a JSON string literal (with the quotes).
std::string json_quote(std::string_view text);

// A header value without the optional whitespace (spaces and tabs) at either end.
std::string_view trim_ows(std::string_view value);

// A Retry-After value in delta-seconds, as milliseconds; -1 when empty, not a
// number, or beyond any sensible wait (an HTTP date needs a clock: the caller's).
std::int64_t retry_after_seconds_ms(std::string_view value);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`). Invalid escapes
// are kept as they are.
std::string percent_decode(std::string_view text, bool plus_is_space);

enum class LogLevel : std::uint8_t { Debug, Info, Warn, Error };

struct LogField {
  std::string_view key;
  std::string value;
};

// Where the server reports what it rejected or could not do (one line per
// event); the JSON log writer plugs in here. Called from I/O threads, so it must
// be thread-safe and quick.
using Logger = std::function<void(LogLevel, std::string_view message, std::span<const LogField>)>;

// One answered request, for access logs and metrics.
struct AccessEntry {
  std::string_view method;
  std::string_view path;
  int status = 0;
  std::chrono::microseconds duration{0};  // From the first byte of the request to the response.
  std::string_view remote_address;
  std::uint64_t request_bytes = 0;   // Body bytes received.
  std::uint64_t response_bytes = 0;  // Body bytes sent.
};
using AccessLog = std::function<void(const AccessEntry&)>;

}  // namespace waflow::http
