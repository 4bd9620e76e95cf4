// The records `store` steps keep: written with the turn, found by the call
// that answers the step, queried with filters and cursors, never pruned.

#include "tests/storage/fixture.h"

namespace waflow::storage::testing {
namespace {

constexpr Millis kDay = 24LL * 3600 * 1000;

// Commits a turn for `contact` whose `store` call keeps `data` in `collection`;
// returns the call's outbox row id.
std::int64_t store_call(Store& store, const std::string& contact, const std::string& collection,
                        const std::string& data, Millis now) {
  (void)ok(store.ingest({message(contact + std::to_string(now), contact, now)}));
  Claim claim = *ok(store.claim("w", now, 60000));
  TurnCommit turn = commit_for(claim, now);
  NewOutbox call{"store", "{}", 0};
  call.record = NewRecord{0, collection, data, "signup", "store_saved", "run-" + contact};
  turn.outbox.push_back(call);
  return ok(store.commit_turn(turn)).outbox_ids.at(0);
}

TEST_CASE("a store call's record is written with its turn and found by the call") {
  StoreFixture f;
  const std::int64_t call = store_call(f.store(), "alice", "signups", R"({"name":"Alice"})", 100);
  const std::optional<std::int64_t> id = ok(f.store().record_of_call(call));
  REQUIRE(id.has_value());
  CHECK(ok(f.store().record_of_call(call + 100)) == std::nullopt);

  QueryFilter all;
  Page<StoredRecord> page = ok(f.store().records(all));
  REQUIRE(page.items.size() == 1);
  const StoredRecord& r = page.items[0];
  CHECK(r.id == *id);
  CHECK(r.collection == "signups");
  CHECK(r.key.contact == "alice");
  CHECK(r.flow == "signup");
  CHECK(r.step == "store_saved");
  CHECK(r.run == "run-alice");
  CHECK(r.data == R"({"name":"Alice"})");
  CHECK(r.created_ms == 100);
  CHECK(page.next_cursor.empty());
}

TEST_CASE("a record answered within its turn is written with the id reserved for it") {
  StoreFixture f;
  // A record of the older path first: reserved ids count on from the table.
  (void)store_call(f.store(), "alice", "signups", R"({"n":1})", 100);
  const std::int64_t first = ok(f.store().records(QueryFilter{})).items.at(0).id;
  const std::int64_t reserved = ok(f.store().reserve_record_id());
  CHECK(reserved == first + 1);
  CHECK(ok(f.store().reserve_record_id()) == first + 2);  // Never given twice.

  (void)ok(f.store().ingest({message("m-bob", "bob", 200)}));
  Claim claim = *ok(f.store().claim("w", 200, 60000));
  TurnCommit turn = commit_for(claim, 210);
  turn.records.push_back(NewRecord{reserved, "orders", R"({"pizza":"Margherita"})", "pizza",
                                   "store_order", "run-bob"});
  TurnResult committed = ok(f.store().commit_turn(turn));
  CHECK(committed.outbox_ids.empty());  // No call: the step had its answer.

  Page<StoredRecord> page = ok(f.store().records(QueryFilter{}));
  REQUIRE(page.items.size() == 2);
  const StoredRecord& r = page.items[0];  // Newest first.
  CHECK(r.id == reserved);
  CHECK(r.collection == "orders");
  CHECK(r.key.contact == "bob");
  CHECK(r.flow == "pizza");
  CHECK(r.step == "store_order");
  CHECK(r.run == "run-bob");
  CHECK(r.data == R"({"pizza":"Margherita"})");
  CHECK(r.created_ms == 210);

  // A store opened again counts on from the largest id written.
  f.reopen();
  CHECK(ok(f.store().reserve_record_id()) == reserved + 1);
}

TEST_CASE("records are filtered by collection, contact and time, newest first, page by page") {
  StoreFixture f;
  store_call(f.store(), "alice", "signups", R"({"n":1})", 100);
  store_call(f.store(), "bob", "orders", R"({"n":2})", 200);
  store_call(f.store(), "alice", "orders", R"({"n":3})", 300);
  store_call(f.store(), "carol", "orders", R"({"n":4})", 400);

  QueryFilter orders;
  orders.collection = "orders";
  orders.limit = 2;
  Page<StoredRecord> first = ok(f.store().records(orders));
  REQUIRE(first.items.size() == 2);
  CHECK(first.items[0].data == R"({"n":4})");
  CHECK(first.items[1].data == R"({"n":3})");
  REQUIRE(!first.next_cursor.empty());
  orders.cursor = first.next_cursor;
  Page<StoredRecord> second = ok(f.store().records(orders));
  REQUIRE(second.items.size() == 1);
  CHECK(second.items[0].data == R"({"n":2})");
  CHECK(second.next_cursor.empty());

  QueryFilter alice;
  alice.contact = "alice";
  CHECK(ok(f.store().records(alice)).items.size() == 2);
  QueryFilter window;
  window.since_ms = 200;
  window.until_ms = 400;
  CHECK(ok(f.store().records(window)).items.size() == 2);

  // A message cursor is no record cursor.
  QueryFilter wrong;
  wrong.cursor = first.next_cursor.substr(2);
  CHECK(!f.store().records(wrong).ok());
}

TEST_CASE("records outlive the pruning of the calls that wrote them") {
  StoreFixture f;
  const std::int64_t call = store_call(f.store(), "alice", "signups", R"({"n":1})", 100);
  std::vector<OutboxRow> rows = ok(f.store().claim_outbox(100, 10, 30000));
  REQUIRE(rows.size() == 1);
  CHECK(ok(f.store().mark_sent(call, "", 200, std::nullopt, std::nullopt)));
  CHECK(ok(f.store().prune(200 + 30 * kDay)).outbox == 1);
  CHECK(ok(f.store().records(QueryFilter{})).items.size() == 1);
}

}  // namespace
}  // namespace waflow::storage::testing
