#pragma once

// Gateways: the WhatsApp providers' wire formats, behind one interface.
//
// The server receives a webhook call, hands the raw request to parse_webhook(), and gets back
// what the call carried, normalised: user messages shaped as the VM reads `message.*`, delivery
// statuses to record, and a reason for everything dropped. For a send effect it asks
// build_send() for the HTTP request(s) that deliver the payload, performs them itself, and maps
// the provider's answer with parse_send_result(). A gateway never does I/O, reads no clock and
// keeps no state between calls, so one instance serves every thread and the fuzzers can drive
// it with bytes alone. See docs/gateways.md for each provider's details.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/base/result.h"
#include "runtime/vm/value.h"

namespace waflow::gateways {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A webhook call as the server received it.
struct WebhookRequest {
  std::string method;  // "GET", "POST"
  std::string path;
  std::string query;  // the raw text after '?', still percent-encoded
  Headers headers;    // names in lower case
  std::string body;   // the raw bytes: signatures are computed over these
};

// An answer to send back as is (Meta's GET hub.challenge handshake).
struct WebhookReply {
  int status = 200;
  std::string content_type;
  std::string body;
};

// One user message, normalised.
struct Inbound {
  std::string account;              // which of our numbers/sessions received it
  std::string provider_message_id;  // the dedup key, with the gateway's kind and the account
  // E.164 with '+' when the provider gives a phone number; otherwise the provider's chat id
  // as it is (a WAHA "...@lid", a Meta business-scoped user id), which is also where replies go.
  std::string contact;
  std::string contact_name;
  std::int64_t timestamp_ms = 0;
  vm::Value message;  // {type: "text" | "button" | "list" | "image" | ... | "location", ...}
};

// A delivery receipt for a message we sent: recorded, never routed to a flow.
struct StatusUpdate {
  std::string account;
  std::string provider_message_id;
  std::string contact;
  std::string status;  // "sent", "delivered", "read" or "failed"
  std::string error_code;
  std::string error_text;
  std::int64_t timestamp_ms = 0;
};

struct ParsedWebhook {
  std::optional<WebhookReply> reply;  // when set, answer with it (and there is nothing else)
  std::vector<Inbound> messages;
  std::vector<StatusUpdate> statuses;
  std::vector<std::string> ignored;  // why each dropped item was dropped, for the log
};

// A refused webhook call: the HTTP status to answer (400 malformed, 401 unsigned, 403 wrong
// signature or token, 405 wrong method, 415 not JSON) and a message for the log line.
struct WebhookError {
  int status = 400;
  std::string message;
};

class [[nodiscard]] WebhookResult {
 public:
  WebhookResult(ParsedWebhook value) : data_(std::move(value)) {}  // NOLINT
  WebhookResult(WebhookError error) : data_(std::move(error)) {}   // NOLINT

  bool ok() const { return std::holds_alternative<ParsedWebhook>(data_); }
  explicit operator bool() const { return ok(); }
  const ParsedWebhook& value() const& {
    WAFLOW_CHECK(ok(), "value() on a refused webhook");
    return std::get<ParsedWebhook>(data_);
  }
  ParsedWebhook&& value() && {
    WAFLOW_CHECK(ok(), "value() on a refused webhook");
    return std::get<ParsedWebhook>(std::move(data_));
  }
  const WebhookError& error() const {
    WAFLOW_CHECK(!ok(), "error() on a parsed webhook");
    return std::get<WebhookError>(data_);
  }

 private:
  std::variant<WebhookError, ParsedWebhook> data_;
};

// One HTTP request to perform for a send.
struct OutboundRequest {
  std::string method;
  std::string url;
  Headers headers;
  std::string body;
};

enum class SendOutcome : std::uint8_t {
  Sent,           // accepted; provider_message_id may still be empty (some WAHA engines)
  Retry,          // transient: try again later with backoff
  RateLimited,    // slow down; retry_after_ms when the provider said how long
  OutsideWindow,  // the 24-hour window is closed: only a template can reach the contact
  Permanent,      // will never succeed as it is; error says why
};

struct SendResult {
  SendOutcome outcome = SendOutcome::Permanent;
  std::string provider_message_id;
  std::string error_code;  // the provider's own code, as text ("131047"), or the HTTP status
  std::string error;
  std::int64_t retry_after_ms = -1;
};

// Downloading the media of a user's message (an image, a voice note...). A gateway does no I/O:
// it builds the requests and reads their answers, and media.h's download_media() performs them
// (Meta: GET /{media-id} for a short-lived URL, then GET that URL, both with the bearer token;
// WAHA: GET the message's media.url with X-Api-Key).
struct MediaAnswer {
  enum class Kind : std::uint8_t {
    Next,    // make `next` and read its answer as the following step
    File,    // the answer's body is the file
    Failed,  // `error` says why; `transient` when trying again later may work
  };
  Kind kind = Kind::Failed;
  OutboundRequest next;
  std::string mime;        // the file's type when the provider says (else the answer's type)
  std::int64_t size = -1;  // its size in bytes when the provider says before the download
  bool transient = false;
  std::string error;
};

class Gateway {
 public:
  virtual ~Gateway() = default;

  // "meta", "waha".
  virtual std::string_view kind() const = 0;
  // Verifies the call (signature, verify token) and parses it.
  virtual WebhookResult parse_webhook(const WebhookRequest& request) const = 0;
  // The request(s) that deliver one VM send payload to a contact (as Inbound::contact spells
  // it). An error means the payload can never be sent through this gateway (Permanent).
  virtual Result<std::vector<OutboundRequest>> build_send(const std::string& contact,
                                                          const vm::Value& payload) const = 0;
  // Maps the provider's answer to one of those requests. http_status 0 means no answer came.
  virtual SendResult parse_send_result(int http_status, std::string_view body,
                                       std::string_view retry_after_header) const = 0;
  // The first request that fetches the media of an inbound message as parse_webhook() shaped it
  // (its `id` for Meta, its `url` for WAHA); an error when the message carries none.
  virtual Result<OutboundRequest> media_request(const vm::Value& message) const;
  // Reads the answer to step `step` of a download (0: media_request()'s). http_status 0 means
  // no answer came.
  virtual MediaAnswer read_media(int step, int http_status, std::string_view body,
                                 std::string_view content_type) const;
  // Whether buttons and lists go out as numbered text, so that a reply "2" should be read
  // with numbered_reply() (options.h) against the last options sent.
  virtual bool numbered_options() const { return false; }
};

// A failed media step: transient for no answer (0), 408, 429 and 5xx; `what` names the step.
MediaAnswer media_failure(int http_status, std::string_view what);

// A readable name of a send outcome ("sent", "rate limited"...), for logs and tests.
std::string_view outcome_name(SendOutcome outcome);

}  // namespace waflow::gateways
