#pragma once

// A Store that writes synchronously, over any other: every call goes to the
// store inside, but ingest_async and mark_sent_next_async keep the Store's
// own synchronous versions and writes_async() says so. Tests run the engine
// on it to cover the paths a store without asynchronous writes takes (the
// ingest and apply threads).

#include "runtime/storage/store.h"

namespace waflow::storage::testing {

class SynchronousStore final : public Store {
 public:
  explicit SynchronousStore(Store& inner) : inner_(inner) {}

  using Store::ingest;
  Result<IngestResult> ingest(const std::vector<Inbound>& batch,
                              const ClaimRequest& claims) override {
    return inner_.ingest(batch, claims);
  }
  Result<std::vector<std::int64_t>> enqueue(const std::vector<NewInbox>& rows) override {
    return inner_.enqueue(rows);
  }
  Result<PruneResult> prune(Millis now_ms) override { return inner_.prune(now_ms); }
  Result<std::optional<Claim>> claim(const std::string& worker_id, Millis now_ms,
                                     Millis lease_ms) override {
    return inner_.claim(worker_id, now_ms, lease_ms);
  }
  Result<Millis> renew(const Claim& claim, Millis now_ms, Millis lease_ms) override {
    return inner_.renew(claim, now_ms, lease_ms);
  }
  Result<TurnResult> commit_turn(const TurnCommit& turn) override {
    return inner_.commit_turn(turn);
  }
  Result<bool> release(const Claim& claim) override { return inner_.release(claim); }
  Result<std::optional<Contact>> contact(const ConversationKey& key) override {
    return inner_.contact(key);
  }
  Result<bool> set_paused(const ConversationKey& key, bool paused, Millis now_ms) override {
    return inner_.set_paused(key, paused, now_ms);
  }
  Result<std::int64_t> fire_due_timers(Millis now_ms, int limit) override {
    return inner_.fire_due_timers(now_ms, limit);
  }
  Result<std::optional<Millis>> next_timer_due() override { return inner_.next_timer_due(); }
  Result<std::vector<TimerRow>> timers(const ConversationKey& key) override {
    return inner_.timers(key);
  }
  Result<std::vector<OutboxRow>> claim_outbox(Millis now_ms, int limit, Millis lease_ms) override {
    return inner_.claim_outbox(now_ms, limit, lease_ms);
  }
  Result<SentResult> mark_sent_next(std::int64_t id, const std::string& provider_message_id,
                                    Millis now_ms, const std::optional<NewInbox>& answer,
                                    const std::optional<AiUsage>& usage,
                                    Millis next_lease_ms) override {
    return inner_.mark_sent_next(id, provider_message_id, now_ms, answer, usage, next_lease_ms);
  }
  Result<OutboxStatus> mark_retry(std::int64_t id, Millis next_attempt_ms,
                                  const std::string& error) override {
    return inner_.mark_retry(id, next_attempt_ms, error);
  }
  Result<bool> mark_failed(std::int64_t id, const std::string& error, Millis now_ms) override {
    return inner_.mark_failed(id, error, now_ms);
  }
  Result<std::optional<OutboxRow>> outbox_row(std::int64_t id) override {
    return inner_.outbox_row(id);
  }
  Result<std::optional<Millis>> next_outbox_due() override { return inner_.next_outbox_due(); }
  Result<std::string> put_bundle(const std::string& bytes, const BundleMeta& meta) override {
    return inner_.put_bundle(bytes, meta);
  }
  Result<bool> activate(const std::string& hash, Millis now_ms,
                        const std::string& author) override {
    return inner_.activate(hash, now_ms, author);
  }
  Result<std::optional<StoredBundle>> active_bundle() override { return inner_.active_bundle(); }
  Result<std::vector<BundleInfo>> list_bundles() override { return inner_.list_bundles(); }
  Result<std::string> rollback(Millis now_ms, const std::string& author) override {
    return inner_.rollback(now_ms, author);
  }
  Result<std::optional<StoredBundle>> bundle(const std::string& hash) override {
    return inner_.bundle(hash);
  }
  Result<std::vector<std::string>> gc_bundles() override { return inner_.gc_bundles(); }
  Result<Page<ConversationRecord>> conversations(const QueryFilter& filter) override {
    return inner_.conversations(filter);
  }
  Result<Page<MessageRecord>> messages(const QueryFilter& filter) override {
    return inner_.messages(filter);
  }
  Result<Page<StoredRecord>> records(const QueryFilter& filter) override {
    return inner_.records(filter);
  }
  Result<std::int64_t> reserve_record_id() override { return inner_.reserve_record_id(); }
  Result<std::optional<std::int64_t>> record_of_call(std::int64_t outbox_id) override {
    return inner_.record_of_call(outbox_id);
  }
  Result<Stats> stats(const StatsFilter& filter) override { return inner_.stats(filter); }
  Result<QueueStats> queue_stats(Millis now_ms) override { return inner_.queue_stats(now_ms); }
  Health health() override { return inner_.health(); }
  StoreStats store_stats() override { return inner_.store_stats(); }
  void close() override { inner_.close(); }

 private:
  Store& inner_;
};

}  // namespace waflow::storage::testing
