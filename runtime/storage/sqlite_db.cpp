#include "runtime/storage/sqlite_db.h"

#include <climits>
#include <mutex>
#include <string>
#include <utility>

#include <sqlite3.h>

#include "runtime/storage/sqlite_wal_vfs.h"

namespace waflow::storage::sql {

Error to_error(const SqlFailure& failure, std::string_view what) {
  // Constraint violations come from what the caller asked for; the rest is the
  // database or the disk.
  const int primary = failure.code & 0xff;
  ErrorCode code = primary == SQLITE_CONSTRAINT ? ErrorCode::InvalidInput : ErrorCode::Io;
  return Error{code, std::string(what) + ": " + failure.message};
}

Query::~Query() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Query& Query::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) {
    db_->fail(sqlite3_errcode(db_->handle()));
  }
  return *this;
}

Query& Query::bind(int index, std::string_view text) {
  if (text.size() > static_cast<std::size_t>(INT_MAX)) {
    throw SqlFailure{SQLITE_TOOBIG, "text too large"};
  }
  if (sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK) {
    db_->fail(sqlite3_errcode(db_->handle()));
  }
  return *this;
}

Query& Query::bind(int index, std::optional<std::int64_t> value) {
  return value ? bind(index, *value) : bind_null(index);
}

Query& Query::bind_blob(int index, std::string_view bytes) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
    throw SqlFailure{SQLITE_TOOBIG, "blob too large"};
  }
  // A zero-length blob must still be a blob, not NULL: pass a non-null pointer.
  static const char kEmpty = 0;
  const char* data = bytes.empty() ? &kEmpty : bytes.data();
  if (sqlite3_bind_blob(stmt_, index, data, static_cast<int>(bytes.size()), SQLITE_TRANSIENT) !=
      SQLITE_OK) {
    db_->fail(sqlite3_errcode(db_->handle()));
  }
  return *this;
}

Query& Query::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) {
    db_->fail(sqlite3_errcode(db_->handle()));
  }
  return *this;
}

bool Query::next() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  db_->fail(rc);
}

std::int64_t Query::run() {
  while (next()) {
  }
  return sqlite3_changes64(db_->handle());
}

std::int64_t Query::i64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Query::text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

std::string Query::blob(int column) const {
  const void* p = sqlite3_column_blob(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string()
                      : std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
}

bool Query::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::optional<std::int64_t> Query::opt_i64(int column) const {
  if (is_null(column)) {
    return std::nullopt;
  }
  return i64(column);
}

Db::Db(Db&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), cache_(std::move(other.cache_)) {
  other.cache_.clear();
}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    close_all();
    db_ = std::exchange(other.db_, nullptr);
    cache_ = std::move(other.cache_);
    other.cache_.clear();
  }
  return *this;
}

Db::~Db() {
  close_all();
}

void Db::close_all() {
  for (auto& [sql, stmt] : cache_) {
    sqlite3_finalize(stmt);
  }
  cache_.clear();
  if (db_ != nullptr) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

Result<Db> Db::open(const std::string& path, bool synchronous_full, int busy_timeout_ms,
                    bool gather_wal) {
  // SQLite's memory statistics take a global mutex on every allocation and
  // free; nothing here reads them. Set before the library initialises, once.
  static std::once_flag configured;
  std::call_once(configured, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  Db db;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const char* vfs = gather_wal && synchronous_full ? gathered_wal_vfs() : nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db.db_, flags, vfs);
  if (rc != SQLITE_OK) {
    std::string message = db.db_ != nullptr ? sqlite3_errmsg(db.db_) : sqlite3_errstr(rc);
    return Error{ErrorCode::Io, "cannot open database '" + path + "': " + message};
  }
  sqlite3_extended_result_codes(db.db_, 1);
  sqlite3_busy_timeout(db.db_, busy_timeout_ms);
  try {
    // WAL: readers never block the writer nor the writer readers. journal_mode
    // returns the mode it ended up in; a file system without shared memory
    // support keeps another mode, which we refuse rather than run slowly.
    Query mode = db.query("PRAGMA journal_mode=WAL");
    std::string got = mode.next() ? mode.text(0) : "";
    if (got != "wal") {
      return Error{ErrorCode::Io, "cannot open database '" + path +
                                      "': WAL journal mode unavailable (got '" + got + "')"};
    }
    db.exec(synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    db.exec("PRAGMA foreign_keys=ON");
    // Each write request runs in a SAVEPOINT, whose undo records (the
    // statement journal) would otherwise go to a temporary file once a batch
    // outgrows 64 KiB: half of the writer's pwrite calls under load.
    db.exec("PRAGMA temp_store=MEMORY");
  } catch (const SqlFailure& failure) {
    return to_error(failure, "cannot open database '" + path + "'");
  }
  return db;
}

void Db::exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    SqlFailure failure{rc, message != nullptr ? message : sqlite3_errstr(rc)};
    sqlite3_free(message);
    throw failure;
  }
}

bool Db::try_exec(std::string_view sql) noexcept {
  std::string text(sql);
  return sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
}

Query Db::query(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      fail(rc);
    }
    it = cache_.emplace(sql, stmt).first;
  }
  return Query(*this, it->second);
}

std::int64_t Db::last_insert_id() const {
  return sqlite3_last_insert_rowid(db_);
}

bool Db::in_transaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

void Db::fail(int code) const {
  throw SqlFailure{code, std::string(sqlite3_errmsg(db_)) + " (" + sqlite3_errstr(code) + ")"};
}

}  // namespace waflow::storage::sql
