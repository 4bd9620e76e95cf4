// The `ai:` section of the serve config: models as a mapping or a list, ${ENV} in keys,
// defaults, the checks (unknown provider, a fallback naming no model, a circle of fallbacks,
// a default or device model that does not exist), and no secret in describe().

#include <fstream>
#include <map>

#include <catch2/catch.hpp>

#include "runtime/server/config.h"

namespace {

using waflow::server::AiConfig;
using waflow::server::EnvLookup;
using waflow::server::parse_config;
using waflow::server::ServeConfig;

EnvLookup env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

const std::string kBase = R"(storage: {sqlite: waflow.db}
devices:
  - {name: shop, gateway: web}
)";

ServeConfig parsed(const std::string& ai, std::map<std::string, std::string> vars = {}) {
  waflow::Result<ServeConfig> c = parse_config(kBase + ai, "/etc/waflow/waflow.yaml", env(vars));
  INFO((c ? std::string() : c.error().message));
  REQUIRE(c.ok());
  return c.value();
}

std::string error_of(const std::string& text) {
  waflow::Result<ServeConfig> c = parse_config(text, "/etc/waflow/waflow.yaml", env({}));
  REQUIRE_FALSE(c.ok());
  return c.error().message;
}

}  // namespace

TEST_CASE("ai models as a mapping, with defaults and ${ENV}") {
  const ServeConfig c = parsed(R"(ai:
  default_model: openai/gpt-4o-mini
  step_timeout: 45s
  max_tool_rounds: 3
  models:
    openai/gpt-4o-mini:
      provider: openai
      api_key: ${OPENAI_API_KEY}
      timeout: 20s
      max_retries: 1
      fallback: [claude]
    claude:
      provider: anthropic
      model: claude-3-5-haiku-latest
      api_key: ${ANTHROPIC_API_KEY:-}
      anthropic_version: "2023-06-01"
    local:
      provider: vllm
      model: Qwen/Qwen2.5-7B-Instruct
      base_url: http://10.0.0.5:8000/v1
      tools: false
    router:
      provider: openrouter
      model: openai/gpt-4o-mini
      app_title: Acme
      provider_fallbacks: [mistralai/mistral-small]
)",
                               {{"OPENAI_API_KEY", "sk-secret-1"}});
  const AiConfig& ai = c.ai;
  REQUIRE(ai.models.size() == 4);
  CHECK(ai.default_model == "openai/gpt-4o-mini");
  CHECK(ai.step_timeout_ms == 45'000);
  CHECK(ai.max_tool_rounds == 3);
  CHECK(ai.models[0].name == "openai/gpt-4o-mini");
  CHECK(ai.models[0].model == "gpt-4o-mini");  // The name after its first '/'.
  CHECK(ai.models[0].api_key == "sk-secret-1");
  CHECK(ai.models[0].timeout_ms == 20'000);
  CHECK(ai.models[0].max_retries == 1);
  CHECK(ai.models[0].fallback == std::vector<std::string>{"claude"});
  CHECK(ai.models[1].model == "claude-3-5-haiku-latest");
  CHECK(ai.models[1].api_key.empty());
  CHECK(ai.models[1].timeout_ms == 30'000);
  CHECK(ai.models[2].tools == 0);
  CHECK(ai.models[2].base_url == "http://10.0.0.5:8000/v1");
  CHECK(ai.models[3].provider_fallbacks == std::vector<std::string>{"mistralai/mistral-small"});
  const std::string d = c.describe();
  CHECK(d.find("ai models openai/gpt-4o-mini (openai) claude (anthropic)") != std::string::npos);
  CHECK(d.find("sk-secret") == std::string::npos);
}

TEST_CASE("ai models as a list, one model is the default, a device's model") {
  const ServeConfig c = parse_config(R"(storage: {sqlite: waflow.db}
devices:
  - {name: shop, gateway: web, ai_model: only}
ai:
  models:
    - {name: only, provider: ollama, model: llama3.2}
)",
                                     "w.yaml", env({}))
                            .value();
  REQUIRE(c.ai.models.size() == 1);
  CHECK(c.ai.default_model == "only");
  CHECK(c.devices[0].ai_model == "only");
  CHECK(parsed("").ai.models.empty());
}

TEST_CASE("ai config errors name the place and the problem") {
  CHECK(error_of(kBase + "ai:\n  models:\n    x: {provider: openia}\n") ==
        "/etc/waflow/waflow.yaml:6:19: ai.models.x.provider: unknown provider 'openia' "
        "(expected one of: openai, openrouter, groq, mistral, together, ollama, vllm, llamacpp, "
        "anthropic, gemini)");
  CHECK(error_of(kBase + "ai:\n  models:\n    x: {provider: openai, fallback: [y]}\n") ==
        "/etc/waflow/waflow.yaml:6:5: ai.models.x.fallback: 'y' is not a model under ai.models");
  CHECK(error_of(kBase + R"(ai:
  models:
    a: {provider: openai, fallback: [b]}
    b: {provider: openai, fallback: [c]}
    c: {provider: openai, fallback: [a]}
)") == "/etc/waflow/waflow.yaml:6:5: ai.models: the fallbacks go round in a circle: "
       "a -> b -> c -> a");
  CHECK(error_of(kBase + "ai:\n  models:\n    a: {provider: openai, fallback: a}\n") ==
        "/etc/waflow/waflow.yaml:6:5: ai.models.a.fallback: a model cannot be its own fallback");
  CHECK(error_of(kBase + "ai:\n  default_model: z\n  models:\n    a: {provider: openai}\n") ==
        "/etc/waflow/waflow.yaml:5:18: ai.default_model: 'z' is not a model under ai.models");
  CHECK(error_of(kBase + "ai:\n  models:\n    a: {provider: openai, timeout: soon}\n") ==
        "/etc/waflow/waflow.yaml:6:36: ai.models.a.timeout: expected a duration above 0 such "
        "as 30s or 1500ms, got 'soon'");
  CHECK(error_of(kBase + "ai:\n  models:\n    a: {provider: openai, max_retries: 11}\n") ==
        "/etc/waflow/waflow.yaml:6:40: ai.models.a.max_retries: expected a whole number from 0 "
        "to 10, got '11'");
  CHECK(error_of(kBase + "ai:\n  models:\n    a: {provider: openai, api_key: \"${NOPE}\"}\n") ==
        "/etc/waflow/waflow.yaml:6:36: ai.models.a.api_key: environment variable NOPE is not "
        "set (use ${NOPE:-default} for a default)");
  CHECK(error_of(kBase + "ai:\n  models:\n    a: {provider: openai, temperature: 1}\n")
            .find("ai.models.a.temperature: unknown key") != std::string::npos);
  CHECK(error_of(kBase + "ai:\n  models: [{provider: openai}]\n") ==
        "/etc/waflow/waflow.yaml:5:12: ai.models[0]: a model needs a name (as flows write it: "
        "openai/gpt-4o-mini)");
  CHECK(error_of(R"(storage: {sqlite: waflow.db}
devices:
  - {name: shop, gateway: web, ai_model: gone}
)") == "/etc/waflow/waflow.yaml:3:42: devices[0].ai_model: 'gone' is not a model under "
       "ai.models");
}

TEST_CASE("an ai config file alone, for sim and test") {
  const std::string path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                           "/waflow_ai_config_test.yaml";
  {
    std::ofstream out(path);
    out << "other: ignored\nai:\n  models:\n    m: {provider: groq, model: llama}\n";
  }
  waflow::Result<AiConfig> ai = waflow::server::load_ai_config(path, env({}));
  REQUIRE(ai.ok());
  CHECK(ai.value().default_model == "m");
  {
    std::ofstream out(path);
    out << "models: {}\n";
  }
  waflow::Result<AiConfig> none = waflow::server::load_ai_config(path, env({}));
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message.find("ai: missing") != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("a device's ai_fallback: the model defaults to the device's, then ai.default_model") {
  const std::string text = R"(storage: {sqlite: waflow.db}
devices:
  - name: shop
    gateway: web
    ai_model: small
    ai_fallback: {system: "You help {{contact.name}}.", history: 6, temperature: 0.3}
  - name: desk
    gateway: web
    media_max_bytes: 1048576
    ai_fallback:
      system: Be kind.
  - {name: quiet, gateway: web}
ai:
  default_model: big
  models:
    small: {provider: openai}
    big: {provider: anthropic}
)";
  waflow::Result<ServeConfig> c = parse_config(text, "/etc/waflow/waflow.yaml", env({}));
  INFO((c ? std::string() : c.error().message));
  REQUIRE(c.ok());
  REQUIRE(c.value().devices[0].ai_fallback.has_value());
  CHECK(c.value().devices[0].ai_fallback->model == "small");
  CHECK(c.value().devices[0].ai_fallback->history == 6);
  CHECK(c.value().devices[0].ai_fallback->temperature == Approx(0.3));
  CHECK_FALSE(c.value().devices[0].ai_fallback->max_tokens.has_value());
  REQUIRE(c.value().devices[1].ai_fallback.has_value());
  CHECK(c.value().devices[1].ai_fallback->model == "big");
  CHECK(c.value().devices[1].ai_fallback->history == 10);
  CHECK(c.value().devices[1].media_max_bytes == 1048576);
  CHECK_FALSE(c.value().devices[2].ai_fallback.has_value());
  CHECK(c.value().devices[2].media_max_bytes == 16 << 20);
  CHECK(c.value().describe().find("shop (web, ai fallback small)") != std::string::npos);
}

TEST_CASE("ai_fallback errors name the place") {
  CHECK(error_of(R"(storage: {sqlite: waflow.db}
devices:
  - {name: shop, gateway: web, ai_fallback: {system: hi}}
)") == "/etc/waflow/waflow.yaml:3:45: devices[0].ai_fallback.model: the fallback needs a model: "
       "none is set up under ai.models");
  CHECK(error_of(R"(storage: {sqlite: waflow.db}
devices:
  - {name: shop, gateway: web, ai_fallback: {system: hi, model: gone}}
ai: {models: {m: {provider: openai}}}
)") == "/etc/waflow/waflow.yaml:3:65: devices[0].ai_fallback.model: 'gone' is not a model under "
       "ai.models");
  CHECK(error_of(R"(storage: {sqlite: waflow.db}
devices:
  - {name: shop, gateway: web, ai_fallback: {model: m}}
ai: {models: {m: {provider: openai}}}
)") == "/etc/waflow/waflow.yaml:3:45: devices[0].ai_fallback.system: missing: the fallback's "
       "system prompt");
  CHECK(error_of(R"(storage: {sqlite: waflow.db}
devices:
  - {name: shop, gateway: web, ai_fallback: {system: hi, history: 500}}
ai: {models: {m: {provider: openai}}}
)") == "/etc/waflow/waflow.yaml:3:67: devices[0].ai_fallback.history: expected a whole number "
       "from 0 to 100, got '500'");
  CHECK(error_of(R"(storage: {sqlite: waflow.db}
devices:
  - {name: shop, gateway: web, ai_fallback: {system: hi, temprature: 1}}
ai: {models: {m: {provider: openai}}}
)") == "/etc/waflow/waflow.yaml:3:58: devices[0].ai_fallback.temprature: unknown key (expected "
       "one of: system, model, history, temperature, max_tokens)");
}

TEST_CASE("a device's media: models under ai.models, a transcriber that can transcribe") {
  const std::string text = R"(storage: {sqlite: waflow.db}
devices:
  - name: shop
    gateway: waha
    base_url: http://w
    media: {transcribe: whisper, describe: eyes}
  - name: desk
    gateway: waha
    base_url: http://w
    media:
      transcribe: flash
      describe: eyes
      describe_prompt: What is on the picture?
ai:
  models:
    whisper: {provider: groq, model: whisper-large-v3}
    eyes: {provider: anthropic}
    flash: {provider: gemini, model: gemini-2.0-flash}
)";
  waflow::Result<ServeConfig> c = parse_config(text, "/etc/waflow/waflow.yaml", env({}));
  INFO((c ? std::string() : c.error().message));
  REQUIRE(c.ok());
  REQUIRE(c.value().devices[0].media.has_value());
  CHECK(c.value().devices[0].media->transcribe == "whisper");
  CHECK(c.value().devices[0].media->describe == "eyes");
  CHECK(c.value().devices[0].media->describe_prompt ==
        "Describe this image in one or two sentences for a chatbot.");
  REQUIRE(c.value().devices[1].media.has_value());
  CHECK(c.value().devices[1].media->transcribe == "flash");  // Gemini takes audio inline.
  CHECK(c.value().devices[1].media->describe_prompt == "What is on the picture?");
  CHECK(c.value().describe().find(
            "shop (waha /webhooks/waha/shop, unsigned, media whisper/eyes)") != std::string::npos);
}

TEST_CASE("media errors name the place") {
  CHECK(error_of(R"(storage: {sqlite: waflow.db}
devices:
  - {name: shop, gateway: waha, base_url: 'http://w', media: {transcribe: eyes}}
ai: {models: {eyes: {provider: anthropic}}}
)") == "/etc/waflow/waflow.yaml:3:75: devices[0].media.transcribe: 'eyes' uses provider "
       "anthropic, which cannot transcribe audio: name a model of openai, groq, mistral, together "
       "or "
       "vllm (/audio/transcriptions) or of gemini (audio inline)");
  CHECK(error_of(R"(storage: {sqlite: waflow.db}
devices:
  - {name: shop, gateway: waha, base_url: 'http://w', media: {describe: gone}}
ai: {models: {eyes: {provider: anthropic}}}
)") == "/etc/waflow/waflow.yaml:3:73: devices[0].media.describe: 'gone' is not a model under "
       "ai.models");
  CHECK(error_of(R"(storage: {sqlite: waflow.db}
devices:
  - {name: shop, gateway: waha, base_url: 'http://w', media: {}}
)") == "/etc/waflow/waflow.yaml:3:62: devices[0].media: name a model to transcribe voice notes, "
       "to describe images, or both");
  CHECK(error_of(R"(storage: {sqlite: waflow.db}
devices:
  - {name: shop, gateway: web, media: {describe: eyes}}
ai: {models: {eyes: {provider: anthropic}}}
)") == "/etc/waflow/waflow.yaml:3:39: devices[0].media: a web device receives no media; media: "
       "goes with meta or waha devices");
}
