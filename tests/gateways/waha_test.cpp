// The WAHA gateway: the documented HMAC test vector, signatures, every inbound kind from
// composed fixtures (tests/gateways/fixtures/waha), echoes and groups dropped, acks, refusals,
// every send payload as WAHA request JSON (buttons and lists as numbered text), and the
// send-result table across engines.

#include "adapters/gateways/waha.h"

#include <catch2/catch.hpp>

#include "tests/gateways/helpers.h"

namespace {

using namespace waflow::gateways;           // NOLINT(google-build-using-namespace)
using namespace waflow::gateways::testing;  // NOLINT(google-build-using-namespace)
using waflow::gateways::testing::value;

const char* kKey = "hook-key";

WahaConfig config() {
  WahaConfig c;
  c.base_url = "http://waha:3000/";
  c.session = "default";
  c.api_key = "waha-api-key";
  c.hmac_key = kKey;
  return c;
}

WebhookRequest signed_post(const std::string& body, const std::string& key = kKey) {
  return post(body, {{"content-type", "application/json"},
                     {"x-webhook-request-id", "req-1"},
                     {"x-webhook-hmac", wire::hmac_hex(wire::Digest::Sha512, key, body)},
                     {"x-webhook-hmac-algorithm", "sha512"}});
}

ParsedWebhook parsed(const std::string& name) {
  const WebhookResult r = make_waha(config())->parse_webhook(signed_post(fixture("waha/" + name)));
  INFO(name << ": " << (r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return r.value();
}

const Inbound& only(const ParsedWebhook& p) {
  REQUIRE(p.messages.size() == 1);
  CHECK(p.messages[0].account == "default");
  return p.messages[0];
}

std::string only_ignored(const std::string& name) {
  const ParsedWebhook p = parsed(name);
  INFO(name);
  CHECK(p.messages.empty());
  CHECK(p.statuses.empty());
  REQUIRE(p.ignored.size() == 1);
  return p.ignored[0];
}

WebhookError refusal(const WebhookRequest& request) {
  const WebhookResult r = make_waha(config())->parse_webhook(request);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

}  // namespace

TEST_CASE("waha: the documented HMAC-SHA512 test vector") {
  const std::string body = fixture("waha/docs_vector.json");
  CHECK(wire::hmac_hex(wire::Digest::Sha512, "my-secret-key", body) ==
        "208f8a55dde9e05519e898b10b89bf0d0b3b0fdf11fdbf09b6b90476301b98d8097c462b2b17a6ce93b6b47a"
        "136cf2e78a33a63f6752c2c1631777076153fa89");
  // It passes the check, and then the event is refused for having no payload.
  WahaConfig c = config();
  c.hmac_key = "my-secret-key";
  const WebhookResult r = make_waha(c)->parse_webhook(post(
      body, {{"content-type", "application/json"},
             {"x-webhook-hmac",
              "208f8a55dde9e05519e898b10b89bf0d0b3b0fdf11fdbf09b6b90476301b98d8097c462b2b17a6ce93b"
              "6b47a136cf2e78a33a63f6752c2c1631777076153fa89"},
             {"x-webhook-hmac-algorithm", "sha512"}}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().status == 400);
  CHECK(r.error().message == "missing field payload");
}

TEST_CASE("waha: signatures: good passes, bad, missing or another algorithm is refused") {
  const std::string body = fixture("waha/text.json");
  CHECK(make_waha(config())->parse_webhook(signed_post(body)).ok());

  WebhookError e = refusal(signed_post(body, "wrong-key"));
  CHECK(e.status == 403);
  CHECK(e.message == "X-Webhook-Hmac does not match the body (check hmac_key)");

  e = refusal(post(body, {{"content-type", "application/json"}}));
  CHECK(e.status == 401);
  CHECK(e.message == "missing X-Webhook-Hmac header (hmac_key is set)");

  WebhookRequest sha256 = signed_post(body);
  sha256.headers.back().second = "sha256";
  e = refusal(sha256);
  CHECK(e.status == 401);
  CHECK(e.message == "X-Webhook-Hmac-Algorithm is not sha512");

  // Without an hmac_key nothing is checked.
  WahaConfig open = config();
  open.hmac_key.clear();
  CHECK(make_waha(open)->parse_webhook(post(body, {{"content-type", "application/json"}})).ok());
}

TEST_CASE("waha: wrong method, content type, malformed JSON and missing fields are refused") {
  WebhookRequest get = signed_post(fixture("waha/text.json"));
  get.method = "GET";
  CHECK(refusal(get).status == 405);

  const std::string body = fixture("waha/text.json");
  WebhookRequest form = signed_post(body);
  form.headers[0].second = "application/x-www-form-urlencoded";
  WebhookError e = refusal(form);
  CHECK(e.status == 415);

  e = refusal(signed_post(fixture("waha/malformed.json")));
  CHECK(e.status == 400);
  CHECK(e.message.rfind("malformed JSON at byte ", 0) == 0);

  const std::pair<const char*, const char*> cases[] = {
      {"missing_from.json", "missing field payload.from"},
      {"missing_payload.json", "missing field payload"},
      {"huge_timestamp.json", "payload.timestamp is not a time in seconds since 1970"},
  };
  for (const auto& [name, message] : cases) {
    INFO(name);
    e = refusal(signed_post(fixture(std::string("waha/") + name)));
    CHECK(e.status == 400);
    CHECK(e.message == message);
  }
  e = refusal(signed_post(R"({"session":"default","payload":{}})"));
  CHECK(e.message == "missing field event");
  e = refusal(signed_post(R"({"event":"message","session":"default","payload":[]})"));
  CHECK(e.message == "payload is not an object");
}

TEST_CASE("waha: a text message from a phone number") {
  const ParsedWebhook p = parsed("text.json");
  const Inbound& in = only(p);
  CHECK(in.provider_message_id == "false_6281234567890@c.us_3EB0C3F1A2B4D5E6F7A8");
  CHECK(in.contact == "+6281234567890");
  CHECK(in.contact_name == "Budi");
  CHECK(in.timestamp_ms == 1761123456000);
  CHECK(in.message.tag() == waflow::vm::Tag::Message);
  CHECK(as_json(in.message) == Json::parse(R"({"type":"text","text":"menu"})"));
  CHECK(p.ignored.empty());
}

TEST_CASE("waha: a hidden @lid sender keeps the chat id, and replies go back to it") {
  const ParsedWebhook p = parsed("lid.json");
  const Inbound& in = only(p);
  CHECK(in.contact == "123456789012345@lid");
  CHECK(in.contact_name == "Lid User");
  const Json body = single_body(
      make_waha(config())->build_send(in.contact, value(R"({"type":"text","text":"hi"})")));
  CHECK(body["chatId"] == "123456789012345@lid");
}

TEST_CASE("waha: media, media not downloaded, and locations") {
  CHECK(as_json(only(parsed("image.json")).message) ==
        Json::parse(R"({"type":"image","url":"http://waha:3000/api/files/default/3EB0IMG.jpeg",
                        "mime":"image/jpeg","caption":"receipt attached"})"));
  CHECK(as_json(only(parsed("document.json")).message) ==
        Json::parse(R"({"type":"document","url":"http://waha:3000/api/files/default/3EB0DOC.pdf",
                        "mime":"application/pdf","filename":"invoice.pdf"})"));
  CHECK(as_json(only(parsed("voice.json")).message) ==
        Json::parse(R"({"type":"audio","url":"http://waha:3000/api/files/default/3EB0VOICE.oga",
                        "mime":"audio/ogg; codecs=opus"})"));
  CHECK(as_json(only(parsed("media_not_downloaded.json")).message) ==
        Json::parse(R"({"type":"document"})"));
  // The latitude arrives as a text on some engines.
  CHECK(as_json(only(parsed("location.json")).message) ==
        Json::parse(R"({"type":"location","latitude":-6.2,"longitude":106.816666,
                        "name":"Monas"})"));
}

TEST_CASE("waha: button and list replies reported by the engine become taps") {
  CHECK(as_json(only(parsed("button_webjs.json")).message) ==
        Json::parse(R"({"type":"button","payload":"opt_yes","text":"Yes","title":"Yes"})"));
  CHECK(as_json(only(parsed("list_noweb.json")).message) ==
        Json::parse(R"({"type":"list","payload":"row_2","text":"Pricing","title":"Pricing"})"));
}

TEST_CASE("waha: echoes, groups, message.any, other sessions and other events are dropped") {
  CHECK(only_ignored("from_me.json") ==
        "true_6281234567890@c.us_3EB0MINE: echo of a message we sent (fromMe)");
  CHECK(only_ignored("message_any_api.json") ==
        "event message.any is not routed (waflow reads 'message'; subscribing to both doubles "
        "every delivery)");
  CHECK(only_ignored("group.json") ==
        "false_120363012345678901@g.us_3EB0FFEE0011223344_6281234567890@c.us: group message "
        "(groups are not routed)");
  CHECK(only_ignored("other_session.json") == "event message for session 'sales', not 'default'");
  CHECK(only_ignored("session_status.json") == "session 'default' is SCAN_QR_CODE");
  CHECK(only_ignored("vcard.json") ==
        "false_6281234567890@c.us_3EB0VCARD: contact cards are not supported");

  // With no session configured, every session is taken and named in `account`.
  WahaConfig any = config();
  any.session.clear();
  const WebhookResult r =
      make_waha(any)->parse_webhook(signed_post(fixture("waha/other_session.json")));
  REQUIRE(r.ok());
  REQUIRE(r.value().messages.size() == 1);
  CHECK(r.value().messages[0].account == "sales");
}

TEST_CASE("waha: message.ack becomes a delivery status") {
  ParsedWebhook p = parsed("ack.json");
  REQUIRE(p.statuses.size() == 1);
  CHECK(p.statuses[0].account == "default");
  CHECK(p.statuses[0].provider_message_id == "true_6281234567890@c.us_3EB0AAAA1111");
  CHECK(p.statuses[0].contact == "+6281234567890");
  CHECK(p.statuses[0].status == "read");
  CHECK(p.statuses[0].timestamp_ms == 0);

  p = parsed("ack_error.json");
  REQUIRE(p.statuses.size() == 1);
  CHECK(p.statuses[0].status == "failed");
  CHECK(p.statuses[0].error_code == "ack -1");
  CHECK(p.statuses[0].timestamp_ms == 1761123456789);  // the envelope's, in milliseconds
}

TEST_CASE("waha: the send request: URL, API key, session and chat id") {
  const auto built =
      make_waha(config())->build_send("+6281234567890", value(R"({"type":"text","text":"Hi"})"));
  REQUIRE(built.ok());
  REQUIRE(built.value().size() == 1);
  const OutboundRequest& r = built.value()[0];
  CHECK(r.method == "POST");
  CHECK(r.url == "http://waha:3000/api/sendText");
  CHECK(header_of(r, "X-Api-Key") == "waha-api-key");
  CHECK(header_of(r, "Content-Type") == "application/json");
  CHECK(Json::parse(r.body) ==
        Json::parse(R"({"session":"default","chatId":"6281234567890@c.us","text":"Hi"})"));
}

TEST_CASE("waha: every send payload becomes its WAHA request") {
  struct Case {
    const char* payload;
    const char* endpoint;
    const char* expected;  // without session and chatId
  };
  const Case cases[] = {
      {R"({"type":"text","text":"Hi","header":"Welcome","footer":"Bye"})", "/api/sendText",
       R"({"text":"*Welcome*\n\nHi\n\n_Bye_"})"},
      {R"({"type":"buttons","text":"What size?","buttons":[{"id":"s","title":"Small"},
           {"id":"m","title":"Medium"}]})",
       "/api/sendText", R"({"text":"What size?\n\n1. Small\n2. Medium"})"},
      {R"({"type":"list","text":"Menu","button":"Choose","sections":[
           {"title":"Pizza","rows":[{"id":"p1","title":"Margherita","description":"Tomato"}]},
           {"title":"Drinks","rows":[{"id":"d1","title":"Cola","description":""}]}]})",
       "/api/sendText", R"({"text":"Menu\n\nPizza\n1. Margherita - Tomato\nDrinks\n2. Cola"})"},
      {R"({"type":"image","url":"https://example.com/p.png","caption":"Our pizza"})",
       "/api/sendImage",
       R"({"file":{"url":"https://example.com/p.png","mimetype":"image/png"},
           "caption":"Our pizza"})"},
      {R"({"type":"video","url":"https://example.com/v","mime":"video/webm"})", "/api/sendVideo",
       R"({"file":{"url":"https://example.com/v","mimetype":"video/webm"}})"},
      {R"({"type":"audio","url":"https://example.com/a.mp3"})", "/api/sendVoice",
       R"({"file":{"url":"https://example.com/a.mp3","mimetype":"audio/mpeg"},"convert":true})"},
      {R"({"type":"audio","url":"https://example.com/a.ogg?x=1"})", "/api/sendVoice",
       R"({"file":{"url":"https://example.com/a.ogg?x=1","mimetype":"audio/ogg"},
           "convert":false})"},
      {R"({"type":"document","url":"https://example.com/files/menu.pdf","caption":"Menu"})",
       "/api/sendFile",
       R"({"file":{"url":"https://example.com/files/menu.pdf","mimetype":"application/pdf",
                   "filename":"menu.pdf"},"caption":"Menu"})"},
      {R"({"type":"document","url":"https://example.com/x","filename":"a.bin"})", "/api/sendFile",
       R"({"file":{"url":"https://example.com/x","mimetype":"application/octet-stream",
                   "filename":"a.bin"}})"},
      {R"({"type":"sticker","url":"https://example.com/s.webp"})", "/api/sendImage",
       R"({"file":{"url":"https://example.com/s.webp","mimetype":"image/webp"}})"},
      {R"({"type":"location","latitude":-6.2,"longitude":106.8,"name":"Monas",
           "address":"Gambir"})",
       "/api/sendLocation", R"({"latitude":-6.2,"longitude":106.8,"title":"Monas\nGambir"})"},
      {R"({"type":"location","latitude":1,"longitude":2})", "/api/sendLocation",
       R"({"latitude":1,"longitude":2})"},
  };
  for (const Case& c : cases) {
    INFO(c.payload);
    const auto built = make_waha(config())->build_send("+6281234567890", value(c.payload));
    REQUIRE(built.ok());
    REQUIRE(built.value().size() == 1);
    CHECK(built.value()[0].url == std::string("http://waha:3000") + c.endpoint);
    Json want = Json::parse(c.expected);
    want["session"] = "default";
    want["chatId"] = "6281234567890@c.us";
    CHECK(Json::parse(built.value()[0].body) == want);
  }
}

TEST_CASE("waha: templates, media ids and unknown types cannot be sent") {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"type":"template","name":"order_update","language":"id","params":[]})",
       "WAHA cannot send WhatsApp templates (template 'order_update'): templates exist only on "
       "the Meta Cloud API; send a text instead"},
      {R"({"type":"image","url":"2754859441498128"})",
       "WAHA sends media by URL, and '2754859441498128' is not an http(s) URL"},
      {R"({"type":"image"})", "cannot send this image message: it has no url"},
      {R"({"type":"buttons","text":"x"})", "cannot send this buttons message: it has no options"},
      {R"({"type":"location","latitude":1})",
       "cannot send this location message: it needs a number latitude and longitude"},
      {R"({"type":"poll"})", "the WAHA gateway cannot send a message of type 'poll'"},
  };
  for (const auto& [payload, message] : cases) {
    INFO(payload);
    const auto built = make_waha(config())->build_send("+6281234567890", value(payload));
    REQUIRE_FALSE(built.ok());
    CHECK(built.error().message == message);
  }
}

TEST_CASE("waha: send results across engines and the error table") {
  const auto gw = make_waha(config());
  struct Row {
    int status;
    const char* body;
    SendOutcome outcome;
    const char* id;
  };
  const Row rows[] = {
      // WEBJS
      {201,
       R"({"id":{"fromMe":true,"remote":"6281234567890@c.us","id":"3EB0AA",
               "_serialized":"true_6281234567890@c.us_3EB0AA"},"body":"Hi"})",
       SendOutcome::Sent, "true_6281234567890@c.us_3EB0AA"},
      // An engine that returns the id as a text.
      {201, R"({"id":"true_6281234567890@c.us_3EB0BB"})", SendOutcome::Sent,
       "true_6281234567890@c.us_3EB0BB"},
      // NOWEB (Baileys): rebuilt into the id that message.ack will carry.
      {201,
       R"({"key":{"remoteJid":"6281234567890@s.whatsapp.net","fromMe":true,"id":"3EB0CC"},
           "message":{"conversation":"Hi"},"status":"PENDING"})",
       SendOutcome::Sent, "true_6281234567890@c.us_3EB0CC"},
      // Some builds answer 201 with nothing.
      {201, "", SendOutcome::Sent, ""},
      {200, "[]", SendOutcome::Sent, ""},
      {429, "", SendOutcome::RateLimited, ""},
      {500, R"({"statusCode":500,"message":"Internal server error"})", SendOutcome::Retry, ""},
      {502, "<html>bad gateway</html>", SendOutcome::Retry, ""},
      {0, "", SendOutcome::Retry, ""},
      {422,
       R"({"statusCode":422,"message":"Session status is not as expected. Try again later or restart the session"})",
       SendOutcome::Retry, ""},
      {401, R"({"message":"Unauthorized","statusCode":401})", SendOutcome::Permanent, ""},
      {400, R"({"statusCode":400,"message":["chatId must be a string"],"error":"Bad Request"})",
       SendOutcome::Permanent, ""},
      {404, R"({"statusCode":404,"message":"Session not found"})", SendOutcome::Permanent, ""},
  };
  for (const Row& row : rows) {
    INFO(row.status << " " << row.body);
    const SendResult r = gw->parse_send_result(row.status, row.body, "12");
    CHECK(outcome_name(r.outcome) == outcome_name(row.outcome));
    CHECK(r.provider_message_id == row.id);
    if (row.outcome != SendOutcome::Sent) {
      CHECK_FALSE(r.error.empty());
    }
  }
  CHECK(gw->parse_send_result(429, "", "12").retry_after_ms == 12000);
  CHECK(gw->parse_send_result(401, R"({"message":"Unauthorized"})", "").error ==
        "WAHA refused the API key (HTTP 401)");
  CHECK(gw->parse_send_result(400, R"({"message":["chatId must be a string","text is empty"]})", "")
            .error == "HTTP 400 from WAHA: chatId must be a string; text is empty");
  CHECK(gw->parse_send_result(404, R"({"message":"Session not found"})", "").error_code == "404");
}
