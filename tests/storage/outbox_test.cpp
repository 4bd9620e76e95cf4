// The outbox (per-conversation order, retries, leases) and deployments.

#include "tests/storage/fixture.h"

namespace waflow::storage::testing {
namespace {

// Commits one turn for `contact` that adds outbox rows with these payloads.
std::vector<std::int64_t> add_outbox(Store& store, const std::string& contact,
                                     const std::vector<std::string>& payloads, Millis now,
                                     const std::string& kind = "send") {
  (void)ok(store.ingest({message(contact + std::to_string(now), contact, now)}));
  Claim claim = *ok(store.claim("w", now, 60000));
  TurnCommit turn = commit_for(claim, now);
  for (const std::string& p : payloads) {
    turn.outbox.push_back(NewOutbox{kind, p, 0});
  }
  return ok(store.commit_turn(turn)).outbox_ids;
}

std::vector<std::string> payloads(const std::vector<OutboxRow>& rows) {
  std::vector<std::string> out;
  for (const OutboxRow& row : rows) {
    out.push_back(row.key.contact + ":" + row.payload);
  }
  return out;
}

TEST_CASE("a conversation's outbox rows go out one at a time, in order") {
  StoreFixture f;
  add_outbox(f.store(), "alice", {"a1", "a2", "a3"}, 100);
  add_outbox(f.store(), "bob", {"b1"}, 100);

  std::vector<OutboxRow> first = ok(f.store().claim_outbox(200, 10, 30000));
  CHECK(payloads(first) == std::vector<std::string>{"alice:a1", "bob:b1"});
  CHECK(first[0].seq == 1);
  CHECK(first[0].status == OutboxStatus::Inflight);
  CHECK(first[0].attempts == 1);
  CHECK(first[0].next_attempt_ms == 200 + 30000);
  CHECK(first[0].kind == "send");

  // a1 fails for now: it is retried later, and a2 waits behind it.
  CHECK(ok(f.store().mark_retry(first[0].id, 5000, "HTTP 503")) == OutboxStatus::Pending);
  CHECK(ok(f.store().claim_outbox(300, 10, 30000)).empty());
  OutboxRow waiting = *ok(f.store().outbox_row(first[0].id));
  CHECK(waiting.status == OutboxStatus::Pending);
  CHECK(waiting.next_attempt_ms == 5000);
  CHECK(waiting.last_error == "HTTP 503");
  CHECK(waiting.attempts == 1);
  CHECK(ok(f.store().next_outbox_due()) == 5000);  // bob:b1 is inflight until 30200.

  std::vector<OutboxRow> retry = ok(f.store().claim_outbox(5000, 10, 30000));
  CHECK(payloads(retry) == std::vector<std::string>{"alice:a1"});
  CHECK(retry[0].attempts == 2);
  CHECK(ok(f.store().mark_sent(retry[0].id, "wamid.a1", 5100, std::nullopt, std::nullopt)));
  CHECK(payloads(ok(f.store().claim_outbox(5200, 10, 30000))) ==
        std::vector<std::string>{"alice:a2"});
}

TEST_CASE("a turn's commit and a sent mark lease the conversation's next row, in order") {
  StoreFixture f;
  (void)ok(f.store().ingest({message("a.1", "alice", 100)}));
  Claim claim = *ok(f.store().claim("w", 100, 60000));
  TurnCommit turn = commit_for(claim, 100);
  turn.outbox.push_back(NewOutbox{"send", "a1", 0});
  turn.outbox.push_back(NewOutbox{"send", "a2", 0});
  turn.dispatch_lease_ms = 30000;
  TurnResult committed = ok(f.store().commit_turn(turn));
  REQUIRE(committed.dispatch);
  CHECK(committed.dispatch->payload == "a1");
  CHECK(committed.dispatch->status == OutboxStatus::Inflight);
  CHECK(committed.dispatch->attempts == 1);
  CHECK(committed.dispatch->next_attempt_ms == 100 + 30000);
  CHECK(committed.dispatch->key == key("alice"));
  CHECK_FALSE(committed.outbox_waiting);  // a2 follows a1's outcome.
  CHECK_FALSE(committed.still_pending);
  // The row handed back is the row as stored (written leased).
  const OutboxRow stored = *ok(f.store().outbox_row(committed.dispatch->id));
  CHECK(stored.contact_id == committed.dispatch->contact_id);
  CHECK(stored.key == committed.dispatch->key);
  CHECK(stored.seq == committed.dispatch->seq);
  CHECK(stored.seq == 1);
  CHECK(stored.kind == committed.dispatch->kind);
  CHECK(stored.payload == committed.dispatch->payload);
  CHECK(stored.status == OutboxStatus::Inflight);
  CHECK(stored.attempts == 1);
  CHECK(stored.next_attempt_ms == committed.dispatch->next_attempt_ms);
  CHECK(stored.provider_message_id == committed.dispatch->provider_message_id);
  CHECK(stored.last_error == committed.dispatch->last_error);
  CHECK(stored.created_ms == committed.dispatch->created_ms);
  CHECK(stored.delivery_status == committed.dispatch->delivery_status);
  CHECK(ok(f.store().outbox_row(committed.outbox_ids[1]))->status == OutboxStatus::Pending);
  // Leased: claim_outbox finds nothing, a2 waits behind a1.
  CHECK(ok(f.store().claim_outbox(200, 10, 30000)).empty());

  SentResult sent = ok(f.store().mark_sent_next(committed.dispatch->id, "wamid.a1", 300,
                                                std::nullopt, std::nullopt, 30000));
  CHECK(sent.marked);
  REQUIRE(sent.next);
  CHECK(sent.next->payload == "a2");
  CHECK(sent.next->status == OutboxStatus::Inflight);
  CHECK(ok(f.store().outbox_row(committed.dispatch->id))->status == OutboxStatus::Sent);

  // The last one leaves nothing to lease; a second mark finds the row finished.
  SentResult last = ok(
      f.store().mark_sent_next(sent.next->id, "wamid.a2", 400, std::nullopt, std::nullopt, 30000));
  CHECK(last.marked);
  CHECK_FALSE(last.next);
  CHECK_FALSE(last.outbox_waiting);
  SentResult again = ok(
      f.store().mark_sent_next(sent.next->id, "wamid.a2", 500, std::nullopt, std::nullopt, 30000));
  CHECK_FALSE(again.marked);
  CHECK_FALSE(again.next);
}

TEST_CASE("a turn leases no row behind an unfinished one, nor one that is not due") {
  StoreFixture f;
  add_outbox(f.store(), "alice", {"a1"}, 100);
  std::vector<OutboxRow> out = ok(f.store().claim_outbox(100, 10, 30000));
  REQUIRE(out.size() == 1);

  // a1 is out with a dispatcher: the next turn's row waits for a1's outcome.
  (void)ok(f.store().ingest({message("a.2", "alice", 200)}));
  Claim claim = *ok(f.store().claim("w", 200, 60000));
  TurnCommit turn = commit_for(claim, 200);
  turn.outbox.push_back(NewOutbox{"send", "a2", 0});
  turn.dispatch_lease_ms = 30000;
  TurnResult committed = ok(f.store().commit_turn(turn));
  CHECK_FALSE(committed.dispatch);
  CHECK_FALSE(committed.outbox_waiting);
  // a1's outcome leases a2.
  SentResult sent =
      ok(f.store().mark_sent_next(out[0].id, "wamid.a1", 300, std::nullopt, std::nullopt, 30000));
  REQUIRE(sent.next);
  CHECK(sent.next->payload == "a2");

  // A row due later is not leased, and the caller hears that one waits.
  (void)ok(f.store().ingest({message("b.1", "bob", 400)}));
  Claim bob = *ok(f.store().claim("w", 400, 60000));
  TurnCommit later = commit_for(bob, 400);
  later.outbox.push_back(NewOutbox{"send", "b1", 5000});
  later.dispatch_lease_ms = 30000;
  TurnResult planned = ok(f.store().commit_turn(later));
  CHECK_FALSE(planned.dispatch);
  CHECK(planned.outbox_waiting);
  CHECK(payloads(ok(f.store().claim_outbox(5000, 10, 30000))) ==
        std::vector<std::string>{"bob:b1"});
}

TEST_CASE("a row whose dispatcher vanished is claimable again when its lease ends") {
  StoreFixture f;
  std::vector<std::int64_t> ids = add_outbox(f.store(), "alice", {"a1", "a2"}, 0);
  CHECK(ok(f.store().claim_outbox(100, 10, 1000)).size() == 1);
  CHECK(ok(f.store().claim_outbox(1099, 10, 1000)).empty());
  std::vector<OutboxRow> again = ok(f.store().claim_outbox(1100, 10, 1000));
  REQUIRE(again.size() == 1);
  CHECK(again[0].id == ids[0]);
  CHECK(again[0].attempts == 2);
  // Both dispatchers report: the second report changes nothing.
  CHECK(ok(f.store().mark_sent(ids[0], "wamid.1", 1200, std::nullopt, std::nullopt)));
  CHECK_FALSE(ok(f.store().mark_sent(ids[0], "wamid.2", 1300, std::nullopt, std::nullopt)));
  CHECK(ok(f.store().outbox_row(ids[0]))->provider_message_id == "wamid.1");
}

TEST_CASE("retries end in dead after the attempt limit, failed rows let the next go") {
  StoreFixture f;
  std::vector<std::int64_t> ids = add_outbox(f.store(), "alice", {"a1", "a2", "a3"}, 0);
  Millis now = 100;
  OutboxStatus status = OutboxStatus::Pending;
  int attempts = 0;
  while (status == OutboxStatus::Pending && attempts < 100) {
    std::vector<OutboxRow> rows = ok(f.store().claim_outbox(now, 10, 1000));
    REQUIRE(rows.size() == 1);
    REQUIRE(rows[0].id == ids[0]);
    attempts = rows[0].attempts;
    now += 10;
    status = ok(f.store().mark_retry(rows[0].id, now, "timeout #" + std::to_string(attempts)));
  }
  CHECK(status == OutboxStatus::Dead);
  CHECK(attempts == 10);  // The default limit.
  OutboxRow dead = *ok(f.store().outbox_row(ids[0]));
  CHECK(dead.last_error == "timeout #10");
  CHECK(ok(f.store().mark_retry(ids[0], now, "again")) == OutboxStatus::Dead);

  std::vector<OutboxRow> next = ok(f.store().claim_outbox(now, 10, 1000));
  REQUIRE(next.size() == 1);
  CHECK(next[0].id == ids[1]);
  CHECK(ok(f.store().mark_failed(ids[1], "HTTP 400: bad number", now)));
  CHECK_FALSE(ok(f.store().mark_failed(ids[1], "again", now)));
  CHECK(ok(f.store().outbox_row(ids[1]))->status == OutboxStatus::Failed);
  CHECK(ok(f.store().claim_outbox(now, 10, 1000))[0].id == ids[2]);

  CHECK(f.store().mark_sent(424242, "x", now, std::nullopt, std::nullopt).error().code ==
        ErrorCode::NotFound);
}

TEST_CASE("an AI answer enters the inbox with the row that asked for it, once") {
  StoreFixture f;
  std::vector<std::int64_t> ids = add_outbox(f.store(), "alice", {R"({"prompt":"hi"})"}, 0, "ai");
  OutboxRow row = ok(f.store().claim_outbox(10, 10, 1000)).at(0);
  CHECK(row.kind == "ai");
  NewInbox answer{key("alice"), InboxKind::Answer, "1:3", "", R"({"ok":true,"text":"Hello"})", 20};
  CHECK(ok(f.store().mark_sent(row.id, "", 20, answer, std::nullopt)));
  CHECK_FALSE(ok(f.store().mark_sent(row.id, "", 30, answer, std::nullopt)));
  Claim claim = *ok(f.store().claim("w", 40, 1000));
  REQUIRE(claim.rows.size() == 1);
  CHECK(claim.rows[0].kind == InboxKind::Answer);
  CHECK(claim.rows[0].ref == "1:3");
  CHECK(claim.rows[0].payload == R"({"ok":true,"text":"Hello"})");
}

TEST_CASE("prune drops finished outbox rows after the horizon, never open ones") {
  StoreFixture f;
  constexpr Millis kDay = 24LL * 3600 * 1000;
  std::vector<std::int64_t> ids = add_outbox(f.store(), "alice", {"a1", "a2"}, 0);
  (void)ok(f.store().claim_outbox(0, 10, 1000));
  CHECK(ok(f.store().mark_sent(ids[0], "w1", 10, std::nullopt, std::nullopt)));
  CHECK(ok(f.store().prune(7 * kDay)).outbox == 0);
  CHECK(ok(f.store().prune(7 * kDay + 11)).outbox == 1);
  CHECK_FALSE(ok(f.store().outbox_row(ids[0])));
  CHECK(ok(f.store().outbox_row(ids[1])));
}

TEST_CASE("deployments: activate, roll back, collect unused bundles") {
  StoreFixture f;
  Store& s = f.store();
  const std::string a = ok(s.put_bundle("bundle A", BundleMeta{"ci", "first", 1}));
  const std::string b = ok(s.put_bundle("bundle B", BundleMeta{"ci", "second", 2}));
  const std::string c = ok(s.put_bundle("bundle C", BundleMeta{"ci", "third", 3}));
  const std::string d = ok(s.put_bundle("bundle D", BundleMeta{"ci", "never active", 4}));
  CHECK(a == "445f868f13679b40fb8a492adc6a7721dc4e79537c67cc951c6fe3c6cb15c3bc");
  CHECK(ok(s.put_bundle("bundle A", BundleMeta{"someone", "again", 9})) == a);
  CHECK_FALSE(ok(s.active_bundle()));
  CHECK(s.rollback(5, "ops").error().code == ErrorCode::NotFound);
  CHECK(s.activate("feed", 5, "ops").error().code == ErrorCode::NotFound);
  CHECK(s.put_bundle("", BundleMeta{}).error().code == ErrorCode::InvalidInput);

  CHECK(ok(s.activate(a, 10, "ci")));
  CHECK(s.rollback(11, "ops").error().message == "no earlier deployment to roll back to from " + a);
  CHECK(ok(s.activate(b, 20, "ci")));
  CHECK(ok(s.activate(c, 30, "ci")));
  CHECK_FALSE(ok(s.activate(c, 31, "ci")));  // Already active.
  StoredBundle active = *ok(s.active_bundle());
  CHECK(active.info.hash == c);
  CHECK(active.bytes == "bundle C");
  CHECK(active.info.meta.comment == "third");

  CHECK(ok(s.rollback(40, "ops")) == b);
  CHECK(ok(s.active_bundle())->info.hash == b);
  CHECK(ok(s.rollback(41, "ops")) == a);
  CHECK(ok(s.activate(c, 50, "ci")));

  std::vector<BundleInfo> list = ok(s.list_bundles());
  REQUIRE(list.size() == 4);
  CHECK(list[0].hash == d);  // Newest first.
  CHECK_FALSE(list[0].last_activated_ms);
  for (const BundleInfo& info : list) {
    CHECK(info.active == (info.hash == c));
  }

  // A session pinned to B keeps B; the active bundle (C) and the rollback
  // target (A) stay; D goes.
  (void)ok(s.ingest({message("m1", "alice", 60)}));
  Claim claim = *ok(s.claim("w", 60, 1000));
  TurnCommit turn = commit_for(claim, 61);
  turn.session_change = TurnCommit::SessionChange::Put;
  turn.session = StoredSession{"state", b};
  (void)ok(s.commit_turn(turn));
  CHECK(ok(s.gc_bundles()) == std::vector<std::string>{d});
  CHECK_FALSE(ok(s.bundle(d)));
  CHECK(ok(s.bundle(b))->bytes == "bundle B");

  (void)ok(s.ingest({message("m2", "alice", 70)}));
  Claim second = *ok(s.claim("w", 70, 1000));
  TurnCommit drop = commit_for(second, 71);
  drop.session_change = TurnCommit::SessionChange::Delete;
  (void)ok(s.commit_turn(drop));
  CHECK(ok(s.gc_bundles()) == std::vector<std::string>{b});
  CHECK(ok(s.gc_bundles()).empty());
  CHECK(ok(s.rollback(80, "ops")) == a);
}

}  // namespace
}  // namespace waflow::storage::testing
