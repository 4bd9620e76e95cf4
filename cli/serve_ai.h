#pragma once

// The AI part of `waflow serve`, `waflow sim` and `waflow test`: the config's
// `ai:` section (runtime/server/config.h, plain data) mapped to the AI adapters'
// models, and the router and step runner built from it.

#include <memory>
#include <string>
#include <vector>

#include "adapters/ai/router.h"
#include "adapters/ai/steps.h"
#include "adapters/http/client.h"
#include "runtime/base/result.h"
#include "runtime/server/config.h"

namespace waflow::cli {

// The adapters' models for the config's; the adapters' own checks (check_models())
// as one error, a line per problem.
Result<std::vector<ai::ModelConfig>> ai_models(const server::AiConfig& config);

// The router and the step runner of a config. Both empty when it has no models:
// AI steps then take their error exit ("not configured").
struct AiRuntime {
  std::unique_ptr<ai::AiRouter> router;
  std::unique_ptr<ai::StepRunner> runner;

  // Ends calls waiting for a backoff; before the HTTP client shuts down.
  void shutdown() {
    if (router) {
      router->shutdown();
    }
  }
};

Result<AiRuntime> make_ai_runtime(const server::AiConfig& config, http::HttpClient& client);

}  // namespace waflow::cli
