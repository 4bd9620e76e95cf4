#pragma once

// The AI router: one chat call, made reliable, over the shared HTTP client.
//
// A call names a model as the config does ("openai/gpt-4o-mini") and gets a chain of targets:
// the model, then its fallbacks (the step's own list when it has one, else the model's). The
// router is the only retry loop (research/runtime-anchors.md A.5): a Retry-class failure is
// retried on the same target with exponential backoff and jitter, or after the Retry-After the
// provider asked for when that is within a cap; when retries run out, or the failure is of the
// Failover class, or the wait would not fit the deadline, the next target is tried. Fatal
// failures are never retried; a 400 ends the call, an account failure (401, 402, 403, quota)
// moves on to the next target, which has its own account.
//
// Each target (provider, base URL, model, key) has a circuit breaker: after `breaker_failures`
// consecutive failures that say the target is unhealthy, it is skipped for `breaker_cooldown_ms`;
// then one call is let through as a probe, and its outcome closes or reopens the breaker. When
// every target is skipped the call fails at once: the flow takes its error branch instead of
// waiting. Each attempt's timeout is min(the model's timeout, the time left), so a call never
// runs past its deadline.
//
// The callback runs exactly once, on the HTTP client's thread or the router's timer thread (a
// small thread that waits out backoffs, so the client's thread never sleeps); it must not block.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "adapters/ai/chat.h"
#include "adapters/ai/provider.h"
#include "adapters/http/client.h"

namespace waflow::ai {

struct ModelConfig {
  std::string name;                   // As flows name it: model "openai/gpt-4o-mini".
  ProviderConfig provider;            // Kind, the provider's model id, key, base URL, quirks.
  std::vector<std::string> fallback;  // Names of other models, tried in order.
  std::int64_t timeout_ms = 30'000;   // One attempt.
  int max_retries = 2;                // Retries of one target (attempts = 1 + retries).
};

struct RouterOptions {
  std::int64_t backoff_initial_ms = 500;
  std::int64_t backoff_max_ms = 8'000;
  double jitter = 0.25;                      // Each wait is shortened by up to this share.
  std::int64_t max_retry_after_ms = 30'000;  // A longer Retry-After: fail over instead.
  std::int64_t min_attempt_ms = 100;         // Less time left than this: no further attempt.
  std::size_t max_targets = 6;               // The model and up to five fallbacks.
  int breaker_failures = 3;                  // Consecutive unhealthy failures that open it.
  std::int64_t breaker_cooldown_ms = 10'000;
};

// One request sent (or a target skipped), for the log.
struct Attempt {
  std::string model_name;
  std::string provider;  // kind_name()
  int status = 0;
  std::string outcome;  // "ok", "retry rate_limit", "failover context_window", "breaker open"...
  std::string message;
  std::int64_t elapsed_ms = 0;  // From sending the request to its answer (0: not sent).
};

// What a call cost and who answered, for the engine's log and counters.
struct CallStats {
  std::string model_name;  // The model that answered, or the last one tried.
  std::string provider;
  std::string model;  // As the provider named it in the answer.
  int attempts = 0;   // Requests sent, over every target.
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t latency_ms = 0;  // From call() to the callback.
  std::vector<Attempt> trail;
};

struct CallResult {
  std::optional<ChatResponse> response;  // Set on success.
  AiError error;                         // When response is empty: the last failure.
  CallStats stats;

  bool ok() const { return response.has_value(); }
};

enum class BreakerState : std::uint8_t { Closed, Open, HalfOpen };

class AiRouter {
 public:
  using Callback = std::function<void(CallResult)>;
  // Sees each request sent to a provider once it ended (answered, refused or failed), with its
  // own time: per-attempt figures, where CallStats times the whole call.
  using AttemptObserver = std::function<void(const Attempt&)>;

  // The client must outlive the router. Check the models with check_models() first.
  AiRouter(http::HttpClient& client, std::vector<ModelConfig> models, RouterOptions options = {});
  ~AiRouter();  // shutdown()
  AiRouter(const AiRouter&) = delete;
  AiRouter& operator=(const AiRouter&) = delete;

  // Calls `model_name` (then its fallbacks, or `fallbacks` when given) within `deadline_ms`
  // from now (the step's timeout). An unknown name fails the call with Reason::NoTarget.
  void call(std::string_view model_name, ChatRequest request, std::int64_t deadline_ms,
            Callback callback, std::vector<std::string> fallbacks = {});

  // Fails calls waiting for a backoff with "router shut down"; calls in flight end when the
  // client answers them. Idempotent; not from a callback.
  void shutdown();

  // Set before the first call(). It runs on the HTTP client's thread and must not block.
  void set_attempt_observer(AttemptObserver observer);

  BreakerState breaker(std::string_view model_name) const;
  const std::vector<ModelConfig>& models() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // Shared with requests in flight, which may end after us.
  std::thread thread_;          // The timer thread.
};

// What is wrong with a set of models (duplicate or empty names, a fallback naming no model,
// a model without a provider model id, timeouts or retries out of range), one line each.
std::vector<std::string> check_models(const std::vector<ModelConfig>& models);

}  // namespace waflow::ai
