#pragma once

// WAHA (devlikeapro/waha), the self-hosted WhatsApp Web gateway: webhooks optionally signed
// with HMAC-SHA512 (X-Webhook-Hmac), sends to {base_url}/api/send* with an X-Api-Key. It has no
// working buttons or lists, so those go out as numbered text (numbered_options() is true).

#include <memory>
#include <string>

#include "adapters/gateways/gateway.h"

namespace waflow::gateways {

struct WahaConfig {
  std::string base_url;  // "http://waha:3000"
  // The WAHA session we send through. Webhooks of another session are ignored; when empty,
  // every session is accepted (Inbound::account says which one).
  std::string session = "default";
  std::string api_key;
  // When set, every webhook must carry a matching X-Webhook-Hmac.
  std::string hmac_key;
};

std::unique_ptr<Gateway> make_waha(WahaConfig config);

}  // namespace waflow::gateways
