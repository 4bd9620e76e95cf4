// The VFS that gathers the writer's WAL writes (runtime/storage/sqlite_wal_vfs.h):
// whatever a connection commits through it is in the file, whole, for every
// other connection, as soon as the commit returns.

#include <filesystem>
#include <string>

#include "runtime/storage/sqlite_db.h"
#include "tests/storage/fixture.h"

namespace waflow::storage::testing {
namespace {

sql::Db open_gathering(const std::filesystem::path& path) {
  Result<sql::Db> db = sql::Db::open(path.string(), true, 1000, true);
  REQUIRE(db.ok());
  sql::Db out = std::move(db).value();
  // Keep every frame in the WAL, where the test looks for it.
  out.exec("PRAGMA wal_autocheckpoint=0");
  return out;
}

TEST_CASE("a gathered WAL commit larger than one write can carry reaches the file whole") {
  TempDir dir;
  const auto path = dir.path() / "big.db";
  sql::Db db = open_gathering(path);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
  // About 6 MB in one transaction: more than the 128 KiB a single write of
  // the default VFS takes, and more than the VFS gathers before writing out.
  db.exec("BEGIN");
  for (int i = 0; i < 1500; ++i) {
    db.query("INSERT INTO t (data) VALUES (randomblob(4000))").run();
  }
  db.exec("COMMIT");
  CHECK(std::filesystem::file_size(dir.path() / "big.db-wal") > 6'000'000);
  CHECK(sql_value(path, "SELECT count(*) || ' ' || sum(length(data)) FROM t") == "1500 6000000");
  CHECK(sql_value(path, "PRAGMA integrity_check") == "ok");
}

TEST_CASE(
    "pages spilled and written again within one gathered transaction keep their last version") {
  TempDir dir;
  const auto path = dir.path() / "spill.db";
  sql::Db db = open_gathering(path);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT NOT NULL)");
  // A cache of a few pages spills them to the WAL mid-transaction; the update
  // then writes the same pages again, over their frames.
  db.exec("PRAGMA cache_size=5");
  db.exec("BEGIN");
  for (int i = 0; i < 2000; ++i) {
    db.query("INSERT INTO t (text) VALUES (printf('%.500c', 'a'))").run();
  }
  db.exec("UPDATE t SET text = printf('%.400c', 'b') || id");
  db.exec("COMMIT");
  CHECK(sql_value(path, "SELECT count(*) FROM t WHERE text = printf('%.400c', 'b') || id") ==
        "2000");
  CHECK(sql_value(path, "PRAGMA integrity_check") == "ok");
}

TEST_CASE("another connection sees each gathered commit as soon as it returns") {
  TempDir dir;
  const auto path = dir.path() / "each.db";
  sql::Db db = open_gathering(path);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
  for (int i = 1; i <= 30; ++i) {
    db.query("INSERT INTO t (n) VALUES (?)").bind(1, i).run();
    REQUIRE(sql_value(path, "SELECT count(*) || ' ' || max(n) FROM t") ==
            std::to_string(i) + " " + std::to_string(i));
  }
  // A checkpoint reads the WAL back through the VFS and writes the database.
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  CHECK(std::filesystem::file_size(dir.path() / "each.db-wal") == 0);
  CHECK(sql_value(path, "SELECT sum(n) FROM t") == "465");
}

}  // namespace
}  // namespace waflow::storage::testing
