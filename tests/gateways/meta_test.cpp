// The Meta Cloud API gateway: the verification handshake, signatures, every inbound kind and
// status from composed fixtures (tests/gateways/fixtures/meta), refusals with their status and
// message, every send payload as Graph API JSON, and the error-code table.

#include "adapters/gateways/meta.h"

#include <cctype>

#include <catch2/catch.hpp>

#include "tests/gateways/helpers.h"

namespace {

using namespace waflow::gateways;           // NOLINT(google-build-using-namespace)
using namespace waflow::gateways::testing;  // NOLINT(google-build-using-namespace)
using waflow::gateways::testing::value;

const char* kSecret = "app-secret-1";

MetaConfig config() {
  MetaConfig c;
  c.phone_number_id = "106540352242922";
  c.access_token = "EAAG-token";
  c.app_secret = kSecret;
  c.verify_token = "verify-me";
  return c;
}

WebhookRequest signed_post(const std::string& body, const std::string& secret = kSecret) {
  return post(body, {{"content-type", "application/json"},
                     {"x-hub-signature-256",
                      "sha256=" + wire::hmac_hex(wire::Digest::Sha256, secret, body)}});
}

ParsedWebhook parsed(const std::string& name) {
  const WebhookResult r = make_meta(config())->parse_webhook(signed_post(fixture("meta/" + name)));
  INFO(name << ": " << (r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return r.value();
}

// The one message of a fixture, as JSON.
Json only_message(const std::string& name) {
  const ParsedWebhook p = parsed(name);
  INFO(name);
  REQUIRE(p.messages.size() == 1);
  CHECK(p.messages[0].account == "106540352242922");
  CHECK(p.messages[0].contact == "+6281234567890");
  CHECK(p.messages[0].contact_name == "Sheena");
  CHECK(p.messages[0].timestamp_ms == 1761123456000);
  CHECK(p.messages[0].message.tag() == waflow::vm::Tag::Message);
  return as_json(p.messages[0].message);
}

WebhookError refusal(const WebhookRequest& request, const MetaConfig& c = config()) {
  const WebhookResult r = make_meta(c)->parse_webhook(request);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

Json sent(const std::string& payload, const std::string& contact = "+6281234567890") {
  return single_body(make_meta(config())->build_send(contact, value(payload)));
}

}  // namespace

TEST_CASE("meta: the HMAC-SHA256 sanity vector") {
  CHECK(wire::hmac_hex(wire::Digest::Sha256, "secret", "test") ==
        "0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914");
}

TEST_CASE("meta: the verification handshake answers the challenge as text") {
  WebhookRequest get;
  get.method = "GET";
  get.query = "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444";
  const WebhookResult r = make_meta(config())->parse_webhook(get);
  REQUIRE(r.ok());
  REQUIRE(r.value().reply.has_value());
  CHECK(r.value().reply->status == 200);
  CHECK(r.value().reply->content_type == "text/plain");
  CHECK(r.value().reply->body == "1158201444");
  CHECK(r.value().messages.empty());

  // Percent-encoded tokens are decoded before comparing.
  MetaConfig spaced = config();
  spaced.verify_token = "a b&c";
  get.query = "hub.verify_token=a+b%26c&hub.mode=subscribe&hub.challenge=x";
  const WebhookResult decoded = make_meta(spaced)->parse_webhook(get);
  REQUIRE(decoded.ok());
  CHECK(decoded.value().reply->body == "x");
}

TEST_CASE("meta: a wrong verify token, mode or no configured token is refused with 403") {
  WebhookRequest get;
  get.method = "GET";
  get.query = "hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1";
  WebhookError e = refusal(get);
  CHECK(e.status == 403);
  CHECK(e.message == "hub.verify_token does not match verify_token");

  get.query = "hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1";
  CHECK(refusal(get).status == 403);

  MetaConfig none = config();
  none.verify_token.clear();
  get.query = "hub.mode=subscribe&hub.verify_token=&hub.challenge=1";
  e = refusal(get, none);
  CHECK(e.status == 403);
  CHECK(e.message == "no verify_token is configured, so no verification can succeed");

  get.query = "hub.mode=subscribe&hub.verify_token=verify-me";
  e = refusal(get);
  CHECK(e.status == 400);
  CHECK(e.message == "a Meta verification request needs hub.mode and hub.challenge");
}

TEST_CASE("meta: signatures: good passes, bad, missing or malformed is refused") {
  const std::string body = fixture("meta/text.json");
  CHECK(make_meta(config())->parse_webhook(signed_post(body)).ok());

  // Upper-case hex is the same signature.
  std::string upper = "sha256=" + wire::hmac_hex(wire::Digest::Sha256, kSecret, body);
  for (std::size_t i = 7; i < upper.size(); ++i) {
    upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
  }
  CHECK(make_meta(config())
            ->parse_webhook(
                post(body, {{"content-type", "application/json"}, {"x-hub-signature-256", upper}}))
            .ok());

  WebhookError e = refusal(signed_post(body, "another-secret"));
  CHECK(e.status == 403);
  CHECK(e.message == "X-Hub-Signature-256 does not match the body (check app_secret)");

  // One byte changed after signing.
  WebhookRequest tampered = signed_post(body);
  tampered.body[tampered.body.find("menu")] = 'M';
  CHECK(refusal(tampered).status == 403);

  e = refusal(post(body, {{"content-type", "application/json"}}));
  CHECK(e.status == 401);
  CHECK(e.message == "missing X-Hub-Signature-256 header");

  e = refusal(
      post(body, {{"content-type", "application/json"},
                  {"x-hub-signature-256", wire::hmac_hex(wire::Digest::Sha256, kSecret, body)}}));
  CHECK(e.status == 401);
  CHECK(e.message == "X-Hub-Signature-256 is not sha256=<hex>");

  e = refusal(
      post(body, {{"content-type", "application/json"}, {"x-hub-signature-256", "sha256=zz"}}));
  CHECK(e.status == 403);

  // Without an app secret, nothing is checked.
  MetaConfig open = config();
  open.app_secret.clear();
  CHECK(make_meta(open)->parse_webhook(post(body, {{"content-type", "application/json"}})).ok());
}

TEST_CASE("meta: wrong method, content type and malformed JSON are refused") {
  WebhookRequest put = signed_post(fixture("meta/text.json"));
  put.method = "PUT";
  WebhookError e = refusal(put);
  CHECK(e.status == 405);
  CHECK(e.message == "Meta webhooks are GET (verification) or POST, not PUT");

  const std::string body = fixture("meta/text.json");
  const std::string sig = "sha256=" + wire::hmac_hex(wire::Digest::Sha256, kSecret, body);
  e = refusal(post(body, {{"content-type", "text/plain"}, {"x-hub-signature-256", sig}}));
  CHECK(e.status == 415);
  CHECK(e.message == "expected Content-Type application/json");
  CHECK(refusal(post(body, {{"x-hub-signature-256", sig}})).status == 415);
  CHECK(make_meta(config())
            ->parse_webhook(post(body, {{"content-type", "Application/JSON; charset=UTF-8"},
                                        {"x-hub-signature-256", sig}}))
            .ok());

  e = refusal(signed_post(fixture("meta/malformed.json")));
  CHECK(e.status == 400);
  CHECK(e.message.rfind("malformed JSON at byte ", 0) == 0);

  e = refusal(signed_post(fixture("meta/huge_number.json")));
  CHECK(e.status == 400);
  CHECK(e.message == "malformed JSON: a number is out of range");

  e = refusal(signed_post("[1,2,3]"));
  CHECK(e.status == 400);
  CHECK(e.message == "the body is not a JSON object");
}

TEST_CASE("meta: missing or impossible fields are a 400 that names the field") {
  const std::pair<const char*, const char*> cases[] = {
      {"missing_from", "missing field entry[0].changes[0].value.messages[0].from"},
      {"missing_id", "missing field entry[0].changes[0].value.messages[0].id"},
      {"missing_body", "missing field entry[0].changes[0].value.messages[0].text.body"},
      {"missing_metadata", "missing field entry[0].changes[0].value.metadata"},
      {"huge_timestamp",
       "entry[0].changes[0].value.messages[0].timestamp is not a time in seconds since 1970"},
      {"wrong_object", "object is 'page', expected whatsapp_business_account"},
  };
  for (const auto& [name, message] : cases) {
    INFO(name);
    const WebhookError e = refusal(signed_post(fixture(std::string("meta/") + name + ".json")));
    CHECK(e.status == 400);
    CHECK(e.message == message);
  }
}

TEST_CASE("meta: text, replies and template buttons read as the VM reads message.*") {
  CHECK(only_message("text.json") == Json::parse(R"({"type":"text","text":"menu"})"));
  CHECK(only_message("button_reply.json") ==
        Json::parse(R"({"type":"button","payload":"opt_yes","text":"Yes","title":"Yes"})"));
  CHECK(only_message("list_reply.json") ==
        Json::parse(R"({"type":"list","payload":"row_2","text":"Pricing","title":"Pricing",
                        "description":"Plans"})"));
  CHECK(only_message("template_button.json") ==
        Json::parse(R"({"type":"button","payload":"STOP_PROMOS","text":"Stop promotions",
                        "title":"Stop promotions"})"));
  const ParsedWebhook p = parsed("text.json");
  CHECK(p.messages[0].provider_message_id == "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBMDA=");
  CHECK(p.ignored.empty());
  CHECK_FALSE(p.reply.has_value());
}

TEST_CASE("meta: media carry the media id and MIME type, not a URL") {
  CHECK(only_message("image.json") ==
        Json::parse(R"({"type":"image","id":"2754859441498128","mime":"image/jpeg",
                        "caption":"receipt"})"));
  CHECK(only_message("audio.json") ==
        Json::parse(R"({"type":"audio","id":"1000000000000001","mime":"audio/ogg; codecs=opus"})"));
  CHECK(only_message("video.json") ==
        Json::parse(R"({"type":"video","id":"1000000000000002","mime":"video/mp4"})"));
  CHECK(only_message("document.json") ==
        Json::parse(R"({"type":"document","id":"1000000000000003","mime":"application/pdf",
                        "caption":"my invoice","filename":"invoice.pdf"})"));
  CHECK(only_message("sticker.json") ==
        Json::parse(R"({"type":"sticker","id":"1000000000000004","mime":"image/webp"})"));
  CHECK(only_message("location.json") ==
        Json::parse(R"({"type":"location","latitude":-6.2,"longitude":106.816666,"name":"Monas",
                        "address":"Gambir, Jakarta"})"));
}

TEST_CASE("meta: reactions, flows replies and unsupported messages are ignored with a reason") {
  const std::pair<const char*, const char*> cases[] = {
      {"reaction.json", "message type 'reaction' is not supported"},
      {"nfm_reply.json", "interactive reply of type 'nfm_reply' is not supported"},
      {"unsupported.json", "message type 'unsupported' is not supported (Message type unknown)"},
  };
  for (const auto& [name, why] : cases) {
    INFO(name);
    const ParsedWebhook p = parsed(name);
    CHECK(p.messages.empty());
    REQUIRE(p.ignored.size() == 1);
    CHECK(p.ignored[0] == std::string("entry[0].changes[0].value.messages[0] "
                                      "(wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBMDA=): ") +
                              why);
  }
}

TEST_CASE("meta: statuses are recorded, with the first error of a failure") {
  ParsedWebhook p = parsed("status_failed.json");
  CHECK(p.messages.empty());
  REQUIRE(p.statuses.size() == 1);
  const StatusUpdate& s = p.statuses[0];
  CHECK(s.account == "106540352242922");
  CHECK(s.provider_message_id == "wamid.OUTBOUND1");
  CHECK(s.contact == "+6281234567890");
  CHECK(s.status == "failed");
  CHECK(s.error_code == "131047");
  CHECK(s.error_text ==
        "Re-engagement message: Message failed to send because more than 24 hours have passed "
        "since the customer last replied to this number.");
  CHECK(s.timestamp_ms == 1761124000000);

  p = parsed("statuses.json");
  REQUIRE(p.statuses.size() == 4);
  CHECK(p.statuses[0].status == "sent");
  CHECK(p.statuses[1].status == "delivered");
  CHECK(p.statuses[2].status == "read");
  CHECK(p.statuses[3].status == "read");  // "played"
  CHECK(p.statuses[3].provider_message_id == "wamid.OUTBOUND3");
  REQUIRE(p.ignored.size() == 1);
  CHECK(p.ignored[0] ==
        "entry[0].changes[0].value.statuses[4] (wamid.OUTBOUND4): status 'deleted' is not "
        "recorded");
}

TEST_CASE("meta: a batch yields every message, other numbers, echoes and other fields drop") {
  ParsedWebhook p = parsed("batch.json");
  REQUIRE(p.messages.size() == 2);
  CHECK(p.messages[0].provider_message_id == "wamid.A");
  CHECK(p.messages[1].provider_message_id == "wamid.B");
  CHECK(as_json(p.messages[1].message) == Json::parse(R"({"type":"text","text":"two"})"));
  REQUIRE(p.ignored.size() == 3);
  CHECK(p.ignored[0] ==
        "entry[0].changes[1]: echo of a message sent from the WhatsApp Business app");
  CHECK(p.ignored[1] ==
        "entry[1].changes[0]: for phone number id 999999999999999, not "
        "106540352242922");
  CHECK(p.ignored[2] ==
        "entry[1].changes[1]: change field 'message_template_status_update' is "
        "not handled");

  // With no phone_number_id configured, every number is taken and named in `account`.
  MetaConfig any = config();
  any.phone_number_id.clear();
  const WebhookResult all = make_meta(any)->parse_webhook(signed_post(fixture("meta/batch.json")));
  REQUIRE(all.ok());
  REQUIRE(all.value().messages.size() == 3);
  CHECK(all.value().messages[2].account == "999999999999999");
  CHECK(all.value().messages[2].contact_name.empty());

  p = parsed("other_number.json");
  CHECK(p.messages.empty());
  CHECK(p.ignored.size() == 1);
}

TEST_CASE("meta: a sender without a phone number is known by the business-scoped user id") {
  const ParsedWebhook p = parsed("bsuid.json");
  REQUIRE(p.messages.size() == 1);
  CHECK(p.messages[0].contact == "US.13491208655302741918");
  CHECK(p.messages[0].contact_name == "Anon");
  const Json body = sent(R"({"type":"text","text":"hi"})", p.messages[0].contact);
  CHECK(body["recipient"] == "US.13491208655302741918");
  CHECK_FALSE(body.contains("to"));
}

TEST_CASE("meta: the send request: URL, bearer token, JSON") {
  const auto built =
      make_meta(config())->build_send("+6281234567890", value(R"({"type":"text","text":"Hi"})"));
  REQUIRE(built.ok());
  REQUIRE(built.value().size() == 1);
  const OutboundRequest& r = built.value()[0];
  CHECK(r.method == "POST");
  CHECK(r.url == "https://graph.facebook.com/v21.0/106540352242922/messages");
  CHECK(header_of(r, "Authorization") == "Bearer EAAG-token");
  CHECK(header_of(r, "Content-Type") == "application/json");

  MetaConfig local = config();
  local.graph_base = "http://127.0.0.1:9999/";
  local.graph_version = "v23.0";
  const auto moved = make_meta(local)->build_send("+1", value(R"({"type":"text","text":"Hi"})"));
  REQUIRE(moved.ok());
  CHECK(moved.value()[0].url == "http://127.0.0.1:9999/v23.0/106540352242922/messages");
}

TEST_CASE("meta: every send payload becomes the Graph API message") {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"type":"text","text":"Hi there"})",
       R"({"type":"text","text":{"body":"Hi there","preview_url":false}})"},
      {R"({"type":"text","text":"Hi","header":"Welcome","footer":"Reply STOP to stop"})",
       R"({"type":"text","text":{"body":"*Welcome*\n\nHi\n\n_Reply STOP to stop_",
                                  "preview_url":false}})"},
      {R"({"type":"buttons","text":"Pick a size","header":"Pizza","footer":"Fresh",
           "buttons":[{"id":"s","title":"Small"},{"id":"m","title":"Medium"}]})",
       R"({"type":"interactive","interactive":{"type":"button",
           "header":{"type":"text","text":"Pizza"},"body":{"text":"Pick a size"},
           "footer":{"text":"Fresh"},
           "action":{"buttons":[{"type":"reply","reply":{"id":"s","title":"Small"}},
                                {"type":"reply","reply":{"id":"m","title":"Medium"}}]}}})"},
      {R"({"type":"list","text":"Our menu","button":"Choose",
           "sections":[{"title":"Pizza","rows":[{"id":"p1","title":"Margherita",
                                                   "description":"Tomato, mozzarella"},
                                                  {"id":"p2","title":"Pepperoni","description":""}]}]})",
       R"({"type":"interactive","interactive":{"type":"list","body":{"text":"Our menu"},
           "action":{"button":"Choose","sections":[{"title":"Pizza","rows":[
             {"id":"p1","title":"Margherita","description":"Tomato, mozzarella"},
             {"id":"p2","title":"Pepperoni"}]}]}}})"},
      {R"({"type":"image","url":"https://example.com/a.jpg","caption":"Our pizza"})",
       R"({"type":"image","image":{"link":"https://example.com/a.jpg","caption":"Our pizza"}})"},
      {R"({"type":"image","url":"2754859441498128"})",
       R"({"type":"image","image":{"id":"2754859441498128"}})"},
      {R"({"type":"audio","url":"https://example.com/a.ogg","caption":"dropped"})",
       R"({"type":"audio","audio":{"link":"https://example.com/a.ogg"}})"},
      {R"({"type":"video","url":"HTTPS://example.com/v.mp4","caption":"Watch"})",
       R"({"type":"video","video":{"link":"HTTPS://example.com/v.mp4","caption":"Watch"}})"},
      {R"({"type":"document","url":"https://example.com/menu.pdf","filename":"menu.pdf",
           "caption":"The menu","mime":"application/pdf"})",
       R"({"type":"document","document":{"link":"https://example.com/menu.pdf",
           "filename":"menu.pdf","caption":"The menu"}})"},
      {R"({"type":"sticker","url":"https://example.com/s.webp"})",
       R"({"type":"sticker","sticker":{"link":"https://example.com/s.webp"}})"},
      {R"({"type":"location","latitude":-6.2,"longitude":106.816666,"name":"Monas",
           "address":"Gambir"})",
       R"({"type":"location","location":{"latitude":-6.2,"longitude":106.816666,"name":"Monas",
           "address":"Gambir"}})"},
      {R"({"type":"template","name":"order_update","language":"id","params":["INV-42",7]})",
       R"({"type":"template","template":{"name":"order_update","language":{"code":"id"},
           "components":[{"type":"body","parameters":[{"type":"text","text":"INV-42"},
                                                       {"type":"text","text":"7"}]}]}})"},
      {R"({"type":"template","name":"hello_world","language":"en_US","params":[]})",
       R"({"type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}})"},
  };
  for (const auto& [payload, expected] : cases) {
    INFO(payload);
    Json want = Json::parse(expected);
    want["messaging_product"] = "whatsapp";
    want["recipient_type"] = "individual";
    want["to"] = "6281234567890";
    CHECK(sent(payload) == want);
  }
}

TEST_CASE("meta: invalid UTF-8 in a payload never reaches the wire") {
  waflow::vm::Value v = waflow::vm::Value::object(
      {{"type", waflow::vm::Value::text("text")},
       {"text", waflow::vm::Value::text(std::string("caf\xC3") + " ok")}});
  const auto built = make_meta(config())->build_send("+1", v);
  REQUIRE(built.ok());
  const Json body = Json::parse(built.value()[0].body);  // throws on invalid UTF-8
  CHECK(body["text"]["body"] == "caf\xEF\xBF\xBD ok");
}

TEST_CASE("meta: payloads that cannot be sent are refused with a reason") {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"type":"buttons","text":"Pick","buttons":[{"id":"1","title":"a"},{"id":"2","title":"b"},
           {"id":"3","title":"c"},{"id":"4","title":"d"}]})",
       "cannot send this buttons message: WhatsApp reply buttons are one to three"},
      {R"({"type":"buttons","text":"Pick","buttons":[]})",
       "cannot send this buttons message: WhatsApp reply buttons are one to three"},
      {R"({"type":"list","text":"Pick","button":"Go","sections":[]})",
       "cannot send this list message: a list needs at least one section"},
      {R"({"type":"list","text":"Pick","sections":[{"title":"a","rows":[]}]})",
       "cannot send this list message: a list needs the label of its button"},
      {R"({"type":"image","caption":"no url"})",
       "cannot send this image message: it has no url or media id"},
      {R"({"type":"location","latitude":"north","longitude":1})",
       "cannot send this location message: it needs a number latitude and longitude"},
      {R"({"type":"template","name":"x"})",
       "cannot send this template message: a template needs its name and language"},
      {R"({"type":"text","text":""})", "cannot send this text message: it has no text"},
      {R"({"type":"poll"})", "the Meta gateway cannot send a message of type 'poll'"},
  };
  for (const auto& [payload, message] : cases) {
    INFO(payload);
    const auto built = make_meta(config())->build_send("+6281234567890", value(payload));
    REQUIRE_FALSE(built.ok());
    CHECK(built.error().message == message);
  }
  MetaConfig none = config();
  none.phone_number_id.clear();
  const auto built = make_meta(none)->build_send("+1", value(R"({"type":"text","text":"x"})"));
  REQUIRE_FALSE(built.ok());
  CHECK(built.error().message == "the Meta gateway has no phone_number_id to send from");
}

TEST_CASE("meta: send results and the error-code table") {
  const auto gw = make_meta(config());
  SendResult ok =
      gw->parse_send_result(200,
                            R"({"messaging_product":"whatsapp","contacts":[{"input":"6281234567890",
          "wa_id":"6281234567890"}],"messages":[{"id":"wamid.SENT1","message_status":"accepted"}]})",
                            "");
  CHECK(ok.outcome == SendOutcome::Sent);
  CHECK(ok.provider_message_id == "wamid.SENT1");

  struct Row {
    int status;
    const char* body;
    const char* retry_after;
    SendOutcome outcome;
    const char* code;
    std::int64_t retry_ms;
  };
  auto error = [](int code, const char* message = "m") {
    return std::string(R"({"error":{"message":")") + message + R"(","type":"OAuthException",)" +
           R"("code":)" + std::to_string(code) + R"(,"fbtrace_id":"AbC"}})";
  };
  const std::string e131047 = error(131047);
  const std::string e130429 = error(130429);
  const std::string e131056 = error(131056);
  const std::string e80007 = error(80007);
  const std::string e4 = error(4);
  const std::string e131000 = error(131000);
  const std::string e131016 = error(131016);
  const std::string e190 = error(190, "Error validating access token");
  const std::string e100 = error(100, "Invalid parameter");
  const std::string e131026 = error(131026);
  const Row rows[] = {
      {400, e131047.c_str(), "", SendOutcome::OutsideWindow, "131047", -1},
      {400, e130429.c_str(), "30", SendOutcome::RateLimited, "130429", 30000},
      {400, e131056.c_str(), "", SendOutcome::RateLimited, "131056", -1},
      {400, e80007.c_str(), "", SendOutcome::RateLimited, "80007", -1},
      {400, e4.c_str(), "", SendOutcome::RateLimited, "4", -1},
      {429, "", "7", SendOutcome::RateLimited, "429", 7000},
      {429, "", "Wed, 21 Oct 2015 07:28:00 GMT", SendOutcome::RateLimited, "429", -1},
      {500, e131000.c_str(), "", SendOutcome::Retry, "131000", -1},
      {503, "<html>down</html>", "", SendOutcome::Retry, "503", -1},
      {400, e131016.c_str(), "", SendOutcome::Retry, "131016", -1},
      {0, "", "", SendOutcome::Retry, "", -1},
      {401, e190.c_str(), "", SendOutcome::Permanent, "190", -1},
      {400, e100.c_str(), "", SendOutcome::Permanent, "100", -1},
      {400, e131026.c_str(), "", SendOutcome::Permanent, "131026", -1},
      {404, "not json", "", SendOutcome::Permanent, "404", -1},
  };
  for (const Row& row : rows) {
    INFO(row.status << " " << row.body);
    const SendResult r = gw->parse_send_result(row.status, row.body, row.retry_after);
    CHECK(outcome_name(r.outcome) == outcome_name(row.outcome));
    CHECK(r.error_code == row.code);
    CHECK(r.retry_after_ms == row.retry_ms);
    CHECK_FALSE(r.error.empty());
  }
  CHECK(gw->parse_send_result(401, e190, "").error ==
        "the access token is invalid or expired (code 190): Error validating access token");
  CHECK(gw->parse_send_result(400, e131047, "").error ==
        "outside the 24-hour window, only a template can reach the contact: m");
  CHECK(gw->parse_send_result(
              400, R"({"error":{"message":"(#131009) Parameter value is not valid","code":131009,
                      "error_data":{"details":"Button title length invalid"}}})",
              "")
            .error == "(#131009) Parameter value is not valid: Button title length invalid");
  CHECK(gw->parse_send_result(400, R"({"error":{"code":1,"is_transient":true}})", "").outcome ==
        SendOutcome::Retry);
}
