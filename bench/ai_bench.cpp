// AI router benchmark: what the router and the provider mappings cost per call, and 1,000
// concurrent calls against a provider that takes 200 ms to answer.
//
//   build/bench/waflow_ai_bench [--json] [--latency-ms 200] [--calls 1000] [--big 5000]
//                               [--rounds 3] [--max-per-host 1000] [--skip-default]
//
// The fake provider is the project's own HttpServer on 127.0.0.1: it answers OpenAI-compatible
// (/v1/chat/completions), Anthropic (/v1/messages) and Gemini (...:generateContent) requests
// with a fixed answer of each wire family. Its handler never waits: with a latency set, it moves
// the Reply to a delay queue whose thread answers when the time is up, so the server's I/O
// threads stay free and 5,000 waiting requests cost memory only.
//
// Overhead per call, excluding the network, is measured two ways:
//   1. mapping: build() + parse() of each provider, in-process, timed per call (pure functions,
//      no I/O: this is the request building, the answer parsing and the error classification
//      every call goes through);
//   2. router: whole calls through AiRouter one at a time against the fake at 0 ms, against the
//      same requests (already built) sent with the bare HttpClient in alternating blocks. The
//      network, the server and curl are the same on both sides, so the difference of the
//      medians (and of the CPU time per call) is what the router adds: the mapping, the chain,
//      the breaker, the deadline and the hop through the router's timer thread. A third variant,
//      the bare client with build() before submit() and parse() in its callback, splits that
//      into the mapping and the router's own machinery.
//
// Target (issue: AI router): router overhead per call in microseconds, and 1,000 concurrent AI
// calls against a fake server with 200 ms latency: all complete, no worker blocked, memory
// bounded.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <sys/resource.h>

#include "adapters/ai/provider.h"
#include "adapters/ai/router.h"
#include "adapters/http/client.h"
#include "adapters/http/server.h"

namespace {

namespace ai = waflow::ai;
namespace http = waflow::http;
using Clock = std::chrono::steady_clock;

double us_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

double cpu_us() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto tv = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec);
  };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

// Context switches of the calling thread: voluntary ones mean it waited (a lock, a syscall that
// blocks), involuntary ones that the scheduler gave its core to another thread.
struct Switches {
  long voluntary = 0;
  long involuntary = 0;
};

Switches thread_switches() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return {u.ru_nvcsw, u.ru_nivcsw};
}

// VmRSS and VmHWM (peak) of this process, in KiB.
struct Memory {
  long rss_kb = 0;
  long peak_kb = 0;
};

Memory memory() {
  Memory m;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      m.rss_kb = std::atol(line.c_str() + 6);
    } else if (line.rfind("VmHWM:", 0) == 0) {
      m.peak_kb = std::atol(line.c_str() + 6);
    }
  }
  return m;
}

struct Summary {
  double median = 0;
  double p99 = 0;
  double max = 0;
};

Summary summarize(std::vector<double> v) {
  Summary s;
  if (v.empty()) {
    return s;
  }
  std::sort(v.begin(), v.end());
  s.median = v[v.size() / 2];
  s.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)];
  s.max = v.back();
  return s;
}

// Answers as each provider would to a short chat turn.
const std::string kOpenAiAnswer =
    R"({"id":"chatcmpl-1","object":"chat.completion","created":1736154000,"model":"gpt-4o-mini",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"A large margherita to )"
    R"(1 Baker Street: about 30 minutes."},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":31,"completion_tokens":12,"total_tokens":43}})";
const std::string kAnthropicAnswer =
    R"({"id":"msg_01","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022",)"
    R"("content":[{"type":"text","text":"A large margherita to 1 Baker Street: about 30 )"
    R"(minutes."}],"stop_reason":"end_turn","stop_sequence":null,)"
    R"("usage":{"input_tokens":31,"output_tokens":12}})";
const std::string kGeminiAnswer =
    R"({"candidates":[{"content":{"role":"model","parts":[{"text":"A large margherita to 1 )"
    R"(Baker Street: about 30 minutes."}]},"finishReason":"STOP","index":0}],)"
    R"("usageMetadata":{"promptTokenCount":31,"candidatesTokenCount":12,"totalTokenCount":43},)"
    R"("modelVersion":"gemini-2.0-flash-001"})";

const std::string& answer_for(std::string_view path) {
  if (path.find(":generateContent") != std::string_view::npos) {
    return kGeminiAnswer;
  }
  if (path.ends_with("/messages")) {
    return kAnthropicAnswer;
  }
  return kOpenAiAnswer;
}

// The fake provider: answers every POST after `latency` without holding an I/O thread.
class FakeProvider {
 public:
  FakeProvider() : server_(options()) {
    server_.route("POST", "/*", [this](http::Request request, http::Reply reply) {
      http::Response response = http::Response::json(200, answer_for(request.path));
      const auto latency = std::chrono::milliseconds(latency_ms_.load());
      if (latency.count() == 0) {
        reply(std::move(response));
        return;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      // One latency for all, so the queue is in order of due time.
      delayed_.push_back({Clock::now() + latency, std::move(reply), std::move(response)});
      wake_.notify_one();
    });
    thread_ = std::thread([this] { run_delays(); });
  }
  ~FakeProvider() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      wake_.notify_one();
    }
    thread_.join();
    delayed_.clear();  // Unanswered Replies answer 500; nothing waits for them by now.
    server_.stop(std::chrono::milliseconds(0));
  }
  FakeProvider(const FakeProvider&) = delete;
  FakeProvider& operator=(const FakeProvider&) = delete;

  waflow::Result<std::uint16_t> start() { return server_.start(); }
  void set_latency_ms(std::int64_t ms) { latency_ms_ = ms; }
  std::size_t connections() const { return server_.connection_count(); }

 private:
  struct Delayed {
    Clock::time_point due;
    http::Reply reply;
    http::Response response;
  };

  static http::ServerOptions options() {
    http::ServerOptions o;
    o.threads = 2;
    o.max_connections = 20'000;
    return o;
  }

  void run_delays() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      if (delayed_.empty()) {
        wake_.wait(lock);
        continue;
      }
      if (Clock::now() < delayed_.front().due) {
        wake_.wait_until(lock, delayed_.front().due);
        continue;
      }
      Delayed d = std::move(delayed_.front());
      delayed_.pop_front();
      lock.unlock();
      d.reply(std::move(d.response));  // Posts the write to the connection's strand.
      lock.lock();
    }
  }

  http::HttpServer server_;
  std::atomic<std::int64_t> latency_ms_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Delayed> delayed_;
  bool stopping_ = false;
  std::thread thread_;
};

ai::ChatRequest turn() {
  ai::ChatRequest r;
  r.system = "You take pizza orders for Luigi's. Be brief and friendly.";
  ai::Message m;
  m.role = ai::Role::User;
  m.text = "Hi! A large margherita to 1 Baker Street, please. How long?";
  r.messages.push_back(std::move(m));
  r.max_tokens = 200;
  r.temperature = 0.2;
  return r;
}

struct Family {
  std::string label;       // For the tables.
  std::string model_name;  // As the router knows it.
  ai::ProviderConfig provider;
};

std::vector<Family> families(std::uint16_t port) {
  const std::string host = "http://127.0.0.1:" + std::to_string(port);
  const auto make = [&](ai::ProviderKind kind, std::string model, std::string base) {
    ai::ProviderConfig c;
    c.kind = kind;
    c.model = std::move(model);
    c.api_key = "bench-key";
    c.base_url = host + base;
    return c;
  };
  return {
      {"OpenAI-compatible", "bench/openai", make(ai::ProviderKind::OpenAi, "gpt-4o-mini", "/v1")},
      {"Anthropic", "bench/anthropic",
       make(ai::ProviderKind::Anthropic, "claude-3-5-haiku-latest", "/v1")},
      {"Gemini", "bench/gemini", make(ai::ProviderKind::Gemini, "gemini-2.0-flash", "/v1beta")},
  };
}

std::vector<ai::ModelConfig> models_of(const std::vector<Family>& fams) {
  std::vector<ai::ModelConfig> models;
  for (const Family& f : fams) {
    ai::ModelConfig m;
    m.name = f.model_name;
    m.provider = f.provider;
    m.timeout_ms = 60'000;  // The default-options run queues for seconds at the client.
    models.push_back(std::move(m));
  }
  return models;
}

// Waits for one callback at a time.
class Latch {
 public:
  void open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    cv_.notify_one();
  }
  bool wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    const bool ok = cv_.wait_for(lock, std::chrono::seconds(60), [this] { return open_; });
    open_ = false;
    return ok;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

// --- 1. overhead per call --------------------------------------------------------------------

struct MappingRow {
  std::string label;
  Summary us;
};

MappingRow measure_mapping(const Family& f, int calls) {
  const ai::ChatRequest request = turn();
  const std::string& body = answer_for(ai::build(f.provider, request).value().url);
  const http::StringMap headers{{"content-type", "application/json"}};
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(calls));
  std::size_t bytes = 0;
  for (int i = 0; i < calls; ++i) {
    const auto t0 = Clock::now();
    ai::AiResult<http::ClientRequest> built = ai::build(f.provider, request);
    const ai::ChatResult parsed =
        ai::parse(f.provider, request, 200, headers, body, 1'736'154'000'000);
    const auto t1 = Clock::now();
    if (!built.ok() || !parsed.ok()) {
      std::fprintf(stderr, "%s: the mapping failed\n", f.label.c_str());
      std::exit(1);
    }
    bytes += built.value().body.size() + parsed.value().text.size();
    us.push_back(us_between(t0, t1));
  }
  if (bytes == 0) {
    std::exit(1);
  }
  return {f.label, summarize(std::move(us))};
}

struct RouterRow {
  std::string label;
  Summary router_us;
  Summary bare_us;
  Summary mapped_us;         // Bare client plus build() and parse() around it.
  double router_cpu_us = 0;  // Process CPU per call (client, timer and server threads).
  double bare_cpu_us = 0;
  double mapped_cpu_us = 0;
  int failed = 0;
};

RouterRow measure_router(const Family& f, ai::AiRouter& router, http::HttpClient& client,
                         int calls) {
  constexpr int kBlock = 100;
  const ai::ChatRequest request = turn();
  http::ClientRequest bare = ai::build(f.provider, request).value();
  bare.timeout_ms = 30'000;
  RouterRow row{f.label, {}, {}, {}, 0, 0, 0, 0};
  std::vector<double> router_us;
  std::vector<double> bare_us;
  std::vector<double> mapped_us;
  double router_cpu = 0;
  double bare_cpu = 0;
  double mapped_cpu = 0;
  Latch latch;
  Clock::time_point end;
  bool ok = false;
  const auto via_router = [&] {
    const auto t0 = Clock::now();
    router.call(f.model_name, request, 60'000, [&](ai::CallResult r) {
      end = Clock::now();
      ok = r.ok();
      latch.open();
    });
    if (!latch.wait() || !ok) {
      ++row.failed;
    }
    return us_between(t0, end);
  };
  const auto via_client = [&] {
    const auto t0 = Clock::now();
    client.submit(bare, [&](http::ClientResponse r) {
      end = Clock::now();
      ok = r.ok() && r.status == 200;
      latch.open();
    });
    if (!latch.wait() || !ok) {
      ++row.failed;
    }
    return us_between(t0, end);
  };
  const auto via_client_mapped = [&] {
    const auto t0 = Clock::now();
    ai::AiResult<http::ClientRequest> built = ai::build(f.provider, request);
    if (!built.ok()) {
      ++row.failed;
      return 0.0;
    }
    http::ClientRequest req = std::move(built).value();
    req.timeout_ms = 30'000;
    client.submit(std::move(req), [&](http::ClientResponse r) {
      const ai::ChatResult parsed =
          r.ok() ? ai::parse(f.provider, request, r.status, r.headers, r.body, 1'736'154'000'000)
                 : ai::ChatResult(ai::transport_error(r.error));
      end = Clock::now();
      ok = parsed.ok();
      latch.open();
    });
    if (!latch.wait() || !ok) {
      ++row.failed;
    }
    return us_between(t0, end);
  };
  for (int i = 0; i < kBlock; ++i) {  // Warm up: connections, allocator, caches.
    via_router();
    via_client();
    via_client_mapped();
  }
  row.failed = 0;
  for (int done = 0; done < calls; done += kBlock) {
    double c0 = cpu_us();
    for (int i = 0; i < kBlock; ++i) {
      router_us.push_back(via_router());
    }
    double c1 = cpu_us();
    router_cpu += c1 - c0;
    for (int i = 0; i < kBlock; ++i) {
      bare_us.push_back(via_client());
    }
    double c2 = cpu_us();
    bare_cpu += c2 - c1;
    for (int i = 0; i < kBlock; ++i) {
      mapped_us.push_back(via_client_mapped());
    }
    mapped_cpu += cpu_us() - c2;
  }
  const auto n = static_cast<double>(router_us.size());
  row.router_cpu_us = router_cpu / n;
  row.bare_cpu_us = bare_cpu / n;
  row.mapped_cpu_us = mapped_cpu / n;
  row.mapped_us = summarize(std::move(mapped_us));
  row.router_us = summarize(std::move(router_us));
  row.bare_us = summarize(std::move(bare_us));
  return row;
}

// --- 2. concurrent calls ---------------------------------------------------------------------

struct Round {
  std::string client;  // Which client options.
  int calls = 0;
  int ok = 0;
  int failed = 0;
  int attempts = 0;
  bool complete = false;    // Every callback ran before the guard timeout.
  double issue_ms = 0;      // Time for the calling thread to start every call.
  Summary call_us;          // Each call() on the calling thread.
  Switches issue_switches;  // Of the calling thread while it issued the calls.
  double cpu_ms = 0;        // Process CPU over the round (client, router, fake server).
  double wall_ms = 0;       // First call() to the last callback.
  Summary latency_ms;
  std::size_t peak_connections = 0;  // Seen by the fake server, sampled every 2 ms.
  Memory after;
};

Round run_round(const std::string& label, ai::AiRouter& router, FakeProvider& fake,
                const std::vector<Family>& fams, int calls) {
  Round round;
  round.client = label;
  round.calls = calls;
  const ai::ChatRequest request = turn();
  std::vector<double> latency(static_cast<std::size_t>(calls), 0.0);
  std::atomic<int> remaining{calls};
  std::atomic<int> ok{0};
  std::atomic<int> attempts{0};
  std::mutex mutex;
  std::condition_variable all_done;

  std::atomic<bool> sampling{true};
  std::atomic<std::size_t> peak{0};
  std::thread sampler([&] {
    while (sampling) {
      peak = std::max(peak.load(), fake.connections());
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });

  std::vector<double> call_us;
  call_us.reserve(static_cast<std::size_t>(calls));
  const double cpu0 = cpu_us();
  const Switches switches0 = thread_switches();
  const auto start = Clock::now();
  for (int i = 0; i < calls; ++i) {
    const auto t0 = Clock::now();
    const Family& f = fams[static_cast<std::size_t>(i) % fams.size()];
    router.call(f.model_name, request, 120'000, [&, i, t0](ai::CallResult r) {
      latency[static_cast<std::size_t>(i)] = us_between(t0, Clock::now()) / 1000.0;
      attempts += r.stats.attempts;
      if (r.ok()) {
        ++ok;
      }
      if (--remaining == 0) {
        std::lock_guard<std::mutex> lock(mutex);
        all_done.notify_one();
      }
    });
    call_us.push_back(us_between(t0, Clock::now()));
  }
  round.issue_ms = us_between(start, Clock::now()) / 1000.0;
  const Switches switches1 = thread_switches();
  round.issue_switches = {switches1.voluntary - switches0.voluntary,
                          switches1.involuntary - switches0.involuntary};
  {
    std::unique_lock<std::mutex> lock(mutex);
    round.complete =
        all_done.wait_for(lock, std::chrono::seconds(180), [&] { return remaining.load() == 0; });
  }
  round.wall_ms = us_between(start, Clock::now()) / 1000.0;
  round.cpu_ms = (cpu_us() - cpu0) / 1000.0;
  round.call_us = summarize(std::move(call_us));
  if (!round.complete) {
    // Callbacks still pending refer to this frame: stop here rather than return.
    std::fprintf(stderr, "%s: %d of %d calls still pending after 180 s\n", label.c_str(),
                 remaining.load(), calls);
    std::_Exit(1);
  }
  sampling = false;
  sampler.join();
  round.ok = ok;
  round.failed = calls - ok - remaining;
  round.attempts = attempts;
  round.peak_connections = peak;
  if (round.complete) {
    round.latency_ms = summarize(std::move(latency));
  }
  round.after = memory();
  return round;
}

// --- output ----------------------------------------------------------------------------------

struct Args {
  bool json = false;
  std::int64_t latency_ms = 200;
  int calls = 1000;
  int big = 5000;
  int rounds = 3;
  long max_per_host = 1000;
  bool skip_default = false;
  int mapping_calls = 20'000;
  int router_calls = 2'000;
};

bool parse_args(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto number = [&](auto& out) {
      if (i + 1 >= argc) {
        return false;
      }
      char* end = nullptr;
      const long v = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 0 || v > 1'000'000) {
        return false;
      }
      out = static_cast<std::remove_reference_t<decltype(out)>>(v);
      return true;
    };
    bool ok = true;
    if (arg == "--json") {
      a.json = true;
    } else if (arg == "--skip-default") {
      a.skip_default = true;
    } else if (arg == "--latency-ms") {
      ok = number(a.latency_ms);
    } else if (arg == "--calls") {
      ok = number(a.calls) && a.calls > 0;
    } else if (arg == "--big") {
      ok = number(a.big);
    } else if (arg == "--rounds") {
      ok = number(a.rounds) && a.rounds > 0;
    } else if (arg == "--max-per-host") {
      ok = number(a.max_per_host) && a.max_per_host > 0;
    } else if (arg == "--mapping-calls") {
      ok = number(a.mapping_calls) && a.mapping_calls > 0;
    } else if (arg == "--router-calls") {
      ok = number(a.router_calls) && a.router_calls >= 100;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr,
                   "usage: waflow_ai_bench [--json] [--latency-ms N] [--calls N] "
                   "[--big N] [--rounds N] [--max-per-host N] [--skip-default] "
                   "[--mapping-calls N] [--router-calls N>=100]\n");
      return false;
    }
  }
  return true;
}

std::string json_summary(const Summary& s) {
  char buf[128];
  std::snprintf(buf, sizeof buf, R"({"median":%.2f,"p99":%.2f,"max":%.2f})", s.median, s.p99,
                s.max);
  return buf;
}

void print_text(const Args& a, const Memory& before, const std::vector<MappingRow>& mapping,
                const std::vector<RouterRow>& routers, const std::vector<Round>& rounds) {
  std::printf("## Provider mapping in-process: build() + parse(), %d calls each\n\n",
              a.mapping_calls);
  std::printf("| provider | median us | p99 us |\n|---|---|---|\n");
  for (const MappingRow& m : mapping) {
    std::printf("| %s | %.2f | %.2f |\n", m.label.c_str(), m.us.median, m.us.p99);
  }
  std::printf("\n## Router vs bare client, one call at a time, fake at 0 ms, %d calls each\n\n",
              a.router_calls);
  std::printf(
      "| provider | router median / p99 us | bare client median / p99 us | "
      "bare + mapping median / p99 us | router overhead (median diff) us | "
      "CPU per call router / bare / bare + mapping us | router CPU overhead us | "
      "failed |\n|---|---|---|---|---|---|---|---|\n");
  for (const RouterRow& r : routers) {
    std::printf(
        "| %s | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %.1f | %.1f / %.1f / %.1f | "
        "%.1f | %d |\n",
        r.label.c_str(), r.router_us.median, r.router_us.p99, r.bare_us.median, r.bare_us.p99,
        r.mapped_us.median, r.mapped_us.p99, r.router_us.median - r.bare_us.median, r.router_cpu_us,
        r.bare_cpu_us, r.mapped_cpu_us, r.router_cpu_us - r.bare_cpu_us, r.failed);
  }
  std::printf("\n## Concurrent calls, fake at %lld ms (RSS before: %ld KiB, peak %ld KiB)\n\n",
              static_cast<long long>(a.latency_ms), before.rss_kb, before.peak_kb);
  std::printf(
      "| client | calls | ok | failed | attempts | issue ms | call() median / p99 / "
      "max us | issuing thread waits / preempted | wall ms | latency median / p99 / "
      "max ms | CPU ms | peak server conns | RSS after KiB | peak RSS KiB |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Round& r : rounds) {
    std::printf(
        "| %s | %d | %d | %d | %d | %.1f | %.1f / %.1f / %.0f | %ld / %ld | %.0f | "
        "%.0f / %.0f / %.0f | %.0f | %zu | %ld | %ld |\n",
        r.client.c_str(), r.calls, r.ok, r.failed, r.attempts, r.issue_ms, r.call_us.median,
        r.call_us.p99, r.call_us.max, r.issue_switches.voluntary, r.issue_switches.involuntary,
        r.wall_ms, r.latency_ms.median, r.latency_ms.p99, r.latency_ms.max, r.cpu_ms,
        r.peak_connections, r.after.rss_kb, r.after.peak_kb);
  }
}

void print_json(const Args& a, const Memory& before, const std::vector<MappingRow>& mapping,
                const std::vector<RouterRow>& routers, const std::vector<Round>& rounds) {
  std::printf("{\"latency_ms\":%lld,\"mapping\":[", static_cast<long long>(a.latency_ms));
  for (std::size_t i = 0; i < mapping.size(); ++i) {
    std::printf("%s{\"provider\":\"%s\",\"calls\":%d,\"us\":%s}", i ? "," : "",
                mapping[i].label.c_str(), a.mapping_calls, json_summary(mapping[i].us).c_str());
  }
  std::printf("],\"router\":[");
  for (std::size_t i = 0; i < routers.size(); ++i) {
    const RouterRow& r = routers[i];
    std::printf(
        "%s{\"provider\":\"%s\",\"calls\":%d,\"router_us\":%s,\"bare_us\":%s,"
        "\"mapped_us\":%s,\"overhead_median_us\":%.2f,\"router_cpu_us\":%.2f,"
        "\"bare_cpu_us\":%.2f,\"mapped_cpu_us\":%.2f,\"failed\":%d}",
        i ? "," : "", r.label.c_str(), a.router_calls, json_summary(r.router_us).c_str(),
        json_summary(r.bare_us).c_str(), json_summary(r.mapped_us).c_str(),
        r.router_us.median - r.bare_us.median, r.router_cpu_us, r.bare_cpu_us, r.mapped_cpu_us,
        r.failed);
  }
  std::printf("],\"rss_before_kb\":%ld,\"peak_rss_before_kb\":%ld,\"concurrent\":[", before.rss_kb,
              before.peak_kb);
  for (std::size_t i = 0; i < rounds.size(); ++i) {
    const Round& r = rounds[i];
    std::printf(
        "%s{\"client\":\"%s\",\"calls\":%d,\"ok\":%d,\"failed\":%d,"
        "\"attempts\":%d,\"issue_ms\":%.2f,\"call_us\":%s,\"issue_waits\":%ld,"
        "\"issue_preempted\":%ld,\"wall_ms\":%.1f,"
        "\"latency_ms\":%s,\"cpu_ms\":%.1f,\"peak_connections\":%zu,\"rss_kb\":%ld,"
        "\"peak_rss_kb\":%ld}",
        i ? "," : "", r.client.c_str(), r.calls, r.ok, r.failed, r.attempts, r.issue_ms,
        json_summary(r.call_us).c_str(), r.issue_switches.voluntary, r.issue_switches.involuntary,
        r.wall_ms, json_summary(r.latency_ms).c_str(), r.cpu_ms, r.peak_connections, r.after.rss_kb,
        r.after.peak_kb);
  }
  std::printf("]}\n");
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, args)) {
    return 2;
  }
  FakeProvider fake;
  const waflow::Result<std::uint16_t> port = fake.start();
  if (!port.ok()) {
    std::fprintf(stderr, "the fake provider did not start: %s\n", port.error().message.c_str());
    return 1;
  }
  const std::vector<Family> fams = families(port.value());
  const std::vector<ai::ModelConfig> models = models_of(fams);
  for (const std::string& problem : ai::check_models(models)) {
    std::fprintf(stderr, "%s\n", problem.c_str());
    return 1;
  }

  // 1. Overhead per call.
  std::vector<MappingRow> mapping;
  for (const Family& f : fams) {
    mapping.push_back(measure_mapping(f, args.mapping_calls));
  }
  std::vector<RouterRow> routers;
  {
    http::HttpClient client;
    ai::AiRouter router(client, models);
    for (const Family& f : fams) {
      routers.push_back(measure_router(f, router, client, args.router_calls));
    }
  }

  // 2. Concurrent calls at the fake's latency.
  fake.set_latency_ms(args.latency_ms);
  const Memory before = memory();
  std::vector<Round> rounds;
  if (!args.skip_default) {
    // The client as waflow serve builds it: at most 16 requests in flight per host.
    http::HttpClient client;
    ai::AiRouter router(client, models);
    rounds.push_back(run_round("default (16/host)", router, fake, fams, args.calls));
  }
  {
    http::ClientOptions options;
    options.max_connections = args.max_per_host;
    options.max_per_host = args.max_per_host;
    http::HttpClient client(options);
    ai::AiRouter router(client, models);
    const std::string label = std::to_string(args.max_per_host) + "/host";
    for (int i = 0; i < args.rounds; ++i) {
      rounds.push_back(run_round(label, router, fake, fams, args.calls));
    }
    for (int i = 0; args.big > 0 && i < args.rounds; ++i) {
      rounds.push_back(run_round(label, router, fake, fams, args.big));
    }
    for (int i = 0; i < args.rounds; ++i) {
      rounds.push_back(run_round(label, router, fake, fams, args.calls));
    }
  }

  if (args.json) {
    print_json(args, before, mapping, routers, rounds);
  } else {
    print_text(args, before, mapping, routers, rounds);
  }
  bool all_ok = true;
  for (const Round& r : rounds) {
    all_ok = all_ok && r.complete && r.failed == 0;
  }
  for (const RouterRow& r : routers) {
    all_ok = all_ok && r.failed == 0;
  }
  return all_ok ? 0 : 1;
}
