#pragma once

// What the gateways share on the wire: header lookup, content types, query strings,
// signatures, Retry-After, and reading provider JSON with errors that name the field.
// Internal to waflow_gateways (it exposes nlohmann::json, which stays out of the public headers).

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/gateways/gateway.h"

namespace waflow::gateways::wire {

using Json = nlohmann::json;

// The value of header `name` (lower case), or nullopt.
std::optional<std::string_view> header(const Headers& headers, std::string_view name);

// Whether a Content-Type names JSON ("application/json; charset=utf-8", any case).
bool is_json(std::string_view content_type);

// key=value pairs of a query string, percent-decoded ('+' is a space).
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);
std::optional<std::string> query_value(std::string_view query, std::string_view key);

enum class Digest : std::uint8_t { Sha256, Sha512 };
// Whether `hex` (either case) is the HMAC of `body` under `key`; compares in constant time.
bool hmac_matches(Digest digest, std::string_view key, std::string_view body, std::string_view hex);
// Lower-case hex of the HMAC (tests and fuzzers sign with it).
std::string hmac_hex(Digest digest, std::string_view key, std::string_view body);
// Equality that takes the same time wherever the first difference is.
bool constant_time_equal(std::string_view a, std::string_view b);

// A Retry-After header in delta-seconds, as milliseconds; -1 when absent or not a number
// (an HTTP date cannot be read without a clock, which a gateway does not have).
std::int64_t retry_after_ms(std::string_view header);

// JSON text that is always valid UTF-8: invalid bytes become U+FFFD.
std::string dump(const Json& json);

// Parses a webhook body; on failure, the 400 to answer, saying where the JSON broke.
std::optional<WebhookError> parse_body(std::string_view body, Json& out);
// A number or a text as text ("131047"); "" for anything else. Error codes come as either.
std::string scalar_text(const Json* value);

// A webhook body that lacks what the provider always sends: answered with 400.
struct Malformed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Fields of a JSON object. `path` names the object in messages ("entry[0].changes[0].value").
// A missing field, or one that is null, counts as absent.
const Json* field(const Json& object, const char* key);
const Json& need_object(const Json& object, const char* key, const std::string& path);
const Json& need_array(const Json& object, const char* key, const std::string& path);
std::string need_string(const Json& object, const char* key, const std::string& path);
// A text field, or "" when absent or not text.
std::string text(const Json& object, const char* key);
// A number, or a text that holds one (providers differ); nullopt when absent or not a number.
std::optional<double> number(const Json& object, const char* key);
// Seconds since the epoch (a number or a text of digits) as milliseconds; 0 when absent.
// Throws Malformed when present but not a plausible time.
std::int64_t timestamp_ms(const Json& object, const char* key, const std::string& path);

// The text of a field of a VM value ("" when absent).
std::string value_text(const vm::Value& value, std::string_view key);

// Whether `s` looks like an http(s) URL (rather than a provider's media id).
bool is_url(std::string_view s);

}  // namespace waflow::gateways::wire
