#pragma once

// The neutral model of one chat call to a language model, and of how it failed.
//
// An AI step becomes a ChatRequest; a provider adapter (provider.h) turns it into that
// provider's HTTP request and reads the answer back into a ChatResponse or an AiError. The
// router (router.h) decides from the AiError's class alone what happens next: retry the same
// target, move to the next model, or stop. JSON values (schemas, tool arguments, a structured
// answer) travel as compact JSON text, so no JSON library appears in this header.
// Wire facts: research/runtime-anchors.md, Part A.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/base/check.h"

namespace waflow::ai {

// A call the model asked for. `arguments` is always a JSON object's text ("{}" when the model
// gave none), whatever shape the provider used on the wire.
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;
};

enum class Role : std::uint8_t { User, Assistant, Tool };

// A picture given to the model with a user turn (an image a contact sent, to be described):
// the file's bytes, sent inline as each provider takes them (OpenAI an image_url data URL,
// Anthropic a base64 image block, Gemini inlineData).
struct Image {
  std::string mime;  // "image/jpeg", "image/png", ...
  std::string bytes;
};

struct Message {
  Role role = Role::User;
  std::string text;
  std::vector<ToolCall> tool_calls;  // Assistant turns: the calls the model made.
  // Tool turns: the answer to one call.
  std::string tool_call_id;
  std::string tool_name;  // Gemini matches answers by name, not id.
  bool tool_error = false;
  std::vector<Image> images{};  // User turns: shown to the model before the text.
};

// A tool the model may call; `parameters` is a JSON Schema (an object schema) as text.
struct ToolSpec {
  std::string name;
  std::string description;
  std::string parameters;
};

enum class ToolChoice : std::uint8_t { Auto, None, Required, Named };

// Ask for a JSON answer that matches a schema (JSON Schema text, the subset in schema.h).
struct OutputSchema {
  std::string name = "answer";
  std::string schema;
  bool strict = false;  // OpenAI's strict mode: every property required, no extras.
};

struct ChatRequest {
  std::string system;
  std::vector<Message> messages;
  std::optional<double> temperature;
  std::optional<std::int64_t> max_tokens;
  std::optional<OutputSchema> output;
  std::vector<ToolSpec> tools;
  ToolChoice tool_choice = ToolChoice::Auto;
  std::string tool_choice_name;  // With ToolChoice::Named.
};

enum class FinishReason : std::uint8_t { Stop, Length, ToolCalls, ContentFilter, Other };

struct Usage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
};

struct ChatResponse {
  std::string text;
  std::string parsed;  // With ChatRequest::output: the validated JSON answer, compact.
  std::vector<ToolCall> tool_calls;
  FinishReason finish = FinishReason::Other;
  std::string provider_finish;  // As the provider spelled it, for logs.
  Usage usage;
  std::string model;  // The model that answered, as the provider names it.
};

// What the router does with a failure:
//   Retry     the same target may succeed shortly (408, 409, rate-limit 429, 5xx, 529,
//             connection errors, timeouts): retried with backoff, then the next model;
//   Failover  this target cannot serve this request now (model missing or down, no provider,
//             context window, content policy, an answer that breaks the schema): next model;
//   Fatal     never retried: the request is wrong (400), or the target's account refuses
//             it (401, 402, 403, quota or spend cap). See Reason and docs/ai.md.
enum class ErrorClass : std::uint8_t { Retry, Failover, Fatal };

enum class Reason : std::uint8_t {
  RateLimit,         // 429 that will pass.
  Overloaded,        // 529, 503 overloaded.
  Server,            // Other 5xx, a 200 that carries a provider error.
  Timeout,           // 408, 504, the attempt's own time limit.
  Connection,        // Refused, reset, DNS, TLS.
  Conflict,          // 409.
  ModelUnavailable,  // 404 model, OpenRouter 502/503.
  ContextWindow,     // The prompt does not fit.
  ContentPolicy,     // Moderation refused the prompt or the answer.
  InvalidOutput,     // Unreadable answer, or one that breaks the requested schema.
  BadRequest,        // 400, 422: the request itself is wrong.
  Auth,              // 401.
  Permission,        // 403.
  Billing,           // 402, out of credits.
  Quota,             // A quota or spend-cap 429.
  Unsupported,       // The provider cannot do what the request asks (tools).
  NoTarget,          // Router: no model configured, every breaker open, no time left.
};

struct AiError {
  ErrorClass error_class = ErrorClass::Fatal;
  Reason reason = Reason::BadRequest;
  int status = 0;                    // HTTP status; 0 when none came.
  std::string code;                  // The provider's error code or type, when it gave one.
  std::string message;               // The provider's message (or ours), for the log.
  std::int64_t retry_after_ms = -1;  // How long the provider asked us to wait; -1: not said.
};

// Whether a failure says the target is unhealthy (the circuit breaker counts these) rather
// than that this one request cannot be served.
bool counts_against_target(const AiError& error);
// Whether the router may try the next model after this failure.
bool may_fail_over(const AiError& error);
std::string_view class_name(ErrorClass c);     // "retry", "failover", "fatal"
std::string_view reason_name(Reason r);        // "rate_limit", "context_window", ...
std::string_view finish_name(FinishReason f);  // "stop", "length", "tool_calls", ...

// A value or the AiError that took its place.
template <typename T>
class [[nodiscard]] AiResult {
 public:
  AiResult(T value) : data_(std::move(value)) {}        // NOLINT
  AiResult(AiError error) : data_(std::move(error)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }
  const T& value() const& {
    WAFLOW_CHECK(ok(), "value() on a failed AI result");
    return std::get<T>(data_);
  }
  T&& value() && {
    WAFLOW_CHECK(ok(), "value() on a failed AI result");
    return std::get<T>(std::move(data_));
  }
  const AiError& error() const {
    WAFLOW_CHECK(!ok(), "error() on a successful AI result");
    return std::get<AiError>(data_);
  }

 private:
  std::variant<AiError, T> data_;
};

using ChatResult = AiResult<ChatResponse>;

}  // namespace waflow::ai
