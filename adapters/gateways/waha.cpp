// The WAHA gateway. Wire facts: research/providers.md §1 (WAHA's docs and source). Payloads
// differ per engine (WEBJS, NOWEB, GOWS); only the normalised fields are relied on, and the
// engine's raw `_data` only for what has no normalised field (the sender's name, button and
// list replies), leniently.
//
// Only the `message` event is routed: it carries messages from others only. `message.any` also
// carries our own sends, and subscribing to both doubles every delivery, so it is dropped.

#include "adapters/gateways/waha.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "adapters/gateways/options.h"
#include "adapters/gateways/wire.h"

namespace waflow::gateways {

namespace {

using vm::Value;
using wire::Json;
using wire::Malformed;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return s;
}

// "6281...@c.us" and "6281...:12@s.whatsapp.net" are phone numbers: "+6281...". A hidden
// "...@lid" has no number to derive (and must not get one invented): it stays the chat id,
// without a device suffix, which is also where replies go.
std::string contact_of(const std::string& chat) {
  const std::size_t at = chat.find('@');
  if (at == std::string::npos) {
    return all_digits(chat) ? "+" + chat : chat;
  }
  std::string user = chat.substr(0, at);
  const std::string server = chat.substr(at + 1);
  if (const std::size_t colon = user.find(':'); colon != std::string::npos) {
    user.resize(colon);
  }
  if ((server == "c.us" || server == "s.whatsapp.net") && all_digits(user)) {
    return "+" + user;
  }
  if (server == "lid") {
    return user + "@lid";
  }
  return chat;
}

// The chat id a send goes to: the inverse of contact_of().
std::string chat_of(const std::string& contact) {
  if (contact.size() > 1 && contact.front() == '+' && all_digits(contact.substr(1))) {
    return contact.substr(1) + "@c.us";
  }
  if (all_digits(contact)) {
    return contact + "@c.us";
  }
  return contact;
}

Value message_of(Value::Object fields) {
  return Value::object(std::move(fields), vm::Tag::Message);
}

void add_text(Value::Object& fields, const char* key, const std::string& value) {
  if (!value.empty()) {
    fields.emplace_back(key, Value::text(value));
  }
}

// Follows a path of object fields; nullptr when any step is missing.
const Json* dig(const Json& root, std::initializer_list<const char*> keys) {
  const Json* at = &root;
  for (const char* key : keys) {
    at = wire::field(*at, key);
    if (at == nullptr) {
      return nullptr;
    }
  }
  return at;
}

std::string dig_text(const Json& root, std::initializer_list<const char*> keys) {
  const Json* f = dig(root, keys);
  return f != nullptr && f->is_string() ? f->get<std::string>() : std::string();
}

bool truthy(const Json* f) {
  if (f == nullptr) {
    return false;
  }
  if (f->is_boolean()) {
    return f->get<bool>();
  }
  if (f->is_string()) {
    const std::string s = lower(f->get<std::string>());
    return s == "true" || s == "1";
  }
  return f->is_number() && f->get<double>() != 0;
}

std::string sender_name(const Json& payload) {
  const Json* data = wire::field(payload, "_data");
  if (data == nullptr) {
    return {};
  }
  for (auto keys :
       {std::initializer_list<const char*>{"pushName"}, {"notifyName"}, {"Info", "PushName"}}) {
    if (std::string name = dig_text(*data, keys); !name.empty()) {
      return name;
    }
  }
  return {};
}

// A tapped reply button or list row, where the engine reports one (only in `_data`, and
// differently per engine: WEBJS flattens it, NOWEB keeps Baileys' message object).
std::optional<Value> interactive_reply(const Json& payload) {
  const Json* data = wire::field(payload, "_data");
  if (data == nullptr) {
    return std::nullopt;
  }
  const std::string body = wire::text(payload, "body");
  auto tap = [&body](const char* type, std::string id, std::string title) -> std::optional<Value> {
    if (id.empty()) {
      return std::nullopt;
    }
    if (title.empty()) {
      title = body;
    }
    return message_of({{"type", Value::text(type)},
                       {"payload", Value::text(id)},
                       {"text", Value::text(title)},
                       {"title", Value::text(title)}});
  };
  if (auto v = tap("button", dig_text(*data, {"selectedButtonId"}), {})) {
    return v;
  }
  if (auto v = tap("list", dig_text(*data, {"listResponse", "singleSelectReply", "selectedRowId"}),
                   dig_text(*data, {"listResponse", "title"}))) {
    return v;
  }
  if (auto v =
          tap("button", dig_text(*data, {"message", "buttonsResponseMessage", "selectedButtonId"}),
              dig_text(*data, {"message", "buttonsResponseMessage", "selectedDisplayText"}))) {
    return v;
  }
  if (auto v = tap(
          "list",
          dig_text(*data, {"message", "listResponseMessage", "singleSelectReply", "selectedRowId"}),
          dig_text(*data, {"message", "listResponseMessage", "title"}))) {
    return v;
  }
  return tap("button", dig_text(*data, {"message", "templateButtonReplyMessage", "selectedId"}),
             dig_text(*data, {"message", "templateButtonReplyMessage", "selectedDisplayText"}));
}

std::string media_type(const std::string& mime) {
  const std::string m = lower(mime);
  if (m == "image/webp") {
    return "sticker";  // WhatsApp's stickers are WebP; its photos never are
  }
  for (const char* kind : {"image", "audio", "video"}) {
    if (m.rfind(std::string(kind) + "/", 0) == 0) {
      return kind;
    }
  }
  return "document";
}

// The file name at the end of a URL's path.
std::string url_file_name(const std::string& url) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  const std::size_t scheme = path.find("://");
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos || (scheme != std::string::npos && slash < scheme + 3)) {
    return {};
  }
  return path.substr(slash + 1);
}

// WAHA wants a MIME type with every file; the payload's, else one guessed from the URL.
std::string mime_for(const std::string& type, const std::string& given, const std::string& url) {
  if (!given.empty()) {
    return given;
  }
  const std::string name = lower(url_file_name(url));
  const std::size_t dot = name.rfind('.');
  const std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
  static const std::pair<const char*, const char*> kTypes[] = {
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"png", "image/png"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"mp4", "video/mp4"},
      {"3gp", "video/3gpp"},
      {"mov", "video/quicktime"},
      {"ogg", "audio/ogg"},
      {"opus", "audio/ogg"},
      {"oga", "audio/ogg"},
      {"mp3", "audio/mpeg"},
      {"m4a", "audio/mp4"},
      {"aac", "audio/aac"},
      {"amr", "audio/amr"},
      {"pdf", "application/pdf"},
      {"txt", "text/plain"},
      {"csv", "text/csv"},
      {"zip", "application/zip"},
      {"doc", "application/msword"},
      {"xls", "application/vnd.ms-excel"},
      {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}};
  for (const auto& [e, mime] : kTypes) {
    if (ext == e) {
      return mime;
    }
  }
  if (type == "image") {
    return "image/jpeg";
  }
  if (type == "sticker") {
    return "image/webp";
  }
  if (type == "video") {
    return "video/mp4";
  }
  if (type == "audio") {
    return "audio/ogg";
  }
  return "application/octet-stream";
}

// message.ack's number (or, failing that, its name) as a delivery status; "" for PENDING.
std::string ack_status(const Json& payload) {
  const std::optional<double> ack = wire::number(payload, "ack");
  std::string name = lower(wire::text(payload, "ackName"));
  if (ack) {
    if (*ack == -1) {
      name = "error";
    } else if (*ack == 1) {
      name = "server";
    } else if (*ack == 2) {
      name = "device";
    } else if (*ack == 3) {
      name = "read";
    } else if (*ack == 4) {
      name = "played";
    } else if (*ack == 0) {
      name = "pending";
    }
  }
  if (name == "error") {
    return "failed";
  }
  if (name == "server") {
    return "sent";
  }
  if (name == "device") {
    return "delivered";
  }
  if (name == "read" || name == "played") {
    return "read";
  }
  return {};
}

class WahaGateway final : public Gateway {
 public:
  explicit WahaGateway(WahaConfig config) : config_(std::move(config)) {
    while (!config_.base_url.empty() && config_.base_url.back() == '/') {
      config_.base_url.pop_back();
    }
  }

  std::string_view kind() const override { return "waha"; }
  bool numbered_options() const override { return true; }

  WebhookResult parse_webhook(const WebhookRequest& request) const override {
    if (request.method != "POST") {
      return WebhookError{405, "WAHA webhooks are POST, not " + request.method};
    }
    if (!config_.hmac_key.empty()) {
      const std::optional<std::string_view> mac = wire::header(request.headers, "x-webhook-hmac");
      if (!mac) {
        return WebhookError{401, "missing X-Webhook-Hmac header (hmac_key is set)"};
      }
      if (const std::optional<std::string_view> algorithm =
              wire::header(request.headers, "x-webhook-hmac-algorithm");
          algorithm && lower(std::string(*algorithm)) != "sha512") {
        return WebhookError{401, "X-Webhook-Hmac-Algorithm is not sha512"};
      }
      if (!wire::hmac_matches(wire::Digest::Sha512, config_.hmac_key, request.body, *mac)) {
        return WebhookError{403, "X-Webhook-Hmac does not match the body (check hmac_key)"};
      }
    }
    const std::optional<std::string_view> type = wire::header(request.headers, "content-type");
    if (!type || !wire::is_json(*type)) {
      return WebhookError{415, "expected Content-Type application/json"};
    }
    Json doc;
    if (std::optional<WebhookError> error = wire::parse_body(request.body, doc)) {
      return *std::move(error);
    }
    ParsedWebhook out;
    try {
      read_event(doc, out);
    } catch (const Malformed& e) {
      return WebhookError{400, e.what()};
    } catch (const Json::exception& e) {
      return WebhookError{400, std::string("unexpected JSON: ") + e.what()};
    }
    return out;
  }

  Result<std::vector<OutboundRequest>> build_send(const std::string& contact,
                                                  const Value& payload) const override {
    if (config_.base_url.empty() || config_.session.empty()) {
      return Error{ErrorCode::InvalidInput, "the WAHA gateway needs base_url and session"};
    }
    if (contact.empty()) {
      return Error{ErrorCode::InvalidInput, "no contact to send to"};
    }
    const std::string type = wire::value_text(payload, "type");
    auto invalid = [&type](const std::string& why) {
      return Error{ErrorCode::InvalidInput, "cannot send this " + type + " message: " + why};
    };
    Json body = {{"session", config_.session}, {"chatId", chat_of(contact)}};
    std::string endpoint;
    if (type == "text" || type == "buttons" || type == "list") {
      // WAHA's buttons and lists do not work on current WhatsApp: options go out numbered.
      if (type != "text" && payload.field(type == "list" ? "sections" : "buttons") == nullptr) {
        return invalid("it has no options");
      }
      const std::string text = numbered_text(payload);
      if (text.empty()) {
        return invalid("it has no text");
      }
      endpoint = "/api/sendText";
      body["text"] = text;
    } else if (type == "image" || type == "audio" || type == "video" || type == "document" ||
               type == "sticker") {
      const std::string url = wire::value_text(payload, "url");
      if (url.empty()) {
        return invalid("it has no url");
      }
      if (!wire::is_url(url)) {
        return Error{ErrorCode::Unsupported,
                     "WAHA sends media by URL, and '" + url + "' is not an http(s) URL"};
      }
      const std::string mime = mime_for(type, wire::value_text(payload, "mime"), url);
      Json file = {{"url", url}, {"mimetype", mime}};
      std::string filename = wire::value_text(payload, "filename");
      if (filename.empty() && type == "document") {
        filename = url_file_name(url);
      }
      if (!filename.empty()) {
        file["filename"] = filename;
      }
      body["file"] = std::move(file);
      if (const std::string caption = wire::value_text(payload, "caption");
          !caption.empty() && type != "audio" && type != "sticker") {
        body["caption"] = caption;
      }
      if (type == "image" || type == "sticker") {
        endpoint = "/api/sendImage";
      } else if (type == "video") {
        endpoint = "/api/sendVideo";
      } else if (type == "document") {
        endpoint = "/api/sendFile";
      } else {
        endpoint = "/api/sendVoice";
        // A voice note must be OGG/Opus; WAHA converts anything else when asked to.
        body["convert"] = lower(mime).rfind("audio/ogg", 0) != 0;
      }
    } else if (type == "location") {
      const Value* lat = payload.field("latitude");
      const Value* lon = payload.field("longitude");
      if (lat == nullptr || lon == nullptr || !lat->is_number() || !lon->is_number()) {
        return invalid("it needs a number latitude and longitude");
      }
      endpoint = "/api/sendLocation";
      body["latitude"] = lat->as_number();
      body["longitude"] = lon->as_number();
      std::string title = wire::value_text(payload, "name");
      if (const std::string address = wire::value_text(payload, "address"); !address.empty()) {
        title += (title.empty() ? "" : "\n") + address;
      }
      if (!title.empty()) {
        body["title"] = title;
      }
    } else if (type == "template") {
      return Error{ErrorCode::Unsupported,
                   "WAHA cannot send WhatsApp templates (template '" +
                       wire::value_text(payload, "name") +
                       "'): templates exist only on the Meta Cloud API; send a text instead"};
    } else {
      return Error{ErrorCode::Unsupported,
                   "the WAHA gateway cannot send a message of type '" + type + "'"};
    }
    OutboundRequest request;
    request.method = "POST";
    request.url = config_.base_url + endpoint;
    request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    if (!config_.api_key.empty()) {
      request.headers.emplace_back("X-Api-Key", config_.api_key);
    }
    request.body = wire::dump(body);
    return std::vector<OutboundRequest>{std::move(request)};
  }

  // The message's media.url, with the X-Api-Key that sends use. WAHA writes the URL with the
  // host it was configured with, which may not be how we reach it; the URL is taken as given.
  Result<OutboundRequest> media_request(const Value& message) const override {
    const std::string url = wire::value_text(message, "url");
    if (url.empty()) {
      return Error{ErrorCode::InvalidInput,
                   "the message carries no media url (WAHA downloads media only when "
                   "configured to)"};
    }
    if (!wire::is_url(url)) {
      return Error{ErrorCode::InvalidInput, "'" + url + "' is not an http(s) URL"};
    }
    OutboundRequest request;
    request.method = "GET";
    request.url = url;
    if (!config_.api_key.empty()) {
      request.headers.emplace_back("X-Api-Key", config_.api_key);
    }
    return request;
  }

  MediaAnswer read_media(int /*step*/, int http_status, std::string_view /*body*/,
                         std::string_view content_type) const override {
    if (http_status < 200 || http_status >= 300) {
      return media_failure(http_status, "the media download");
    }
    MediaAnswer out;
    out.kind = MediaAnswer::Kind::File;
    out.mime = std::string(content_type);
    return out;
  }

  SendResult parse_send_result(int http_status, std::string_view body,
                               std::string_view retry_after_header) const override {
    SendResult out;
    if (http_status == 0) {
      out.outcome = SendOutcome::Retry;
      out.error = "no answer from WAHA";
      return out;
    }
    const Json doc = Json::parse(body, nullptr, false);
    if (http_status >= 200 && http_status < 300) {
      out.outcome = SendOutcome::Sent;
      out.provider_message_id = sent_id(doc);
      return out;
    }
    out.error_code = std::to_string(http_status);
    std::string message;
    if (const Json* m = wire::field(doc, "message"); m != nullptr) {
      if (m->is_string()) {
        message = m->get<std::string>();
      } else if (m->is_array()) {
        for (const Json& part : *m) {
          if (part.is_string()) {
            message += (message.empty() ? "" : "; ") + part.get<std::string>();
          }
        }
      }
    }
    if (message.empty()) {
      message = wire::text(doc, "error");
    }
    out.error = "HTTP " + std::to_string(http_status) + " from WAHA" +
                (message.empty() ? "" : ": " + message);
    if (http_status == 429) {
      out.outcome = SendOutcome::RateLimited;
      out.retry_after_ms = wire::retry_after_ms(retry_after_header);
    } else if (http_status >= 500 ||
               // The session is starting or waiting for its QR code to be scanned.
               (http_status == 422 &&
                lower(message).find("status is not as expected") != std::string::npos)) {
      out.outcome = SendOutcome::Retry;
    } else if (http_status == 401 || http_status == 403) {
      out.outcome = SendOutcome::Permanent;
      out.error = "WAHA refused the API key (HTTP " + std::to_string(http_status) + ")";
    } else {
      out.outcome = SendOutcome::Permanent;
    }
    return out;
  }

 private:
  // The sent message's id, as the engine returns it: WEBJS {id: {_serialized}}, some engines
  // {id: "..."}, NOWEB Baileys {key: {remoteJid, id}} (rebuilt into the serialized form that
  // message.ack events carry). Empty when the engine returned nothing usable.
  static std::string sent_id(const Json& doc) {
    if (const Json* id = wire::field(doc, "id")) {
      if (id->is_string()) {
        return id->get<std::string>();
      }
      if (std::string serialized = wire::text(*id, "_serialized"); !serialized.empty()) {
        return serialized;
      }
    }
    if (const Json* key = wire::field(doc, "key")) {
      const std::string id = wire::text(*key, "id");
      const std::string jid = wire::text(*key, "remoteJid");
      if (id.empty() || jid.empty()) {
        return id;
      }
      return "true_" + chat_of(contact_of(jid)) + "_" + id;
    }
    return {};
  }

  void read_event(const Json& doc, ParsedWebhook& out) const {
    if (!doc.is_object()) {
      throw Malformed("the body is not a JSON object");
    }
    const std::string event = wire::need_string(doc, "event", "");
    const std::string session = wire::need_string(doc, "session", "");
    if (!config_.session.empty() && session != config_.session) {
      out.ignored.push_back("event " + event + " for session '" + session + "', not '" +
                            config_.session + "'");
      return;
    }
    if (event == "message") {
      read_message(doc, session, out);
    } else if (event == "message.ack") {
      read_ack(doc, session, out);
    } else if (event == "message.any") {
      out.ignored.push_back(
          "event message.any is not routed (waflow reads 'message'; subscribing to both doubles "
          "every delivery)");
    } else if (event == "session.status") {
      const Json* payload = wire::field(doc, "payload");
      out.ignored.push_back("session '" + session + "' is " +
                            (payload != nullptr ? wire::text(*payload, "status") : ""));
    } else {
      out.ignored.push_back("event " + event + " is not routed");
    }
  }

  static std::int64_t time_of(const Json& doc, const Json& payload) {
    if (wire::field(payload, "timestamp") != nullptr) {
      return wire::timestamp_ms(payload, "timestamp", "payload");
    }
    // The envelope's timestamp is in milliseconds (servers since 2025; older ones send none).
    const std::optional<double> ms = wire::number(doc, "timestamp");
    return ms && *ms >= 0 && *ms <= 253402300799000.0 ? std::llround(*ms) : 0;
  }

  static void read_message(const Json& doc, const std::string& session, ParsedWebhook& out) {
    const Json& p = wire::need_object(doc, "payload", "");
    const std::string id = wire::need_string(p, "id", "payload");
    if (truthy(wire::field(p, "fromMe")) || wire::text(p, "source") == "api") {
      out.ignored.push_back(id + ": echo of a message we sent (fromMe)");
      return;
    }
    const std::string from = wire::need_string(p, "from", "payload");
    const std::size_t at = from.find('@');
    const std::string server = at == std::string::npos ? "" : from.substr(at + 1);
    if (server == "g.us") {
      out.ignored.push_back(id + ": group message (groups are not routed)");
      return;
    }
    if (server == "broadcast" || server == "newsletter") {
      out.ignored.push_back(id + ": status or channel post from " + from);
      return;
    }
    Inbound in;
    in.account = session;
    in.provider_message_id = id;
    in.contact = contact_of(from);
    in.contact_name = sender_name(p);
    in.timestamp_ms = time_of(doc, p);
    const std::string body = wire::text(p, "body");
    const Json* media = wire::field(p, "media");
    const Json* location = wire::field(p, "location");
    if (std::optional<Value> tap = interactive_reply(p)) {
      in.message = *std::move(tap);
    } else if (truthy(wire::field(p, "hasMedia")) || (media != nullptr && media->is_object())) {
      // media is null when WAHA does not download media; the message still reaches the flow,
      // without a url.
      const Json empty = Json::object();
      const Json& m = media != nullptr && media->is_object() ? *media : empty;
      const std::string mime = wire::text(m, "mimetype");
      std::string url = wire::text(m, "url");
      if (url.empty()) {
        url = wire::text(p, "mediaUrl");
      }
      Value::Object fields = {{"type", Value::text(media_type(mime))}};
      add_text(fields, "url", url);
      add_text(fields, "mime", mime);
      add_text(fields, "caption", body);
      add_text(fields, "filename", wire::text(m, "filename"));
      in.message = message_of(std::move(fields));
    } else if (location != nullptr && location->is_object()) {
      const std::optional<double> lat = wire::number(*location, "latitude");
      const std::optional<double> lon = wire::number(*location, "longitude");
      if (!lat || !lon) {
        throw Malformed("payload.location needs a number latitude and longitude");
      }
      Value::Object fields = {{"type", Value::text("location")},
                              {"latitude", Value::number(*lat)},
                              {"longitude", Value::number(*lon)}};
      std::string name = wire::text(*location, "name");
      add_text(fields, "name", name.empty() ? wire::text(*location, "description") : name);
      add_text(fields, "address", wire::text(*location, "address"));
      in.message = message_of(std::move(fields));
    } else if (!body.empty()) {
      in.message = message_of({{"type", Value::text("text")}, {"text", Value::text(body)}});
    } else {
      const Json* cards = wire::field(p, "vCards");
      out.ignored.push_back(id + (cards != nullptr && cards->is_array() && !cards->empty()
                                      ? ": contact cards are not supported"
                                      : ": no text, media or location (unsupported type)"));
      return;
    }
    out.messages.push_back(std::move(in));
  }

  static void read_ack(const Json& doc, const std::string& session, ParsedWebhook& out) {
    const Json& p = wire::need_object(doc, "payload", "");
    const std::string id = wire::need_string(p, "id", "payload");
    const Json* from_me = wire::field(p, "fromMe");
    if (from_me != nullptr && !truthy(from_me)) {
      out.ignored.push_back(id + ": ack of a message we did not send");
      return;
    }
    StatusUpdate st;
    st.account = session;
    st.provider_message_id = id;
    st.status = ack_status(p);
    if (st.status.empty()) {
      out.ignored.push_back(id + ": ack '" + wire::text(p, "ackName") + "' is not recorded");
      return;
    }
    std::string chat = wire::text(p, "to");
    if (chat.empty()) {
      chat = wire::text(p, "from");
    }
    st.contact = chat.empty() ? chat : contact_of(chat);
    st.timestamp_ms = time_of(doc, p);
    if (st.status == "failed") {
      st.error_code = "ack -1";
      st.error_text = "WAHA reported the message as failed (ack ERROR)";
    }
    out.statuses.push_back(std::move(st));
  }

  WahaConfig config_;
};

}  // namespace

std::unique_ptr<Gateway> make_waha(WahaConfig config) {
  return std::make_unique<WahaGateway>(std::move(config));
}

}  // namespace waflow::gateways
