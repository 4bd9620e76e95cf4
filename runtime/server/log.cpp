// JSON log lines (log.h).

#include "runtime/server/log.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "runtime/base/civil_time.h"

namespace waflow::server {

namespace {

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
  }
  return "info";
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  return format_utc_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
}

}  // namespace

void JsonLog::write(LogLevel level, std::string_view event, LogFields fields) {
  if (!enabled(level)) {
    return;
  }
  nlohmann::ordered_json line;
  line["ts"] = utc_now();
  line["level"] = level_name(level);
  line["event"] = std::string(event);
  for (const auto& [key, v] : fields) {
    std::visit([&line, k = std::string(key)](const auto& x) { line[k] = x; }, v.value);
  }
  // Invalid UTF-8 from a webhook must not make the logger throw.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  const std::lock_guard lock(mutex_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

}  // namespace waflow::server
