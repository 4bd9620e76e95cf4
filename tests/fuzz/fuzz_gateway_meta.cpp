// libFuzzer target for the Meta gateway: any bytes as a webhook body must give a parsed
// webhook or a refusal with a 4xx status, never a crash. Each input is tried unsigned (it must
// be refused), signed with the app secret (so mutations get past the check and reach the
// parser), and without a secret configured; also as a handshake query, as a send payload
// (read as JSON), and as a Graph API answer to a send.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "adapters/gateways/meta.h"
#include "adapters/gateways/wire.h"

namespace {

namespace gw = waflow::gateways;

const char* kSecret = "fuzz-secret";

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
  for (const gw::Inbound& in : result.value().messages) {
    expect(!in.provider_message_id.empty() && !in.contact.empty());
    expect(in.message.tag() == waflow::vm::Tag::Message);
    expect(in.message.field("type") != nullptr);
    (void)waflow::vm::to_json(in.message);
    // What came in, sent back out: the builder takes any value.
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
  gw::MetaConfig config;
  config.phone_number_id = "106540352242922";
  config.access_token = "token";
  config.app_secret = kSecret;
  config.verify_token = "verify";
  static const auto gateway = gw::make_meta(config);
  config.app_secret.clear();
  config.phone_number_id.clear();
  static const auto open = gw::make_meta(config);

  gw::WebhookRequest request;
  request.method = "POST";
  request.body = body;
  request.headers = {{"content-type", "application/json"}};
  const gw::WebhookResult unsigned_result = gateway->parse_webhook(request);
  expect(!unsigned_result.ok() && unsigned_result.error().status == 401);
  check(*open, open->parse_webhook(request));

  request.headers.emplace_back(
      "x-hub-signature-256",
      "sha256=" + gw::wire::hmac_hex(gw::wire::Digest::Sha256, kSecret, body));
  check(*gateway, gateway->parse_webhook(request));

  gw::WebhookRequest get;
  get.method = "GET";
  get.query = body;
  check(*gateway, gateway->parse_webhook(get));

  waflow::vm::Value payload;
  if (waflow::vm::from_json(body, payload)) {
    (void)gateway->build_send("+6281234567890", payload);
    (void)gateway->build_send(body, payload);
  }
  for (int status : {0, 200, 400, 429, 500}) {
    (void)gateway->parse_send_result(status, body, body);
  }
  return 0;
}
