#pragma once

// The Transport of `waflow serve` (runtime/server/transport.h) on the real
// adapters: gateway sends built by each device's Gateway and performed with the
// shared HttpClient, the flows' `http` steps performed as they are, and AI steps
// through the AI router (adapters/ai/steps.h) when models are configured.

#include <map>
#include <memory>
#include <string>

#include "adapters/ai/steps.h"
#include "adapters/gateways/gateway.h"
#include "adapters/http/client.h"
#include "adapters/webchat/webchat.h"
#include "runtime/server/log.h"
#include "runtime/server/metrics.h"
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

  // AI steps: answered by `runner` over `router` (both kept alive by the caller). Each
  // request the router sends is timed in `metrics` on its own
  // (waflow_llm_request_duration_seconds); each step logs one `ai_call` line (no prompt
  // text), counts its tokens and its whole time, and hands its usage to the store with its
  // answer. Without a runner, AI rows are left to the engine, which answers them with an error.
  // Call before the first delivery.
  void set_ai(ai::AiRouter* router, ai::StepRunner* runner, server::Metrics* metrics,
              server::JsonLog* log);
  // The client of AI requests the transport makes itself (transcriptions); default: the
  // gateways' client. Kept alive by the caller.
  void set_ai_client(http::HttpClient* client) { ai_client_ = client; }
  // The model of `device`'s AI steps that name none.
  void set_device_model(const std::string& device, std::string model) {
    device_models_[device] = std::move(model);
  }

  bool handles(const std::string& kind) const override {
    return kind == "send" || kind == "http" ||
           ((kind == "ai" || kind == "media") && ai_ != nullptr);
  }
  void deliver(const storage::OutboxRow& row,
               std::function<void(server::DeliveryResult)> done) override;

 private:
  void send(const storage::OutboxRow& row, std::function<void(server::DeliveryResult)> done);
  void call(const storage::OutboxRow& row, std::function<void(server::DeliveryResult)> done);
  void ai_step(const storage::OutboxRow& row, std::function<void(server::DeliveryResult)> done);
  // A "media" row (runtime/server/media.h): the file downloaded through the device's gateway,
  // then transcribed (OpenAI-compatible /audio/transcriptions, on the client) or described (a
  // chat call through the router). Failures answer {ok: false, error}, so the flow sees the
  // plain message; a transient one is retried by the outbox first, for a few attempts.
  void media(const storage::OutboxRow& row, std::function<void(server::DeliveryResult)> done);
  // Counts and logs a finished step; returns what it used, for the store.
  storage::AiUsage record(const ai::StepReport& report);

  http::HttpClient& client_;
  std::map<std::string, const gateways::Gateway*> gateways_;
  std::map<std::string, webchat::WebChat*> chats_;
  ai::StepRunner* ai_ = nullptr;
  ai::AiRouter* router_ = nullptr;
  http::HttpClient* ai_client_ = nullptr;
  server::Metrics* metrics_ = nullptr;
  server::JsonLog* log_ = nullptr;
  std::map<std::string, std::string> device_models_;
};

}  // namespace waflow::cli
