#pragma once

// What the server core needs from the outside world to deliver an outbox row:
// one small interface, implemented in the command layer with the gateways and
// the HTTP client (adapters/), and by fakes in tests. The core never sees a
// provider's wire format or a socket.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "runtime/storage/turn.h"
#include "runtime/vm/value.h"

namespace waflow::server {

struct DeliveryResult {
  enum class Outcome : std::uint8_t {
    Sent,         // Done; provider_message_id when the provider gave one.
    Retry,        // Transient: back off and try again.
    RateLimited,  // Slow down; retry_after_ms when the provider said how long.
    Permanent,    // Never succeeds as it is: the row fails.
  };
  Outcome outcome = Outcome::Permanent;
  std::string provider_message_id;
  std::string error;
  std::int64_t retry_after_ms = -1;
  // Whether a Retry counts against the device's circuit breaker: false when the
  // failure is the contact's alone (a web chat contact with no page open).
  bool device_fault = true;
  // For calls a conversation waits on (http): the answer it resumes with.
  std::optional<vm::Value> answer;
  // For AI steps: what the step used, stored in the same transaction as the answer.
  std::optional<storage::AiUsage> ai_usage;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Whether outbox rows of `kind` ("send", "http", ...) go through this transport.
  virtual bool handles(const std::string& kind) const = 0;
  // Starts delivering `row`. `done` is called exactly once, from any thread; it
  // is quick and never blocks, so a transport may call it from its I/O thread.
  virtual void deliver(const storage::OutboxRow& row, std::function<void(DeliveryResult)> done) = 0;
};

}  // namespace waflow::server
