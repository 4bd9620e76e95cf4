// What only the SQLite store has: group commit through its writer thread, the
// file's settings, schema migrations and how it refuses a newer schema.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "runtime/storage/sqlite_store.h"
#include "tests/storage/fixture.h"

namespace waflow::storage::testing {
namespace {

constexpr Millis kLease = 60000;

// Polls `done` until it holds; the bound only guards against a hang.
template <typename Pred>
bool eventually(Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Holds the store's writer before its next batch until open(), so that
// requests queue up behind it. Made before the store, on its options.
class WriterGate {
 public:
  explicit WriterGate(SqliteOptions& options) {
    options.before_batch = [this] {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return open_; });
    };
  }
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Calls `write(id)` for each id, each on its own thread; the calls queue up
// behind the held writer, which the gate then lets write them together.
void write_together(Store& store, WriterGate& gate, const std::vector<std::string>& ids,
                    const std::function<void(const std::string&)>& write) {
  std::vector<std::thread> callers;
  for (const std::string& id : ids) {
    callers.emplace_back(write, id);
  }
  REQUIRE(eventually(
      [&] { return store.store_stats().queued_writes == static_cast<std::int64_t>(ids.size()); }));
  gate.open();
  for (std::thread& t : callers) {
    t.join();
  }
}

TEST_CASE("concurrent callers share one write transaction") {
  TempDir dir;
  SqliteOptions options;
  WriterGate gate(options);
  std::unique_ptr<Store> store = ok(open_sqlite_store((dir.path() / "w.db").string(), options));
  const StoreStats before = store->store_stats();

  constexpr int kCallers = 8;
  std::atomic<int> fresh{0};
  write_together(*store, gate, {"0", "1", "2", "3", "4", "5", "6", "7"}, [&](const std::string& i) {
    Result<std::vector<IngestOutcome>> r = store->ingest(
        {message("m" + i, "c" + i, std::stoi(i)), message("n" + i, "c" + i, std::stoi(i))});
    if (r.ok() && r.value() == std::vector<IngestOutcome>{IngestOutcome::New, IngestOutcome::New}) {
      ++fresh;
    }
  });
  const StoreStats after = store->store_stats();
  CHECK(fresh == kCallers);
  CHECK(after.write_transactions - before.write_transactions == 1);
  CHECK(after.write_requests - before.write_requests == kCallers);
  CHECK(after.largest_batch == kCallers);
  store->close();
  CHECK(sql_value(dir.path() / "w.db", "SELECT count(*) FROM inbox") == "16");
}

TEST_CASE("under load the writer waits commit_interval_us for more requests") {
  TempDir dir;
  SqliteOptions options;
  // Far longer than any test: only max_batch or closing can end the wait.
  options.commit_interval_us = 60'000'000;
  options.max_batch = 3;
  WriterGate gate(options);
  const auto path = dir.path() / "d.db";
  std::unique_ptr<Store> store = ok(open_sqlite_store(path.string(), options));
  std::atomic<int> fresh{0};
  auto ingest_one = [&](const std::string& id) {
    Result<std::vector<IngestOutcome>> r = store->ingest({message(id, "c" + id, 1)});
    if (r.ok() && r.value() == std::vector<IngestOutcome>{IngestOutcome::New}) {
      ++fresh;
    }
  };
  // Load: two requests queue up behind the held writer and share a transaction.
  write_together(*store, gate, {"a", "b"}, ingest_one);
  const StoreStats loaded = store->store_stats();
  CHECK(loaded.largest_batch == 2);

  // Three requests arriving one by one now wait for each other: the first does
  // not begin a transaction of its own, and the third (max_batch) ends the wait.
  std::vector<std::thread> callers;
  for (const char* id : {"c", "d", "e"}) {
    callers.emplace_back(ingest_one, id);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (std::thread& t : callers) {
    t.join();
  }
  callers.clear();
  const StoreStats gathered = store->store_stats();
  CHECK(gathered.write_transactions - loaded.write_transactions == 1);
  CHECK(gathered.largest_batch == 3);

  // Closing ends a wait: what is queued is written, not left behind.
  callers.emplace_back(ingest_one, "f");
  REQUIRE(eventually([&] { return store->store_stats().queued_writes == 1; }));
  const auto closing = std::chrono::steady_clock::now();
  store->close();
  CHECK(std::chrono::steady_clock::now() - closing < std::chrono::seconds(30));
  callers[0].join();
  CHECK(fresh == 6);
  CHECK(sql_value(path, "SELECT count(*) FROM inbox") == "6");
}

TEST_CASE("a request after the interval has passed is written without waiting") {
  TempDir dir;
  SqliteOptions options;
  options.commit_interval_us = 500'000;
  WriterGate gate(options);
  std::unique_ptr<Store> store = ok(open_sqlite_store((dir.path() / "p.db").string(), options));
  // Load: a transaction of two requests.
  write_together(*store, gate, {"a", "b"},
                 [&store](const std::string& id) { (void)store->ingest({message(id, id, 1)}); });
  REQUIRE(store->store_stats().largest_batch == 2);
  // The interval since that transaction began is over: nothing to wait for.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  const auto start = std::chrono::steady_clock::now();
  CHECK(ok(store->ingest({message("c", "c", 2)})) ==
        std::vector<IngestOutcome>{IngestOutcome::New});
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(400));
}

TEST_CASE("a lone request after a lone request is written without waiting") {
  TempDir dir;
  SqliteOptions options;
  options.commit_interval_us = 60'000'000;
  const auto path = dir.path() / "l.db";
  std::unique_ptr<Store> store = ok(open_sqlite_store(path.string(), options));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    CHECK(ok(store->ingest({message("m" + std::to_string(i), "alice", i)})) ==
          std::vector<IngestOutcome>{IngestOutcome::New});
  }
  // Each call would have waited a minute had the writer held it back.
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
  CHECK(store->store_stats().write_transactions == 3);
}

TEST_CASE("a sent mark without waiting: its outcome comes from the writer once durable") {
  TempDir dir;
  const auto path = dir.path() / "a.db";
  std::unique_ptr<Store> store = ok(open_sqlite_store(path.string()));
  (void)ok(store->ingest({message("a.1", "alice", 100)}));
  Claim claim = *ok(store->claim("w", 100, kLease));
  TurnCommit turn = commit_for(claim, 100);
  turn.outbox.push_back(NewOutbox{"send", "a1", 0});
  turn.outbox.push_back(NewOutbox{"send", "a2", 0});
  turn.dispatch_lease_ms = 30000;
  const TurnResult committed = ok(store->commit_turn(turn));
  REQUIRE(committed.dispatch);

  struct Outcome {
    std::optional<Result<SentResult>> result;
    std::thread::id thread;
    // What another connection reads while `done` runs: the mark is durable.
    std::string status_then;
  };
  auto mark = [&](std::int64_t id, const std::string& wamid) {
    auto promise = std::make_shared<std::promise<Outcome>>();
    std::future<Outcome> future = promise->get_future();
    store->mark_sent_next_async(
        id, wamid, 300, std::nullopt, std::nullopt, 30000,
        [promise, id, &path](Result<SentResult> r) {
          Outcome out;
          out.result.emplace(std::move(r));
          out.thread = std::this_thread::get_id();
          out.status_then =
              sql_value(path, "SELECT status FROM outbox WHERE id = " + std::to_string(id));
          promise->set_value(std::move(out));
        });
    return future.get();
  };
  Outcome first = mark(committed.dispatch->id, "wamid.a1");
  CHECK(first.thread != std::this_thread::get_id());
  CHECK(first.status_then == "sent");
  SentResult sent = ok(std::move(*first.result));
  CHECK(sent.marked);
  REQUIRE(sent.next);
  CHECK(sent.next->payload == "a2");
  CHECK(sent.next->status == OutboxStatus::Inflight);
  CHECK(ok(store->outbox_row(committed.dispatch->id))->provider_message_id == "wamid.a1");

  // A second mark finds the row finished; an unknown row is an error.
  Outcome again = mark(committed.dispatch->id, "wamid.a1");
  CHECK_FALSE(ok(std::move(*again.result)).marked);
  Outcome unknown = mark(999, "wamid.x");
  REQUIRE_FALSE(unknown.result->ok());
  CHECK(unknown.result->error().code == ErrorCode::NotFound);

  // Closed: refused at once, on the caller's thread.
  store->close();
  std::optional<Result<SentResult>> refused;
  CHECK(store->writes_async());
  store->mark_sent_next_async(sent.next->id, "wamid.a2", 400, std::nullopt, std::nullopt, 0,
                              [&](Result<SentResult> r) { refused.emplace(std::move(r)); });
  REQUIRE(refused.has_value());
  REQUIRE_FALSE(refused->ok());
  CHECK(refused->error().message.find("the store is closed") != std::string::npos);
}

TEST_CASE("an ingest without waiting: its outcome comes from the writer once durable") {
  TempDir dir;
  const auto path = dir.path() / "i.db";
  std::unique_ptr<Store> store = ok(open_sqlite_store(path.string()));
  CHECK(store->writes_async());
  struct Outcome {
    std::optional<Result<IngestResult>> result;
    std::thread::id thread;
    std::thread::id counted_on;  // Where ClaimRequest::turn was called.
    std::string inbox_then;      // What another connection reads while `done` runs.
  };
  auto promise = std::make_shared<std::promise<Outcome>>();
  auto counted_on = std::make_shared<std::thread::id>();
  ClaimRequest ask;
  ask.worker_id = "ingest";
  ask.now_ms = 100;
  ask.lease_ms = kLease;
  ask.max = 1;  // Not used: with `turn`, every free conversation is leased.
  ask.turn = [counted_on](const Claim&) -> std::optional<InlineTurn> {
    *counted_on = std::this_thread::get_id();
    return std::nullopt;  // Declined: the claims come back as claims.
  };
  std::future<Outcome> future = promise->get_future();
  store->ingest_async({message("m1", "alice", 100), message("b1", "bob", 100)}, ask,
                      [promise, counted_on, &path](Result<IngestResult> r) {
                        Outcome out;
                        out.result.emplace(std::move(r));
                        out.thread = std::this_thread::get_id();
                        out.counted_on = *counted_on;
                        out.inbox_then = sql_value(path, "SELECT count(*) FROM inbox");
                        promise->set_value(std::move(out));
                      });
  Outcome got = future.get();
  CHECK(got.thread != std::this_thread::get_id());
  CHECK(got.counted_on == got.thread);
  CHECK(got.inbox_then == "2");
  IngestResult r = ok(std::move(*got.result));
  CHECK(r.outcomes == std::vector<IngestOutcome>{IngestOutcome::New, IngestOutcome::New});
  REQUIRE(r.claims.size() == 2);  // In order of arrival.
  CHECK(r.claims[0].key == key("alice"));
  CHECK(r.claims[1].key == key("bob"));
  CHECK(r.turns.empty());

  // Refused before anything is written: at once, on the caller's thread.
  std::optional<Result<IngestResult>> refused;
  store->ingest_async({message("", "carol", 100)}, ClaimRequest{},
                      [&](Result<IngestResult> out) { refused.emplace(std::move(out)); });
  REQUIRE(refused.has_value());
  CHECK(refused->error().code == ErrorCode::InvalidInput);
  refused.reset();
  ClaimRequest nobody;
  nobody.turn = [](const Claim&) -> std::optional<InlineTurn> {
    return std::nullopt;
  };
  store->ingest_async({message("c1", "carol", 100)}, nobody,
                      [&](Result<IngestResult> out) { refused.emplace(std::move(out)); });
  REQUIRE(refused.has_value());
  CHECK(refused->error().message.find("need a worker id") != std::string::npos);
  store->close();
  CHECK(sql_value(path, "SELECT count(*) FROM inbox") == "2");
}

TEST_CASE("a turn handed over at ingest commits in the ingest's transaction") {
  TempDir dir;
  SqliteOptions options;
  // Long enough that the turn always comes in time, however slow the machine.
  options.turn_join_us = 60'000'000;
  std::unique_ptr<Store> store = ok(open_sqlite_store((dir.path() / "j.db").string(), options));
  const StoreStats before = store->store_stats();

  // The handed claim goes to a "worker" thread, which commits its turn while
  // the ingest's transaction is still open.
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<Claim> handed;
  std::optional<Result<TurnResult>> committed;  // Checked on this thread: Catch is not thread-safe.
  std::thread worker([&] {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return !handed.empty(); });
    TurnCommit turn = commit_for(handed[0], 200);
    turn.outbox.push_back(NewOutbox{"send", R"({"text":"hi"})", 0});
    lock.unlock();
    committed.emplace(store->commit_turn(turn));
  });
  ClaimRequest ask{"ingest", 100, kLease, 4, {}, {}};
  ask.hand_over = [&](std::vector<Claim> claims) {
    const std::lock_guard lock(mutex);
    handed = std::move(claims);
    cv.notify_all();
  };
  IngestResult r = ok(store->ingest({message("m1", "alice", 100)}, ask));
  worker.join();
  REQUIRE(committed.has_value());
  CHECK(ok(std::move(*committed)).outbox_ids.size() == 1);
  CHECK(r.outcomes == std::vector<IngestOutcome>{IngestOutcome::New});
  CHECK(r.claims.empty());  // They went to hand_over.
  REQUIRE(handed.size() == 1);
  CHECK(handed[0].key == key("alice"));
  REQUIRE(handed[0].rows.size() == 1);
  CHECK(handed[0].rows[0].ref == "m1");

  const StoreStats after = store->store_stats();
  CHECK(after.write_transactions - before.write_transactions == 1);
  CHECK(after.write_requests - before.write_requests == 2);
  CHECK(after.joined_rounds - before.joined_rounds >= 1);
  store->close();
  const auto path = dir.path() / "j.db";
  CHECK(sql_value(path, "SELECT count(*) FROM inbox") == "0");
  CHECK(sql_value(path, "SELECT count(*) FROM outbox") == "1");
  CHECK(sql_value(path, "SELECT lease_until FROM contacts") == "0");
}

TEST_CASE("an ingest commits without the turns it handed over when they do not come") {
  TempDir dir;
  SqliteOptions options;
  options.turn_join_us = 1000;
  const auto path = dir.path() / "n.db";
  std::unique_ptr<Store> store = ok(open_sqlite_store(path.string(), options));
  std::vector<Claim> handed;
  ClaimRequest ask{"ingest", 100, kLease, 4, {}, {}};
  ask.hand_over = [&](std::vector<Claim> claims) {
    handed = std::move(claims);
  };
  IngestResult r = ok(store->ingest({message("m1", "alice", 100), message("b1", "bob", 100)}, ask));
  CHECK(r.outcomes == std::vector<IngestOutcome>{IngestOutcome::New, IngestOutcome::New});
  REQUIRE(handed.size() == 2);
  CHECK(store->store_stats().write_transactions == 1);
  // The rows and the leases are durable: the turns commit later, on their own,
  // and a released claim leaves its rows for the next claim.
  CHECK(sql_value(path, "SELECT count(*) FROM inbox") == "2");
  (void)ok(store->commit_turn(commit_for(handed[0], 200)));
  CHECK(ok(store->release(handed[1])));
  Claim again = *ok(store->claim("w", 300, kLease));
  CHECK(again.key == key("bob"));
  CHECK(store->store_stats().write_transactions == 4);
  store->close();
  CHECK(sql_value(path, "SELECT count(*) FROM inbox") == "1");
}

TEST_CASE("an ingest runs the turns it is given in its own transaction") {
  TempDir dir;
  const auto path = dir.path() / "inline.db";
  std::unique_ptr<Store> store = ok(open_sqlite_store(path.string()));
  // Carol's conversation is held by a worker: the ingest cannot lease it.
  (void)ok(store->ingest({message("c1", "carol", 5)}));
  (void)ok(store->claim("w", 10, kLease));
  const StoreStats before = store->store_stats();

  // Alice's turn is written, Bob's is declined, Dave's fails (a conversation
  // never started) and is rolled back alone. `max` says none: it does not count.
  std::vector<std::string> offered;
  std::vector<std::string> finished;
  ClaimRequest ask{"ingest", 100, kLease, 0, {}, {}};
  ask.turn = [&](const Claim& c) -> std::optional<InlineTurn> {
    offered.push_back(c.key.contact);
    if (c.key.contact == "bob") {
      return std::nullopt;
    }
    InlineTurn t;
    t.commit = commit_for(c, 100);
    t.commit.outbox.push_back(NewOutbox{"send", R"({"text":"hello"})", 0});
    t.commit.dispatch_lease_ms = 5000;
    if (c.key.contact == "dave") {
      t.commit.conversations.push_back(
          ConversationUpdate{ConversationUpdate::Op::Update, "r9", "", "", "", "", 0});
    }
    t.done = [&finished, who = c.key.contact](const TurnCommit& commit,
                                              Result<TurnResult> outcome) {
      finished.push_back(who + (outcome.ok() ? ":ok:" : ":failed:") +
                         std::to_string(commit.consumed.size()));
    };
    return t;
  };
  IngestResult r = ok(store->ingest({message("a1", "alice", 100), message("b1", "bob", 100),
                                     message("c2", "carol", 100), message("d1", "dave", 100)},
                                    ask));
  CHECK(offered == std::vector<std::string>{"alice", "bob", "dave"});
  CHECK(store->store_stats().write_transactions - before.write_transactions == 1);
  REQUIRE(r.turns.size() == 2);
  REQUIRE(r.turns[0].outcome);
  REQUIRE(r.turns[0].outcome->ok());
  // The turn's first reply came back leased for delivery.
  REQUIRE(r.turns[0].outcome->value().dispatch);
  CHECK(r.turns[0].outcome->value().dispatch->key == key("alice"));
  REQUIRE(r.turns[1].outcome);
  CHECK_FALSE(r.turns[1].outcome->ok());
  CHECK(finished.empty());  // The caller finishes them.
  for (InlineTurn& t : r.turns) {
    t.finish();
  }
  CHECK(finished == std::vector<std::string>{"alice:ok:1", "dave:failed:1"});
  // Bob's declined claim and Dave's failed one go on as claims.
  REQUIRE(r.claims.size() == 2);
  CHECK(r.claims[0].key == key("bob"));
  CHECK(r.claims[1].key == key("dave"));
  REQUIRE(r.claims[1].rows.size() == 1);
  CHECK(r.claims[1].rows[0].ref == "d1");
  (void)ok(store->commit_turn(commit_for(r.claims[1], 200)));

  store->close();
  // Alice's message was consumed and her lease ended with her turn; Bob's and
  // Carol's rows wait; Dave's turn left nothing of its own.
  CHECK(sql_value(path,
                  "SELECT count(*) FROM inbox i JOIN contacts c ON c.id = i.contact_id "
                  "WHERE c.contact = 'alice'") == "0");
  CHECK(sql_value(path, "SELECT lease_until FROM contacts WHERE contact = 'alice'") == "0");
  CHECK(sql_value(path, "SELECT count(*) FROM inbox") == "3");
  CHECK(sql_value(path, "SELECT group_concat(status) FROM outbox") == "inflight");
}

TEST_CASE("a message to a free contact with nothing pending is never stored when its turn is") {
  TempDir dir;
  const auto path = dir.path() / "unstored.db";
  std::unique_ptr<Store> store = ok(open_sqlite_store(path.string()));
  // Frank has a row pending already (no worker took it yet).
  (void)ok(store->ingest({message("f1", "frank", 5)}));

  std::vector<Claim> offered;
  ClaimRequest ask{"ingest", 100, kLease, 0, {}, {}};
  ask.turn = [&](const Claim& c) -> std::optional<InlineTurn> {
    offered.push_back(c);
    InlineTurn t;
    t.commit = commit_for(c, 100);
    t.commit.outbox.push_back(NewOutbox{"send", R"({"text":"hello"})", 0});
    t.done = [](const TurnCommit&, Result<TurnResult>) {
    };
    return t;
  };
  // Erin, new, sends two messages in one batch: each has its own turn, in order.
  IngestResult r = ok(store->ingest(
      {message("e1", "erin", 100), message("f2", "frank", 100), message("e2", "erin", 100, "bye")},
      ask));
  REQUIRE(offered.size() == 3);
  REQUIRE(r.turns.size() == 3);
  for (const InlineTurn& t : r.turns) {
    REQUIRE(t.outcome);
    CHECK(t.outcome->ok());
  }
  CHECK(r.claims.empty());
  // Erin's turns come with the message alone, unstored (id 0), and no lease.
  CHECK(offered[0].key == key("erin"));
  REQUIRE(offered[0].rows.size() == 1);
  CHECK(offered[0].rows[0].id == 0);
  CHECK(offered[0].rows[0].ref == "e1");
  CHECK(offered[0].rows[0].payload == message("e1", "erin", 100).payload);
  CHECK(offered[0].token == 0);
  CHECK(offered[1].key == key("erin"));
  REQUIRE(offered[1].rows.size() == 1);
  CHECK(offered[1].rows[0].id == 0);
  CHECK(offered[1].rows[0].ref == "e2");
  // Frank's turn is leased, with his stored rows, oldest first.
  CHECK(offered[2].key == key("frank"));
  CHECK(offered[2].token == 1);
  REQUIRE(offered[2].rows.size() == 2);
  CHECK(offered[2].rows[0].ref == "f1");
  CHECK(offered[2].rows[1].ref == "f2");
  CHECK(offered[2].rows[1].id > 0);
  // Erin's second turn went out after her first: its row comes second.
  CHECK(r.turns[0].outcome->value().outbox_ids.size() == 1);
  CHECK(r.turns[1].outcome->value().outbox_ids.size() == 1);
  CHECK(r.turns[0].outcome->value().outbox_ids[0] < r.turns[1].outcome->value().outbox_ids[0]);
  store->close();

  // Nothing pending, no lease taken for Erin, each message logged once as seen.
  CHECK(sql_value(path, "SELECT count(*) FROM inbox") == "0");
  CHECK(sql_value(path, "SELECT count(*) FROM seen") == "4");
  CHECK(sql_value(path, "SELECT lease_token FROM contacts WHERE contact = 'erin'") == "0");
  CHECK(sql_value(path, "SELECT pending_since IS NULL FROM contacts WHERE contact = 'erin'") ==
        "1");
  CHECK(sql_value(path,
                  "SELECT group_concat(seq) FROM (SELECT seq FROM outbox o JOIN contacts c "
                  "ON c.id = o.contact_id WHERE c.contact = 'erin' ORDER BY o.id)") == "1,2");
}

TEST_CASE("many threads ingesting: every caller's rows are durable") {
  TempDir dir;
  const auto path = dir.path() / "many.db";
  std::unique_ptr<Store> store = ok(open_sqlite_store(path.string()));
  constexpr int kThreads = 16;
  constexpr int kCalls = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCalls; ++c) {
        const std::string id = std::to_string(t) + "." + std::to_string(c);
        Result<std::vector<IngestOutcome>> r = store->ingest(
            {message("a" + id, "t" + std::to_string(t), c), message("b" + id, "shared", c)});
        if (!r.ok() || r.value()[0] != IngestOutcome::New || r.value()[1] != IngestOutcome::New) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  CHECK(failures == 0);
  const StoreStats stats = store->store_stats();
  CHECK(stats.write_requests == kThreads * kCalls);
  CHECK(stats.write_transactions <= stats.write_requests);
  CHECK(stats.write_transactions >= 1);
  store->close();
  CHECK(sql_value(path, "SELECT count(*) FROM inbox") == std::to_string(2 * kThreads * kCalls));
  CHECK(sql_value(path, "SELECT count(*) FROM seen") == std::to_string(2 * kThreads * kCalls));
}

TEST_CASE("the database is in WAL mode and migrated once") {
  TempDir dir;
  const auto path = dir.path() / "m.db";
  {
    std::unique_ptr<Store> store = ok(open_sqlite_store(path.string()));
    Health health = store->health();
    CHECK(health.reachable);
    CHECK(health.migrated());
    CHECK(health.schema_version == kSqliteSchemaVersion);
  }
  {
    std::unique_ptr<Store> again = ok(open_sqlite_store(path.string()));
    CHECK(again->health().migrated());
  }
  CHECK(sql_value(path, "PRAGMA journal_mode") == "wal");
  CHECK(sql_value(path, "SELECT count(*) FROM schema_version") ==
        std::to_string(kSqliteSchemaVersion));
}

TEST_CASE("the writer checkpoints the WAL after checkpoint_pages pages") {
  // The same commits under two limits. At one page every commit copies the
  // WAL back into the database and the next one writes it from the start
  // again; at the default the WAL only grows over these few hundred pages.
  auto wal_bytes_after = [](int pages) {
    TempDir dir;
    const auto path = dir.path() / "c.db";
    SqliteOptions options;
    options.checkpoint_pages = pages;
    std::unique_ptr<Store> store = ok(open_sqlite_store(path.string(), options));
    for (int i = 0; i < 60; ++i) {
      (void)ok(store->ingest({message("m" + std::to_string(i), "c" + std::to_string(i), i)}));
    }
    const auto size = std::filesystem::file_size(path.string() + "-wal");
    store->close();
    CHECK(sql_value(path, "SELECT count(*) FROM inbox") == "60");
    return size;
  };
  const auto every_page = wal_bytes_after(1);
  const auto by_default = wal_bytes_after(SqliteOptions{}.checkpoint_pages);
  CHECK(by_default > 4 * every_page);
}

TEST_CASE(
    "a database of schema version 1 is migrated to the AI usage and records tables and the "
    "conversations' flow index, and keeps its rows") {
  TempDir dir;
  const auto path = dir.path() / "v1.db";
  {
    std::unique_ptr<Store> store = ok(open_sqlite_store(path.string()));
    (void)ok(store->ingest({message("m1", "alice", 100)}));
  }
  // What the first version left: its schema, version 1, no ai_usage or records table.
  sql_value(path, "DROP TABLE ai_usage");
  sql_value(path, "DROP TABLE records");
  sql_value(path, "DROP INDEX conversations_by_flow");
  sql_value(path, "CREATE INDEX conversations_by_flow ON conversations (flow, status, last_step)");
  sql_value(path, "DELETE FROM schema_version WHERE version > 1");
  REQUIRE(sql_value(path, "SELECT max(version) FROM schema_version") == "1");
  {
    std::unique_ptr<Store> store = ok(open_sqlite_store(path.string()));
    CHECK(store->health().schema_version == 4);
    CHECK(store->health().migrated());
    Claim claim = *ok(store->claim("w", 200, 1000));
    CHECK(claim.rows.size() == 1);  // The message written before the migration.
    CHECK(ok(store->stats(StatsFilter{})).ai_usage.empty());
    CHECK(ok(store->records(QueryFilter{})).items.empty());
  }
  CHECK(sql_value(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'ai_usage'") == "1");
  CHECK(sql_value(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'records'") == "1");
  CHECK(sql_value(path,
                  "SELECT group_concat(name, ',') FROM "
                  "(SELECT name FROM pragma_index_info('conversations_by_flow') ORDER BY seqno)") ==
        "flow,started_ms,id");
}

TEST_CASE("a database with a newer schema is refused and left alone") {
  TempDir dir;
  const auto path = dir.path() / "new.db";
  ok(open_sqlite_store(path.string())).reset();
  sql_value(path, "INSERT INTO schema_version (version) VALUES (99)");
  Result<std::unique_ptr<Store>> refused = open_sqlite_store(path.string());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::Unsupported);
  CHECK(refused.error().message ==
        "database '" + path.string() + "' has schema version 99, newer than this waflow knows (" +
            std::to_string(kSqliteSchemaVersion) + "); use a newer waflow or restore a backup");
  CHECK(sql_value(path, "SELECT max(version) FROM schema_version") == "99");
}

TEST_CASE("bad paths, options and files get clear errors") {
  TempDir dir;
  Result<std::unique_ptr<Store>> missing =
      open_sqlite_store((dir.path() / "no-such-dir" / "x.db").string());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::Io);
  CHECK(missing.error().message.find("cannot open database '") == 0);

  CHECK(open_sqlite_store(":memory:").error().code == ErrorCode::InvalidInput);
  SqliteOptions zero;
  zero.read_connections = 0;
  CHECK(open_sqlite_store((dir.path() / "z.db").string(), zero).error().code ==
        ErrorCode::InvalidInput);
  SqliteOptions no_checkpoint;
  no_checkpoint.checkpoint_pages = 0;
  CHECK(open_sqlite_store((dir.path() / "c.db").string(), no_checkpoint).error().code ==
        ErrorCode::InvalidInput);
  SqliteOptions negative_interval;
  negative_interval.commit_interval_us = -1;
  CHECK(open_sqlite_store((dir.path() / "d.db").string(), negative_interval).error().code ==
        ErrorCode::InvalidInput);

  const auto junk = dir.path() / "junk.db";
  {
    std::ofstream out(junk, std::ios::binary);
    out << std::string(8192, 'x');
  }
  Result<std::unique_ptr<Store>> not_db = open_sqlite_store(junk.string());
  REQUIRE_FALSE(not_db.ok());
  CHECK(not_db.error().message.find("file is not a database") != std::string::npos);
}

TEST_CASE("a closed store refuses calls instead of crashing") {
  StoreFixture f;
  f.store().close();
  Result<std::vector<IngestOutcome>> refused = f.store().ingest({message("m", "alice", 1)});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == "ingest: the store is closed");
  CHECK_FALSE(f.store().next_timer_due().ok());
  CHECK_FALSE(f.store().health().reachable);
  f.store().close();  // Idempotent.
}

}  // namespace
}  // namespace waflow::storage::testing
