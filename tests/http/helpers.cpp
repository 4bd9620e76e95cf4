#include "tests/http/helpers.h"

#include <algorithm>
#include <cctype>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace waflow::http::test {

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

RawConnection::RawConnection(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0)
    return;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool RawConnection::send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool RawConnection::fill() {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 10'000) <= 0)
    return false;
  char chunk[4096];
  ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
  if (n <= 0)
    return false;
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::string RawConnection::read_response() {
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill())
      return "";
  }
  std::size_t length = 0;
  std::string head = buffer_.substr(0, end);
  std::string lowered = head;
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (std::size_t at = lowered.find("\r\ncontent-length:"); at != std::string::npos) {
    length = std::stoul(head.substr(at + 17));
  }
  while (buffer_.size() < end + 4 + length) {
    if (!fill())
      return "";
  }
  std::string response = buffer_.substr(0, end + 4 + length);
  buffer_.erase(0, end + 4 + length);
  return response;
}

bool RawConnection::closed_by_peer(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0)
      return true;
  }
  return false;
}

int status_of(const std::string& response) {
  if (response.size() < 12 || response.compare(0, 5, "HTTP/") != 0)
    return 0;
  return std::stoi(response.substr(9, 3));
}

std::string body_of(const std::string& response) {
  std::size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

bool has_header(const std::string& response, const std::string& name, const std::string& value) {
  std::string lowered = response.substr(0, response.find("\r\n\r\n") + 2);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string line = name + ": " + value + "\r\n";
  std::transform(line.begin(), line.end(), line.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lowered.find("\r\n" + line) != std::string::npos;
}

Logger LogCollector::logger() {
  return [this](LogLevel level, std::string_view message, std::span<const LogField> fields) {
    LogLine line{level, std::string(message), {}};
    for (const LogField& f : fields)
      line.fields.emplace_back(std::string(f.key), f.value);
    std::lock_guard lock(mutex_);
    lines_.push_back(std::move(line));
  };
}

std::vector<LogLine> LogCollector::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

bool LogCollector::contains(const std::string& message_part) const {
  std::lock_guard lock(mutex_);
  return std::any_of(lines_.begin(), lines_.end(), [&](const LogLine& line) {
    return line.message.find(message_part) != std::string::npos;
  });
}

}  // namespace waflow::http::test
