#pragma once

// A thin RAII layer over one sqlite3 connection, private to the SQLite store.
//
// Inside the store, a failing SQLite call throws SqlFailure; every public
// method catches it at its edge and returns an Error, so no exception leaves
// the library. Throwing keeps the many-statement transactions readable: each
// step either succeeds or unwinds to the SAVEPOINT that rolls it back.
// Prepared statements are cached per connection by their SQL text.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/base/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace waflow::storage::sql {

struct SqlFailure {
  int code = 0;
  std::string message;
};

// An Error for `what` that failed with `failure`.
Error to_error(const SqlFailure& failure, std::string_view what);

class Db;

// A cached statement in use: bind, step, read columns. Resets on destruction.
class Query {
 public:
  Query(Db& db, sqlite3_stmt* stmt) : db_(&db), stmt_(stmt) {}
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query();

  Query& bind(int index, std::int64_t value);
  Query& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Query& bind(int index, std::string_view text);
  Query& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  Query& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Query& bind(int index, std::optional<std::int64_t> value);
  Query& bind_blob(int index, std::string_view bytes);
  Query& bind_null(int index);

  // Steps once: true when a row is ready.
  bool next();
  // Steps to the end; returns the number of rows changed.
  std::int64_t run();

  std::int64_t i64(int column) const;
  std::string text(int column) const;
  std::string blob(int column) const;
  bool is_null(int column) const;
  std::optional<std::int64_t> opt_i64(int column) const;

 private:
  Db* db_;
  sqlite3_stmt* stmt_;
};

class Db {
 public:
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  Db(Db&& other) noexcept;
  Db& operator=(Db&& other) noexcept;
  ~Db();

  // Opens `path` (creating it) with the pragmas every waflow connection uses.
  // `gather_wal` (with synchronous_full only): the connection's WAL writes go
  // out in one write per sync (sqlite_wal_vfs.h), for the one that commits.
  static Result<Db> open(const std::string& path, bool synchronous_full, int busy_timeout_ms,
                         bool gather_wal = false);

  // Runs statements without results ("BEGIN IMMEDIATE", pragmas, DDL).
  void exec(std::string_view sql);
  // The same, for cleanup paths: reports failure instead of throwing.
  bool try_exec(std::string_view sql) noexcept;
  Query query(const std::string& sql);
  std::int64_t last_insert_id() const;
  bool in_transaction() const;
  [[noreturn]] void fail(int code) const;
  sqlite3* handle() const { return db_; }

 private:
  void close_all();

  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

}  // namespace waflow::storage::sql
