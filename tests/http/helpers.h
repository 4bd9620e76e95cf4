#pragma once

// Test helpers for the HTTP adapter: a raw TCP client for byte-exact requests,
// a thread-safe log collector and bounded polling (tests never sleep to wait).

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/http/message.h"

namespace waflow::http::test {

// Polls `condition` until it holds or `limit` passes; returns the last result.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds limit = std::chrono::seconds(10));

// A blocking TCP connection to 127.0.0.1 with a bound on every wait.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(const std::string& bytes);
  // One whole response (status line, header, Content-Length body); "" when the
  // connection closes first or nothing arrives within 10 s.
  std::string read_response();
  // Whether the server closes the connection within `limit` (bytes that arrive
  // meanwhile are discarded).
  bool closed_by_peer(std::chrono::milliseconds limit = std::chrono::seconds(10));

 private:
  int fd_ = -1;
  std::string buffer_;
  bool fill();  // Reads more into buffer_; false on close, error or timeout.
};

// The status code of a raw response ("HTTP/1.1 404 Not Found..." gives 404).
int status_of(const std::string& response);
// The body of a raw response.
std::string body_of(const std::string& response);
// Whether a raw response has this header line (case-insensitive name).
bool has_header(const std::string& response, const std::string& name, const std::string& value);

struct LogLine {
  LogLevel level;
  std::string message;
  std::vector<std::pair<std::string, std::string>> fields;
};

class LogCollector {
 public:
  Logger logger();
  std::vector<LogLine> lines() const;
  bool contains(const std::string& message_part) const;

 private:
  mutable std::mutex mutex_;
  std::vector<LogLine> lines_;
};

}  // namespace waflow::http::test
