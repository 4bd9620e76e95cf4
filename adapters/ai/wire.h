#pragma once

// What the provider adapters share: JSON reading, the status table, retry hints in headers,
// and the checks of a structured answer. Internal to waflow_ai (it exposes nlohmann::json,
// which stays out of the public headers).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/ai/chat.h"
#include "adapters/ai/provider.h"
#include "adapters/http/message.h"

namespace waflow::ai::wire {

// Ordered: request bodies keep the order they are built in, and a schema's properties keep
// theirs (Gemini's propertyOrdering).
using Json = nlohmann::ordered_json;

// JSON text that is always valid UTF-8 (invalid bytes become U+FFFD).
std::string dump(const Json& json);
// Parses JSON text; nullopt when it is not JSON.
std::optional<Json> parse_json(std::string_view text);
// A JSON text that must be an object (a schema, tool parameters): the object, or nullopt.
std::optional<Json> parse_object(std::string_view text);

// Fields of a JSON value; absent, null or of another type count as missing.
const Json* field(const Json& object, const char* key);
std::string text(const Json& object, const char* key);
std::int64_t integer(const Json& object, const char* key);
// A number or a text as text ("429"); "" for anything else.
std::string scalar_text(const Json* value);

// Retry hints. Each returns milliseconds, or -1 when absent or unreadable.
std::int64_t http_date_ms(std::string_view date);     // IMF-fixdate, as Unix ms
std::int64_t rfc3339_ms(std::string_view timestamp);  // 2025-01-06T09:00:30Z, as Unix ms
std::int64_t go_duration_ms(std::string_view text);   // "6m0s", "1.5s", "20ms", "37s"
// retry-after-ms, then Retry-After (delta seconds or an HTTP date, against now).
std::int64_t retry_after_ms(const http::StringMap& headers, std::int64_t now_unix_ms);
std::string_view header(const http::StringMap& headers, std::string_view name);

// The class of a failed HTTP status before the provider's body refines it.
AiError status_error(int status, const Quirks* quirks);
// Refines an error from its code and message: quota and spend caps, context window, content
// policy, a model that does not exist.
void refine(AiError& error, std::string_view provider_code);
// x-should-retry: true|false overrides the class (OpenAI's and Anthropic's servers send it).
void apply_should_retry(AiError& error, const http::StringMap& headers);

AiError error(ErrorClass c, Reason r, std::string message, int status = 0);

// A response that is not what the provider sends: unreadable, a failure of the provider's
// side (retry once more, it may be a broken proxy).
AiError malformed(std::string_view provider, std::string_view what, int status);

// After a successful parse. An answer with neither text nor tool calls (also one a content
// filter emptied) is a failure. With a requested output schema, a cut answer (length) or one
// that is not JSON matching the schema is InvalidOutput (Failover); else fills
// response.parsed.
std::optional<AiError> check_answer(const ChatRequest& request, ChatResponse& response);

// Per-family adapters (openai_compat.cpp, anthropic.cpp, gemini.cpp); provider.cpp dispatches.
AiResult<http::ClientRequest> build_openai(const ProviderConfig& config,
                                           const ChatRequest& request);
ChatResult parse_openai(const ProviderConfig& config, const ChatRequest& request, int status,
                        const http::StringMap& headers, std::string_view body, std::int64_t now_ms);
AiResult<http::ClientRequest> build_anthropic(const ProviderConfig& config,
                                              const ChatRequest& request);
ChatResult parse_anthropic(const ProviderConfig& config, const ChatRequest& request, int status,
                           const http::StringMap& headers, std::string_view body,
                           std::int64_t now_ms);
AiResult<http::ClientRequest> build_gemini(const ProviderConfig& config,
                                           const ChatRequest& request);
ChatResult parse_gemini(const ProviderConfig& config, const ChatRequest& request, int status,
                        const http::StringMap& headers, std::string_view body, std::int64_t now_ms);

// The base URL without a trailing '/': the configured one, else the provider's default.
std::string base_url(const ProviderConfig& config);

// Tool arguments as an object's text: a JSON-encoded string (OpenAI) or an object (the
// others). Malformed arguments are an InvalidOutput error's message.
std::optional<std::string> arguments_text(const Json& arguments, std::string& why);

}  // namespace waflow::ai::wire
