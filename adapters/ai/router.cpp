// The AI router: the retry loop, failover chain, circuit breakers and deadlines of router.h.
//
// A call is a small state machine kept in a shared Call object. Its steps run on whichever
// thread the last event arrived on: the timer thread (the start, the end of a backoff) or the
// client's thread (an answer). Only one event of a call is ever pending, so a call's state is
// touched by one thread at a time; the breakers are shared and sit behind a mutex.

#include "adapters/ai/router.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <queue>
#include <random>
#include <thread>

#include "runtime/base/thread_name.h"

namespace waflow::ai {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The breaker key: the key itself is hashed, so it is not kept twice in memory.
std::string target_key(const ProviderConfig& p) {
  return std::string(kind_name(p.kind)) + "|" + p.base_url + "|" + p.model + "|" +
         std::to_string(std::hash<std::string>{}(p.api_key));
}

AiError router_error(Reason reason, std::string message) {
  AiError e;
  e.error_class = reason == Reason::Timeout ? ErrorClass::Retry : ErrorClass::Failover;
  e.reason = reason;
  e.message = std::move(message);
  return e;
}

}  // namespace

struct AiRouter::Impl : std::enable_shared_from_this<AiRouter::Impl> {
  struct Breaker {
    int failures = 0;
    Clock::time_point open_until{};
    bool open = false;
    bool probing = false;
  };

  struct Call {
    ChatRequest request;
    std::vector<const ModelConfig*> chain;
    std::size_t index = 0;  // The target being tried.
    int retries = 0;        // Retries of chain[index] so far.
    Clock::time_point start;
    Clock::time_point deadline;
    Callback callback;
    CallStats stats;
    std::optional<AiError> last_error;
    bool probe = false;  // The current attempt is its breaker's half-open probe.
    std::atomic<bool> done{false};
  };
  using CallPtr = std::shared_ptr<Call>;

  struct Timer {
    Clock::time_point at;
    std::uint64_t seq;
    CallPtr call;
    bool operator>(const Timer& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  http::HttpClient& client;
  std::vector<ModelConfig> models;
  RouterOptions options;
  AttemptObserver observer;  // Set before the first call, read only afterwards.

  mutable std::mutex mutex;  // breakers, timers, rng, stopping
  std::map<std::string, Breaker, std::less<>> breakers;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;
  std::uint64_t timer_seq = 0;
  std::condition_variable wake;
  bool stopping = false;
  std::mt19937_64 rng{std::random_device{}()};

  Impl(http::HttpClient& c, std::vector<ModelConfig> m, RouterOptions o)
      : client(c), models(std::move(m)), options(o) {}

  const ModelConfig* find(std::string_view name) const {
    for (const ModelConfig& m : models) {
      if (m.name == name) {
        return &m;
      }
    }
    return nullptr;
  }

  // --- the timer thread ---------------------------------------------------------

  void schedule(CallPtr call, Clock::time_point at) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!stopping) {
        timers.push(Timer{at, timer_seq++, std::move(call)});
        wake.notify_one();
        return;
      }
    }
    finish_error(call, router_error(Reason::NoTarget, "router shut down"));
  }

  void run_timers() {
    std::unique_lock<std::mutex> lock(mutex);
    while (!stopping) {
      if (timers.empty()) {
        wake.wait(lock);
        continue;
      }
      const Clock::time_point at = timers.top().at;
      if (Clock::now() < at) {
        wake.wait_until(lock, at);
        continue;
      }
      CallPtr call = timers.top().call;
      timers.pop();
      lock.unlock();
      next(call);
      lock.lock();
    }
  }

  void stop() {
    std::vector<CallPtr> waiting;
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
      while (!timers.empty()) {
        waiting.push_back(timers.top().call);
        timers.pop();
      }
      wake.notify_all();
    }
    for (CallPtr& c : waiting) {
      finish_error(c, router_error(Reason::NoTarget, "router shut down"));
    }
  }

  bool is_stopping() const {
    std::lock_guard<std::mutex> lock(mutex);
    return stopping;
  }

  // --- breakers -------------------------------------------------------------------

  // Whether a call may go to the target now; sets `probe` for the half-open probe.
  bool admit(const ModelConfig& m, bool& probe) {
    std::lock_guard<std::mutex> lock(mutex);
    Breaker& b = breakers[target_key(m.provider)];
    probe = false;
    if (!b.open) {
      return true;
    }
    if (Clock::now() < b.open_until || b.probing) {
      return false;
    }
    b.probing = true;
    probe = true;
    return true;
  }

  // `healthy`: the target answered (successfully, or with a failure that is about the request).
  void record(const ModelConfig& m, bool healthy, bool probe) {
    std::lock_guard<std::mutex> lock(mutex);
    Breaker& b = breakers[target_key(m.provider)];
    if (probe) {
      b.probing = false;
    }
    if (healthy) {
      b = Breaker{};
      return;
    }
    ++b.failures;
    if (probe || b.failures >= options.breaker_failures) {
      b.open = true;
      b.open_until = Clock::now() + std::chrono::milliseconds(options.breaker_cooldown_ms);
    }
  }

  BreakerState state(const ModelConfig& m) const {
    std::lock_guard<std::mutex> lock(mutex);
    const auto it = breakers.find(target_key(m.provider));
    if (it == breakers.end() || !it->second.open) {
      return BreakerState::Closed;
    }
    return Clock::now() < it->second.open_until ? BreakerState::Open : BreakerState::HalfOpen;
  }

  std::int64_t backoff_ms(int retry) {
    double wait = static_cast<double>(options.backoff_initial_ms);
    for (int i = 0; i < retry && wait < static_cast<double>(options.backoff_max_ms); ++i) {
      wait *= 2;
    }
    wait = std::min(wait, static_cast<double>(options.backoff_max_ms));
    std::lock_guard<std::mutex> lock(mutex);
    const double share = std::uniform_real_distribution<double>(0.0, options.jitter)(rng);
    return static_cast<std::int64_t>(wait * (1.0 - share));
  }

  // --- the call ----------------------------------------------------------------------

  void finish(const CallPtr& call, CallResult result) {
    if (call->done.exchange(true)) {
      return;
    }
    result.stats = std::move(call->stats);
    result.stats.latency_ms = ms_between(call->start, Clock::now());
    Callback cb = std::move(call->callback);
    cb(std::move(result));
  }

  void finish_error(const CallPtr& call, AiError error) {
    CallResult r;
    r.error = std::move(error);
    finish(call, std::move(r));
  }

  void note(const CallPtr& call, const ModelConfig& m, int status, std::string outcome,
            std::string message, std::int64_t elapsed_ms) {
    Attempt a;
    a.model_name = m.name;
    a.provider = std::string(kind_name(m.provider.kind));
    a.status = status;
    a.outcome = std::move(outcome);
    a.message = std::move(message);
    a.elapsed_ms = elapsed_ms;
    call->stats.trail.push_back(std::move(a));
  }

  // A request sent has ended: the trail's last entry describes it.
  void observe(const CallPtr& call) {
    if (observer) {
      observer(call->stats.trail.back());
    }
  }

  // Moves to the next target of the chain.
  void fail_over(const CallPtr& call) {
    ++call->index;
    call->retries = 0;
    next(call);
  }

  // Sends the next attempt: to the current target, or the first admissible one after it.
  void next(const CallPtr& call) {
    if (is_stopping()) {
      finish_error(call, router_error(Reason::NoTarget, "router shut down"));
      return;
    }
    while (call->index < call->chain.size()) {
      const ModelConfig& m = *call->chain[call->index];
      bool probe = false;
      if (call->retries == 0 && !admit(m, probe)) {
        note(call, m, 0, "breaker open", "skipped: its circuit breaker is open", 0);
        ++call->index;
        continue;
      }
      const std::int64_t left = ms_between(Clock::now(), call->deadline);
      if (left < options.min_attempt_ms) {
        if (probe) {
          release_probe(m);
        }
        AiError e = call->last_error.value_or(
            router_error(Reason::Timeout, "the deadline passed before a model answered"));
        if (call->last_error) {
          e.message += " (then the deadline passed)";
        }
        e.error_class = ErrorClass::Retry;
        finish_error(call, std::move(e));
        return;
      }
      AiResult<http::ClientRequest> built = build(m.provider, call->request);
      if (!built) {
        if (probe) {
          release_probe(m);
        }
        AiError e = built.error();
        note(call, m, 0,
             std::string(class_name(e.error_class)) + " " + std::string(reason_name(e.reason)),
             e.message, 0);
        call->last_error = e;
        if (e.error_class != ErrorClass::Fatal || may_fail_over(e)) {
          ++call->index;
          call->retries = 0;
          continue;
        }
        finish_error(call, std::move(e));
        return;
      }
      http::ClientRequest req = std::move(built).value();
      req.timeout_ms = std::max<std::int64_t>(1, std::min(m.timeout_ms, left));
      call->probe = probe;
      ++call->stats.attempts;
      const Clock::time_point sent = Clock::now();
      std::shared_ptr<Impl> self = shared_from_this();
      client.submit(std::move(req), [self, call, &m, sent](http::ClientResponse response) {
        self->answered(call, m, sent, std::move(response));
      });
      return;
    }
    AiError e = call->last_error.value_or(router_error(
        Reason::NoTarget, "no model could take the call: every circuit breaker is open"));
    finish_error(call, std::move(e));
  }

  void release_probe(const ModelConfig& m) {
    std::lock_guard<std::mutex> lock(mutex);
    breakers[target_key(m.provider)].probing = false;
  }

  void answered(const CallPtr& call, const ModelConfig& m, Clock::time_point sent,
                http::ClientResponse response) {
    const std::int64_t elapsed = ms_between(sent, Clock::now());
    const bool probe = call->probe;
    ChatResult result = response.ok() ? parse(m.provider, call->request, response.status,
                                              response.headers, response.body, unix_now_ms())
                                      : ChatResult(transport_error(response.error));
    if (result.ok()) {
      record(m, true, probe);
      note(call, m, response.status, "ok", "", elapsed);
      observe(call);
      CallResult r;
      r.response = std::move(result).value();
      call->stats.model_name = m.name;
      call->stats.provider = std::string(kind_name(m.provider.kind));
      call->stats.model = r.response->model;
      call->stats.input_tokens = r.response->usage.input_tokens;
      call->stats.output_tokens = r.response->usage.output_tokens;
      finish(call, std::move(r));
      return;
    }
    AiError e = result.error();
    record(m, !counts_against_target(e), probe);
    note(call, m, e.status,
         std::string(class_name(e.error_class)) + " " + std::string(reason_name(e.reason)),
         e.message, elapsed);
    observe(call);
    call->stats.model_name = m.name;
    call->stats.provider = std::string(kind_name(m.provider.kind));
    call->last_error = e;
    call->probe = false;

    switch (e.error_class) {
      case ErrorClass::Retry: {
        if (call->retries >= m.max_retries || probe) {
          fail_over(call);  // a failed probe reopened the breaker: do not knock again
          return;
        }
        if (e.retry_after_ms > options.max_retry_after_ms) {
          fail_over(call);  // too long to wait here; the next model may answer now
          return;
        }
        const std::int64_t wait =
            e.retry_after_ms >= 0 ? e.retry_after_ms : backoff_ms(call->retries);
        const Clock::time_point at = Clock::now() + std::chrono::milliseconds(wait);
        if (ms_between(at, call->deadline) < options.min_attempt_ms) {
          fail_over(call);  // the wait would not fit: give the time left to the next model
          return;
        }
        ++call->retries;
        schedule(call, at);
        return;
      }
      case ErrorClass::Failover:
        fail_over(call);
        return;
      case ErrorClass::Fatal:
        if (may_fail_over(e)) {
          fail_over(call);
        } else {
          finish_error(call, std::move(e));
        }
        return;
    }
  }
};

AiRouter::AiRouter(http::HttpClient& client, std::vector<ModelConfig> models, RouterOptions options)
    : impl_(std::make_shared<Impl>(client, std::move(models), options)) {
  thread_ = std::thread([impl = impl_.get()] {
    name_this_thread("wf-ai-timers");
    impl->run_timers();
  });
}

AiRouter::~AiRouter() {
  shutdown();
}

void AiRouter::shutdown() {
  impl_->stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void AiRouter::call(std::string_view model_name, ChatRequest request, std::int64_t deadline_ms,
                    Callback callback, std::vector<std::string> fallbacks) {
  auto call = std::make_shared<Impl::Call>();
  call->request = std::move(request);
  call->callback = std::move(callback);
  call->start = Clock::now();
  call->deadline = call->start + std::chrono::milliseconds(std::max<std::int64_t>(deadline_ms, 0));
  call->stats.model_name = std::string(model_name);

  const ModelConfig* first = impl_->find(model_name);
  if (first == nullptr) {
    call->last_error = router_error(Reason::NoTarget, "no model named '" + std::string(model_name) +
                                                          "' is configured (ai.models)");
    call->last_error->error_class = ErrorClass::Fatal;
  } else {
    call->chain.push_back(first);
    const std::vector<std::string>& names = fallbacks.empty() ? first->fallback : fallbacks;
    for (const std::string& name : names) {
      const ModelConfig* m = impl_->find(name);
      const bool seen = std::find(call->chain.begin(), call->chain.end(), m) != call->chain.end();
      if (m == nullptr || seen || call->chain.size() >= impl_->options.max_targets) {
        continue;  // an unknown fallback was reported by check_models() at start
      }
      call->chain.push_back(m);
    }
  }
  // Every call starts on the timer thread, so the callback never runs inside call().
  impl_->schedule(std::move(call), Clock::now());
}

void AiRouter::set_attempt_observer(AttemptObserver observer) {
  impl_->observer = std::move(observer);
}

BreakerState AiRouter::breaker(std::string_view model_name) const {
  const ModelConfig* m = impl_->find(model_name);
  return m == nullptr ? BreakerState::Closed : impl_->state(*m);
}

const std::vector<ModelConfig>& AiRouter::models() const {
  return impl_->models;
}

std::vector<std::string> check_models(const std::vector<ModelConfig>& models) {
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < models.size(); ++i) {
    const ModelConfig& m = models[i];
    const std::string where =
        m.name.empty() ? "model " + std::to_string(i + 1) : "model '" + m.name + "'";
    if (m.name.empty()) {
      problems.push_back(where + " has no name");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (!m.name.empty() && models[j].name == m.name) {
        problems.push_back(where + " is configured twice");
      }
    }
    if (m.provider.model.empty()) {
      problems.push_back(where + " has no provider model id (model:)");
    }
    if (m.timeout_ms <= 0) {
      problems.push_back(where + ": timeout must be above 0");
    }
    if (m.max_retries < 0 || m.max_retries > 10) {
      problems.push_back(where + ": max_retries must be from 0 to 10");
    }
    for (const std::string& f : m.fallback) {
      const bool known = std::any_of(models.begin(), models.end(),
                                     [&f](const ModelConfig& o) { return o.name == f; });
      if (!known) {
        problems.push_back(where + ": fallback '" + f + "' names no configured model");
      }
    }
  }
  return problems;
}

}  // namespace waflow::ai
