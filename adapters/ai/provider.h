#pragma once

// Provider adapters: a ChatRequest in, the provider's HTTP request out; the provider's answer
// in, a ChatResponse or a classified AiError out. Pure functions: no I/O, no clock (the
// caller passes the time, for Retry-After dates), no state, so they are tested on fixtures
// and fuzzed on bytes. Three wire families:
//
//   OpenAI-compatible /chat/completions: openai, openrouter, groq, mistral, together, ollama,
//     vllm, llamacpp, each with a row of the quirk table (quirks()).
//   Anthropic Messages /v1/messages.
//   Gemini generateContent.
//
// build() fails (with an AiError) only when the request cannot be expressed for the provider.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/ai/chat.h"
#include "adapters/http/client.h"
#include "adapters/http/message.h"

namespace waflow::ai {

enum class ProviderKind : std::uint8_t {
  OpenAi,
  OpenRouter,
  Groq,
  Mistral,
  Together,
  Ollama,
  Vllm,
  LlamaCpp,
  Anthropic,
  Gemini,
};

struct ProviderConfig {
  ProviderKind kind = ProviderKind::OpenAi;
  std::string model;     // The provider's model id ("gpt-4o-mini", "openai/gpt-4o-mini").
  std::string api_key;   // May be empty for local servers.
  std::string base_url;  // Empty: the provider's public endpoint (default_base_url()).
  // OpenRouter: attribution headers, and further models it may try itself (`models`).
  std::string app_url;    // HTTP-Referer
  std::string app_title;  // X-Title
  std::vector<std::string> provider_fallbacks;
  // Anthropic: the API version header; Gemini: send standard JSON Schema
  // (responseJsonSchema) instead of the OpenAPI subset (responseSchema).
  std::string anthropic_version = "2023-06-01";
  bool gemini_json_schema = false;
  // Override the quirk table's answer to "does this server take tools" (a vLLM server
  // started without --enable-auto-tool-choice does not): -1 table, 0 no, 1 yes.
  int tools = -1;
};

// How one OpenAI-compatible server differs from OpenAI.
enum class JsonMode : std::uint8_t {
  JsonSchema,        // response_format {type: json_schema, json_schema: {name, schema, strict}}
  JsonObject,        // response_format {type: json_object}; the schema goes in the system prompt
  JsonObjectSchema,  // llama.cpp: {type: json_object, schema}
};

struct Quirks {
  std::string_view token_field;  // "max_completion_tokens" or "max_tokens"
  bool tools = true;
  JsonMode json = JsonMode::JsonSchema;
  bool nine_char_tool_ids = false;        // Mistral: ids of exactly 9 [A-Za-z0-9]
  bool required_is_any = false;           // Mistral: tool_choice "any" for "required"
  bool error_in_200 = false;              // OpenRouter: a started call fails as a 200 with `error`
  bool gateway_errors_fail_over = false;  // OpenRouter: 502 model down, 503 no provider
  bool reasoning_drops_temperature = false;  // OpenAI o-series and gpt-5 refuse temperature
};

const Quirks& quirks(ProviderKind kind);
std::string_view kind_name(ProviderKind kind);  // "openai", "openrouter", ... "gemini"
// The kind for a name as written in the config; false when there is none.
bool parse_kind(std::string_view name, ProviderKind& out);
std::string_view default_base_url(ProviderKind kind);

// The provider's HTTP request for `request`. timeout_ms is left 0 (the router sets it).
AiResult<http::ClientRequest> build(const ProviderConfig& config, const ChatRequest& request);

// Reads the provider's answer to a request built from `request` (the structured output schema
// and the tools asked for come from it). `now_unix_ms` dates Retry-After headers given as
// dates. Status 0 is not an answer: use transport_error() for those.
ChatResult parse(const ProviderConfig& config, const ChatRequest& request, int status,
                 const http::StringMap& headers, std::string_view body, std::int64_t now_unix_ms);

// A request that got no HTTP answer (refused, reset, DNS, TLS, timed out): retryable.
AiError transport_error(std::string_view curl_error);

}  // namespace waflow::ai
