#pragma once

// The storage suite's fixture: a fresh store in its own temp dir, through a
// factory, so the same cases run on every engine. WAFLOW_TEST_STORE picks the
// engine ("sqlite", the default; PostgreSQL joins later).

#include <filesystem>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "runtime/storage/store.h"

namespace waflow::storage::testing {

// Unwraps a Result in a test: fails the test with the error's message.
template <typename T>
T ok(Result<T> result) {
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  return std::move(result).value();
}

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class StoreFixture {
 public:
  StoreFixture();
  ~StoreFixture();

  Store& store() { return *store_; }
  // Closes the store and opens the same database again, as after a restart.
  void reopen();
  std::string engine() const { return engine_; }
  const TempDir& dir() const { return dir_; }

 private:
  std::unique_ptr<Store> open();

  std::string engine_;
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// Builders for the common inputs.
ConversationKey key(const std::string& contact, const std::string& device = "bot-1");
Inbound message(const std::string& id, const std::string& contact, Millis at,
                const std::string& text = "hi");
Inbound status(const std::string& provider_id, const std::string& status, Millis at);
TurnCommit commit_for(const Claim& claim, Millis now);

// Runs one statement on its own connection (SQLite's default VFS) and returns
// the first column of the first row as text, "" when it cannot (which the
// caller's check then finds wrong). It asserts nothing, so threads other than
// the test's, where Catch must not be used, call it too.
std::string sql_value(const std::filesystem::path& path, const std::string& sql);

}  // namespace waflow::storage::testing
