// The SQLite Store's machinery: opening and migrating, the writer thread that
// group-commits queued requests, the read pool, health and close.

#include "runtime/storage/sqlite_store.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include <sqlite3.h>

#include "runtime/base/thread_name.h"
#include "runtime/storage/schema.h"
#include "runtime/storage/sqlite_store_impl.h"

namespace waflow::storage {

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, SqliteOptions options) {
  if (path.empty() || path == ":memory:") {
    // Several connections must see one database; an in-memory one would be
    // private to each connection.
    return Error{ErrorCode::InvalidInput, "the SQLite store needs a database file path"};
  }
  if (options.read_connections < 1 || options.max_batch < 1 || options.max_attempts < 1 ||
      options.checkpoint_pages < 1) {
    return Error{ErrorCode::InvalidInput,
                 "SQLite store options: read_connections, max_batch, max_attempts and "
                 "checkpoint_pages must be at least 1"};
  }
  if (options.turn_join_us < 0 || options.commit_interval_us < 0) {
    return Error{ErrorCode::InvalidInput,
                 "SQLite store options: turn_join_us and commit_interval_us cannot be negative"};
  }
  Result<sql::Db> writer =
      sql::Db::open(path, options.synchronous_full, options.busy_timeout_ms, true);
  if (!writer.ok()) {
    return writer.error();
  }
  sql::Db db = std::move(writer).value();
  try {
    // Only the writer commits, so only its connection checkpoints.
    db.exec("PRAGMA wal_autocheckpoint=" + std::to_string(options.checkpoint_pages));
  } catch (const sql::SqlFailure& failure) {
    return sql::to_error(failure, "cannot open '" + path + "'");
  }
  Result<int> migrated = sql::migrate(db, path);
  if (!migrated.ok()) {
    return migrated.error();
  }
  std::int64_t last_record_id = 0;
  try {
    sql::Query q = db.query("SELECT coalesce(max(id), 0) FROM records");
    last_record_id = q.next() ? q.i64(0) : 0;
  } catch (const sql::SqlFailure& failure) {
    return sql::to_error(failure, "cannot read the records of '" + path + "'");
  }
  std::vector<sql::Db> readers;
  for (int i = 0; i < options.read_connections; ++i) {
    Result<sql::Db> reader = sql::Db::open(path, options.synchronous_full, options.busy_timeout_ms);
    if (!reader.ok()) {
      return reader.error();
    }
    readers.push_back(std::move(reader).value());
    try {
      readers.back().exec("PRAGMA query_only=1");
    } catch (const sql::SqlFailure& failure) {
      return sql::to_error(failure, "cannot open a read connection to '" + path + "'");
    }
  }
  return std::unique_ptr<Store>(
      new SqliteStore(path, std::move(options), std::move(db), std::move(readers), last_record_id));
}

SqliteStore::SqliteStore(std::string path, SqliteOptions options, sql::Db writer,
                         std::vector<sql::Db> readers, std::int64_t last_record_id)
    : path_(std::move(path)),
      options_(std::move(options)),
      last_record_id_(last_record_id),
      writer_db_(std::move(writer)),
      readers_(std::move(readers)) {
  for (sql::Db& db : readers_) {
    idle_readers_.push_back(&db);
  }
  writer_ = std::thread([this] {
    name_this_thread("wf-sql-writer");
    writer_loop();
  });
}

SqliteStore::~SqliteStore() {
  close();
}

bool SqliteStore::submit(WriteRequest& request) {
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) {
      return false;
    }
    queue_.push_back(&request);
    stats_.queued_writes = static_cast<std::int64_t>(queue_.size());
    if (gathering_ && static_cast<int>(queue_.size()) < options_.max_batch) {
      return true;  // The writer wakes on its own when its interval is over.
    }
  }
  queue_cv_.notify_one();
  return true;
}

void SqliteStore::writer_loop() {
  std::vector<WriteRequest*> batch;
  std::size_t last_batch = 0;
  std::chrono::steady_clock::time_point last_begin;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // Stopping, and everything queued was written.
      }
      // Under load, more requests are on their way: one transaction for them
      // all costs one commit, one fsync and one write of each hot page. A
      // writer busy for the whole interval does not wait at all.
      const auto due = last_begin + std::chrono::microseconds(options_.commit_interval_us);
      if (options_.commit_interval_us > 0 && last_batch > 1 &&
          std::chrono::steady_clock::now() < due) {
        gathering_ = true;
        queue_cv_.wait_until(lock, due, [this] {
          return stopping_ || static_cast<int>(queue_.size()) >= options_.max_batch;
        });
        gathering_ = false;
      }
    }
    if (options_.before_batch) {
      options_.before_batch();
    }
    {
      std::lock_guard lock(queue_mutex_);
      take_queued(batch);
    }
    last_begin = std::chrono::steady_clock::now();
    run_batch(batch);
    // Wake the callers only now: their outcome is durable (or refused).
    for (WriteRequest* request : batch) {
      if (request->then) {
        request->then();
        delete request;
      } else {
        request->finish();
      }
    }
    last_batch = batch.size();
    batch.clear();
  }
}

void SqliteStore::take_queued(std::vector<WriteRequest*>& batch) {
  const std::size_t room = static_cast<std::size_t>(options_.max_batch) - batch.size();
  const auto n = static_cast<std::ptrdiff_t>(std::min(queue_.size(), room));
  batch.insert(batch.end(), queue_.begin(), queue_.begin() + n);
  queue_.erase(queue_.begin(), queue_.begin() + n);
  stats_.queued_writes = static_cast<std::int64_t>(queue_.size());
}

void SqliteStore::run_batch(std::vector<WriteRequest*>& batch) {
  sql::Db& db = writer_db_;
  auto fail_all = [&](const Error& error) {
    for (WriteRequest* request : batch) {
      request->fail(error);
    }
  };
  // Prepared once per connection and reused: parsing these again for every
  // request of every batch was a measurable part of the writer's time.
  static const std::string kBegin = "BEGIN IMMEDIATE";
  static const std::string kSavepoint = "SAVEPOINT request";
  static const std::string kRollbackTo = "ROLLBACK TO request";
  static const std::string kRelease = "RELEASE request";
  static const std::string kCommit = "COMMIT";
  try {
    // IMMEDIATE takes the write lock now, so busy_timeout applies; a deferred
    // BEGIN that upgrades later would fail at once with SQLITE_BUSY.
    db.query(kBegin).run();
  } catch (const sql::SqlFailure& failure) {
    fail_all(sql::to_error(failure, "cannot begin a write transaction"));
    return;
  }
  std::int64_t rounds = 0;
  try {
    std::size_t ran = 0;
    std::optional<std::chrono::steady_clock::time_point> until;
    for (;;) {
      for (; ran < batch.size(); ++ran) {
        db.query(kSavepoint).run();
        const bool ok = batch[ran]->run(db);
        if (!db.in_transaction()) {
          // SQLite rolled the whole transaction back (disk full, I/O error):
          // nothing of this batch is written, earlier requests included.
          throw sql::SqlFailure{SQLITE_ABORT, "the write transaction was rolled back"};
        }
        if (!ok) {
          db.query(kRollbackTo).run();
        }
        db.query(kRelease).run();
      }
      ++rounds;
      // Turns of conversations handed over early are on their way (a worker
      // runs them now): they join this transaction rather than wait for the
      // next commit, unless they take longer than turn_join_us.
      if (joining_.empty() || static_cast<int>(batch.size()) >= options_.max_batch) {
        break;
      }
      if (!until) {
        until = std::chrono::steady_clock::now() + std::chrono::microseconds(options_.turn_join_us);
      }
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait_until(lock, *until, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        break;
      }
      take_queued(batch);
    }
    joining_.clear();
    db.query(kCommit).run();
  } catch (const sql::SqlFailure& failure) {
    joining_.clear();
    if (db.in_transaction()) {
      db.try_exec("ROLLBACK");
    }
    fail_all(sql::to_error(failure, "write transaction failed"));
    return;
  }
  std::lock_guard lock(queue_mutex_);
  stats_.write_transactions += 1;
  stats_.write_requests += static_cast<std::int64_t>(batch.size());
  stats_.joined_rounds += rounds - 1;
  stats_.largest_batch = std::max(stats_.largest_batch, static_cast<std::int64_t>(batch.size()));
}

sql::Db* SqliteStore::take_reader() {
  std::unique_lock lock(readers_mutex_);
  readers_cv_.wait(lock, [this] { return readers_closed_ || !idle_readers_.empty(); });
  if (readers_closed_) {
    return nullptr;
  }
  sql::Db* db = idle_readers_.back();
  idle_readers_.pop_back();
  return db;
}

void SqliteStore::give_back_reader(sql::Db* db) {
  {
    std::lock_guard lock(readers_mutex_);
    idle_readers_.push_back(db);
  }
  readers_cv_.notify_all();
}

Health SqliteStore::health() {
  Health health;
  health.expected_version = sql::latest_schema_version();
  Result<int> version =
      read<int>("health check", [](sql::Db& db) { return sql::schema_version(db); });
  if (version.ok()) {
    health.reachable = true;
    health.schema_version = version.value();
  }
  return health;
}

StoreStats SqliteStore::store_stats() {
  std::lock_guard lock(queue_mutex_);
  return stats_;
}

void SqliteStore::close() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
  }
  {
    // Wait for reads in progress, then close the connections.
    std::unique_lock lock(readers_mutex_);
    if (!readers_closed_) {
      readers_cv_.wait(lock, [this] { return idle_readers_.size() == readers_.size(); });
      readers_closed_ = true;
      idle_readers_.clear();
      readers_.clear();
    }
  }
  readers_cv_.notify_all();
  // Closing the last connection checkpoints the WAL into the database file.
  writer_db_ = sql::Db();
}

}  // namespace waflow::storage
