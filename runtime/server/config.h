#pragma once

// The config file of `waflow serve`: one YAML file that declares where to
// listen, the database, the flows, the devices (our numbers) with their gateway
// and credentials, and the API tokens. See docs/serve.md and
// schemas/config.schema.json.
//
// Every scalar may use `${NAME}` (the environment variable; an error when it is
// unset) and `${NAME:-default}` (the default when it is unset or empty); `$$`
// is a literal `$`. Errors name the place and the key path:
//   waflow.yaml:7:20: devices[0].phone_number_id: environment variable PNID is not set
// Relative paths (storage, flows, bundle) are resolved against the directory of
// the config file, so a config works from any working directory. Secrets are
// kept here only to hand to the gateways; describe() never shows them.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/result.h"

namespace waflow::server {

struct ListenConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  // The I/O threads only parse, route and answer (what may block runs on
  // threads of its own): one needs no hand-over between them (docs/serve.md).
  int threads = 1;
};

// `devices[].ai_fallback`: the device's chatbot for messages no flow takes (docs/ai.md).
struct AiFallbackConfig {
  std::string system;  // The system prompt; {{now}}, {{contact.name}}, {{contact.phone}}.
  std::string model;   // Resolved at load: its own, else the device's ai_model, else
                       // ai.default_model.
  int history = 10;    // Lines of the conversation the model sees, 0-100.
  std::optional<double> temperature;
  std::optional<std::int64_t> max_tokens;
};

// `devices[].media`: what the device's models make of users' media before a flow sees it
// (docs/ai.md, "Media understanding"). Models are names under ai.models; empty: not done.
struct MediaConfig {
  std::string transcribe;  // Voice notes and audio -> text (an OpenAI-compatible provider).
  std::string describe;    // Images -> a short description (any provider).
  std::string describe_prompt = "Describe this image in one or two sentences for a chatbot.";
};

struct DeviceConfig {
  std::string name;
  std::string gateway;       // "meta" | "waha" | "web"
  std::string webhook_path;  // Default: /webhooks/<gateway>, or /webhooks/<gateway>/<name>
                             // when several devices share a gateway.
  double rate_per_second = 80;
  // meta
  std::string phone_number_id;
  std::string access_token;  // secret
  std::string verify_token;  // secret
  std::string app_secret;    // secret; empty: signatures are not checked
  std::string graph_base = "https://graph.facebook.com";
  std::string graph_version = "v21.0";
  // waha
  std::string base_url;
  std::string session = "default";
  std::string api_key;   // secret
  std::string hmac_key;  // secret; empty: signatures are not checked
  // The model of this device's AI steps that name none; empty: ai.default_model.
  std::string ai_model;
  // Answers messages that no run waits for and no trigger matches; none: silence.
  std::optional<AiFallbackConfig> ai_fallback;
  // The largest inbound media file downloaded (Meta by id, WAHA by URL).
  std::int64_t media_max_bytes = 16 << 20;
  // Transcribes voice notes and describes images before the flow sees them; none: the flow
  // sees media messages as they came.
  std::optional<MediaConfig> media;
};

// One language model under `ai.models` (docs/ai.md). Plain data: the command layer maps it to
// the AI adapters' ModelConfig, so this library does not depend on them.
struct AiModelConfig {
  std::string name;      // As flows name it: model "openai/gpt-4o-mini".
  std::string provider;  // openai, openrouter, groq, mistral, together, ollama, vllm,
                         // llamacpp, anthropic, gemini
  std::string model;     // The provider's model id; default: the name after its first '/'.
  std::string api_key;   // secret
  std::string base_url;  // Empty: the provider's public endpoint.
  std::vector<std::string> fallback;  // Names of other models, tried in order.
  std::int64_t timeout_ms = 30'000;   // One attempt.
  int max_retries = 2;
  std::string app_url;                          // openrouter: HTTP-Referer
  std::string app_title;                        // openrouter: X-Title
  std::vector<std::string> provider_fallbacks;  // openrouter: its own `models` list
  std::string anthropic_version;                // Empty: the adapter's default.
  bool json_schema = false;                     // gemini: responseJsonSchema
  int tools = -1;                               // -1: the quirk table; 0 no; 1 yes
};

struct AiConfig {
  std::vector<AiModelConfig> models;
  std::string default_model;              // For steps that name no model; may be empty.
  std::int64_t step_timeout_ms = 60'000;  // A step without `timeout`: model calls and tools.
  int max_tool_rounds = 4;                // Rounds of tool calls in one step.
};

struct ApiToken {
  std::string token;  // secret
  std::vector<std::string> scopes;
};

struct ServeConfig {
  std::string path;  // The config file.
  ListenConfig listen;
  std::string sqlite;  // Absolute.
  // storage.commit_interval_ms: SqliteOptions::commit_interval_us, in ms.
  double commit_interval_ms = 10;
  std::vector<std::string> flows;  // Absolute; compiled at start.
  std::string bundle;              // Absolute; or a compiled bundle.
  std::string timezone;
  std::vector<DeviceConfig> devices;
  std::vector<ApiToken> tokens;  // Those with an empty token are dropped.
  int workers = 16;              // Threads that run turns (they mostly wait for commits).
  AiConfig ai;                   // No models: AI steps take their error exit.

  // A one-line summary for the start-up log, without secrets.
  std::string describe() const;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment.
std::optional<std::string> process_env(const std::string& name);

// Reads and validates `path`.
Result<ServeConfig> load_config(const std::string& path, const EnvLookup& env = process_env);
// The same from text; `path` names it in errors and anchors relative paths.
Result<ServeConfig> parse_config(std::string_view text, const std::string& path,
                                 const EnvLookup& env = process_env);

// Reads an `ai:` section alone (the same keys and checks as in the serve config), for
// `waflow sim` and `waflow test --ai-config FILE`. The file may hold other keys, ignored.
Result<AiConfig> load_ai_config(const std::string& path, const EnvLookup& env = process_env);

// Expands ${NAME} and ${NAME:-default} in `text`; the error says what is wrong.
Result<std::string> interpolate(std::string_view text, const EnvLookup& env);

}  // namespace waflow::server
