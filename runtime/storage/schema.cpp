#include "runtime/storage/schema.h"

#include <string>
#include <vector>

#include "runtime/storage/sqlite_store.h"

namespace waflow::storage::sql {
namespace {

// Migration N (1-based) is kMigrations[N - 1]. Append only: a released
// migration never changes, since databases in the field already ran it.
const std::vector<const char*> kMigrations = {
    // 1: the whole first schema. See docs/storage.md for what each table holds.
    R"sql(
CREATE TABLE contacts (
  id INTEGER PRIMARY KEY,
  device TEXT NOT NULL,
  contact TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  paused INTEGER NOT NULL DEFAULT 0,
  session BLOB,
  bundle_hash TEXT,
  pending_since INTEGER,
  lease_owner TEXT,
  lease_token INTEGER NOT NULL DEFAULT 0,
  lease_until INTEGER NOT NULL DEFAULT 0,
  outbox_seq INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  UNIQUE (device, contact)
);
CREATE INDEX contacts_ready ON contacts (pending_since) WHERE pending_since IS NOT NULL;
CREATE INDEX contacts_bundle ON contacts (bundle_hash) WHERE bundle_hash IS NOT NULL;

CREATE TABLE seen (
  gateway TEXT NOT NULL,
  account TEXT NOT NULL,
  message_id TEXT NOT NULL,
  seen_ms INTEGER NOT NULL,
  PRIMARY KEY (gateway, account, message_id)
) WITHOUT ROWID;
CREATE INDEX seen_by_time ON seen (seen_ms);

CREATE TABLE inbox (
  id INTEGER PRIMARY KEY,
  contact_id INTEGER NOT NULL REFERENCES contacts (id),
  kind TEXT NOT NULL,
  ref TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '',
  payload TEXT NOT NULL,
  received_ms INTEGER NOT NULL
);
CREATE INDEX inbox_by_contact ON inbox (contact_id, id);

CREATE TABLE timers (
  id INTEGER PRIMARY KEY,
  contact_id INTEGER NOT NULL REFERENCES contacts (id),
  due_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  tag TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE INDEX timers_due ON timers (due_ms, id);
CREATE INDEX timers_by_contact ON timers (contact_id, kind, tag);

CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  contact_id INTEGER NOT NULL REFERENCES contacts (id),
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  provider_message_id TEXT,
  last_error TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  finished_ms INTEGER,
  delivery_status TEXT NOT NULL DEFAULT '',
  delivery_ms INTEGER,
  UNIQUE (contact_id, seq)
);
CREATE INDEX outbox_open ON outbox (next_attempt_ms, id) WHERE status IN ('pending', 'inflight');
CREATE INDEX outbox_open_by_contact ON outbox (contact_id, seq)
  WHERE status IN ('pending', 'inflight');
CREATE INDEX outbox_finished ON outbox (finished_ms) WHERE finished_ms IS NOT NULL;
CREATE INDEX outbox_provider ON outbox (provider_message_id)
  WHERE provider_message_id IS NOT NULL;

CREATE TABLE conversations (
  id INTEGER PRIMARY KEY,
  contact_id INTEGER NOT NULL REFERENCES contacts (id),
  device TEXT NOT NULL,
  contact TEXT NOT NULL,
  run TEXT NOT NULL,
  flow TEXT NOT NULL,
  bundle_hash TEXT NOT NULL,
  status TEXT NOT NULL,
  last_step TEXT NOT NULL DEFAULT '',
  started_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  ended_ms INTEGER,
  UNIQUE (contact_id, run)
);
CREATE INDEX conversations_by_time ON conversations (started_ms, id);
CREATE INDEX conversations_by_flow ON conversations (flow, status, last_step);

CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  contact_id INTEGER NOT NULL REFERENCES contacts (id),
  device TEXT NOT NULL,
  contact TEXT NOT NULL,
  outbound INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  flow TEXT NOT NULL,
  step TEXT NOT NULL,
  kind TEXT NOT NULL,
  text TEXT NOT NULL,
  payload TEXT NOT NULL,
  run TEXT NOT NULL
);
CREATE INDEX messages_by_time ON messages (at_ms, id);
CREATE INDEX messages_by_contact ON messages (device, contact, at_ms);

CREATE TABLE bundles (
  hash TEXT PRIMARY KEY,
  bytes BLOB NOT NULL,
  size INTEGER NOT NULL,
  author TEXT NOT NULL,
  comment TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);

CREATE TABLE deployments (
  id INTEGER PRIMARY KEY,
  hash TEXT NOT NULL,
  author TEXT NOT NULL,
  activated_ms INTEGER NOT NULL,
  rolled_back INTEGER NOT NULL DEFAULT 0,
  rolled_back_ms INTEGER,
  rolled_back_by TEXT
);
)sql",
    // 2: what AI steps used (tokens, latency, ok), one row per step, written with its answer.
    R"sql(
CREATE TABLE ai_usage (
  id INTEGER PRIMARY KEY,
  contact_id INTEGER NOT NULL REFERENCES contacts (id),
  device TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  flow TEXT NOT NULL,
  step TEXT NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  ok INTEGER NOT NULL
);
CREATE INDEX ai_usage_by_time ON ai_usage (at_ms);
)sql",
    // 3: the records `store` steps keep, written with the turn that asked for them.
    R"sql(
CREATE TABLE records (
  id INTEGER PRIMARY KEY,
  collection TEXT NOT NULL,
  contact_id INTEGER NOT NULL REFERENCES contacts (id),
  device TEXT NOT NULL,
  contact TEXT NOT NULL,
  flow TEXT NOT NULL,
  step TEXT NOT NULL,
  run TEXT NOT NULL,
  data TEXT NOT NULL,
  outbox_id INTEGER NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE INDEX records_by_collection ON records (collection, created_ms, id);
CREATE INDEX records_by_time ON records (created_ms, id);
CREATE INDEX records_by_contact ON records (device, contact, created_ms);
CREATE INDEX records_by_call ON records (outbox_id);
)sql",
    // 4: conversations by flow and start time, the filter of the list and the
    // statistics, no longer by status and last step: every turn that moved a
    // conversation to another step rewrote its entry in that index.
    R"sql(
DROP INDEX conversations_by_flow;
CREATE INDEX conversations_by_flow ON conversations (flow, started_ms, id);
)sql",
};

}  // namespace

int latest_schema_version() {
  return static_cast<int>(kMigrations.size());
}

Result<int> schema_version(Db& db) {
  try {
    Query exists = db.query(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'");
    if (!exists.next() || exists.i64(0) == 0) {
      return 0;
    }
    Query version = db.query("SELECT max(version) FROM schema_version");
    return version.next() ? static_cast<int>(version.i64(0)) : 0;
  } catch (const SqlFailure& failure) {
    return to_error(failure, "cannot read the schema version");
  }
}

Result<int> migrate(Db& db, const std::string& path) {
  static_assert(kSqliteSchemaVersion > 0);
  WAFLOW_CHECK(latest_schema_version() == kSqliteSchemaVersion,
               "kSqliteSchemaVersion must name the last migration");
  try {
    db.exec(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, "
        "applied_ms INTEGER NOT NULL "
        "DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)))");
  } catch (const SqlFailure& failure) {
    return to_error(failure, "cannot prepare '" + path + "'");
  }
  for (;;) {
    // Read the version inside the write transaction, so two processes opening
    // the same new file cannot both run a migration.
    try {
      db.exec("BEGIN IMMEDIATE");
    } catch (const SqlFailure& failure) {
      return to_error(failure, "cannot migrate '" + path + "'");
    }
    Result<int> current = schema_version(db);
    if (!current.ok()) {
      db.try_exec("ROLLBACK");
      return current;
    }
    const int version = current.value();
    if (version > latest_schema_version()) {
      db.try_exec("ROLLBACK");
      return Error{ErrorCode::Unsupported, "database '" + path + "' has schema version " +
                                               std::to_string(version) +
                                               ", newer than this waflow knows (" +
                                               std::to_string(latest_schema_version()) +
                                               "); use a newer waflow or restore a backup"};
    }
    if (version == latest_schema_version()) {
      db.try_exec("ROLLBACK");  // Nothing was written.
      return version;
    }
    try {
      db.exec(kMigrations[static_cast<std::size_t>(version)]);
      db.query("INSERT INTO schema_version (version) VALUES (?)").bind(1, version + 1).run();
      db.exec("COMMIT");
    } catch (const SqlFailure& failure) {
      db.try_exec("ROLLBACK");
      return to_error(failure,
                      "migration " + std::to_string(version + 1) + " of '" + path + "' failed");
    }
  }
}

}  // namespace waflow::storage::sql
