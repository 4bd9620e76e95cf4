#pragma once

// The SQLite Store: one database file in WAL mode, for a single `waflow serve`.
//
// All writes go through one writer thread that owns the only write connection.
// Callers queue their requests and block; the writer takes everything queued,
// runs it in one `BEGIN IMMEDIATE` transaction (each request inside its own
// SAVEPOINT, so one refused request does not undo the others), commits once and
// then wakes every caller. That is group commit: one fsync for a whole burst of
// webhooks. Reads (queries, stats, bundles) use a small pool of separate
// connections and never wait for the writer (WAL readers see the last commit).
//
// Durability defaults to synchronous=FULL: inbox, dedup keys and outbox rows are
// messages we cannot get again once acknowledged, so a commit must survive a
// power loss, not only a crash; group commit pays for the fsync.
// See docs/storage.md.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "runtime/base/result.h"
#include "runtime/storage/store.h"

namespace waflow::storage {

inline constexpr int kSqliteSchemaVersion = 4;

struct SqliteOptions {
  // FULL survives power loss; NORMAL survives a process crash but may lose the
  // last commits on an OS crash or power loss.
  bool synchronous_full = true;
  int busy_timeout_ms = 5000;
  int read_connections = 2;
  int max_batch = 512;  // Requests per write transaction at most.
  // How long a write transaction stays open, at most, for the turns of the
  // conversations an ingest in it handed over early (ClaimRequest::hand_over):
  // a message and its turn then share one commit. 0 commits without waiting.
  int turn_join_us = 2000;
  // Under load (the last transaction carried more than one request), a write
  // transaction begins no sooner than this after the one before began, so
  // that one commit and one fsync carry what arrives meanwhile (max_batch
  // queued requests end the wait). A writer busy for the whole interval never
  // waits, and a lone request after a lone request is written at once.
  // 0 never waits.
  int commit_interval_us = 10000;
  // WAL pages after which a commit copies the WAL back into the database file
  // (PRAGMA wal_autocheckpoint). SQLite's 1000 made a busy server checkpoint
  // some twenty times a second, copying the same hot pages each time.
  int checkpoint_pages = 4000;
  Millis dedup_horizon_ms = 7LL * 24 * 3600 * 1000;
  Millis outbox_horizon_ms = 7LL * 24 * 3600 * 1000;  // Finished rows are kept this long.
  int max_attempts = 10;  // mark_retry turns a row dead at this many attempts.
  // Called on the writer thread before it takes a batch, with nothing locked.
  // Tests hold it to let requests queue up; production leaves it empty.
  std::function<void()> before_batch;
};

// Opens (creating if needed) and migrates the database at `path`. Refuses a
// database whose schema is newer than this build knows.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path,
                                                 SqliteOptions options = {});

}  // namespace waflow::storage
