// The AI runtime of the commands (serve_ai.h).

#include "cli/serve_ai.h"

#include <utility>

namespace waflow::cli {

Result<std::vector<ai::ModelConfig>> ai_models(const server::AiConfig& config) {
  std::vector<ai::ModelConfig> out;
  for (const server::AiModelConfig& m : config.models) {
    ai::ModelConfig c;
    c.name = m.name;
    if (!ai::parse_kind(m.provider, c.provider.kind)) {
      return Error{ErrorCode::InvalidInput,
                   "ai.models." + m.name + ".provider: unknown provider '" + m.provider + "'"};
    }
    c.provider.model = m.model;
    c.provider.api_key = m.api_key;
    c.provider.base_url = m.base_url;
    c.provider.app_url = m.app_url;
    c.provider.app_title = m.app_title;
    c.provider.provider_fallbacks = m.provider_fallbacks;
    if (!m.anthropic_version.empty()) {
      c.provider.anthropic_version = m.anthropic_version;
    }
    c.provider.gemini_json_schema = m.json_schema;
    c.provider.tools = m.tools;
    c.fallback = m.fallback;
    c.timeout_ms = m.timeout_ms;
    c.max_retries = m.max_retries;
    out.push_back(std::move(c));
  }
  const std::vector<std::string> problems = ai::check_models(out);
  if (!problems.empty()) {
    std::string message = "ai.models:";
    for (const std::string& p : problems) {
      message += "\n  " + p;
    }
    return Error{ErrorCode::InvalidInput, message};
  }
  return out;
}

Result<AiRuntime> make_ai_runtime(const server::AiConfig& config, http::HttpClient& client) {
  AiRuntime rt;
  if (config.models.empty()) {
    return rt;
  }
  Result<std::vector<ai::ModelConfig>> models = ai_models(config);
  if (!models) {
    return models.error();
  }
  ai::StepOptions options;
  options.default_model = config.default_model;
  options.timeout_ms = config.step_timeout_ms;
  options.max_tool_rounds = config.max_tool_rounds;
  rt.router = std::make_unique<ai::AiRouter>(client, std::move(models).value());
  rt.runner = std::make_unique<ai::StepRunner>(*rt.router, client, options);
  return rt;
}

}  // namespace waflow::cli
