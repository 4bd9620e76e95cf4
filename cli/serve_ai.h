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
#include "runtime/host/session.h"
#include "runtime/server/config.h"
#include "runtime/vm/value.h"

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

// The VM's value for a step runner's answer (JSON text) to the AI row `envelope` (the row's
// payload: {effect, request, now_ms, tz_offset_ms, ...}). An extraction's values are
// validated like an ask of each field's type (host::extraction_answer), in the row's clock
// and zone.
vm::Value ai_answer_value(const std::string& answer_json, const vm::Value& envelope);

// Answers AI steps with real models, blocking until the step's answer (for `waflow sim`), and
// hands every other effect to `other` (the mocks).
class ModelResponder final : public host::Responder {
 public:
  explicit ModelResponder(ai::StepRunner& runner) : runner_(runner) {}
  void set_other(host::Responder* other) { other_ = other; }
  vm::Value answer(const host::Request& request) override;

 private:
  ai::StepRunner& runner_;
  host::Responder* other_ = nullptr;
};

}  // namespace waflow::cli
