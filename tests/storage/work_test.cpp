// Work: claims and leases, turn commits, contacts, timers.

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "tests/storage/fixture.h"

namespace waflow::storage::testing {
namespace {

constexpr Millis kLease = 60000;

TEST_CASE("claim serves the conversation whose oldest message waits longest, rows in order") {
  StoreFixture f;
  (void)ok(f.store().ingest(
      {message("b1", "bob", 10), message("a1", "alice", 5), message("a2", "alice", 20)}));
  Claim first = *ok(f.store().claim("w1", 100, kLease));
  CHECK(first.key == key("alice"));
  REQUIRE(first.rows.size() == 2);
  CHECK(first.rows[0].ref == "a1");
  CHECK(first.rows[1].ref == "a2");
  CHECK(first.lease_until == 100 + kLease);
  CHECK_FALSE(first.session);

  Claim second = *ok(f.store().claim("w2", 100, kLease));
  CHECK(second.key == key("bob"));
  // Both are leased now.
  CHECK_FALSE(ok(f.store().claim("w3", 100, kLease)));
  // A message for a leased conversation waits for the lease.
  (void)ok(f.store().ingest({message("a3", "alice", 150)}));
  CHECK_FALSE(ok(f.store().claim("w3", 200, kLease)));

  // The commit consumes what it handled; the row that came later stays.
  (void)ok(f.store().commit_turn(commit_for(first, 300)));
  Claim again = *ok(f.store().claim("w3", 400, kLease));
  CHECK(again.key == key("alice"));
  REQUIRE(again.rows.size() == 1);
  CHECK(again.rows[0].ref == "a3");
  CHECK(again.token != first.token);
}

TEST_CASE("a claim says whether another conversation is ready, a commit, whether rows came") {
  StoreFixture f;
  (void)ok(f.store().ingest({message("a1", "alice", 5), message("b1", "bob", 10)}));
  Claim first = *ok(f.store().claim("w1", 100, kLease));
  CHECK(first.key == key("alice"));
  CHECK(first.more);
  Claim second = *ok(f.store().claim("w2", 100, kLease));
  CHECK(second.key == key("bob"));
  CHECK_FALSE(second.more);

  // A message during alice's turn: her commit says so, and her next claim has it.
  (void)ok(f.store().ingest({message("a2", "alice", 150)}));
  TurnResult alice = ok(f.store().commit_turn(commit_for(first, 200)));
  CHECK(alice.still_pending);
  TurnResult bob = ok(f.store().commit_turn(commit_for(second, 200)));
  CHECK_FALSE(bob.still_pending);
  Claim again = *ok(f.store().claim("w1", 300, kLease));
  CHECK(again.key == key("alice"));
  REQUIRE(again.rows.size() == 1);
  CHECK(again.rows[0].ref == "a2");
}

TEST_CASE("ingest leases the free conversations it fills, up to the number asked") {
  StoreFixture f;
  // carol is held by a worker: her new row waits for that worker's commit.
  (void)ok(f.store().ingest({message("c1", "carol", 5)}));
  Claim carol = *ok(f.store().claim("w", 10, kLease));

  ClaimRequest ask{"ingest", 100, kLease, 2, {}, {}};
  IngestResult r = ok(f.store().ingest(
      {message("c2", "carol", 100), message("a1", "alice", 100), message("a2", "alice", 101),
       message("b1", "bob", 102), message("d1", "dave", 103)},
      ask));
  REQUIRE(r.outcomes.size() == 5);
  for (IngestOutcome o : r.outcomes) {
    CHECK(o == IngestOutcome::New);
  }
  // carol and alice come first, but carol is held: alice is leased with both of
  // her rows; the two-claim limit is spent on carol and alice, so bob and dave wait.
  REQUIRE(r.claims.size() == 1);
  CHECK(r.claims[0].key == key("alice"));
  CHECK(r.claims[0].worker_id == "ingest");
  CHECK(r.claims[0].lease_until == 100 + kLease);
  REQUIRE(r.claims[0].rows.size() == 2);
  CHECK(r.claims[0].rows[0].ref == "a1");
  CHECK(r.claims[0].rows[1].ref == "a2");

  // The leased claim commits like any other; the rest are claimed as usual.
  TurnResult committed = ok(f.store().commit_turn(commit_for(r.claims[0], 200)));
  CHECK_FALSE(committed.still_pending);
  CHECK(ok(f.store().commit_turn(commit_for(carol, 200))).still_pending);
  std::set<std::string> rest;
  while (std::optional<Claim> c = ok(f.store().claim("w", 300, kLease))) {
    rest.insert(c->key.contact);
  }
  CHECK(rest == std::set<std::string>{"bob", "carol", "dave"});

  // A duplicate brings no claim; asking for claims without a lease is refused.
  IngestResult dup =
      ok(f.store().ingest({message("d1", "dave", 400)}, ClaimRequest{"i", 400, kLease, 4, {}, {}}));
  CHECK(dup.outcomes == std::vector<IngestOutcome>{IngestOutcome::Duplicate});
  CHECK(dup.claims.empty());
  CHECK_FALSE(
      f.store().ingest({message("e1", "erin", 500)}, ClaimRequest{"i", 500, 0, 1, {}, {}}).ok());
}

TEST_CASE("no conversation is claimed twice at once, with 8 workers") {
  StoreFixture f;
  constexpr int kContacts = 24;
  constexpr int kPerContact = 10;
  std::vector<Inbound> batch;
  for (int m = 0; m < kPerContact; ++m) {
    for (int c = 0; c < kContacts; ++c) {
      batch.push_back(message("m" + std::to_string(c) + "." + std::to_string(m),
                              "c" + std::to_string(c), m * 10 + c));
    }
  }
  // Half arrives before the workers start, half while they work.
  const std::size_t half = batch.size() / 2;
  (void)ok(f.store().ingest(
      std::vector<Inbound>(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(half))));

  std::mutex mutex;
  std::set<std::string> held;
  std::set<std::string> consumed;
  std::atomic<int> overlaps{0};
  std::atomic<int> duplicates{0};
  std::atomic<int> failures{0};
  std::atomic<bool> all_in{false};

  auto worker = [&](int n) {
    const std::string id = "w" + std::to_string(n);
    // The deadline only guards against a hang; the loop ends when all is consumed.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      Result<std::optional<Claim>> got = f.store().claim(id, 1000, kLease);
      if (!got.ok()) {
        ++failures;
        return;
      }
      if (!got.value()) {
        std::lock_guard lock(mutex);
        if (all_in && consumed.size() == batch.size()) {
          return;
        }
        std::this_thread::yield();
        continue;
      }
      const Claim& claim = *got.value();
      {
        std::lock_guard lock(mutex);
        if (!held.insert(claim.key.contact).second) {
          ++overlaps;
        }
        for (const InboxRow& row : claim.rows) {
          if (!consumed.insert(row.ref).second) {
            ++duplicates;
          }
        }
      }
      {
        // Let go of the mark before the commit ends the lease, so the next
        // holder never finds it still set.
        std::lock_guard lock(mutex);
        held.erase(claim.key.contact);
      }
      if (!f.store().commit_turn(commit_for(claim, 1000)).ok()) {
        ++failures;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back(worker, i);
  }
  (void)ok(f.store().ingest(
      std::vector<Inbound>(batch.begin() + static_cast<std::ptrdiff_t>(half), batch.end())));
  all_in = true;
  for (std::thread& t : threads) {
    t.join();
  }
  CHECK(overlaps == 0);
  CHECK(duplicates == 0);
  CHECK(failures == 0);
  CHECK(consumed.size() == batch.size());
  CHECK_FALSE(ok(f.store().claim("late", 1000, kLease)));
}

TEST_CASE("a lease that ran out or was taken over makes commit_turn fail") {
  StoreFixture f;
  (void)ok(f.store().ingest({message("m1", "alice", 0)}));
  Claim a = *ok(f.store().claim("w1", 0, 1000));

  SECTION("expired, even if nobody took it") {
    Result<TurnResult> late = f.store().commit_turn(commit_for(a, 1000));
    REQUIRE_FALSE(late.ok());
    CHECK(late.error().code == ErrorCode::NotFound);
    CHECK(late.error().message.find("was lost") != std::string::npos);
  }
  SECTION("renewed in time, it holds") {
    CHECK(ok(f.store().renew(a, 900, 1000)) == 1900);
    CHECK_FALSE(ok(f.store().claim("w2", 1500, 1000)));
    (void)ok(f.store().commit_turn(commit_for(a, 1800)));
  }
  SECTION("stolen after expiry") {
    Claim b = *ok(f.store().claim("w2", 1000, 1000));
    CHECK(b.key == a.key);
    CHECK(b.rows.size() == 1);
    TurnCommit stale = commit_for(a, 1100);
    stale.outbox.push_back(NewOutbox{"send", "{}", 0});
    CHECK_FALSE(f.store().commit_turn(stale).ok());
    CHECK_FALSE(f.store().renew(a, 1100, 1000).ok());
    CHECK_FALSE(ok(f.store().release(a)));
    CHECK(ok(f.store().claim_outbox(1200, 10, 1000)).empty());
    (void)ok(f.store().commit_turn(commit_for(b, 1200)));
  }
}

TEST_CASE("a failing commit changes nothing") {
  StoreFixture f;
  (void)ok(f.store().ingest({message("m1", "alice", 0)}));
  Claim claim = *ok(f.store().claim("w1", 0, kLease));
  TurnCommit turn = commit_for(claim, 10);
  turn.session_change = TurnCommit::SessionChange::Put;
  turn.session = StoredSession{"blob", "hash-a"};
  turn.outbox.push_back(NewOutbox{"send", "{}", 0});
  turn.timers.push_back(NewTimer{5000, "timeout", "t1", "{}"});
  turn.messages.push_back(
      LogMessage{LogMessage::Direction::In, 10, "pizza", "s", "text", "hi", "{}", "1"});
  turn.conversations.push_back(
      ConversationUpdate{ConversationUpdate::Op::Start, "1", "pizza", "hash-a", "s", "", 10});
  // The last step refers to a run that was never started: the whole turn fails.
  turn.conversations.push_back(
      ConversationUpdate{ConversationUpdate::Op::End, "2", "", "", "", "completed", 10});

  Result<TurnResult> refused = f.store().commit_turn(turn);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::InvalidInput);
  CHECK(refused.error().message == "conversation run '2' of bot-1/alice was never started");

  CHECK(ok(f.store().claim_outbox(100000, 10, 1000)).empty());
  CHECK(ok(f.store().timers(key("alice"))).empty());
  CHECK_FALSE(ok(f.store().contact(key("alice")))->bundle_hash);
  CHECK(ok(f.store().conversations(QueryFilter{})).items.empty());
  CHECK(ok(f.store().messages(QueryFilter{})).items.empty());
  // The lease is still held and the message still pending.
  CHECK(ok(f.store().release(claim)));
  Claim again = *ok(f.store().claim("w2", 20, kLease));
  REQUIRE(again.rows.size() == 1);
  CHECK(again.rows[0].ref == "m1");

  // An inbox row that is not this conversation's is refused too.
  TurnCommit foreign = commit_for(again, 30);
  foreign.consumed.push_back(999999);
  Result<TurnResult> bad = f.store().commit_turn(foreign);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "inbox row 999999 is not pending for bot-1/alice");
}

TEST_CASE("commit_turn stores, keeps and deletes the session") {
  StoreFixture f;
  (void)ok(f.store().ingest({message("m1", "alice", 0)}));
  Claim claim = *ok(f.store().claim("w1", 0, kLease));
  TurnCommit put = commit_for(claim, 10);
  put.session_change = TurnCommit::SessionChange::Put;
  put.session = StoredSession{std::string("\0\1binary", 8), "hash-a"};
  (void)ok(f.store().commit_turn(put));

  (void)ok(f.store().ingest({message("m2", "alice", 20)}));
  Claim second = *ok(f.store().claim("w1", 30, kLease));
  REQUIRE(second.session);
  CHECK(second.session->blob == std::string("\0\1binary", 8));
  CHECK(second.session->bundle_hash == "hash-a");
  (void)ok(f.store().commit_turn(commit_for(second, 40)));  // Keep.

  // A new blob on the same bundle, then on another one: the pinned bundle
  // follows (the statement leaves bundle_hash out when it stays).
  for (const std::string hash : {"hash-a", "hash-b"}) {
    (void)ok(f.store().ingest({message("m-" + hash, "alice", 42)}));
    Claim c = *ok(f.store().claim("w1", 44, kLease));
    TurnCommit again = commit_for(c, 45);
    again.session_change = TurnCommit::SessionChange::Put;
    again.session = StoredSession{"blob of " + hash, hash};
    (void)ok(f.store().commit_turn(again));
    CHECK(ok(f.store().contact(key("alice")))->bundle_hash == hash);
  }

  (void)ok(f.store().ingest({message("m3", "alice", 50)}));
  Claim third = *ok(f.store().claim("w1", 60, kLease));
  REQUIRE(third.session);
  CHECK(third.session->blob == "blob of hash-b");
  CHECK(third.session->bundle_hash == "hash-b");
  TurnCommit drop = commit_for(third, 70);
  drop.session_change = TurnCommit::SessionChange::Delete;
  (void)ok(f.store().commit_turn(drop));
  CHECK_FALSE(ok(f.store().contact(key("alice")))->bundle_hash);
  (void)ok(f.store().ingest({message("m4", "alice", 80)}));
  CHECK_FALSE(ok(f.store().claim("w1", 90, kLease))->session);
}

TEST_CASE("release gives a claim back unchanged") {
  StoreFixture f;
  (void)ok(f.store().ingest({message("m1", "alice", 0)}));
  Claim claim = *ok(f.store().claim("w1", 0, kLease));
  CHECK(ok(f.store().release(claim)));
  CHECK_FALSE(ok(f.store().release(claim)));
  Claim again = *ok(f.store().claim("w2", 1, kLease));
  CHECK(again.rows.size() == 1);
}

TEST_CASE("a contact's name and pause live in the store") {
  StoreFixture f;
  CHECK_FALSE(ok(f.store().contact(key("alice"))));
  CHECK(ok(f.store().set_paused(key("alice"), true, 3)));
  CHECK(ok(f.store().contact(key("alice")))->name.empty());
  // The name comes with a turn (the one whose message brought it).
  (void)ok(f.store().ingest({message("m0", "alice", 5)}));
  Claim first = *ok(f.store().claim("w1", 6, kLease));
  CHECK(first.name.empty());
  TurnCommit named = commit_for(first, 7);
  named.contact_name = "Alice";
  (void)ok(f.store().commit_turn(named));
  Contact c = *ok(f.store().contact(key("alice")));
  CHECK(c.name == "Alice");
  CHECK(c.paused);
  (void)ok(f.store().ingest({message("m1", "alice", 10)}));
  Claim claim = *ok(f.store().claim("w1", 20, kLease));
  CHECK(claim.name == "Alice");
  CHECK(claim.paused);
  CHECK(ok(f.store().set_paused(key("alice"), false, 30)));
  CHECK_FALSE(ok(f.store().contact(key("alice")))->paused);
}

TEST_CASE("timers fire once, also after a restart") {
  StoreFixture f;
  (void)ok(f.store().ingest({message("m1", "alice", 0)}));
  Claim claim = *ok(f.store().claim("w1", 0, kLease));
  TurnCommit turn = commit_for(claim, 10);
  turn.timers = {NewTimer{200, "reminder", "r1", R"({"n":1})"},
                 NewTimer{100, "timeout", "t1", R"({"n":0})"}, NewTimer{5000, "delay", "d1", "{}"}};
  TurnResult result = ok(f.store().commit_turn(turn));
  CHECK(result.timer_ids.size() == 3);
  CHECK(ok(f.store().next_timer_due()) == 100);

  CHECK(ok(f.store().fire_due_timers(150, 100)) == 1);
  f.reopen();
  CHECK(ok(f.store().fire_due_timers(150, 100)) == 0);
  CHECK(ok(f.store().fire_due_timers(300, 100)) == 1);
  CHECK(ok(f.store().fire_due_timers(300, 100)) == 0);
  CHECK(ok(f.store().next_timer_due()) == 5000);

  Claim fired = *ok(f.store().claim("w1", 400, kLease));
  REQUIRE(fired.rows.size() == 2);
  CHECK(fired.rows[0].kind == InboxKind::Timer);
  CHECK(fired.rows[0].ref == "t1");
  CHECK(fired.rows[0].detail == "timeout");
  CHECK(fired.rows[0].payload == R"({"n":0})");
  CHECK(fired.rows[0].received_ms == 100);
  CHECK(fired.rows[1].ref == "r1");
  CHECK(ok(f.store().timers(key("alice"))).size() == 1);
}

TEST_CASE("fire_due_timers takes at most its limit, oldest first") {
  StoreFixture f;
  (void)ok(f.store().ingest({message("m1", "alice", 0)}));
  Claim claim = *ok(f.store().claim("w1", 0, kLease));
  TurnCommit turn = commit_for(claim, 10);
  for (int i = 0; i < 5; ++i) {
    turn.timers.push_back(NewTimer{100 + i, "delay", "d" + std::to_string(i), "{}"});
  }
  (void)ok(f.store().commit_turn(turn));
  CHECK(ok(f.store().fire_due_timers(1000, 2)) == 2);
  CHECK(ok(f.store().next_timer_due()) == 102);
  CHECK(ok(f.store().fire_due_timers(1000, 10)) == 3);
  CHECK_FALSE(ok(f.store().next_timer_due()));
}

TEST_CASE("timers are cancelled by id, kind or tag") {
  StoreFixture f;
  (void)ok(f.store().ingest({message("m1", "alice", 0)}));
  Claim claim = *ok(f.store().claim("w1", 0, kLease));
  TurnCommit turn = commit_for(claim, 10);
  turn.timers = {NewTimer{100, "timeout", "a", "{}"}, NewTimer{200, "reminder", "b", "{}"},
                 NewTimer{300, "reminder", "c", "{}"}, NewTimer{400, "delay", "d", "{}"}};
  TurnResult created = ok(f.store().commit_turn(turn));

  (void)ok(f.store().ingest({message("m2", "alice", 20)}));
  Claim next = *ok(f.store().claim("w1", 30, kLease));
  TurnCommit cancel = commit_for(next, 40);
  cancel.cancel_timers = {TimerCancel{std::nullopt, "reminder", ""},
                          TimerCancel{created.timer_ids[0], "", ""}};
  // Replaced in the same turn: cancellations apply before new timers.
  cancel.cancel_timers.push_back(TimerCancel{std::nullopt, "", "d"});
  cancel.timers.push_back(NewTimer{900, "delay", "d", "{}"});
  CHECK(ok(f.store().commit_turn(cancel)).timers_cancelled == 4);
  std::vector<TimerRow> left = ok(f.store().timers(key("alice")));
  REQUIRE(left.size() == 1);
  CHECK(left[0].tag == "d");
  CHECK(left[0].due_ms == 900);

  TurnCommit empty_cancel;
  empty_cancel.cancel_timers.push_back(TimerCancel{});
  CHECK(f.store().commit_turn(empty_cancel).error().code == ErrorCode::InvalidInput);
}

}  // namespace
}  // namespace waflow::storage::testing
