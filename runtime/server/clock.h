#pragma once

// The server's clock, behind an interface so tests can move time by hand: a
// wait timeout of one day fires in an end-to-end test without anyone waiting a
// day. The store reads no clock (records.h); every time it sees comes from here.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace waflow::server {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix milliseconds.
  virtual std::int64_t now_ms() const = 0;
};

// The real time.
class SystemClock final : public Clock {
 public:
  std::int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// The real time plus an offset that only grows (`waflow serve --test-clock`):
// time keeps flowing, so leases and backoffs still behave, and a test jumps it
// forward to make timers come due. It never goes back, as sessions require.
class OffsetClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return base_.now_ms() + offset_.load(); }
  // Moves the clock forward by `ms` (negative values are ignored); returns now.
  std::int64_t advance(std::int64_t ms) {
    if (ms > 0) {
      offset_.fetch_add(ms);
    }
    return now_ms();
  }
  std::int64_t offset_ms() const { return offset_.load(); }

 private:
  SystemClock base_;
  std::atomic<std::int64_t> offset_{0};
};

}  // namespace waflow::server
