// The AI runtime of the commands (serve_ai.h).

#include "cli/serve_ai.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <utility>

#include "runtime/bytecode/opcodes.h"
#include "runtime/host/call_payload.h"
#include "runtime/host/mocks.h"

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

namespace {

using vm::Value;

Value failure(const std::string& error) {
  return Value::object({{"ok", Value::boolean(false)}, {"error", Value::text(error)}});
}

std::int64_t integer_field(const Value& v, std::string_view name) {
  const Value* f = v.field(name);
  return f != nullptr && f->is_number() ? static_cast<std::int64_t>(f->as_number()) : 0;
}

}  // namespace

Value ai_answer_value(const std::string& answer_json, const Value& envelope) {
  Value v;
  if (!vm::from_json(answer_json, v)) {
    return failure("the AI answer is not readable");
  }
  const Value* ok = v.field("ok");
  const Value* effect = envelope.field("effect");
  if (ok == nullptr || !ok->truthy() || effect == nullptr || !effect->is_text() ||
      effect->as_text() != "ai_extract") {
    return v;
  }
  const Value* request = envelope.field("request");
  const Value* fields = request != nullptr ? request->field("fields") : nullptr;
  const Value* value = v.field("value");
  const Value* question = v.field("question");
  host::Request r;
  r.now_ms = integer_field(envelope, "now_ms");
  r.tz_offset_ms = integer_field(envelope, "tz_offset_ms");
  std::optional<std::string> asked;
  if (question != nullptr && question->is_text() && !question->as_text().empty()) {
    asked = question->as_text();
  }
  return host::extraction_answer(fields != nullptr ? *fields : Value(),
                                 value != nullptr ? *value : Value::object({}), asked, r);
}

Value ModelResponder::answer(const host::Request& request) {
  const bool ai = request.kind == bytecode::EffectKind::AiReply ||
                  request.kind == bytecode::EffectKind::AiExtract ||
                  request.kind == bytecode::EffectKind::AiClassify;
  if (!ai) {
    return other_ != nullptr ? other_->answer(request) : failure("no answer for this step");
  }
  const Value row = host::call_payload(request);
  struct Wait {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<std::string> answer;
  };
  auto wait = std::make_shared<Wait>();
  runner_.run(vm::to_json(row), [wait](std::string answer, const ai::StepReport& /*report*/) {
    const std::lock_guard lock(wait->mutex);
    wait->answer = std::move(answer);
    wait->cv.notify_all();
  });
  // The router answers within the step's deadline; the margin only guards against a hang.
  const Value* t = request.payload.field("timeout_ms");
  const std::int64_t limit_ms =
      (t != nullptr && t->is_number() ? static_cast<std::int64_t>(t->as_number())
                                      : runner_.options().timeout_ms) +
      30'000;
  std::unique_lock lock(wait->mutex);
  if (!wait->cv.wait_for(lock, std::chrono::milliseconds(limit_ms),
                         [&] { return wait->answer.has_value(); })) {
    return failure("timeout: the model did not answer");
  }
  return ai_answer_value(*wait->answer, row);
}

}  // namespace waflow::cli
