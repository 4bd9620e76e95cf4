// libFuzzer target for the WAHA gateway: any bytes as a webhook body must give a parsed
// webhook or a refusal with a 4xx status, never a crash. Each input is tried unsigned (it must
// be refused), signed with the HMAC key (so mutations get past the check and reach the
// parser), and without a key configured; also as a send payload (read as JSON), as WAHA's
// answer to a send, and as a numbered reply.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "adapters/gateways/options.h"
#include "adapters/gateways/waha.h"
#include "adapters/gateways/wire.h"

namespace {

namespace gw = waflow::gateways;

const char* kKey = "fuzz-key";

void expect(bool ok) {
  if (!ok) {
    std::abort();
  }
}

void check(const gw::Gateway& gateway, const gw::WebhookResult& result) {
  if (!result.ok()) {
    const int s = result.error().status;
    expect(s == 400 || s == 401 || s == 403 || s == 405 || s == 415);
    expect(!result.error().message.empty());
    return;
  }
  expect(!result.value().reply.has_value());
  for (const gw::Inbound& in : result.value().messages) {
    expect(!in.provider_message_id.empty());
    expect(in.message.tag() == waflow::vm::Tag::Message);
    expect(in.message.field("type") != nullptr);
    (void)waflow::vm::to_json(in.message);
    (void)gateway.build_send(in.contact, in.message);
  }
  for (const gw::StatusUpdate& s : result.value().statuses) {
    expect(s.status == "sent" || s.status == "delivered" || s.status == "read" ||
           s.status == "failed");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  gw::WahaConfig config;
  config.base_url = "http://waha:3000";
  config.api_key = "key";
  config.hmac_key = kKey;
  static const auto gateway = gw::make_waha(config);
  config.hmac_key.clear();
  config.session.clear();
  static const auto open = gw::make_waha(config);

  gw::WebhookRequest request;
  request.method = "POST";
  request.body = body;
  request.headers = {{"content-type", "application/json"}};
  const gw::WebhookResult unsigned_result = gateway->parse_webhook(request);
  expect(!unsigned_result.ok() && unsigned_result.error().status == 401);
  check(*open, open->parse_webhook(request));

  request.headers.emplace_back("x-webhook-hmac",
                               gw::wire::hmac_hex(gw::wire::Digest::Sha512, kKey, body));
  request.headers.emplace_back("x-webhook-hmac-algorithm", "sha512");
  check(*gateway, gateway->parse_webhook(request));

  waflow::vm::Value payload;
  if (waflow::vm::from_json(body, payload)) {
    (void)gateway->build_send("+6281234567890", payload);
    (void)gateway->build_send(body, payload);
    (void)gw::numbered_text(payload);
    (void)gw::numbered_reply(payload, "2");
  }
  for (int status : {0, 201, 400, 422, 429, 500}) {
    (void)gateway->parse_send_result(status, body, body);
  }
  return 0;
}
