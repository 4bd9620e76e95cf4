// The serve engine on a real SQLite file with a fake Transport (the far side of
// the wire): turns, local store answers, retries honouring Retry-After, failed
// rows, per-contact order and a graceful stop.

#include "runtime/server/engine.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <catch2/catch.hpp>

#include "compiler/checks/checks.h"
#include "compiler/codegen/codegen.h"
#include "compiler/frontend.h"
#include "runtime/storage/sqlite_store.h"
#include "tests/storage/synchronous_store.h"

namespace {

namespace fs = std::filesystem;
using waflow::server::DeliveryResult;
using waflow::vm::Value;

std::string bundle_of(const std::string& path) {
  waflow::SourceManager sources;
  waflow::Diagnostics diags;
  const waflow::ir::Project project = waflow::load_project({path}, sources, diags);
  waflow::check_project(project, sources, diags);
  REQUIRE_FALSE(diags.has_errors());
  const std::vector<std::uint8_t> bytes =
      waflow::bytecode::write_bundle(waflow::generate_bundle(project, sources, "test"));
  return std::string(bytes.begin(), bytes.end());
}

std::string pizza_bundle() {
  return bundle_of(std::string(WAFLOW_SOURCE_DIR) + "/examples/flows/pizza.wf");
}

// Records deliveries; answers each with the next scripted outcome (Sent when
// the script is empty).
class FakeTransport final : public waflow::server::Transport {
 public:
  bool handles(const std::string& kind) const override { return kind == "send" || kind == "ai"; }
  void deliver(const waflow::storage::OutboxRow& row,
               std::function<void(DeliveryResult)> done) override {
    DeliveryResult r;
    if (row.kind == "ai") {
      // A model that greets back; the request is kept for the test to read.
      {
        const std::lock_guard lock(mutex_);
        ai_requests_.push_back(row.payload);
      }
      r.outcome = DeliveryResult::Outcome::Sent;
      r.answer = Value::object(
          {{"ok", Value::boolean(true)}, {"text", Value::text("Hello from the model")}});
      done(std::move(r));
      return;
    }
    {
      const std::lock_guard lock(mutex_);
      attempts_.push_back(row.payload);
      if (!script_.empty()) {
        r = script_.front();
        script_.erase(script_.begin());
      } else {
        r.outcome = DeliveryResult::Outcome::Sent;
        r.provider_message_id = "wamid.out." + std::to_string(++ids_);
        sent_.push_back(row.payload);
        to_.push_back(row.key.contact);
      }
    }
    cv_.notify_all();
    done(std::move(r));
  }
  void script(DeliveryResult r) {
    const std::lock_guard lock(mutex_);
    script_.push_back(std::move(r));
  }
  // The texts sent, once there are `n` (bounded wait).
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
  // The texts sent to each contact, in the order they went, once there are `n`.
  std::map<std::string, std::vector<std::string>> wait_sent_by_contact(std::size_t n) {
    const std::vector<std::string> texts = wait_sent(n);
    const std::lock_guard lock(mutex_);
    std::map<std::string, std::vector<std::string>> by;
    for (std::size_t i = 0; i < texts.size() && i < to_.size(); ++i) {
      by[to_[i]].push_back(texts[i]);
    }
    return by;
  }
  std::vector<std::string> ai_requests() {
    const std::lock_guard lock(mutex_);
    return ai_requests_;
  }
  std::size_t attempts() {
    const std::lock_guard lock(mutex_);
    return attempts_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<DeliveryResult> script_;
  std::vector<std::string> attempts_;
  std::vector<std::string> sent_;
  std::vector<std::string> to_;  // The contact of each of sent_.
  std::vector<std::string> ai_requests_;
  int ids_ = 0;
};

struct Fixture {
  fs::path dir;
  std::unique_ptr<waflow::storage::Store> store;
  // Over `store` when the engine is to see a store that writes synchronously.
  std::unique_ptr<waflow::storage::testing::SynchronousStore> synchronous;
  waflow::server::OffsetClock clock;
  FakeTransport transport;
  waflow::server::Metrics metrics;
  std::FILE* log_file = std::tmpfile();
  waflow::server::JsonLog log{log_file};
  std::unique_ptr<waflow::server::Engine> engine;
  std::atomic<int> seq{0};  // say() is called from several threads at once.

  explicit Fixture(const std::string& bundle = pizza_bundle(), bool synchronous_store = false) {
    dir = fs::temp_directory_path() /
          ("waflow-engine-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir);
    auto opened = waflow::storage::open_sqlite_store((dir / "w.db").string());
    REQUIRE(opened.ok());
    store = std::move(opened).value();
    waflow::server::EngineOptions options;
    options.workers = 4;
    options.backoff_base_ms = 10;
    options.metrics = &metrics;
    waflow::storage::Store* engine_store = store.get();
    if (synchronous_store) {
      synchronous = std::make_unique<waflow::storage::testing::SynchronousStore>(*store);
      engine_store = synchronous.get();
    }
    engine =
        std::make_unique<waflow::server::Engine>(*engine_store, clock, transport, log, options);
    REQUIRE(engine->deploy(bundle, "test", "").ok());
    engine->start();
  }
  ~Fixture() {
    engine->stop();
    store->close();
    std::fclose(log_file);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  waflow::server::IngestSummary say(const std::string& contact, Value message,
                                    const std::string& id = {}) {
    waflow::server::IncomingMessage m;
    m.device = "pizza";
    m.gateway = "meta";
    m.account = "PNID";
    m.provider_message_id = id.empty() ? "in." + std::to_string(++seq) : id;
    m.contact = contact;
    m.contact_name = "Ada";
    m.message = std::move(message);
    std::mutex mu;
    std::condition_variable cv;
    std::optional<waflow::Result<waflow::server::IngestSummary>> result;
    engine->ingest({m}, {}, [&](waflow::Result<waflow::server::IngestSummary> r) {
      const std::lock_guard lock(mu);
      result.emplace(std::move(r));
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return result.has_value(); });
    REQUIRE(result.has_value());
    REQUIRE(result->ok());
    return result->value();
  }
};

// Polls `done` until it holds or 30 s pass; the engine records outcomes on its
// own threads, after the transport has answered.
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

Value text(const std::string& t) {
  return Value::object({{"type", Value::text("text")}, {"text", Value::text(t)}},
                       waflow::vm::Tag::Message);
}

Value tap(const std::string& id, const std::string& title) {
  return Value::object(
      {{"type", Value::text("button")}, {"payload", Value::text(id)}, {"text", Value::text(title)}},
      waflow::vm::Tag::Message);
}

}  // namespace

TEST_CASE("a pizza order runs through the engine, the store step is answered within its turn") {
  Fixture f;
  CHECK(f.say("+1555", text("hi")).accepted == 1);
  CHECK(f.transport.wait_sent(2) ==
        std::vector<std::string>{"Welcome to Pizza Bot, Ada!", "What would you like?"});
  // Each message after the last one's reply, so that each makes a turn of its own.
  f.say("+1555", tap("pepperoni", "Pepperoni"));
  REQUIRE(f.transport.wait_sent(3).size() == 3);
  f.say("+1555", text("1 Main St"));
  REQUIRE(f.transport.wait_sent(4).size() == 4);
  f.say("+1555", text("yes"));
  const std::vector<std::string> sent = f.transport.wait_sent(5);
  REQUIRE(sent.size() == 5);
  CHECK(sent[2] == "Great choice: Pepperoni. What is your address?");
  CHECK(sent[3] == "Order for Pepperoni to 1 Main St. Confirm? (yes/no)");
  // The reference is the id of the record the turn wrote, and the reply came
  // from that same turn: four messages, four turns, five sends, no call.
  waflow::Result<waflow::storage::Page<waflow::storage::StoredRecord>> listed =
      f.store->records(waflow::storage::QueryFilter{});
  INFO((listed ? std::string() : listed.error().message));
  REQUIRE(listed.ok());
  const waflow::storage::Page<waflow::storage::StoredRecord>& records = listed.value();
  REQUIRE(records.items.size() == 1);
  CHECK(records.items[0].collection == "orders");
  CHECK(records.items[0].key.contact == "+1555");
  CHECK(sent[4] ==
        "Order placed! Reference: " + waflow::storage::record_ref("orders", records.items[0].id));
  CHECK(eventually([&] { return f.engine->counters().sent == 5; }));
  CHECK(f.engine->counters().turns == 4);
  CHECK(f.transport.attempts() == 5);
}

namespace {

// Thirty contacts order at once: each must get its replies once and in order.
void thirty_orders(Fixture& f) {
  constexpr int kContacts = 30;
  auto each = [&](auto step) {
    std::vector<std::thread> threads;
    for (int i = 0; i < kContacts; ++i) {
      threads.emplace_back([&, i] { step("+1555" + std::to_string(100 + i)); });
    }
    for (std::thread& t : threads) {
      t.join();
    }
  };
  std::atomic<int> accepted{0};  // Counted here, checked on this thread: Catch is not thread-safe.
  each([&](const std::string& c) { accepted += f.say(c, text("hi")).accepted; });
  CHECK(accepted == kContacts);
  f.transport.wait_sent(2 * kContacts);
  each([&](const std::string& c) { f.say(c, tap("margherita", "Margherita")); });
  f.transport.wait_sent(3 * kContacts);
  each([&](const std::string& c) { f.say(c, text(c + " Baker Street")); });
  f.transport.wait_sent(4 * kContacts);
  each([&](const std::string& c) { f.say(c, text("no")); });
  const std::map<std::string, std::vector<std::string>> by =
      f.transport.wait_sent_by_contact(5 * kContacts);
  REQUIRE(by.size() == kContacts);
  for (const auto& [contact, texts] : by) {
    CHECK(texts == std::vector<std::string>{
                       "Welcome to Pizza Bot, Ada!", "What would you like?",
                       "Great choice: Margherita. What is your address?",
                       "Order for Margherita to " + contact + " Baker Street. Confirm? (yes/no)",
                       "Order cancelled."});
  }
  CHECK(f.transport.attempts() == 5 * kContacts);
}

}  // namespace

TEST_CASE("thirty contacts order at once: each gets its replies once and in order") {
  // Many conversations in flight together: the ingest hands conversations to
  // idle workers, turns hand their first reply to the dispatcher and sent
  // marks the next one, and a conversation held by a worker waits for it.
  Fixture f;
  CHECK(f.store->writes_async());  // The SQLite store's writer records and starts sends.
  thirty_orders(f);
}

TEST_CASE("a store that writes synchronously: ingest and apply threads carry the same orders") {
  Fixture f(pizza_bundle(), true);
  CHECK_FALSE(f.synchronous->writes_async());
  thirty_orders(f);
  CHECK(eventually([&] { return f.engine->counters().sent == 5 * 30; }));
}

TEST_CASE("a redelivered message is acknowledged and makes no turn") {
  Fixture f;
  CHECK(f.say("+1666", text("hi"), "same").accepted == 1);
  const waflow::server::IngestSummary again = f.say("+1666", text("hi"), "same");
  CHECK(again.accepted == 0);
  CHECK(again.duplicates == 1);
  f.say("+1666", tap("margherita", "Margherita"));
  const std::vector<std::string> sent = f.transport.wait_sent(3);
  CHECK(sent == std::vector<std::string>{"Welcome to Pizza Bot, Ada!", "What would you like?",
                                         "Great choice: Margherita. What is your address?"});
}

TEST_CASE("a rate-limited send is retried after Retry-After and the order holds") {
  Fixture f;
  DeliveryResult limited;
  limited.outcome = DeliveryResult::Outcome::RateLimited;
  limited.error = "130429 rate limit";
  limited.retry_after_ms = 20;
  f.transport.script(limited);
  f.say("+1777", text("hi"));
  const std::vector<std::string> sent = f.transport.wait_sent(2);
  CHECK(sent == std::vector<std::string>{"Welcome to Pizza Bot, Ada!", "What would you like?"});
  CHECK(f.transport.attempts() == 3);
}

TEST_CASE("a send refused for good fails its row and the next reply still goes") {
  Fixture f;
  DeliveryResult refused;
  refused.outcome = DeliveryResult::Outcome::Permanent;
  refused.error = "131026 undeliverable";
  f.transport.script(refused);
  f.say("+1888", text("hi"));
  CHECK(f.transport.wait_sent(1) == std::vector<std::string>{"What would you like?"});
  CHECK(eventually([&] { return f.engine->counters().failed == 1; }));
}

TEST_CASE("the wait timeout fires when the clock passes it, and stop is clean") {
  Fixture f;
  f.say("+1999", text("hi"));
  f.transport.wait_sent(2);
  // Leases run on this clock too: jump once both sends are recorded.
  REQUIRE(eventually([&] { return f.engine->counters().sent == 2; }));
  f.clock.advance(24LL * 3600 * 1000 + 1000);
  f.engine->wake();
  // The run ended, so "hi" greets again instead of being a wrong answer.
  REQUIRE(eventually([&] {
    waflow::storage::QueryFilter filter;
    filter.contact = "+1999";
    auto page = f.store->conversations(filter);
    return page.ok() && !page.value().items.empty() && page.value().items[0].status == "completed";
  }));
  f.say("+1999", text("hi"));
  CHECK(f.transport.wait_sent(4)[2] == "Welcome to Pizza Bot, Ada!");
  f.engine->stop();
  CHECK_FALSE(f.engine->ready());
}

namespace {

waflow::Result<waflow::server::ApiQueued> submit(Fixture& f, waflow::server::ApiAction action) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<waflow::Result<waflow::server::ApiQueued>> result;
  f.engine->submit(std::move(action), [&](waflow::Result<waflow::server::ApiQueued> r) {
    const std::lock_guard lock(mu);
    result.emplace(std::move(r));
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait_for(lock, std::chrono::seconds(30), [&] { return result.has_value(); });
  REQUIRE(result.has_value());
  return std::move(*result);
}

waflow::server::ApiAction api(const std::string& contact, waflow::storage::InboxKind kind,
                              const std::string& payload, const std::string& id = {}) {
  waflow::server::ApiAction a;
  a.device = "pizza";
  a.contact = contact;
  a.id = id;
  a.kind = kind;
  a.payload = payload;
  return a;
}

}  // namespace

TEST_CASE("an API send goes out once per idempotency key, in the conversation's log") {
  Fixture f;
  const auto send = api("+2111", waflow::storage::InboxKind::Send,
                        R"({"message":{"type":"text","text":"Your order shipped"}})", "ship-1");
  waflow::Result<waflow::server::ApiQueued> first = submit(f, send);
  REQUIRE(first.ok());
  CHECK(first.value().id == "ship-1");
  CHECK_FALSE(first.value().duplicate);
  waflow::Result<waflow::server::ApiQueued> again = submit(f, send);
  REQUIRE(again.ok());
  CHECK(again.value().duplicate);
  CHECK(f.transport.wait_sent(1) == std::vector<std::string>{"Your order shipped"});
  waflow::storage::QueryFilter filter;
  filter.contact = "+2111";
  REQUIRE(eventually([&] {
    auto page = f.store->messages(filter);
    return page.ok() && page.value().items.size() == 1 && page.value().items[0].outbound &&
           page.value().items[0].text == "Your order shipped";
  }));
  // A key the caller did not give is made up, so two sends are two messages.
  const auto unkeyed =
      api("+2111", waflow::storage::InboxKind::Send, R"({"message":{"type":"text","text":"A"}})");
  waflow::Result<waflow::server::ApiQueued> a = submit(f, unkeyed);
  waflow::Result<waflow::server::ApiQueued> b = submit(f, unkeyed);
  REQUIRE((a.ok() && b.ok()));
  CHECK(a.value().id != b.value().id);
  CHECK(f.transport.wait_sent(3).size() == 3);
  CHECK(f.transport.attempts() == 3);
}

TEST_CASE("an API start runs the flow with the variables as contact variables") {
  Fixture f;
  REQUIRE(submit(f, api("+2222", waflow::storage::InboxKind::Start,
                        R"({"flow":"pizza","variables":{"name":"Grace"}})"))
              .ok());
  CHECK(f.transport.wait_sent(2) ==
        std::vector<std::string>{"Welcome to Pizza Bot, Grace!", "What would you like?"});
}

TEST_CASE("listeners see a turn's messages, its start and the deliveries") {
  Fixture f;
  std::mutex mu;
  std::vector<std::string> types;
  std::vector<std::string> texts;
  std::vector<std::string> keys;
  const std::uint64_t id = f.engine->subscribe([&](const waflow::server::EngineEvent& e) {
    const std::lock_guard lock(mu);
    // Catch2 asserts on the test's thread only: keep what to check.
    types.push_back(e.type);
    texts.push_back(e.json);
    keys.push_back(e.device + " " + e.contact);
  });
  f.say("+2333", text("hi"));
  f.transport.wait_sent(2);
  const auto count = [&](const std::string& type) {
    const std::lock_guard lock(mu);
    return std::count(types.begin(), types.end(), type);
  };
  REQUIRE(eventually([&] { return count("delivered") == 2; }));
  CHECK(count("message_in") == 1);
  CHECK(count("message_out") == 2);
  CHECK(count("conversation_started") == 1);
  {
    const std::lock_guard lock(mu);
    Value first;
    REQUIRE(waflow::vm::from_json(texts.at(0), first));
    CHECK(first.field("type")->as_text() == "message_in");
    CHECK(first.field("text")->as_text() == "hi");
    CHECK(std::all_of(keys.begin(), keys.end(),
                      [](const std::string& k) { return k == "pizza +2333"; }));
  }
  f.engine->unsubscribe(id);
  f.say("+2333", tap("margherita", "Margherita"));
  f.transport.wait_sent(3);
  REQUIRE(eventually([&] { return f.engine->counters().sent == 3; }));
  CHECK(count("message_in") == 1);
}

TEST_CASE("activate and roll back switch the bundle new conversations use") {
  Fixture f;
  const std::string first = f.engine->active_hash();
  CHECK(f.engine->rollback("ops").error().code == waflow::ErrorCode::NotFound);
  // A second bundle: the same flows built under another compiler name differ in bytes.
  waflow::SourceManager sources;
  waflow::Diagnostics diags;
  const waflow::ir::Project project = waflow::load_project(
      {std::string(WAFLOW_SOURCE_DIR) + "/examples/flows/pizza.wf"}, sources, diags);
  const std::vector<std::uint8_t> bytes =
      waflow::bytecode::write_bundle(waflow::generate_bundle(project, sources, "other"));
  waflow::Result<std::string> second =
      f.engine->deploy(std::string(bytes.begin(), bytes.end()), "ops", "second");
  REQUIRE(second.ok());
  CHECK(second.value() != first);
  CHECK(f.engine->active_hash() == second.value());
  waflow::Result<std::string> back = f.engine->rollback("ops");
  REQUIRE(back.ok());
  CHECK(back.value() == first);
  CHECK(f.engine->active_hash() == first);
  REQUIRE(f.engine->activate(second.value(), "ops").ok());
  CHECK(f.engine->active_hash() == second.value());
  CHECK(f.engine->activate(std::string(64, 'a'), "ops").error().code ==
        waflow::ErrorCode::NotFound);
  CHECK(f.engine->active_hash() == second.value());
}

TEST_CASE("the engine's metrics count turns, deliveries and duplicates and read the queues") {
  Fixture f;
  DeliveryResult refused;
  refused.outcome = DeliveryResult::Outcome::Permanent;
  refused.error = "131026 undeliverable";
  f.transport.script(refused);
  f.say("+2444", text("hi"), "dup");
  f.say("+2444", text("hi"), "dup");
  f.transport.wait_sent(1);
  REQUIRE(eventually([&] { return f.engine->counters().sent == 1; }));
  // Outcomes are counted on the engine's threads just after they are recorded.
  std::string text;
  const auto has = [&](const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
  };
  REQUIRE(eventually([&] {
    text = f.metrics.render();
    return has("waflow_outbox_deliveries_total{kind=\"send\",result=\"sent\"} 1") &&
           has("waflow_outbox_deliveries_total{kind=\"send\",result=\"failed\"} 1") &&
           has("waflow_conversation_turn_duration_seconds_count 1");
  }));
  CHECK(has("waflow_conversation_turns_total{result=\"committed\"} 1"));
  CHECK(has("waflow_outbox_deliveries_total{kind=\"send\",result=\"failed\"} 1"));
  CHECK(has("waflow_outbox_deliveries_total{kind=\"send\",result=\"sent\"} 1"));
  CHECK(has("waflow_inbound_duplicates_total 1"));
  CHECK(has("waflow_conversation_turn_duration_seconds_count 1"));
  CHECK(has("waflow_queue_depth{queue=\"inbox\"} 0"));
  CHECK(has("waflow_queue_depth{queue=\"outbox\"} 0"));
  CHECK(has("waflow_ready 1"));
  CHECK(text.find("waflow_flow_version_open_runs{version=\"" +
                  f.engine->active_hash().substr(0, 12) + "\"} 1") != std::string::npos);
  // No series names a contact.
  CHECK(text.find("+2444") == std::string::npos);
}

TEST_CASE("an AI call carries the step's history window, without the turn's own message") {
  const fs::path file = fs::temp_directory_path() / "waflow-engine-ai.wf";
  {
    std::FILE* out = std::fopen(file.string().c_str(), "w");
    REQUIRE(out != nullptr);
    std::fputs(
        "flow chat\n  trigger any\n  ai reply\n    system \"Be brief.\"\n"
        "    history 2\n",
        out);
    std::fclose(out);
  }
  Fixture f(bundle_of(file.string()));
  f.say("+2555", text("hi"));
  CHECK(f.transport.wait_sent(1) == std::vector<std::string>{"Hello from the model"});
  REQUIRE(eventually([&] { return f.engine->counters().sent == 1; }));
  f.say("+2555", text("how are you?"));
  CHECK(f.transport.wait_sent(2).size() == 2);
  const std::vector<std::string> requests = f.transport.ai_requests();
  REQUIRE(requests.size() == 2);
  Value first;
  Value second;
  REQUIRE(waflow::vm::from_json(requests[0], first));
  REQUIRE(waflow::vm::from_json(requests[1], second));
  CHECK(first.field("effect")->as_text() == "ai_reply");
  CHECK(first.field("input")->as_text() == "hi");
  CHECK(first.field("history")->as_list().empty());
  CHECK(first.field("request")->field("system")->as_text() == "Be brief.");
  CHECK(second.field("input")->as_text() == "how are you?");
  CHECK(waflow::vm::to_json(*second.field("history")) ==
        R"([{"role":"user","text":"hi"},{"role":"assistant","text":"Hello from the model"}])");
  CHECK(second.field("now_ms") != nullptr);
  fs::remove(file);
}

TEST_CASE("while a person has the conversation the bot is silent and the log keeps the messages") {
  Fixture f;
  const waflow::storage::ConversationKey key{"pizza", "+2666"};
  REQUIRE(f.store->set_paused(key, true, f.clock.now_ms()).ok());
  f.say("+2666", text("hi"));
  waflow::storage::QueryFilter filter;
  filter.contact = "+2666";
  REQUIRE(eventually([&] {
    auto page = f.store->messages(filter);
    return page.ok() && page.value().items.size() == 1 && page.value().items[0].text == "hi" &&
           !page.value().items[0].outbound;
  }));
  CHECK(f.transport.attempts() == 0);
  REQUIRE(f.store->set_paused(key, false, f.clock.now_ms()).ok());
  REQUIRE(submit(f, api("+2666", waflow::storage::InboxKind::Handback, "{}")).ok());
  f.say("+2666", text("hi"));
  CHECK(f.transport.wait_sent(2) ==
        std::vector<std::string>{"Welcome to Pizza Bot, Ada!", "What would you like?"});
}
