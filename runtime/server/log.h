#pragma once

// JSON logs of `waflow serve`: one line per event on stderr, e.g.
//   {"ts":"2026-01-06T09:00:00.123Z","level":"info","event":"turn","device":"pizza",...}
// Thread-safe; each line is written with one call so lines never interleave.
// Callers pass only what is safe to log: the config's secrets never reach here.

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace waflow::server {

enum class LogLevel : std::uint8_t { Debug, Info, Warn, Error };

struct LogValue {
  std::variant<std::string, std::int64_t, bool> value;
  LogValue(std::string v) : value(std::move(v)) {}                  // NOLINT
  LogValue(std::string_view v) : value(std::string(v)) {}           // NOLINT
  LogValue(const char* v) : value(std::string(v)) {}                // NOLINT
  LogValue(std::int64_t v) : value(v) {}                            // NOLINT
  LogValue(int v) : value(std::int64_t{v}) {}                       // NOLINT
  LogValue(std::size_t v) : value(static_cast<std::int64_t>(v)) {}  // NOLINT
  LogValue(bool v) : value(v) {}                                    // NOLINT
};

using LogFields = std::initializer_list<std::pair<std::string_view, LogValue>>;

class JsonLog {
 public:
  explicit JsonLog(std::FILE* out = stderr, LogLevel min_level = LogLevel::Info)
      : out_(out), min_level_(min_level) {}
  void write(LogLevel level, std::string_view event, LogFields fields = {});
  void info(std::string_view event, LogFields fields = {}) { write(LogLevel::Info, event, fields); }
  void warn(std::string_view event, LogFields fields = {}) { write(LogLevel::Warn, event, fields); }
  void error(std::string_view event, LogFields fields = {}) {
    write(LogLevel::Error, event, fields);
  }
  void debug(std::string_view event, LogFields fields = {}) {
    write(LogLevel::Debug, event, fields);
  }
  bool enabled(LogLevel level) const { return level >= min_level_; }

 private:
  std::FILE* out_;
  LogLevel min_level_;
  std::mutex mutex_;
};

}  // namespace waflow::server
