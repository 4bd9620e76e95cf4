// Queries: cursor pagination of conversations and messages, and stats.

#include <set>

#include "tests/storage/fixture.h"

namespace waflow::storage::testing {
namespace {

constexpr Millis kDay = 24LL * 3600 * 1000;

// One turn for `contact` at `now` that applies `edit` to the commit.
template <typename Edit>
void turn(Store& store, const std::string& contact, Millis now, Edit edit) {
  (void)ok(store.enqueue({NewInbox{key(contact), InboxKind::Start, "", "", "{}", now}}));
  Claim claim = *ok(store.claim("w", now, 60000));
  REQUIRE(claim.key == key(contact));
  TurnCommit commit = commit_for(claim, now);
  edit(commit);
  (void)ok(store.commit_turn(commit));
}

ConversationUpdate start(const std::string& run, const std::string& flow, Millis at,
                         const std::string& step = "") {
  return ConversationUpdate{ConversationUpdate::Op::Start, run, flow, "h", step, "", at};
}

ConversationUpdate end(const std::string& run, const std::string& status, const std::string& step,
                       Millis at) {
  return ConversationUpdate{ConversationUpdate::Op::End, run, "", "", step, status, at};
}

LogMessage line(bool out, Millis at, const std::string& flow, const std::string& text) {
  return LogMessage{out ? LogMessage::Direction::Out : LogMessage::Direction::In,
                    at,
                    flow,
                    "s",
                    "text",
                    text,
                    "{}",
                    "1"};
}

TEST_CASE("conversation pages follow each other without duplicates or gaps") {
  StoreFixture f;
  // 37 conversations over 5 contacts; several share a start time, so the id
  // breaks ties.
  for (int i = 0; i < 37; ++i) {
    const std::string contact = "c" + std::to_string(i % 5);
    turn(f.store(), contact, 1000 + i, [&](TurnCommit& t) {
      t.conversations.push_back(
          start("r" + std::to_string(i), i % 2 ? "pizza" : "menu", 1000 + (i / 3) * 10));
    });
  }
  QueryFilter filter;
  filter.limit = 5;
  std::vector<std::int64_t> seen;
  std::set<std::int64_t> unique;
  Millis last_time = INT64_MAX;
  std::int64_t last_id = INT64_MAX;
  int pages = 0;
  for (;;) {
    Page<ConversationRecord> page = ok(f.store().conversations(filter));
    ++pages;
    for (const ConversationRecord& r : page.items) {
      // Newest first, (time, id) strictly decreasing.
      CHECK((r.started_ms < last_time || (r.started_ms == last_time && r.id < last_id)));
      last_time = r.started_ms;
      last_id = r.id;
      seen.push_back(r.id);
      unique.insert(r.id);
    }
    if (pages == 2) {
      // A conversation that starts while someone pages is newer than the
      // cursor: it shows on a new first page, not in the middle.
      turn(f.store(), "late", 5000,
           [](TurnCommit& t) { t.conversations.push_back(start("x", "menu", 5000)); });
    }
    if (page.next_cursor.empty()) {
      break;
    }
    filter.cursor = page.next_cursor;
  }
  CHECK(pages == 8);
  CHECK(seen.size() == 37);
  CHECK(unique.size() == 37);

  QueryFilter pizza;
  pizza.flow = "pizza";
  pizza.limit = 100;
  Page<ConversationRecord> only = ok(f.store().conversations(pizza));
  CHECK(only.items.size() == 18);
  CHECK(only.next_cursor.empty());
  QueryFilter one;
  one.contact = "c1";
  one.since_ms = 1050;
  one.until_ms = 1100;
  one.limit = 100;
  for (const ConversationRecord& r : ok(f.store().conversations(one)).items) {
    CHECK(r.key.contact == "c1");
    CHECK(r.started_ms >= 1050);
    CHECK(r.started_ms < 1100);
    CHECK(r.status == "active");
  }
}

TEST_CASE("message pages filter by direction and refuse foreign cursors") {
  StoreFixture f;
  turn(f.store(), "alice", 100, [](TurnCommit& t) {
    for (int i = 0; i < 9; ++i) {
      t.messages.push_back(line(i % 3 == 0, 100 + i, "pizza", "m" + std::to_string(i)));
    }
  });
  QueryFilter out;
  out.outbound = true;
  out.limit = 2;
  Page<MessageRecord> first = ok(f.store().messages(out));
  REQUIRE(first.items.size() == 2);
  CHECK(first.items[0].text == "m6");
  CHECK(first.items[1].text == "m3");
  CHECK(first.items[0].outbound);
  out.cursor = first.next_cursor;
  Page<MessageRecord> second = ok(f.store().messages(out));
  REQUIRE(second.items.size() == 1);
  CHECK(second.items[0].text == "m0");
  CHECK(second.next_cursor.empty());

  QueryFilter in;
  in.outbound = false;
  in.limit = 100;
  CHECK(ok(f.store().messages(in)).items.size() == 6);

  QueryFilter wrong;
  wrong.cursor = first.next_cursor;
  Result<Page<ConversationRecord>> refused = f.store().conversations(wrong);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::InvalidInput);
  wrong.cursor = "zz";
  CHECK(refused.error().message.find("invalid cursor") == 0);
  CHECK_FALSE(f.store().messages(wrong).ok());
  QueryFilter too_many;
  too_many.limit = 5000;
  CHECK(f.store().messages(too_many).error().message ==
        "limit must be between 1 and 1000, not 5000");
}

TEST_CASE("stats count messages per day, starts, completions and drop-off") {
  StoreFixture f;
  const Millis day1 = 19844 * kDay;  // 2024-05-01
  const Millis day2 = day1 + kDay;
  turn(f.store(), "alice", day1 + 10, [&](TurnCommit& t) {
    t.conversations.push_back(start("1", "pizza", day1 + 10, "menu"));
    t.messages = {line(false, day1 + 10, "pizza", "hi"), line(true, day1 + 11, "pizza", "menu?"),
                  line(false, day1 + 12, "pizza", "margherita")};
  });
  turn(f.store(), "alice", day1 + 20,
       [&](TurnCommit& t) { t.conversations.push_back(end("1", "completed", "done", day1 + 20)); });
  turn(f.store(), "bob", day2 + 10, [&](TurnCommit& t) {
    t.conversations.push_back(start("1", "pizza", day2 + 10, "menu"));
    t.conversations.push_back(end("1", "expired", "address", day2 + 10));
    t.messages = {line(false, day2 + 10, "pizza", "hi"), line(true, day2 + 11, "pizza", "menu?"),
                  line(true, day2 + 12, "pizza", "address?")};
  });
  turn(f.store(), "carol", day2 + 20, [&](TurnCommit& t) {
    t.conversations.push_back(start("1", "pizza", day2 + 20, "address"));
  });
  turn(f.store(), "dave", day2 + 30, [&](TurnCommit& t) {
    t.conversations.push_back(start("1", "booking", day2 + 30, "when"));
    t.conversations.push_back(end("1", "", "", day2 + 31));  // Completed by default.
  });
  turn(f.store(), "erin", day2 + 40, [&](TurnCommit& t) {
    t.conversations.push_back(start("1", "pizza", day2 + 40, "menu"));
    t.conversations.push_back(end("1", "ended", "", day2 + 41));
  });

  Stats stats = ok(f.store().stats(StatsFilter{}));
  REQUIRE(stats.messages_per_day.size() == 2);
  CHECK(stats.messages_per_day[0].day == "2024-05-01");
  CHECK(stats.messages_per_day[0].in == 2);
  CHECK(stats.messages_per_day[0].out == 1);
  CHECK(stats.messages_per_day[1].day == "2024-05-02");
  CHECK(stats.messages_per_day[1].in == 1);
  CHECK(stats.messages_per_day[1].out == 2);

  REQUIRE(stats.flows.size() == 2);
  CHECK(stats.flows[0].flow == "booking");
  CHECK(stats.flows[0].started == 1);
  CHECK(stats.flows[0].completed == 1);
  CHECK(stats.flows[1].flow == "pizza");
  CHECK(stats.flows[1].started == 4);
  CHECK(stats.flows[1].completed == 1);
  CHECK(stats.flows[1].active == 1);

  // pizza: bob dropped at address, carol waits there; erin dropped at menu.
  REQUIRE(stats.steps.size() == 2);
  CHECK(stats.steps[0].flow == "pizza");
  CHECK(stats.steps[0].step == "address");
  CHECK(stats.steps[0].dropped == 1);
  CHECK(stats.steps[0].active == 1);
  CHECK(stats.steps[1].step == "menu");
  CHECK(stats.steps[1].dropped == 1);
  CHECK(stats.steps[1].active == 0);

  StatsFilter second_day;
  second_day.since_ms = day2;
  second_day.flow = "pizza";
  Stats narrow = ok(f.store().stats(second_day));
  REQUIRE(narrow.messages_per_day.size() == 1);
  REQUIRE(narrow.flows.size() == 1);
  CHECK(narrow.flows[0].started == 3);
  CHECK(narrow.flows[0].completed == 0);

  QueryFilter of_bob;
  of_bob.contact = "bob";
  ConversationRecord bob = ok(f.store().conversations(of_bob)).items.at(0);
  CHECK(bob.status == "expired");
  CHECK(bob.last_step == "address");
  CHECK(bob.ended_ms == day2 + 10);
}

}  // namespace
}  // namespace waflow::storage::testing

namespace waflow::storage::testing {
namespace {

TEST_CASE("queue stats count what waits and how old the oldest is") {
  StoreFixture f;
  Store& store = f.store();
  QueueStats empty = ok(store.queue_stats(1000));
  CHECK(empty.inbox_pending == 0);
  CHECK_FALSE(empty.inbox_oldest_ms.has_value());
  CHECK(empty.outbox_open == 0);
  CHECK(empty.timers_due == 0);
  CHECK(empty.sessions_by_bundle.empty());

  (void)ok(store.ingest({message("m1", "alice", 100), message("m2", "bob", 200)}));
  QueueStats waiting = ok(store.queue_stats(1000));
  CHECK(waiting.inbox_pending == 2);
  CHECK(waiting.inbox_oldest_ms == std::optional<Millis>(100));

  // Alice's turn: two sends, a timer due at 5000, a session on bundle "h".
  Claim claim = *ok(store.claim("w", 1000, 60000));
  REQUIRE(claim.key == key("alice"));
  TurnCommit commit = commit_for(claim, 1000);
  commit.outbox.push_back(NewOutbox{"send", "{}", 0});
  commit.outbox.push_back(NewOutbox{"send", "{}", 0});
  commit.timers.push_back(NewTimer{5000, "session", "session", "{}"});
  commit.session_change = TurnCommit::SessionChange::Put;
  commit.session.blob = "x";
  commit.session.bundle_hash = "h";
  (void)ok(store.commit_turn(commit));

  QueueStats after = ok(store.queue_stats(2000));
  CHECK(after.inbox_pending == 1);
  CHECK(after.inbox_oldest_ms == std::optional<Millis>(200));
  CHECK(after.outbox_open == 2);
  CHECK(after.outbox_oldest_ms == std::optional<Millis>(1000));
  CHECK(after.timers_due == 0);
  CHECK(after.sessions_by_bundle == std::vector<std::pair<std::string, std::int64_t>>{{"h", 1}});
  QueueStats later = ok(store.queue_stats(6000));
  CHECK(later.timers_due == 1);
  CHECK(later.timers_oldest_due_ms == std::optional<Millis>(5000));
}

}  // namespace
}  // namespace waflow::storage::testing
