#pragma once

// Store: the durable state of `waflow serve`, behind one interface that SQLite
// implements now and PostgreSQL later (same tables, same behaviour, one test
// suite).
//
// The pipeline it serves (DESIGN.md §4):
//   ingest      webhook items -> dedup -> inbox rows, acknowledged once durable
//   claim       lease one conversation with pending inbox rows, with its session
//   commit_turn session + consumed rows + outbox + timers + log, in ONE transaction,
//               refused if the lease was lost
//   timers      due rows become inbox rows atomically (each fires once)
//   outbox      dispatchers claim due rows, oldest unfinished row per conversation
//               only, and record the outcome
//   hand-offs   ingest, commit_turn and mark_sent_next can lease the next piece
//               of work (a conversation, a reply) in their own transaction, so
//               the common path needs no separate claim
//
// Exclusion is by leases with an expiry written in the database, never by
// in-process locks: a crashed worker's lease simply runs out, and on PostgreSQL
// many replicas claim with `FOR UPDATE SKIP LOCKED` the same way. Every method is
// thread-safe and blocks until its work is durable (or refused). Expected
// failures come back as Error values; a lost lease is NotFound.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/base/result.h"
#include "runtime/storage/queries.h"
#include "runtime/storage/records.h"
#include "runtime/storage/turn.h"

namespace waflow::storage {

class Store {
 public:
  virtual ~Store() = default;

  // Ingress. One outcome per item, in order, returned after the commit, and
  // the conversations leased as `claims` asks.
  virtual Result<IngestResult> ingest(const std::vector<Inbound>& batch,
                                      const ClaimRequest& claims) = 0;
  Result<std::vector<IngestOutcome>> ingest(const std::vector<Inbound>& batch) {
    Result<IngestResult> r = ingest(batch, ClaimRequest{});
    if (!r) {
      return r.error();
    }
    return std::move(r).value().outcomes;
  }
  // Whether ingest_async and mark_sent_next_async return before their write
  // is done. A store that writes synchronously runs them on the caller's
  // thread, calling `done` before they return, so a caller that must not
  // block (a transport's I/O thread) asks first.
  virtual bool writes_async() const { return false; }
  // ingest without waiting for it: `done` gets the outcome once it is durable
  // (or refused), on the store's own thread or on the caller's; it must be
  // quick and never wait for the store's writes.
  virtual void ingest_async(std::vector<Inbound> batch, ClaimRequest claims,
                            std::function<void(Result<IngestResult>)> done) {
    done(ingest(batch, claims));
  }
  // Inbox rows the server adds itself (starts, handbacks, answers).
  virtual Result<std::vector<std::int64_t>> enqueue(const std::vector<NewInbox>& rows) = 0;
  // Forgets dedup keys and finished outbox rows older than the horizons.
  virtual Result<PruneResult> prune(Millis now_ms) = 0;

  // Work. nullopt when no conversation is ready; Claim::more says whether
  // another one is.
  virtual Result<std::optional<Claim>> claim(const std::string& worker_id, Millis now_ms,
                                             Millis lease_ms) = 0;
  // Extends a lease still held; NotFound if it was lost.
  virtual Result<Millis> renew(const Claim& claim, Millis now_ms, Millis lease_ms) = 0;
  virtual Result<TurnResult> commit_turn(const TurnCommit& turn) = 0;
  // Gives the claim back unchanged (its rows stay pending). False if it was lost.
  virtual Result<bool> release(const Claim& claim) = 0;

  // Contacts: profile and the human-handoff pause.
  virtual Result<std::optional<Contact>> contact(const ConversationKey& key) = 0;
  virtual Result<bool> set_paused(const ConversationKey& key, bool paused, Millis now_ms) = 0;

  // Timers. Returns how many fired.
  virtual Result<std::int64_t> fire_due_timers(Millis now_ms, int limit) = 0;
  virtual Result<std::optional<Millis>> next_timer_due() = 0;
  virtual Result<std::vector<TimerRow>> timers(const ConversationKey& key) = 0;

  // Outbox.
  virtual Result<std::vector<OutboxRow>> claim_outbox(Millis now_ms, int limit,
                                                      Millis lease_ms) = 0;
  // Done; `answer` (the AI/HTTP result) enters the conversation's inbox in the
  // same transaction, so a result is delivered once, and so does `usage` (an AI
  // step's tokens and latency), so a step is counted once. Neither is written when
  // the row was finished already (false).
  // With `next_lease_ms` > 0 the conversation's next row, when due, is leased
  // in the same transaction and returned for delivery.
  virtual Result<SentResult> mark_sent_next(std::int64_t id, const std::string& provider_message_id,
                                            Millis now_ms, const std::optional<NewInbox>& answer,
                                            const std::optional<AiUsage>& usage,
                                            Millis next_lease_ms) = 0;
  // mark_sent_next without waiting for it, as ingest_async.
  virtual void mark_sent_next_async(std::int64_t id, std::string provider_message_id, Millis now_ms,
                                    std::optional<NewInbox> answer, std::optional<AiUsage> usage,
                                    Millis next_lease_ms,
                                    std::function<void(Result<SentResult>)> done) {
    done(mark_sent_next(id, provider_message_id, now_ms, answer, usage, next_lease_ms));
  }
  Result<bool> mark_sent(std::int64_t id, const std::string& provider_message_id, Millis now_ms,
                         const std::optional<NewInbox>& answer,
                         const std::optional<AiUsage>& usage) {
    Result<SentResult> r = mark_sent_next(id, provider_message_id, now_ms, answer, usage, 0);
    if (!r) {
      return r.error();
    }
    return r.value().marked;
  }
  // Back to pending until next_attempt_ms; dead once attempts reach the limit.
  virtual Result<OutboxStatus> mark_retry(std::int64_t id, Millis next_attempt_ms,
                                          const std::string& error) = 0;
  virtual Result<bool> mark_failed(std::int64_t id, const std::string& error, Millis now_ms) = 0;
  virtual Result<std::optional<OutboxRow>> outbox_row(std::int64_t id) = 0;
  virtual Result<std::optional<Millis>> next_outbox_due() = 0;

  // Deployments. put_bundle returns the hash (SHA-256 of the bytes).
  virtual Result<std::string> put_bundle(const std::string& bytes, const BundleMeta& meta) = 0;
  virtual Result<bool> activate(const std::string& hash, Millis now_ms,
                                const std::string& author) = 0;
  virtual Result<std::optional<StoredBundle>> active_bundle() = 0;
  virtual Result<std::vector<BundleInfo>> list_bundles() = 0;
  // Back to the previously active bundle; returns its hash.
  virtual Result<std::string> rollback(Millis now_ms, const std::string& author) = 0;
  virtual Result<std::optional<StoredBundle>> bundle(const std::string& hash) = 0;
  // Deletes bundles no one needs; returns the hashes deleted.
  virtual Result<std::vector<std::string>> gc_bundles() = 0;

  // Queries.
  virtual Result<Page<ConversationRecord>> conversations(const QueryFilter& filter) = 0;
  virtual Result<Page<MessageRecord>> messages(const QueryFilter& filter) = 0;
  // Records of `store` steps (filter: device, contact, flow, collection, time).
  virtual Result<Page<StoredRecord>> records(const QueryFilter& filter) = 0;
  // A new record id, for a `store` step answered within its turn; the record
  // is written with that id by the turn's commit (TurnCommit::records). An id
  // is never given twice while the store is open, nor ever after its record
  // was written; one whose turn did not commit is simply not used.
  virtual Result<std::int64_t> reserve_record_id() = 0;
  // The id of the record the outbox row `outbox_id` (a `store` call) wrote with
  // its turn, or nullopt when it wrote none.
  virtual Result<std::optional<std::int64_t>> record_of_call(std::int64_t outbox_id) = 0;
  virtual Result<Stats> stats(const StatsFilter& filter) = 0;
  virtual Result<QueueStats> queue_stats(Millis now_ms) = 0;

  // Operations.
  virtual Health health() = 0;
  virtual StoreStats store_stats() = 0;
  // Finishes queued writes, stops the writer, closes connections. Idempotent;
  // every other call afterwards fails.
  virtual void close() = 0;
};

}  // namespace waflow::storage
