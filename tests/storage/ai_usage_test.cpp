// AI usage: what an AI step used is written with the answer that resumes its conversation,
// once, and the stats count it per UTC day and model.

#include "tests/storage/fixture.h"

namespace waflow::storage::testing {
namespace {

constexpr Millis kMay1 = 1714521600000;  // 2024-05-01T00:00:00Z
constexpr Millis kDay = 24LL * 3600 * 1000;

// Commits a turn for `contact` on `device` that asks for one AI step, and claims that row.
OutboxRow ai_row(Store& store, const std::string& contact, Millis now,
                 const std::string& device = "bot-1") {
  Inbound in = message(contact + std::to_string(now), contact, now);
  in.key.device = device;
  (void)ok(store.ingest({in}));
  Claim claim = *ok(store.claim("w", now, 60000));
  TurnCommit turn = commit_for(claim, now);
  turn.outbox.push_back(NewOutbox{"ai", R"({"id":"1:1","effect":"ai_reply"})", 0});
  (void)ok(store.commit_turn(turn));
  std::vector<OutboxRow> rows = ok(store.claim_outbox(now, 10, 60000));
  REQUIRE(rows.size() == 1);
  return rows[0];
}

AiUsage usage(const std::string& model, std::int64_t in, std::int64_t out, std::int64_t ms,
              bool ok = true, const std::string& flow = "support") {
  AiUsage u;
  u.provider = "openai";
  u.model = model;
  u.flow = flow;
  u.step = "ai_reply_1";
  u.input_tokens = in;
  u.output_tokens = out;
  u.latency_ms = ms;
  u.ok = ok;
  return u;
}

// Answers `row` with `u`, as the engine does when an AI step is done.
bool answer(Store& store, const OutboxRow& row, Millis now, const AiUsage& u) {
  NewInbox in{row.key, InboxKind::Answer, "1:1", "", R"({"ok":true,"text":"Hi"})", now};
  const bool marked = ok(store.mark_sent(row.id, "", now, in, u));
  // The answer resumes the conversation; consume it so the next turn can be claimed.
  if (std::optional<Claim> claim = ok(store.claim("w", now, 60000))) {
    (void)ok(store.commit_turn(commit_for(*claim, now)));
  }
  return marked;
}

}  // namespace

TEST_CASE("an AI step's usage is written with its answer, once") {
  StoreFixture f;
  const OutboxRow row = ai_row(f.store(), "alice", kMay1 + 1000);
  CHECK(answer(f.store(), row, kMay1 + 2000, usage("mock/a", 12, 3, 800)));
  // A second dispatcher finishing the same row (its lease ran out) writes nothing.
  CHECK_FALSE(answer(f.store(), row, kMay1 + 3000, usage("mock/a", 12, 3, 900)));
  const Stats stats = ok(f.store().stats(StatsFilter{}));
  REQUIRE(stats.ai_usage.size() == 1);
  const AiUsageCount& c = stats.ai_usage[0];
  CHECK(c.day == "2024-05-01");
  CHECK(c.provider == "openai");
  CHECK(c.model == "mock/a");
  CHECK(c.calls == 1);
  CHECK(c.errors == 0);
  CHECK(c.input_tokens == 12);
  CHECK(c.output_tokens == 3);
  CHECK(c.latency_p50_ms == 800);
  CHECK(c.latency_mean_ms == 800);
}

TEST_CASE("stats count AI usage per day and model: calls, errors, tokens, median and mean") {
  StoreFixture f;
  Store& s = f.store();
  // Day 1: mock/a three times (one failure), mock/b once; day 2: mock/a once, in another flow.
  answer(s, ai_row(s, "alice", kMay1 + 10), kMay1 + 20, usage("mock/a", 10, 2, 100));
  answer(s, ai_row(s, "bob", kMay1 + 30), kMay1 + 40, usage("mock/a", 20, 4, 400));
  answer(s, ai_row(s, "carol", kMay1 + 50), kMay1 + 60, usage("mock/a", 5, 0, 250, false));
  answer(s, ai_row(s, "alice", kMay1 + 70, "bot-2"), kMay1 + 80, usage("mock/b", 7, 1, 50));
  answer(s, ai_row(s, "bob", kMay1 + kDay), kMay1 + kDay + 10,
         usage("mock/a", 30, 6, 1000, true, "sales"));

  const Stats all = ok(s.stats(StatsFilter{}));
  REQUIRE(all.ai_usage.size() == 3);
  const AiUsageCount& a1 = all.ai_usage[0];
  CHECK(a1.day == "2024-05-01");
  CHECK(a1.model == "mock/a");
  CHECK(a1.calls == 3);
  CHECK(a1.errors == 1);
  CHECK(a1.input_tokens == 35);
  CHECK(a1.output_tokens == 6);
  CHECK(a1.latency_p50_ms == 250);
  CHECK(a1.latency_mean_ms == 250);
  CHECK(all.ai_usage[1].day == "2024-05-01");
  CHECK(all.ai_usage[1].model == "mock/b");
  CHECK(all.ai_usage[1].calls == 1);
  CHECK(all.ai_usage[2].day == "2024-05-02");
  CHECK(all.ai_usage[2].model == "mock/a");
  CHECK(all.ai_usage[2].input_tokens == 30);

  // The filters of the other stats apply: flow, device, time.
  StatsFilter sales;
  sales.flow = "sales";
  const Stats by_flow = ok(s.stats(sales));
  REQUIRE(by_flow.ai_usage.size() == 1);
  CHECK(by_flow.ai_usage[0].day == "2024-05-02");
  StatsFilter bot2;
  bot2.device = "bot-2";
  const Stats by_device = ok(s.stats(bot2));
  REQUIRE(by_device.ai_usage.size() == 1);
  CHECK(by_device.ai_usage[0].model == "mock/b");
  StatsFilter day2;
  day2.since_ms = kMay1 + kDay;
  CHECK(ok(s.stats(day2)).ai_usage.size() == 1);

  // An even count: the lower of the two middle latencies.
  answer(s, ai_row(s, "dave", kMay1 + 90), kMay1 + 95, usage("mock/a", 1, 1, 300));
  const Stats four = ok(s.stats(StatsFilter{}));
  CHECK(four.ai_usage[0].calls == 4);
  CHECK(four.ai_usage[0].latency_p50_ms == 250);
  CHECK(four.ai_usage[0].latency_mean_ms == 263);  // 1050 / 4, rounded.
}

TEST_CASE("a row finished without usage records none") {
  StoreFixture f;
  const OutboxRow row = ai_row(f.store(), "alice", kMay1);
  CHECK(ok(f.store().mark_sent(row.id, "", kMay1 + 5, std::nullopt, std::nullopt)));
  CHECK(ok(f.store().stats(StatsFilter{})).ai_usage.empty());
}

}  // namespace waflow::storage::testing
