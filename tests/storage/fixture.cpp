#include "tests/storage/fixture.h"

#include <atomic>
#include <cstdlib>
#include <random>

#include <sqlite3.h>

#include "runtime/storage/sqlite_store.h"

namespace waflow::storage::testing {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  std::random_device random;
  path_ = std::filesystem::temp_directory_path() /
          ("waflow-storage-" + std::to_string(random()) + "-" + std::to_string(counter++));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

StoreFixture::StoreFixture() {
  const char* engine = std::getenv("WAFLOW_TEST_STORE");
  engine_ = engine != nullptr && *engine != 0 ? engine : "sqlite";
  store_ = open();
}

StoreFixture::~StoreFixture() {
  if (store_) {
    store_->close();
  }
}

std::unique_ptr<Store> StoreFixture::open() {
  if (engine_ != "sqlite") {
    FAIL("unknown WAFLOW_TEST_STORE engine '" << engine_ << "'");
  }
  return ok(open_sqlite_store((dir_.path() / "waflow.db").string()));
}

void StoreFixture::reopen() {
  store_->close();
  store_.reset();
  store_ = open();
}

ConversationKey key(const std::string& contact, const std::string& device) {
  return ConversationKey{device, contact};
}

Inbound message(const std::string& id, const std::string& contact, Millis at,
                const std::string& text) {
  Inbound in;
  in.type = Inbound::Type::Message;
  in.gateway = "meta";
  in.account = "acct";
  in.provider_message_id = id;
  in.key = key(contact);
  in.payload = R"({"text":")" + text + R"("})";
  in.received_ms = at;
  return in;
}

Inbound status(const std::string& provider_id, const std::string& state, Millis at) {
  Inbound in;
  in.type = Inbound::Type::Status;
  in.gateway = "meta";
  in.account = "acct";
  in.provider_message_id = provider_id;
  in.status = state;
  in.received_ms = at;
  return in;
}

TurnCommit commit_for(const Claim& claim, Millis now) {
  TurnCommit turn;
  turn.contact_id = claim.contact_id;
  turn.worker_id = claim.worker_id;
  turn.token = claim.token;
  turn.now_ms = now;
  for (const InboxRow& row : claim.rows) {
    turn.consumed.push_back(row.id);
  }
  return turn;
}

std::string sql_value(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open(path.string().c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

}  // namespace waflow::storage::testing
