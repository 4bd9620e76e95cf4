#pragma once

// The SQLite schema and its migrations, versioned in code. Migration N runs once,
// in its own transaction, and records N in `schema_version`; a database whose
// version is newer than the last migration here is refused, never written.

#include "runtime/base/result.h"
#include "runtime/storage/sqlite_db.h"

namespace waflow::storage::sql {

// The version the last migration leaves.
int latest_schema_version();

// The database's version: 0 for a fresh file.
Result<int> schema_version(Db& db);

// Brings `db` to latest_schema_version().
Result<int> migrate(Db& db, const std::string& path);

}  // namespace waflow::storage::sql
