// The provider table: names, endpoints, the OpenAI-compatible quirks (research/runtime-anchors.md
// A.2), and the dispatch to each wire family.

#include "adapters/ai/provider.h"

#include <array>

#include "adapters/ai/wire.h"

namespace waflow::ai {

namespace {

struct Row {
  ProviderKind kind;
  std::string_view name;
  std::string_view base_url;
  Quirks quirks;
};

// clang-format off
const std::array<Row, 10> kProviders = {{
  {ProviderKind::OpenAi, "openai", "https://api.openai.com/v1",
   {"max_completion_tokens", true, JsonMode::JsonSchema, false, false, false, false, true}},
  {ProviderKind::OpenRouter, "openrouter", "https://openrouter.ai/api/v1",
   {"max_tokens", true, JsonMode::JsonSchema, false, false, true, true, false}},
  {ProviderKind::Groq, "groq", "https://api.groq.com/openai/v1",
   {"max_tokens", true, JsonMode::JsonObject, false, false, false, false, false}},
  {ProviderKind::Mistral, "mistral", "https://api.mistral.ai/v1",
   {"max_tokens", true, JsonMode::JsonSchema, true, true, false, false, false}},
  {ProviderKind::Together, "together", "https://api.together.xyz/v1",
   {"max_tokens", true, JsonMode::JsonObject, false, false, false, false, false}},
  {ProviderKind::Ollama, "ollama", "http://127.0.0.1:11434/v1",
   {"max_tokens", true, JsonMode::JsonSchema, false, false, false, false, false}},
  {ProviderKind::Vllm, "vllm", "http://127.0.0.1:8000/v1",
   {"max_tokens", true, JsonMode::JsonSchema, false, false, false, false, false}},
  {ProviderKind::LlamaCpp, "llamacpp", "http://127.0.0.1:8080/v1",
   {"max_tokens", true, JsonMode::JsonObjectSchema, false, false, false, false, false}},
  {ProviderKind::Anthropic, "anthropic", "https://api.anthropic.com/v1",
   {"max_tokens", true, JsonMode::JsonSchema, false, false, false, false, false}},
  {ProviderKind::Gemini, "gemini", "https://generativelanguage.googleapis.com/v1beta",
   {"maxOutputTokens", true, JsonMode::JsonSchema, false, false, false, false, false}},
}};
// clang-format on

const Row& row(ProviderKind kind) {
  for (const Row& r : kProviders) {
    if (r.kind == kind) {
      return r;
    }
  }
  WAFLOW_CHECK(false, "every provider kind has a row");
  return kProviders[0];
}

bool openai_family(ProviderKind kind) {
  return kind != ProviderKind::Anthropic && kind != ProviderKind::Gemini;
}

}  // namespace

const Quirks& quirks(ProviderKind kind) {
  return row(kind).quirks;
}

std::string_view kind_name(ProviderKind kind) {
  return row(kind).name;
}

bool parse_kind(std::string_view name, ProviderKind& out) {
  for (const Row& r : kProviders) {
    if (r.name == name) {
      out = r.kind;
      return true;
    }
  }
  return false;
}

std::string_view default_base_url(ProviderKind kind) {
  return row(kind).base_url;
}

AiResult<http::ClientRequest> build(const ProviderConfig& config, const ChatRequest& request) {
  if (config.kind == ProviderKind::Anthropic) {
    return wire::build_anthropic(config, request);
  }
  if (config.kind == ProviderKind::Gemini) {
    return wire::build_gemini(config, request);
  }
  return wire::build_openai(config, request);
}

ChatResult parse(const ProviderConfig& config, const ChatRequest& request, int status,
                 const http::StringMap& headers, std::string_view body, std::int64_t now_unix_ms) {
  if (status <= 0) {
    return transport_error("no HTTP answer");
  }
  if (openai_family(config.kind)) {
    return wire::parse_openai(config, request, status, headers, body, now_unix_ms);
  }
  if (config.kind == ProviderKind::Anthropic) {
    return wire::parse_anthropic(config, request, status, headers, body, now_unix_ms);
  }
  return wire::parse_gemini(config, request, status, headers, body, now_unix_ms);
}

AiError transport_error(std::string_view curl_error) {
  const bool timed_out = curl_error.find("imed out") != std::string_view::npos ||
                         curl_error.find("imeout") != std::string_view::npos;
  return wire::error(ErrorClass::Retry, timed_out ? Reason::Timeout : Reason::Connection,
                     "no answer: " + std::string(curl_error));
}

}  // namespace waflow::ai
