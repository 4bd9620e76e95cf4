// The Meta WhatsApp Cloud API gateway. Wire facts: research/providers.md §2 (webhook shapes
// from Meta's reference pages, error codes as pywa mirrors them).
//
// Webhooks: a required field missing is a 400 (Meta's own deliveries always carry them, so it
// is a forgery or a bug worth seeing in the log); anything well formed that a flow cannot use
// (reactions, orders, other numbers' entries, template status changes) is dropped with a reason
// and the call still succeeds, because a non-200 makes Meta retry it for days.

#include "adapters/gateways/meta.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
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

// Meta's wa_id is the number without '+'. Anything else (a business-scoped user id such as
// "US.1349...") is kept as it is: it is what a reply must be addressed to.
std::string contact_of(const std::string& id) {
  return all_digits(id) ? "+" + id : id;
}

std::string index(const std::string& path, const char* key, std::size_t i) {
  return (path.empty() ? std::string(key) : path + "." + key) + "[" + std::to_string(i) + "]";
}

Value message_of(Value::Object fields) {
  return Value::object(std::move(fields), vm::Tag::Message);
}

void add_text(Value::Object& fields, const char* key, const std::string& value) {
  if (!value.empty()) {
    fields.emplace_back(key, Value::text(value));
  }
}

// The profile name of the sender among value.contacts[] (by wa_id or user id; a lone entry
// is the sender's).
std::string sender_name(const Json* contacts, const std::string& from) {
  if (contacts == nullptr || !contacts->is_array()) {
    return {};
  }
  const Json* match = nullptr;
  for (const Json& c : *contacts) {
    if (wire::text(c, "wa_id") == from || wire::text(c, "user_id") == from) {
      match = &c;
      break;
    }
  }
  if (match == nullptr && contacts->size() == 1) {
    match = &(*contacts)[0];
  }
  if (match == nullptr) {
    return {};
  }
  const Json* profile = wire::field(*match, "profile");
  return profile != nullptr ? wire::text(*profile, "name") : std::string();
}

// A user message as the VM reads message.*, or nullopt with `why` set when a flow cannot use it.
std::optional<Value> read_message(const Json& m, const std::string& type, const std::string& path,
                                  std::string& why) {
  if (type == "text") {
    const Json& text = wire::need_object(m, "text", path);
    return message_of({{"type", Value::text("text")},
                       {"text", Value::text(wire::need_string(text, "body", path + ".text"))}});
  }
  if (type == "interactive") {
    const Json& i = wire::need_object(m, "interactive", path);
    const std::string kind = wire::text(i, "type");
    if (kind != "button_reply" && kind != "list_reply") {
      why = "interactive reply of type '" + kind + "' is not supported";
      return std::nullopt;
    }
    const std::string at = path + ".interactive";
    const Json& reply = wire::need_object(i, kind.c_str(), at);
    const std::string title = wire::text(reply, "title");
    Value::Object fields = {
        {"type", Value::text(kind == "button_reply" ? "button" : "list")},
        {"payload", Value::text(wire::need_string(reply, "id", at + "." + kind))},
        {"text", Value::text(title)},
        {"title", Value::text(title)}};
    add_text(fields, "description", wire::text(reply, "description"));
    return message_of(std::move(fields));
  }
  if (type == "button") {
    // The quick-reply button of a template message.
    const Json& b = wire::need_object(m, "button", path);
    const std::string text = wire::text(b, "text");
    std::string payload = wire::text(b, "payload");
    if (payload.empty() && text.empty()) {
      throw Malformed(path + ".button has neither payload nor text");
    }
    return message_of({{"type", Value::text("button")},
                       {"payload", Value::text(payload.empty() ? text : payload)},
                       {"text", Value::text(text)},
                       {"title", Value::text(text)}});
  }
  if (type == "image" || type == "audio" || type == "video" || type == "document" ||
      type == "sticker") {
    // Only the media id: downloading it (GET /{id}, then its short-lived URL) is the server's.
    const Json& media = wire::need_object(m, type.c_str(), path);
    Value::Object fields = {{"type", Value::text(type)},
                            {"id", Value::text(wire::need_string(media, "id", path + "." + type))}};
    add_text(fields, "mime", wire::text(media, "mime_type"));
    add_text(fields, "caption", wire::text(media, "caption"));
    add_text(fields, "filename", wire::text(media, "filename"));
    return message_of(std::move(fields));
  }
  if (type == "location") {
    const Json& l = wire::need_object(m, "location", path);
    const std::optional<double> lat = wire::number(l, "latitude");
    const std::optional<double> lon = wire::number(l, "longitude");
    if (!lat || !lon) {
      throw Malformed(path + ".location needs a number latitude and longitude");
    }
    Value::Object fields = {{"type", Value::text("location")},
                            {"latitude", Value::number(*lat)},
                            {"longitude", Value::number(*lon)}};
    add_text(fields, "name", wire::text(l, "name"));
    add_text(fields, "address", wire::text(l, "address"));
    return message_of(std::move(fields));
  }
  why = "message type '" + type + "' is not supported";
  if (const Json* errors = wire::field(m, "errors");
      errors != nullptr && errors->is_array() && !errors->empty()) {
    if (const std::string title = wire::text((*errors)[0], "title"); !title.empty()) {
      why += " (" + title + ")";
    }
  }
  return std::nullopt;
}

std::string status_name(const std::string& status) {
  if (status == "sent" || status == "delivered" || status == "read" || status == "failed") {
    return status;
  }
  if (status == "played") {
    return "read";  // a voice message played: it was read
  }
  return {};
}

class MetaGateway final : public Gateway {
 public:
  explicit MetaGateway(MetaConfig config) : config_(std::move(config)) {
    while (!config_.graph_base.empty() && config_.graph_base.back() == '/') {
      config_.graph_base.pop_back();
    }
  }

  std::string_view kind() const override { return "meta"; }

  WebhookResult parse_webhook(const WebhookRequest& request) const override {
    if (request.method == "GET") {
      return handshake(request);
    }
    if (request.method != "POST") {
      return WebhookError{405,
                          "Meta webhooks are GET (verification) or POST, not " + request.method};
    }
    if (!config_.app_secret.empty()) {
      const std::optional<std::string_view> signature =
          wire::header(request.headers, "x-hub-signature-256");
      if (!signature) {
        return WebhookError{401, "missing X-Hub-Signature-256 header"};
      }
      if (signature->substr(0, 7) != "sha256=") {
        return WebhookError{401, "X-Hub-Signature-256 is not sha256=<hex>"};
      }
      if (!wire::hmac_matches(wire::Digest::Sha256, config_.app_secret, request.body,
                              signature->substr(7))) {
        return WebhookError{403, "X-Hub-Signature-256 does not match the body (check app_secret)"};
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
      read_notification(doc, out);
    } catch (const Malformed& e) {
      return WebhookError{400, e.what()};
    } catch (const Json::exception& e) {
      return WebhookError{400, std::string("unexpected JSON: ") + e.what()};
    }
    return out;
  }

  Result<std::vector<OutboundRequest>> build_send(const std::string& contact,
                                                  const Value& payload) const override {
    if (config_.phone_number_id.empty()) {
      return Error{ErrorCode::InvalidInput, "the Meta gateway has no phone_number_id to send from"};
    }
    if (contact.empty()) {
      return Error{ErrorCode::InvalidInput, "no contact to send to"};
    }
    Json body = {{"messaging_product", "whatsapp"}, {"recipient_type", "individual"}};
    const std::string digits =
        contact.front() == '+' && all_digits(contact.substr(1)) ? contact.substr(1) : contact;
    // A phone number goes in `to`; a business-scoped user id (no phone known) in `recipient`.
    body[all_digits(digits) ? "to" : "recipient"] = digits;
    if (std::optional<Error> error = fill_message(payload, body)) {
      return *std::move(error);
    }
    OutboundRequest request;
    request.method = "POST";
    request.url = config_.graph_base + "/" + config_.graph_version + "/" + config_.phone_number_id +
                  "/messages";
    request.headers = {{"Authorization", "Bearer " + config_.access_token},
                       {"Content-Type", "application/json"}};
    request.body = wire::dump(body);
    return std::vector<OutboundRequest>{std::move(request)};
  }

  Result<OutboundRequest> media_request(const Value& message) const override {
    const std::string id = wire::value_text(message, "id");
    if (id.empty()) {
      return Error{ErrorCode::InvalidInput, "the message carries no media id"};
    }
    for (const char c : id) {
      if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_' && c != '-' && c != '.') {
        return Error{ErrorCode::InvalidInput, "'" + id + "' is not a media id"};
      }
    }
    OutboundRequest request;
    request.method = "GET";
    request.url = config_.graph_base + "/" + config_.graph_version + "/" + id;
    request.headers = {{"Authorization", "Bearer " + config_.access_token}};
    return request;
  }

  // Step 0 answers {url, mime_type, sha256, file_size, id}; step 1 is the file, fetched from
  // that URL with the same bearer token (the URL alone is refused).
  MediaAnswer read_media(int step, int http_status, std::string_view body,
                         std::string_view content_type) const override {
    if (http_status < 200 || http_status >= 300) {
      return media_failure(http_status, step == 0 ? "the media lookup" : "the media download");
    }
    MediaAnswer out;
    if (step != 0) {
      out.kind = MediaAnswer::Kind::File;
      out.mime = std::string(content_type);
      return out;
    }
    const Json doc = Json::parse(body, nullptr, false);
    const std::string url = doc.is_object() ? wire::text(doc, "url") : std::string();
    if (!wire::is_url(url)) {
      out.error = "the media lookup answered no download URL";
      return out;
    }
    out.kind = MediaAnswer::Kind::Next;
    out.next.method = "GET";
    out.next.url = url;
    out.next.headers = {{"Authorization", "Bearer " + config_.access_token}};
    out.mime = wire::text(doc, "mime_type");
    if (std::optional<double> size = wire::number(doc, "file_size"); size && *size >= 0) {
      out.size = static_cast<std::int64_t>(*size);
    } else if (const Json* text = wire::field(doc, "file_size"); text != nullptr) {
      // Some answers carry the size as a string.
      const std::string t = wire::scalar_text(text);
      char* end = nullptr;
      const long long n = std::strtoll(t.c_str(), &end, 10);
      if (!t.empty() && end == t.c_str() + t.size() && n >= 0) {
        out.size = n;
      }
    }
    return out;
  }

  SendResult parse_send_result(int http_status, std::string_view body,
                               std::string_view retry_after_header) const override {
    SendResult out;
    if (http_status == 0) {
      out.outcome = SendOutcome::Retry;
      out.error = "no answer from the Graph API";
      return out;
    }
    const Json doc = Json::parse(body, nullptr, false);
    if (http_status >= 200 && http_status < 300) {
      out.outcome = SendOutcome::Sent;
      if (const Json* messages = wire::field(doc, "messages");
          messages != nullptr && messages->is_array() && !messages->empty()) {
        out.provider_message_id = wire::text((*messages)[0], "id");
      }
      return out;
    }
    const Json* error = wire::field(doc, "error");
    const Json empty = Json::object();
    const Json& e = error != nullptr && error->is_object() ? *error : empty;
    const std::string code = wire::scalar_text(wire::field(e, "code"));
    out.error_code = code.empty() ? std::to_string(http_status) : code;
    out.error = wire::text(e, "message");
    if (const Json* data = wire::field(e, "error_data"); data != nullptr) {
      if (const std::string details = wire::text(*data, "details"); !details.empty()) {
        out.error += (out.error.empty() ? "" : ": ") + details;
      }
    }
    if (out.error.empty()) {
      out.error = "HTTP " + std::to_string(http_status) + " from the Graph API";
    }
    const Json* transient = wire::field(e, "is_transient");
    if (code == "131047") {
      out.outcome = SendOutcome::OutsideWindow;
      out.error = "outside the 24-hour window, only a template can reach the contact: " + out.error;
    } else if (http_status == 429 || code == "4" || code == "80007" || code == "130429" ||
               code == "131056") {
      out.outcome = SendOutcome::RateLimited;
      out.retry_after_ms = wire::retry_after_ms(retry_after_header);
    } else if (code == "190") {
      out.outcome = SendOutcome::Permanent;
      out.error = "the access token is invalid or expired (code 190): " + out.error;
    } else if (http_status >= 500 || code == "1" || code == "2" || code == "131000" ||
               code == "131016" ||
               (transient != nullptr && transient->is_boolean() && transient->get<bool>())) {
      out.outcome = SendOutcome::Retry;
    } else {
      out.outcome = SendOutcome::Permanent;
    }
    return out;
  }

 private:
  WebhookResult handshake(const WebhookRequest& request) const {
    const std::optional<std::string> mode = wire::query_value(request.query, "hub.mode");
    const std::optional<std::string> token = wire::query_value(request.query, "hub.verify_token");
    const std::optional<std::string> challenge = wire::query_value(request.query, "hub.challenge");
    if (!mode || !challenge) {
      return WebhookError{400, "a Meta verification request needs hub.mode and hub.challenge"};
    }
    if (*mode != "subscribe") {
      return WebhookError{403, "hub.mode is not subscribe"};
    }
    if (config_.verify_token.empty()) {
      return WebhookError{403, "no verify_token is configured, so no verification can succeed"};
    }
    if (!token || !wire::constant_time_equal(*token, config_.verify_token)) {
      return WebhookError{403, "hub.verify_token does not match verify_token"};
    }
    ParsedWebhook out;
    out.reply = WebhookReply{200, "text/plain", *challenge};
    return out;
  }

  void read_notification(const Json& doc, ParsedWebhook& out) const {
    if (!doc.is_object()) {
      throw Malformed("the body is not a JSON object");
    }
    const std::string object = wire::need_string(doc, "object", "");
    if (object != "whatsapp_business_account") {
      throw Malformed("object is '" + object + "', expected whatsapp_business_account");
    }
    const Json& entries = wire::need_array(doc, "entry", "");
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const std::string path = index("", "entry", i);
      if (!entries[i].is_object()) {
        throw Malformed(path + " is not an object");
      }
      const Json& changes = wire::need_array(entries[i], "changes", path);
      for (std::size_t j = 0; j < changes.size(); ++j) {
        read_change(changes[j], index(path, "changes", j), out);
      }
    }
  }

  void read_change(const Json& change, const std::string& path, ParsedWebhook& out) const {
    if (!change.is_object()) {
      throw Malformed(path + " is not an object");
    }
    const std::string field = wire::need_string(change, "field", path);
    if (field == "smb_message_echoes") {
      out.ignored.push_back(path + ": echo of a message sent from the WhatsApp Business app");
      return;
    }
    if (field != "messages") {
      out.ignored.push_back(path + ": change field '" + field + "' is not handled");
      return;
    }
    const std::string at = path + ".value";
    const Json& value = wire::need_object(change, "value", path);
    const std::string account = wire::need_string(wire::need_object(value, "metadata", at),
                                                  "phone_number_id", at + ".metadata");
    if (!config_.phone_number_id.empty() && account != config_.phone_number_id) {
      out.ignored.push_back(path + ": for phone number id " + account + ", not " +
                            config_.phone_number_id);
      return;
    }
    const Json* contacts = wire::field(value, "contacts");
    if (const Json* messages = wire::field(value, "messages")) {
      if (!messages->is_array()) {
        throw Malformed(at + ".messages is not a list");
      }
      for (std::size_t k = 0; k < messages->size(); ++k) {
        read_inbound((*messages)[k], index(at, "messages", k), account, contacts, out);
      }
    }
    if (const Json* statuses = wire::field(value, "statuses")) {
      if (!statuses->is_array()) {
        throw Malformed(at + ".statuses is not a list");
      }
      for (std::size_t k = 0; k < statuses->size(); ++k) {
        read_status((*statuses)[k], index(at, "statuses", k), account, out);
      }
    }
  }

  static void read_inbound(const Json& m, const std::string& path, const std::string& account,
                           const Json* contacts, ParsedWebhook& out) {
    if (!m.is_object()) {
      throw Malformed(path + " is not an object");
    }
    Inbound in;
    in.account = account;
    in.provider_message_id = wire::need_string(m, "id", path);
    std::string from = wire::text(m, "from");
    if (from.empty()) {
      // A user who hides their number is known only by a business-scoped user id.
      from = wire::text(m, "from_user_id");
      if (from.empty() && contacts != nullptr && contacts->is_array() && contacts->size() == 1) {
        from = wire::text((*contacts)[0], "user_id");
      }
      if (from.empty()) {
        throw Malformed("missing field " + path + ".from");
      }
    }
    in.contact = contact_of(from);
    in.contact_name = sender_name(contacts, from);
    in.timestamp_ms = wire::timestamp_ms(m, "timestamp", path);
    const std::string type = wire::need_string(m, "type", path);
    std::string why;
    std::optional<Value> message = read_message(m, type, path, why);
    if (!message) {
      out.ignored.push_back(path + " (" + in.provider_message_id + "): " + why);
      return;
    }
    in.message = *std::move(message);
    out.messages.push_back(std::move(in));
  }

  static void read_status(const Json& s, const std::string& path, const std::string& account,
                          ParsedWebhook& out) {
    if (!s.is_object()) {
      throw Malformed(path + " is not an object");
    }
    StatusUpdate st;
    st.account = account;
    st.provider_message_id = wire::need_string(s, "id", path);
    const std::string status = wire::need_string(s, "status", path);
    st.status = status_name(status);
    if (st.status.empty()) {
      out.ignored.push_back(path + " (" + st.provider_message_id + "): status '" + status +
                            "' is not recorded");
      return;
    }
    std::string recipient = wire::text(s, "recipient_id");
    if (recipient.empty()) {
      recipient = wire::text(s, "recipient_user_id");
    }
    st.contact = recipient.empty() ? recipient : contact_of(recipient);
    st.timestamp_ms = wire::timestamp_ms(s, "timestamp", path);
    if (const Json* errors = wire::field(s, "errors");
        errors != nullptr && errors->is_array() && !errors->empty()) {
      const Json& e = (*errors)[0];
      st.error_code = wire::scalar_text(wire::field(e, "code"));
      st.error_text = wire::text(e, "message");
      if (st.error_text.empty()) {
        st.error_text = wire::text(e, "title");
      }
      if (const Json* data = wire::field(e, "error_data"); data != nullptr) {
        if (const std::string details = wire::text(*data, "details"); !details.empty()) {
          st.error_text += (st.error_text.empty() ? "" : ": ") + details;
        }
      }
    }
    out.statuses.push_back(std::move(st));
  }

  // Fills the type-specific part of a message body; an error when the payload cannot be sent.
  static std::optional<Error> fill_message(const Value& payload, Json& body) {
    const std::string type = wire::value_text(payload, "type");
    auto invalid = [&type](const std::string& why) {
      return Error{ErrorCode::InvalidInput, "cannot send this " + type + " message: " + why};
    };
    if (type == "text") {
      // Meta's text messages have no header or footer: they become lines of the text.
      const std::string text = numbered_text(payload);
      if (text.empty()) {
        return invalid("it has no text");
      }
      body["type"] = "text";
      body["text"] = {{"body", text}, {"preview_url", false}};
      return std::nullopt;
    }
    if (type == "buttons" || type == "list") {
      Json interactive = {{"type", type == "buttons" ? "button" : "list"},
                          {"body", {{"text", wire::value_text(payload, "text")}}}};
      if (const std::string header = wire::value_text(payload, "header"); !header.empty()) {
        interactive["header"] = {{"type", "text"}, {"text", header}};
      }
      if (const std::string footer = wire::value_text(payload, "footer"); !footer.empty()) {
        interactive["footer"] = {{"text", footer}};
      }
      if (wire::value_text(payload, "text").empty()) {
        return invalid("it has no text");
      }
      Json action = Json::object();
      if (type == "buttons") {
        const Value* buttons = payload.field("buttons");
        if (buttons == nullptr || buttons->type() != Value::Type::List ||
            buttons->as_list().empty() || buttons->as_list().size() > 3) {
          return invalid("WhatsApp reply buttons are one to three");
        }
        action["buttons"] = Json::array();
        for (const Value& b : buttons->as_list()) {
          action["buttons"].push_back(
              {{"type", "reply"},
               {"reply",
                {{"id", wire::value_text(b, "id")}, {"title", wire::value_text(b, "title")}}}});
        }
      } else {
        const Value* sections = payload.field("sections");
        if (sections == nullptr || sections->type() != Value::Type::List ||
            sections->as_list().empty()) {
          return invalid("a list needs at least one section");
        }
        if (wire::value_text(payload, "button").empty()) {
          return invalid("a list needs the label of its button");
        }
        action["button"] = wire::value_text(payload, "button");
        action["sections"] = Json::array();
        for (const Value& s : sections->as_list()) {
          Json section = {{"rows", Json::array()}};
          if (const std::string title = wire::value_text(s, "title"); !title.empty()) {
            section["title"] = title;
          }
          const Value* rows = s.field("rows");
          if (rows != nullptr && rows->type() == Value::Type::List) {
            for (const Value& r : rows->as_list()) {
              Json row = {{"id", wire::value_text(r, "id")},
                          {"title", wire::value_text(r, "title")}};
              if (const std::string d = wire::value_text(r, "description"); !d.empty()) {
                row["description"] = d;
              }
              section["rows"].push_back(std::move(row));
            }
          }
          action["sections"].push_back(std::move(section));
        }
      }
      interactive["action"] = std::move(action);
      body["type"] = "interactive";
      body["interactive"] = std::move(interactive);
      return std::nullopt;
    }
    if (type == "image" || type == "audio" || type == "video" || type == "document" ||
        type == "sticker") {
      const std::string url = wire::value_text(payload, "url");
      if (url.empty()) {
        return invalid("it has no url or media id");
      }
      // A URL is fetched by Meta; anything else is the id of media uploaded to Meta before.
      Json media = {{wire::is_url(url) ? "link" : "id", url}};
      // Audio and stickers take no caption.
      if (const std::string caption = wire::value_text(payload, "caption");
          !caption.empty() && type != "audio" && type != "sticker") {
        media["caption"] = caption;
      }
      if (const std::string filename = wire::value_text(payload, "filename");
          !filename.empty() && type == "document") {
        media["filename"] = filename;
      }
      body["type"] = type;
      body[type] = std::move(media);
      return std::nullopt;
    }
    if (type == "location") {
      const Value* lat = payload.field("latitude");
      const Value* lon = payload.field("longitude");
      if (lat == nullptr || lon == nullptr || !lat->is_number() || !lon->is_number()) {
        return invalid("it needs a number latitude and longitude");
      }
      Json location = {{"latitude", lat->as_number()}, {"longitude", lon->as_number()}};
      for (const char* key : {"name", "address"}) {
        if (const std::string v = wire::value_text(payload, key); !v.empty()) {
          location[key] = v;
        }
      }
      body["type"] = "location";
      body["location"] = std::move(location);
      return std::nullopt;
    }
    if (type == "template") {
      const std::string name = wire::value_text(payload, "name");
      const std::string language = wire::value_text(payload, "language");
      if (name.empty() || language.empty()) {
        return invalid("a template needs its name and language");
      }
      Json templ = {{"name", name}, {"language", {{"code", language}}}};
      const Value* params = payload.field("params");
      if (params != nullptr && params->type() == Value::Type::List && !params->as_list().empty()) {
        Json parameters = Json::array();
        for (const Value& p : params->as_list()) {
          parameters.push_back({{"type", "text"}, {"text", p.to_text()}});
        }
        templ["components"] = Json::array({{{"type", "body"}, {"parameters", parameters}}});
      }
      body["type"] = "template";
      body["template"] = std::move(templ);
      return std::nullopt;
    }
    return Error{ErrorCode::Unsupported,
                 "the Meta gateway cannot send a message of type '" + type + "'"};
  }

  MetaConfig config_;
};

}  // namespace

std::unique_ptr<Gateway> make_meta(MetaConfig config) {
  return std::make_unique<MetaGateway>(std::move(config));
}

}  // namespace waflow::gateways
