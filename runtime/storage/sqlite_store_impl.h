#pragma once

// The SQLite Store's class, private to runtime/storage: the writer thread with
// its queue (group commit), the pool of read connections, and the operations,
// which live in sqlite_*.cpp by area.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "runtime/storage/sqlite_db.h"
#include "runtime/storage/sqlite_store.h"

namespace waflow::storage {

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, SqliteOptions options, sql::Db writer, std::vector<sql::Db> readers,
              std::int64_t last_record_id);
  ~SqliteStore() override;

  using Store::ingest;
  using Store::mark_sent;
  Result<IngestResult> ingest(const std::vector<Inbound>& batch,
                              const ClaimRequest& claims) override;
  bool writes_async() const override { return true; }
  void ingest_async(std::vector<Inbound> batch, ClaimRequest claims,
                    std::function<void(Result<IngestResult>)> done) override;
  Result<std::vector<std::int64_t>> enqueue(const std::vector<NewInbox>& rows) override;
  Result<PruneResult> prune(Millis now_ms) override;

  Result<std::optional<Claim>> claim(const std::string& worker_id, Millis now_ms,
                                     Millis lease_ms) override;
  Result<Millis> renew(const Claim& claim, Millis now_ms, Millis lease_ms) override;
  Result<TurnResult> commit_turn(const TurnCommit& turn) override;
  Result<bool> release(const Claim& claim) override;

  Result<std::optional<Contact>> contact(const ConversationKey& key) override;
  Result<bool> set_paused(const ConversationKey& key, bool paused, Millis now_ms) override;

  Result<std::int64_t> fire_due_timers(Millis now_ms, int limit) override;
  Result<std::optional<Millis>> next_timer_due() override;
  Result<std::vector<TimerRow>> timers(const ConversationKey& key) override;

  Result<std::vector<OutboxRow>> claim_outbox(Millis now_ms, int limit, Millis lease_ms) override;
  Result<SentResult> mark_sent_next(std::int64_t id, const std::string& provider_message_id,
                                    Millis now_ms, const std::optional<NewInbox>& answer,
                                    const std::optional<AiUsage>& usage,
                                    Millis next_lease_ms) override;
  void mark_sent_next_async(std::int64_t id, std::string provider_message_id, Millis now_ms,
                            std::optional<NewInbox> answer, std::optional<AiUsage> usage,
                            Millis next_lease_ms,
                            std::function<void(Result<SentResult>)> done) override;
  Result<OutboxStatus> mark_retry(std::int64_t id, Millis next_attempt_ms,
                                  const std::string& error) override;
  Result<bool> mark_failed(std::int64_t id, const std::string& error, Millis now_ms) override;
  Result<std::optional<OutboxRow>> outbox_row(std::int64_t id) override;
  Result<std::optional<Millis>> next_outbox_due() override;

  Result<std::string> put_bundle(const std::string& bytes, const BundleMeta& meta) override;
  Result<bool> activate(const std::string& hash, Millis now_ms, const std::string& author) override;
  Result<std::optional<StoredBundle>> active_bundle() override;
  Result<std::vector<BundleInfo>> list_bundles() override;
  Result<std::string> rollback(Millis now_ms, const std::string& author) override;
  Result<std::optional<StoredBundle>> bundle(const std::string& hash) override;
  Result<std::vector<std::string>> gc_bundles() override;

  Result<Page<ConversationRecord>> conversations(const QueryFilter& filter) override;
  Result<Page<MessageRecord>> messages(const QueryFilter& filter) override;
  Result<Page<StoredRecord>> records(const QueryFilter& filter) override;
  Result<std::int64_t> reserve_record_id() override;
  Result<std::optional<std::int64_t>> record_of_call(std::int64_t outbox_id) override;
  Result<Stats> stats(const StatsFilter& filter) override;
  Result<QueueStats> queue_stats(Millis now_ms) override;

  Health health() override;
  StoreStats store_stats() override;
  void close() override;

 private:
  // One caller's request, queued for the writer. `run` executes inside the
  // batch's transaction, in its own SAVEPOINT; false rolls that savepoint back.
  // `fail` replaces the outcome when the whole batch could not commit.
  struct WriteRequest {
    std::function<bool(sql::Db&)> run;
    std::function<void(const Error&)> fail;
    // An asynchronous request's continuation (write_async): the writer runs it
    // once the outcome is final and then deletes the request, made with new.
    std::function<void()> then;
    // A synchronous request's wake-up, set by the writer once the outcome is
    // final. A mutex and a condition variable rather than a semaphore:
    // libstdc++'s semaphore spins on sched_yield before it sleeps, which cost
    // the server a tenth of its CPU with many callers waiting on commits. They
    // live apart from the request, which is on the caller's stack and may go
    // as soon as the caller sees `done`: the writer keeps them alive to notify
    // after unlocking, so the woken caller does not find the mutex still held
    // and sleep on it again.
    struct Completion {
      std::mutex mutex;
      std::condition_variable cv;
      bool done = false;
    };
    std::shared_ptr<Completion> completion;

    void finish() {
      const std::shared_ptr<Completion> c = completion;
      {
        std::lock_guard lock(c->mutex);
        c->done = true;
      }
      c->cv.notify_one();
    }
    void await() {
      Completion& c = *completion;
      std::unique_lock lock(c.mutex);
      c.cv.wait(lock, [&c] { return c.done; });
    }
  };

  // Makes `request` run `body` and keep its outcome (or the batch's failure)
  // in `out`, each named by `what`.
  template <typename T, typename Body>
  static void bind_body(WriteRequest& request, std::string_view what, Body& body,
                        std::optional<Result<T>>& out) {
    request.run = [&body, &out, what](sql::Db& db) {
      try {
        out.emplace(body(db));
      } catch (const sql::SqlFailure& failure) {
        out.emplace(sql::to_error(failure, what));
      } catch (const std::exception& e) {
        out.emplace(Error{ErrorCode::Io, std::string(what) + ": " + e.what()});
      }
      return out->ok();
    };
    request.fail = [&out, what](const Error& error) {
      out.emplace(Error{error.code, std::string(what) + ": " + error.message});
    };
  }

  // One page of a query newest first with keyset paging (sqlite_queries.cpp):
  // `sql` takes the filter's parameters ?1..?8, `bind_more` binds any others,
  // `read_row` reads an item and `key` gives an item's (time, id) cursor.
  template <typename T, typename BindMore, typename ReadRow, typename Key>
  Result<Page<T>> page_of(std::string_view what, const QueryFilter& filter, const std::string& sql,
                          BindMore bind_more, ReadRow read_row, Key key);

  // Runs `body(db)` on the writer thread inside a group-committed transaction
  // and returns its outcome once the transaction committed (or failed).
  template <typename T, typename Body>
  Result<T> write(std::string_view what, Body&& body) {
    std::optional<Result<T>> out;
    WriteRequest request;
    bind_body(request, what, body, out);
    request.completion = std::make_shared<WriteRequest::Completion>();
    if (!submit(request)) {
      return Error{ErrorCode::Io, std::string(what) + ": the store is closed"};
    }
    request.await();
    return std::move(*out);
  }

  // As write, without waiting: `done` gets the outcome on the writer thread
  // once the transaction committed (or failed), or at once on this thread
  // when the store is closed. `body` must own what it reads.
  template <typename T, typename Body>
  void write_async(std::string_view what, Body body, std::function<void(Result<T>)> done) {
    struct State {
      Body body;
      std::optional<Result<T>> out;
    };
    auto state = std::make_shared<State>(State{std::move(body), std::nullopt});
    auto request = std::make_unique<WriteRequest>();
    bind_body(*request, what, state->body, state->out);
    request->then = [state, done] {
      done(std::move(*state->out));
    };
    WriteRequest* queued = request.release();  // The writer deletes it after `then`.
    if (!submit(*queued)) {
      delete queued;
      done(Error{ErrorCode::Io, std::string(what) + ": the store is closed"});
    }
  }

  // Runs `body(db)` on a read connection, inside one read transaction so that
  // several statements see the same snapshot.
  template <typename T, typename Body>
  Result<T> read(std::string_view what, Body&& body) {
    sql::Db* db = take_reader();
    if (db == nullptr) {
      return Error{ErrorCode::Io, std::string(what) + ": the store is closed"};
    }
    std::optional<Result<T>> out;
    try {
      db->exec("BEGIN");
      out.emplace(body(*db));
      db->exec("COMMIT");
    } catch (const sql::SqlFailure& failure) {
      out.emplace(sql::to_error(failure, what));
    } catch (const std::exception& e) {
      out.emplace(Error{ErrorCode::Io, std::string(what) + ": " + e.what()});
    }
    if (db->in_transaction()) {
      db->try_exec("ROLLBACK");
    }
    give_back_reader(db);
    return std::move(*out);
  }

  bool submit(WriteRequest& request);
  void writer_loop();
  // Runs `batch` in one transaction; while conversations handed over early
  // have turns to come, it takes more queued requests into the same one.
  void run_batch(std::vector<WriteRequest*>& batch);
  // Takes queued requests into `batch`, up to max_batch (queue_mutex_ held).
  void take_queued(std::vector<WriteRequest*>& batch);
  sql::Db* take_reader();
  void give_back_reader(sql::Db* db);

  // Shared steps of the write operations (sqlite_work.cpp).
  std::int64_t contact_id(sql::Db& db, const ConversationKey& key, Millis now_ms);
  std::int64_t add_contact(sql::Db& db, const ConversationKey& key, Millis now_ms);
  // The contact of a message that came with ClaimRequest::turn, and its claim
  // without a lease when no one holds it and none of its rows is pending: the
  // message goes with the claim as a row with id 0, stored only if its turn
  // is not written (ingest_in).
  std::int64_t arrival(sql::Db& db, const Inbound& item, const ClaimRequest& claims,
                       std::optional<Claim>& free);
  std::int64_t add_inbox(sql::Db& db, std::int64_t contact_id, const NewInbox& row);
  // The turn of a conversation handed over early came (a commit or a release).
  void joined(std::int64_t contact_id);
  // Leases the contact unless someone holds it; its claim with the pending rows.
  std::optional<Claim> lease_contact(sql::Db& db, std::int64_t contact_id,
                                     const ConversationKey& key, const std::string& worker_id,
                                     Millis now_ms, Millis lease_ms);
  // ingest's checks, before anything is written, and its work, inside the
  // writer's transaction.
  static std::optional<Error> check_ingest(const std::vector<Inbound>& batch,
                                           const ClaimRequest& claims);
  Result<IngestResult> ingest_in(sql::Db& db, const std::vector<Inbound>& batch,
                                 const ClaimRequest& claims);
  // commit_turn's checks, before anything is written, and its work, inside
  // the writer's transaction; commit_inline runs both for a turn inside an
  // ingest, in a savepoint of its own that an error rolls back.
  static std::optional<Error> check_turn(const TurnCommit& turn);
  // `leased`: the turn holds the contact's lease; else (a claim from
  // arrival) the contact must be free, and the turn's rows were never stored.
  Result<TurnResult> commit_turn_in(sql::Db& db, const TurnCommit& turn, bool leased = true);
  Result<TurnResult> commit_inline(sql::Db& db, const TurnCommit& turn, bool leased);
  // mark_sent_next's work, inside the writer's transaction.
  Result<SentResult> mark_sent_in(sql::Db& db, std::int64_t id,
                                  const std::string& provider_message_id, Millis now_ms,
                                  const std::optional<NewInbox>& answer,
                                  const std::optional<AiUsage>& usage, Millis next_lease_ms);
  // Leases the contact's oldest unfinished outbox row when it is due and not
  // out already (sqlite_outbox.cpp); `waiting` tells whether unfinished rows
  // remain unleased.
  std::optional<OutboxRow> lease_next_outbox(sql::Db& db, std::int64_t contact_id, Millis now_ms,
                                             Millis lease_ms, bool& waiting);

  std::string path_;
  SqliteOptions options_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<WriteRequest*> queue_;
  bool stopping_ = false;
  // The writer is waiting out commit_interval_us: submitters leave it asleep
  // until the queue holds max_batch requests.
  bool gathering_ = false;
  // The last record id given: one process owns a SQLite database, so ids come
  // from memory, counted on from the table's largest at opening.
  std::atomic<std::int64_t> last_record_id_;
  StoreStats stats_;
  // Conversations handed over early in the open transaction whose turns have
  // not come yet (the writer thread's own).
  std::vector<std::int64_t> joining_;
  sql::Db writer_db_;
  std::thread writer_;

  std::mutex readers_mutex_;
  std::condition_variable readers_cv_;
  std::vector<sql::Db> readers_;
  std::vector<sql::Db*> idle_readers_;
  bool readers_closed_ = false;
};

}  // namespace waflow::storage
