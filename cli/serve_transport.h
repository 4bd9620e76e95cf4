#pragma once

// The Transport of `waflow serve` (runtime/server/transport.h) on the real
// adapters: gateway sends built by each device's Gateway and performed with the
// shared HttpClient, and the flows' `http` steps performed as they are.

#include <map>
#include <memory>
#include <string>

#include "adapters/gateways/gateway.h"
#include "adapters/http/client.h"
#include "adapters/webchat/webchat.h"
#include "runtime/server/transport.h"

namespace waflow::cli {

class ServeTransport final : public server::Transport {
 public:
  explicit ServeTransport(http::HttpClient& client) : client_(client) {}

  // The gateway that sends for `device` (kept alive by the caller).
  void add_device(const std::string& device, const gateways::Gateway* gateway) {
    gateways_[device] = gateway;
  }
  // The web chat that sends for a `web` device: a message goes to the contact's
  // open pages, and waits in the outbox (retried) while none is open.
  void add_web_device(const std::string& device, webchat::WebChat* chat) { chats_[device] = chat; }

  bool handles(const std::string& kind) const override { return kind == "send" || kind == "http"; }
  void deliver(const storage::OutboxRow& row,
               std::function<void(server::DeliveryResult)> done) override;

 private:
  void send(const storage::OutboxRow& row, std::function<void(server::DeliveryResult)> done);
  void call(const storage::OutboxRow& row, std::function<void(server::DeliveryResult)> done);

  http::HttpClient& client_;
  std::map<std::string, const gateways::Gateway*> gateways_;
  std::map<std::string, webchat::WebChat*> chats_;
};

}  // namespace waflow::cli
