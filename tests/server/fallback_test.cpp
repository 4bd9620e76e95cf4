// The AI fallback chatbot of a device: its payloads and state (fallback.h), and the engine
// on a real SQLite file with a fake Transport for the model and the gateway (the far side
// of the wire): an unmatched message is answered, a trigger wins, a failing model leaves the
// contact without an answer and a log line, and messages that come while a call is out are
// answered together by the next call.

#include "runtime/server/fallback.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "compiler/checks/checks.h"
#include "compiler/codegen/codegen.h"
#include "compiler/frontend.h"
#include "runtime/server/engine.h"
#include "runtime/storage/sqlite_store.h"

namespace {

namespace fs = std::filesystem;
using waflow::server::DeliveryResult;
using waflow::vm::Value;

std::string pizza_bundle() {
  waflow::SourceManager sources;
  waflow::Diagnostics diags;
  const waflow::ir::Project project = waflow::load_project(
      {std::string(WAFLOW_SOURCE_DIR) + "/examples/flows/pizza.wf"}, sources, diags);
  waflow::check_project(project, sources, diags);
  REQUIRE_FALSE(diags.has_errors());
  const std::vector<std::uint8_t> bytes =
      waflow::bytecode::write_bundle(waflow::generate_bundle(project, sources, "test"));
  return std::string(bytes.begin(), bytes.end());
}

Value text(const std::string& t) {
  return Value::object({{"type", Value::text("text")}, {"text", Value::text(t)}},
                       waflow::vm::Tag::Message);
}

template <typename Pred>
bool eventually(Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// The model answers "echo: <input>" (or fails while `failing`); with `hold`, AI rows wait
// until release(). Sends are recorded.
class FakeTransport final : public waflow::server::Transport {
 public:
  bool handles(const std::string& kind) const override { return kind == "send" || kind == "ai"; }
  void deliver(const waflow::storage::OutboxRow& row,
               std::function<void(DeliveryResult)> done) override {
    std::unique_lock lock(mutex_);
    if (row.kind == "ai") {
      ai_requests_.push_back(row.payload);
      cv_.notify_all();
      if (hold_) {
        held_.emplace_back(row.payload, std::move(done));
        return;
      }
      lock.unlock();
      done(answer(row.payload));
      return;
    }
    sent_.push_back(row.payload);
    cv_.notify_all();
    lock.unlock();
    DeliveryResult r;
    r.outcome = DeliveryResult::Outcome::Sent;
    r.provider_message_id = "wamid.out";
    done(std::move(r));
  }

  DeliveryResult answer(const std::string& payload) {
    Value v;
    REQUIRE(waflow::vm::from_json(payload, v));
    DeliveryResult r;
    r.outcome = DeliveryResult::Outcome::Sent;
    if (failing_) {
      r.answer = Value::object({{"ok", Value::boolean(false)},
                                {"error", Value::text("server_error: the model is down")}});
    } else {
      r.answer = Value::object({{"ok", Value::boolean(true)},
                                {"text", Value::text("echo: " + v.field("input")->as_text())}});
    }
    return r;
  }

  void hold(bool on) {
    const std::lock_guard lock(mutex_);
    hold_ = on;
  }
  void failing(bool on) {
    const std::lock_guard lock(mutex_);
    failing_ = on;
  }
  void release() {
    std::vector<std::pair<std::string, std::function<void(DeliveryResult)>>> held;
    {
      const std::lock_guard lock(mutex_);
      held.swap(held_);
    }
    for (auto& [payload, done] : held) {
      done(answer(payload));
    }
  }

  std::vector<std::string> wait_sent(std::size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return sent_.size() >= n; });
    std::vector<std::string> texts;
    for (const std::string& json : sent_) {
      Value v;
      REQUIRE(waflow::vm::from_json(json, v));
      texts.push_back(v.field("text") != nullptr ? v.field("text")->as_text() : json);
    }
    return texts;
  }
  std::vector<Value> wait_ai(std::size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return ai_requests_.size() >= n; });
    std::vector<Value> out;
    for (const std::string& json : ai_requests_) {
      Value v;
      REQUIRE(waflow::vm::from_json(json, v));
      out.push_back(std::move(v));
    }
    return out;
  }
  std::size_t sent() {
    const std::lock_guard lock(mutex_);
    return sent_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool hold_ = false;
  bool failing_ = false;
  std::vector<std::pair<std::string, std::function<void(DeliveryResult)>>> held_;
  std::vector<std::string> ai_requests_;
  std::vector<std::string> sent_;
};

struct Fixture {
  fs::path dir;
  std::unique_ptr<waflow::storage::Store> store;
  waflow::server::OffsetClock clock;
  FakeTransport transport;
  std::FILE* log_file = nullptr;
  std::unique_ptr<waflow::server::JsonLog> log;
  std::unique_ptr<waflow::server::Engine> engine;
  int seq = 0;

  Fixture() {
    dir = fs::temp_directory_path() /
          ("waflow-fallback-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir);
    log_file = std::fopen((dir / "log.jsonl").string().c_str(), "w");
    REQUIRE(log_file != nullptr);
    log = std::make_unique<waflow::server::JsonLog>(log_file);
    auto opened = waflow::storage::open_sqlite_store((dir / "w.db").string());
    REQUIRE(opened.ok());
    store = std::move(opened).value();
    waflow::server::EngineOptions options;
    options.workers = 2;
    options.timezone = "Europe/Berlin";
    waflow::server::AiFallbackConfig fallback;
    fallback.system = "You help {{contact.name}} of Pizza Bot.";
    fallback.model = "openai/gpt-4o-mini";
    fallback.history = 4;
    fallback.temperature = 0.2;
    options.ai_fallbacks["pizza"] = fallback;
    engine = std::make_unique<waflow::server::Engine>(*store, clock, transport, *log, options);
    REQUIRE(engine->deploy(pizza_bundle(), "test", "").ok());
    engine->start();
  }
  ~Fixture() {
    engine->stop();
    store->close();
    std::fclose(log_file);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  void say(const std::string& contact, Value message, const std::string& device = "pizza") {
    waflow::server::IncomingMessage m;
    m.device = device;
    m.gateway = "meta";
    m.account = "PNID";
    m.provider_message_id = "in." + std::to_string(++seq);
    m.contact = contact;
    m.contact_name = "Ada";
    m.message = std::move(message);
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    bool ok = false;
    engine->ingest({m}, {}, [&](waflow::Result<waflow::server::IngestSummary> r) {
      const std::lock_guard lock(mu);
      done = true;
      ok = r.ok();
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return done; });
    REQUIRE(ok);
  }

  std::string log_text() {
    std::fflush(log_file);
    std::ifstream in(dir / "log.jsonl");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

}  // namespace

TEST_CASE("the fallback prompt fills now and the contact, and leaves other braces alone") {
  waflow::host::ContactProfile contact;
  contact.name = "Ada";
  contact.phone = "+4915550001";
  // 2025-01-06T09:00:00Z in Berlin (UTC+1).
  const std::string filled = waflow::server::fill_fallback_prompt(
      "Now: {{now}}. Hi {{ contact.name }} ({{contact.phone}}), {{order.id}}", 1736154000000,
      3'600'000, "Europe/Berlin", contact);
  CHECK(filled == "Now: 2025-01-06 10:00 Europe/Berlin. Hi Ada (+4915550001), {{order.id}}");
  CHECK(waflow::server::fill_fallback_prompt("{{now}} {{", 0, 0, "", contact) ==
        "1970-01-01 00:00 UTC {{");
}

TEST_CASE("a fallback payload is an ai_reply step without the input in its history") {
  waflow::server::AiFallbackConfig config;
  config.system = "Be brief.";
  config.model = "m";
  config.history = 2;
  config.max_tokens = 50;
  waflow::server::FallbackCall call;
  call.id = "fallback:2";
  call.input = {"b", "[image]"};
  call.history = {{true, "a"}, {false, "answer a"}, {true, "b"}, {true, ""}, {false, "later"}};
  call.now_ms = 1000;
  const Value p = waflow::server::fallback_payload(config, call);
  CHECK(p.field("id")->as_text() == "fallback:2");
  CHECK(p.field("effect")->as_text() == "ai_reply");
  CHECK(p.field("input")->as_text() == "b\n[image]");
  CHECK(p.field("request")->field("model")->as_text() == "m");
  CHECK(p.field("request")->field("max_tokens")->as_number() == 50);
  CHECK(p.field("request")->field("temperature") == nullptr);
  CHECK(waflow::vm::to_json(*p.field("history")) ==
        R"([{"role":"assistant","text":"answer a"},{"role":"assistant","text":"later"}])");
  CHECK(waflow::server::fallback_text(text("x")) == "x");
  CHECK(waflow::server::fallback_text(Value::object({{"type", Value::text("audio")}})) ==
        "[audio]");
}

TEST_CASE("the fallback state round-trips through the host state and keeps other members") {
  Value host = Value::object({{"other", Value::number(1)}});
  waflow::server::FallbackState s;
  s.pending = "fallback:3";
  s.queued = {"x", "y"};
  s.seq = 3;
  waflow::server::write_fallback_state(host, s);
  const waflow::server::FallbackState back = waflow::server::read_fallback_state(host);
  CHECK(back.pending == "fallback:3");
  CHECK(back.queued == std::vector<std::string>{"x", "y"});
  CHECK(back.seq == 3);
  CHECK(host.field("other") != nullptr);
  CHECK(waflow::server::read_fallback_state(Value::text("odd")).pending.empty());
  CHECK(waflow::server::is_fallback_ref("fallback:1"));
  CHECK_FALSE(waflow::server::is_fallback_ref("1:1"));
}

TEST_CASE("an unmatched message is answered by the device's model, a trigger starts its flow") {
  Fixture f;
  f.say("+3001", text("do you deliver?"));
  CHECK(f.transport.wait_sent(1) == std::vector<std::string>{"echo: do you deliver?"});
  const std::vector<Value> ai = f.transport.wait_ai(1);
  REQUIRE(ai.size() == 1);
  CHECK(ai[0].field("step")->as_text() == "ai_fallback");
  CHECK(ai[0].field("request")->field("system")->as_text() == "You help Ada of Pizza Bot.");
  CHECK(ai[0].field("request")->field("model")->as_text() == "openai/gpt-4o-mini");
  CHECK(ai[0].field("history")->as_list().empty());

  // A trigger wins over the fallback: the flow starts and the model is not asked.
  f.say("+3001", text("hi"));
  CHECK(f.transport.wait_sent(3) == std::vector<std::string>{"echo: do you deliver?",
                                                             "Welcome to Pizza Bot, Ada!",
                                                             "What would you like?"});
  CHECK(f.transport.wait_ai(1).size() == 1);

  // The answer is in the conversation's log, and in the history the next call sees.
  waflow::storage::QueryFilter filter;
  filter.contact = "+3001";
  REQUIRE(eventually([&] {
    auto page = f.store->messages(filter);
    if (!page.ok()) {
      return false;
    }
    for (const auto& m : page.value().items) {
      if (m.outbound && m.text == "echo: do you deliver?") {
        return true;
      }
    }
    return false;
  }));
}

TEST_CASE("an active flow takes the message, the fallback does not answer it") {
  Fixture f;
  f.say("+3002", text("hi"));
  CHECK(f.transport.wait_sent(2).size() == 2);
  f.say("+3002", text("something else"));  // An invalid answer to the ask: the flow re-asks.
  REQUIRE(eventually([&] { return f.transport.sent() >= 3; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(f.transport.wait_ai(0).empty());
}

TEST_CASE("a failing model leaves the contact without an answer and logs it, once") {
  Fixture f;
  f.transport.failing(true);
  f.say("+3003", text("anyone there?"));
  REQUIRE(eventually([&] { return f.log_text().find("ai_fallback_failed") != std::string::npos; }));
  const std::string log = f.log_text();
  CHECK(log.find("the model is down") != std::string::npos);
  CHECK(f.transport.sent() == 0);
  CHECK(f.transport.wait_ai(1).size() == 1);  // No retry.
  // The next message is answered when the model is back.
  f.transport.failing(false);
  f.say("+3003", text("hello?"));
  CHECK(f.transport.wait_sent(1) == std::vector<std::string>{"echo: hello?"});
}

TEST_CASE("messages that come while a fallback call is out are answered together, in order") {
  Fixture f;
  f.transport.hold(true);
  f.say("+3004", text("one"));
  REQUIRE(f.transport.wait_ai(1).size() == 1);
  f.say("+3004", text("two"));
  f.say("+3004", text("three"));
  // Both are queued in the contact's session; no second call goes out meanwhile.
  waflow::storage::QueryFilter filter;
  filter.contact = "+3004";
  REQUIRE(eventually([&] {
    auto page = f.store->messages(filter);
    return page.ok() && page.value().items.size() == 3;
  }));
  CHECK(f.transport.wait_ai(1).size() == 1);
  f.transport.hold(false);
  f.transport.release();
  CHECK(f.transport.wait_sent(2) == std::vector<std::string>{"echo: one", "echo: two\nthree"});
  const std::vector<Value> ai = f.transport.wait_ai(2);
  REQUIRE(ai.size() == 2);
  CHECK(ai[1].field("input")->as_text() == "two\nthree");
  CHECK(waflow::vm::to_json(*ai[1].field("history")) ==
        R"([{"role":"user","text":"one"},{"role":"assistant","text":"echo: one"}])");
}

TEST_CASE("a device without a fallback stays silent") {
  Fixture f;
  f.say("+3005", text("hello"), "other");
  waflow::storage::QueryFilter filter;
  filter.contact = "+3005";
  REQUIRE(eventually([&] {
    auto page = f.store->messages(filter);
    return page.ok() && page.value().items.size() == 1;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(f.transport.wait_ai(0).empty());
  CHECK(f.transport.sent() == 0);
}
