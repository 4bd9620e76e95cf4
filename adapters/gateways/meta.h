#pragma once

// The Meta WhatsApp Cloud API (Graph API): webhooks signed with the app secret
// (X-Hub-Signature-256), a GET verify-token handshake, and sends to
// {graph_base}/{graph_version}/{phone_number_id}/messages with a bearer token.

#include <memory>
#include <string>

#include "adapters/gateways/gateway.h"

namespace waflow::gateways {

struct MetaConfig {
  std::string graph_base = "https://graph.facebook.com";
  std::string graph_version = "v21.0";
  // The number we send from. Webhook entries of another number of the same app are ignored;
  // when empty, every number is accepted (Inbound::account says which one received it).
  std::string phone_number_id;
  std::string access_token;
  // When empty the signature is not checked (local testing only).
  std::string app_secret;
  // What the GET handshake must present; when empty every handshake is refused.
  std::string verify_token;
};

std::unique_ptr<Gateway> make_meta(MetaConfig config);

}  // namespace waflow::gateways
