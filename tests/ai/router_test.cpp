// The AI router against scripted providers: the project's HttpServer on 127.0.0.1 plays each
// provider, answering every request with the next line of its script; the real HttpClient
// carries the calls. Retries with Retry-After, failover after retries and on failover-class
// errors, no retry of fatal errors, circuit breakers, deadlines, and OpenRouter's
// 200-with-error. Every wait is bounded; nothing asserts on speed.

#include "adapters/ai/router.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "adapters/http/server.h"

namespace {

using namespace waflow::ai;  // NOLINT(google-build-using-namespace)
namespace http = waflow::http;
using Clock = std::chrono::steady_clock;

struct Line {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool hold = false;  // never answer (a slow provider)
};

Line ok_line(const std::string& text) {
  return {
      200,
      R"({"id":"c1","model":"served-model","choices":[{"index":0,"message":{"role":"assistant","content":")" +
          text +
          R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":4}})",
      {},
      false};
}

Line error_line(int status, const std::string& code = "server_error",
                std::vector<std::pair<std::string, std::string>> headers = {}) {
  return {status,
          R"({"error":{"message":"scripted )" + std::to_string(status) + R"(","code":")" + code +
              R"("}})",
          std::move(headers), false};
}

// Fake providers on one server: /<name>/chat/completions answers from <name>'s script.
class Providers {
 public:
  Providers() : server_(http::ServerOptions{}) {
    server_.route("POST", "/*", [this](http::Request request, http::Reply reply) {
      const std::string path = request.path;
      const std::string name = path.substr(1, path.find('/', 1) - 1);
      std::lock_guard<std::mutex> lock(mutex_);
      arrivals_[name].push_back(Clock::now());
      std::deque<Line>& script = scripts_[name];
      if (script.empty()) {
        reply(http::Response::error(599, "no_script", "the script of " + name + " is over"));
        return;
      }
      Line line = script.front();
      if (script.size() > 1) {
        script.pop_front();  // the last line repeats
      }
      if (line.hold) {
        held_.push_back(std::move(reply));
        return;
      }
      http::Response response = http::Response::json(line.status, line.body);
      response.headers = line.headers;
      reply(std::move(response));
    });
    const waflow::Result<std::uint16_t> port = server_.start();
    REQUIRE(port.ok());
    port_ = port.value();
  }
  ~Providers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      held_.clear();  // answered 500; their clients gave up long ago
    }
    server_.stop(std::chrono::milliseconds(0));
  }
  Providers(const Providers&) = delete;
  Providers& operator=(const Providers&) = delete;

  void script(const std::string& name, std::deque<Line> lines) {
    std::lock_guard<std::mutex> lock(mutex_);
    scripts_[name] = std::move(lines);
  }
  std::size_t count(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    return arrivals_[name].size();
  }
  std::vector<Clock::time_point> arrivals(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    return arrivals_[name];
  }

  ModelConfig model(const std::string& name, ProviderKind kind = ProviderKind::OpenAi) const {
    ModelConfig m;
    m.name = name;
    m.provider.kind = kind;
    m.provider.model = "model-" + name;
    m.provider.api_key = "key-" + name;
    m.provider.base_url = "http://127.0.0.1:" + std::to_string(port_) + "/" + name;
    m.timeout_ms = 10'000;
    m.max_retries = 2;
    return m;
  }

 private:
  http::HttpServer server_;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  std::map<std::string, std::deque<Line>> scripts_;
  std::map<std::string, std::vector<Clock::time_point>> arrivals_;
  std::vector<http::Reply> held_;
};

// Collects callbacks; wait() is bounded.
class Results {
 public:
  AiRouter::Callback callback() {
    return [this](CallResult r) {
      std::lock_guard<std::mutex> lock(mutex_);
      results_.push_back(std::move(r));
      cv_.notify_all();
    };
  }
  CallResult wait_one() {
    std::unique_lock<std::mutex> lock(mutex_);
    REQUIRE(cv_.wait_for(lock, std::chrono::seconds(20), [this] { return !results_.empty(); }));
    return results_.front();
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mutex_);
    return results_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<CallResult> results_;
};

ChatRequest question() {
  ChatRequest r;
  r.messages.push_back({Role::User, "Hi", {}, "", "", false});
  return r;
}

RouterOptions fast() {
  RouterOptions o;
  o.backoff_initial_ms = 10;
  o.backoff_max_ms = 40;
  return o;
}

CallResult call_once(AiRouter& router, const std::string& model, std::int64_t deadline_ms = 15'000,
                     std::vector<std::string> fallbacks = {}) {
  Results results;
  router.call(model, question(), deadline_ms, results.callback(), std::move(fallbacks));
  CallResult r = results.wait_one();
  CHECK(results.size() == 1);
  return r;
}

std::vector<std::string> outcomes(const CallResult& r) {
  std::vector<std::string> out;
  for (const Attempt& a : r.stats.trail) {
    out.push_back(a.model_name + ": " + a.outcome);
  }
  return out;
}

}  // namespace

TEST_CASE("a 429 with Retry-After is retried after the wait, then the answer comes through") {
  Providers p;
  p.script("main",
           {error_line(429, "rate_limit_exceeded", {{"Retry-After", "1"}}), ok_line("Hello")});
  http::HttpClient client;
  AiRouter router(client, {p.model("main")}, fast());
  const CallResult r = call_once(router, "main");
  REQUIRE(r.ok());
  CHECK(r.response->text == "Hello");
  CHECK(r.stats.attempts == 2);
  CHECK(r.stats.model_name == "main");
  CHECK(r.stats.provider == "openai");
  CHECK(r.stats.model == "served-model");
  CHECK(r.stats.input_tokens == 11);
  CHECK(r.stats.output_tokens == 4);
  CHECK(outcomes(r) == std::vector<std::string>{"main: retry rate_limit", "main: ok"});
  const std::vector<Clock::time_point> at = p.arrivals("main");
  REQUIRE(at.size() == 2);
  // The second request waited for Retry-After (never earlier; later is fine under load).
  CHECK(at[1] - at[0] >= std::chrono::milliseconds(950));
}

TEST_CASE(
    "the attempt observer sees a 500 then an answer as two requests, each with its own time") {
  Providers p;
  p.script("main", {error_line(500), ok_line("Hello")});
  http::HttpClient client;
  RouterOptions options = fast();
  options.backoff_initial_ms = 300;
  options.backoff_max_ms = 300;
  options.jitter = 0;
  AiRouter router(client, {p.model("main")}, options);
  std::mutex mutex;
  std::vector<Attempt> seen;
  router.set_attempt_observer([&](const Attempt& a) {
    const std::lock_guard<std::mutex> lock(mutex);
    seen.push_back(a);
  });
  const CallResult r = call_once(router, "main");
  REQUIRE(r.ok());
  // The observer runs before the call's callback, so both are in.
  const std::lock_guard<std::mutex> lock(mutex);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].model_name == "main");
  CHECK(seen[0].provider == "openai");
  CHECK(seen[0].status == 500);
  CHECK(seen[0].outcome == "retry server_error");
  CHECK(seen[1].status == 200);
  CHECK(seen[1].outcome == "ok");
  // Each attempt is timed alone: the 300 ms backoff between them is in neither.
  CHECK(seen[0].elapsed_ms + 300 + seen[1].elapsed_ms <= r.stats.latency_ms);
}

TEST_CASE("5xx answers are retried up to max_retries, then the fallback model answers") {
  Providers p;
  p.script("main", {error_line(500)});
  p.script("backup", {ok_line("From backup")});
  http::HttpClient client;
  ModelConfig main = p.model("main");
  main.fallback = {"backup"};
  AiRouter router(client, {main, p.model("backup")}, fast());
  const CallResult r = call_once(router, "main");
  REQUIRE(r.ok());
  CHECK(r.response->text == "From backup");
  CHECK(p.count("main") == 3);
  CHECK(p.count("backup") == 1);
  CHECK(r.stats.attempts == 4);
  CHECK(r.stats.model_name == "backup");
  CHECK(outcomes(r) == std::vector<std::string>{"main: retry server_error",
                                                "main: retry server_error",
                                                "main: retry server_error", "backup: ok"});
}

TEST_CASE("a 401 is never retried and moves on to the fallback, while a 400 ends the call") {
  Providers p;
  p.script("main", {error_line(401, "invalid_api_key")});
  p.script("bad", {error_line(400, "invalid_request_error")});
  p.script("backup", {ok_line("Backup")});
  http::HttpClient client;
  ModelConfig main = p.model("main");
  main.fallback = {"backup"};
  ModelConfig bad = p.model("bad");
  bad.fallback = {"backup"};
  AiRouter router(client, {main, bad, p.model("backup")}, fast());

  const CallResult r = call_once(router, "main");
  REQUIRE(r.ok());
  CHECK(p.count("main") == 1);
  CHECK(outcomes(r) == std::vector<std::string>{"main: fatal auth", "backup: ok"});

  const CallResult refused = call_once(router, "bad");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error.reason == Reason::BadRequest);
  CHECK(refused.error.message == "openai: scripted 400");
  CHECK(p.count("bad") == 1);
  CHECK(p.count("backup") == 1);  // only the first call's
}

TEST_CASE(
    "failover-class errors and a Retry-After over the cap move on at once, and the step's "
    "fallbacks "
    "win") {
  Providers p;
  p.script("main", {error_line(400, "context_length_exceeded")});
  p.script("slow", {error_line(429, "rate_limit_exceeded", {{"Retry-After", "3600"}})});
  p.script("backup", {ok_line("ok")});
  p.script("other", {ok_line("other")});
  http::HttpClient client;
  ModelConfig main = p.model("main");
  main.fallback = {"backup"};
  ModelConfig slow = p.model("slow");
  slow.fallback = {"backup"};
  AiRouter router(client, {main, slow, p.model("backup"), p.model("other")}, fast());
  CHECK(outcomes(call_once(router, "main")) ==
        std::vector<std::string>{"main: failover context_window", "backup: ok"});
  CHECK(outcomes(call_once(router, "slow")) ==
        std::vector<std::string>{"slow: retry rate_limit", "backup: ok"});
  CHECK(p.count("slow") == 1);
  const CallResult step = call_once(router, "main", 15'000, {"other"});
  REQUIRE(step.ok());
  CHECK(step.response->text == "other");
}

TEST_CASE("the breaker opens after consecutive failures, skips the target, and a probe closes it") {
  Providers p;
  p.script("flaky", {error_line(503, "server_is_overloaded")});
  http::HttpClient client;
  ModelConfig flaky = p.model("flaky");
  flaky.max_retries = 0;
  RouterOptions o = fast();
  o.breaker_failures = 2;
  o.breaker_cooldown_ms = 1000;
  AiRouter router(client, {flaky}, o);

  CHECK_FALSE(call_once(router, "flaky").ok());
  CHECK(router.breaker("flaky") == BreakerState::Closed);
  CHECK_FALSE(call_once(router, "flaky").ok());
  CHECK(p.count("flaky") == 2);
  // Open: the next call fails at once, without a request, with the last failure it knows of.
  const CallResult skipped = call_once(router, "flaky");
  if (router.breaker("flaky") == BreakerState::Open) {
    REQUIRE_FALSE(skipped.ok());
    CHECK(skipped.error.reason == Reason::NoTarget);
    CHECK(skipped.error.message == "no model could take the call: every circuit breaker is open");
    CHECK(skipped.stats.attempts == 0);
    CHECK(outcomes(skipped) == std::vector<std::string>{"flaky: breaker open"});
    CHECK(p.count("flaky") == 2);
  }
  // After the cool-down one probe goes through; its success closes the breaker.
  const Clock::time_point limit = Clock::now() + std::chrono::seconds(10);
  while (router.breaker("flaky") == BreakerState::Open && Clock::now() < limit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(router.breaker("flaky") == BreakerState::HalfOpen);
  p.script("flaky", {ok_line("back")});
  const CallResult probe = call_once(router, "flaky");
  REQUIRE(probe.ok());
  CHECK(router.breaker("flaky") == BreakerState::Closed);
}

TEST_CASE("a slow provider and a short deadline: the call fails with a timeout, once") {
  Providers p;
  p.script("slow", {Line{200, "", {}, true}});
  p.script("backup", {Line{200, "", {}, true}});
  http::HttpClient client;
  ModelConfig slow = p.model("slow");
  slow.fallback = {"backup"};
  AiRouter router(client, {slow, p.model("backup")}, fast());
  Results results;
  router.call("slow", question(), 400, results.callback());
  const CallResult r = results.wait_one();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error.reason == Reason::Timeout);
  CHECK(r.stats.attempts >= 1);
  CHECK(p.count("slow") >= 1);
  CHECK(results.size() == 1);
}

TEST_CASE("OpenRouter's 200 carrying an error fails over to the fallback") {
  Providers p;
  p.script(
      "router",
      {Line{
          200,
          R"({"error":{"code":502,"message":"Provider returned error","metadata":{"provider_name":"X"}}})",
          {},
          false}});
  p.script("backup", {ok_line("saved")});
  http::HttpClient client;
  ModelConfig openrouter = p.model("router", ProviderKind::OpenRouter);
  openrouter.fallback = {"backup"};
  AiRouter router(client, {openrouter, p.model("backup")}, fast());
  const CallResult r = call_once(router, "router");
  REQUIRE(r.ok());
  CHECK(r.response->text == "saved");
  CHECK(outcomes(r) ==
        std::vector<std::string>{"router: failover model_unavailable", "backup: ok"});
  CHECK(r.stats.trail[0].message == "openrouter: Provider returned error (X)");
}

TEST_CASE("an unknown model, a refused connection, and models that do not check out") {
  http::HttpClient client;
  ModelConfig dead;
  dead.name = "dead";
  dead.provider.kind = ProviderKind::Ollama;
  dead.provider.model = "llama3.2";
  dead.provider.base_url = "http://127.0.0.1:1/v1";
  dead.max_retries = 1;
  AiRouter router(client, {dead}, fast());
  const CallResult unknown = call_once(router, "nope");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error.reason == Reason::NoTarget);
  CHECK(unknown.error.message == "no model named 'nope' is configured (ai.models)");

  const CallResult refused = call_once(router, "dead");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error.reason == Reason::Connection);
  CHECK(refused.stats.attempts == 2);

  ModelConfig a;
  a.name = "a";
  a.fallback = {"b"};
  a.timeout_ms = 0;
  CHECK(check_models({a, a}) ==
        std::vector<std::string>{
            "model 'a' has no provider model id (model:)", "model 'a': timeout must be above 0",
            "model 'a': fallback 'b' names no configured model", "model 'a' is configured twice",
            "model 'a' has no provider model id (model:)", "model 'a': timeout must be above 0",
            "model 'a': fallback 'b' names no configured model"});
}

TEST_CASE("shutting the router down ends a call waiting for its backoff") {
  Providers p;
  p.script("main",
           {error_line(429, "rate_limit_exceeded", {{"Retry-After", "20"}}), ok_line("late")});
  http::HttpClient client;
  RouterOptions o = fast();
  o.max_retry_after_ms = 60'000;
  AiRouter router(client, {p.model("main")}, o);
  Results results;
  router.call("main", question(), 60'000, results.callback());
  const Clock::time_point limit = Clock::now() + std::chrono::seconds(10);
  while (p.count("main") == 0 && Clock::now() < limit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Whether the 429 has been read yet or not, the call ends now: a waiting timer is dropped,
  // and an answer read after shutdown schedules nothing.
  router.shutdown();
  const CallResult r = results.wait_one();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error.message == "router shut down");
  CHECK(results.size() == 1);
}
