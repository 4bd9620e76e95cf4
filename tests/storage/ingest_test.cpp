// Ingress: dedup on the provider's message id, inbox rows, status updates.

#include "tests/storage/fixture.h"

namespace waflow::storage::testing {
namespace {

constexpr Millis kDay = 24LL * 3600 * 1000;

std::vector<std::string> refs(const Claim& claim) {
  std::vector<std::string> out;
  for (const InboxRow& row : claim.rows) {
    out.push_back(row.ref);
  }
  return out;
}

TEST_CASE("a redelivered message is a duplicate, also after a restart") {
  StoreFixture f;
  using O = IngestOutcome;
  CHECK(ok(f.store().ingest({message("wamid.1", "alice", 1000)})) == std::vector<O>{O::New});
  CHECK(ok(f.store().ingest({message("wamid.1", "alice", 1001)})) == std::vector<O>{O::Duplicate});
  // Twice in one batch: the second sees the first.
  CHECK(ok(f.store().ingest(
            {message("wamid.2", "alice", 1002), message("wamid.2", "alice", 1002)})) ==
        std::vector<O>{O::New, O::Duplicate});
  f.reopen();
  CHECK(ok(f.store().ingest(
            {message("wamid.1", "alice", 5000), message("wamid.3", "alice", 5001)})) ==
        std::vector<O>{O::Duplicate, O::New});

  // The same id from another account or gateway is another message.
  Inbound other = message("wamid.1", "alice", 6000);
  other.account = "acct-2";
  CHECK(ok(f.store().ingest({other})) == std::vector<O>{O::New});

  std::optional<Claim> claim = ok(f.store().claim("w1", 7000, 60000));
  REQUIRE(claim);
  CHECK(claim->key == key("alice"));
  CHECK(refs(*claim) == std::vector<std::string>{"wamid.1", "wamid.2", "wamid.3", "wamid.1"});
  CHECK(claim->rows[0].kind == InboxKind::Message);
  CHECK(claim->rows[0].payload == R"({"text":"hi"})");
  CHECK(claim->rows[0].received_ms == 1000);
}

TEST_CASE("prune forgets dedup keys only after the horizon") {
  StoreFixture f;
  (void)ok(f.store().ingest({message("old", "alice", 0), message("young", "alice", 2 * kDay)}));
  PruneResult pruned = ok(f.store().prune(7 * kDay + 1));
  CHECK(pruned.seen == 1);
  using O = IngestOutcome;
  CHECK(ok(f.store().ingest(
            {message("old", "alice", 8 * kDay), message("young", "alice", 8 * kDay)})) ==
        std::vector<O>{O::New, O::Duplicate});
}

TEST_CASE("status updates are recorded against the outbound message, never as inbox rows") {
  StoreFixture f;
  (void)ok(f.store().ingest({message("in.1", "alice", 100)}));
  Claim claim = *ok(f.store().claim("w1", 200, 60000));
  TurnCommit turn = commit_for(claim, 300);
  turn.outbox.push_back(NewOutbox{"send", R"({"text":"hello"})", 0});
  TurnResult result = ok(f.store().commit_turn(turn));
  REQUIRE(result.outbox_ids.size() == 1);
  std::vector<OutboxRow> due = ok(f.store().claim_outbox(400, 10, 30000));
  REQUIRE(due.size() == 1);
  CHECK(ok(f.store().mark_sent(due[0].id, "wamid.out", 500, std::nullopt, std::nullopt)));

  using O = IngestOutcome;
  // Out of order: "read" before "delivered"; the later state stays.
  CHECK(
      ok(f.store().ingest({status("wamid.out", "read", 900), status("wamid.out", "delivered", 800),
                           status("wamid.nobody", "read", 900)})) ==
      std::vector<O>{O::StatusApplied, O::StatusApplied, O::StatusUnknown});
  std::optional<OutboxRow> row = ok(f.store().outbox_row(due[0].id));
  REQUIRE(row);
  CHECK(row->delivery_status == "read");
  CHECK(row->provider_message_id == "wamid.out");
  CHECK_FALSE(ok(f.store().claim("w1", 1000, 60000)));
}

TEST_CASE("malformed inbound items are refused before anything is written") {
  StoreFixture f;
  Inbound no_id = message("", "alice", 100);
  Result<std::vector<IngestOutcome>> refused =
      f.store().ingest({message("good", "alice", 100), no_id});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::InvalidInput);
  CHECK(refused.error().message == "inbound item 2: no provider message id");

  Result<std::vector<IngestOutcome>> bad_status = f.store().ingest({status("x", "seen", 1)});
  REQUIRE_FALSE(bad_status.ok());
  CHECK(bad_status.error().message ==
        "inbound item 1: unknown status 'seen' (expected sent, delivered, read or failed)");

  Inbound no_contact = message("m", "", 100);
  CHECK_FALSE(f.store().ingest({no_contact}).ok());
  CHECK_FALSE(ok(f.store().claim("w1", 1000, 60000)));
  // "good" was not remembered either.
  CHECK(ok(f.store().ingest({message("good", "alice", 100)})) ==
        std::vector<IngestOutcome>{IngestOutcome::New});
}

TEST_CASE("the server's own inbox rows keep their kind, ref and payload") {
  StoreFixture f;
  std::vector<std::int64_t> ids = ok(f.store().enqueue({
      NewInbox{key("alice"), InboxKind::Start, "api-1", "pizza", R"({"flow":"pizza"})", 10},
      NewInbox{key("alice"), InboxKind::Answer, "3:7", "", R"({"ok":true})", 20},
      NewInbox{key("alice"), InboxKind::Handback, "", "", "{}", 30},
  }));
  REQUIRE(ids.size() == 3);
  Claim claim = *ok(f.store().claim("w1", 100, 60000));
  REQUIRE(claim.rows.size() == 3);
  CHECK(claim.rows[0].id == ids[0]);
  CHECK(claim.rows[0].kind == InboxKind::Start);
  CHECK(claim.rows[0].detail == "pizza");
  CHECK(claim.rows[1].kind == InboxKind::Answer);
  CHECK(claim.rows[1].ref == "3:7");
  CHECK(claim.rows[2].kind == InboxKind::Handback);
  CHECK(claim.rows[2].received_ms == 30);
}

}  // namespace
}  // namespace waflow::storage::testing
