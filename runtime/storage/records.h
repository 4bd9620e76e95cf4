#pragma once

// The rows the store keeps and the requests it takes, as plain values: no SQL,
// no engine type. Times are Unix milliseconds chosen by the caller (the store
// reads no clock), so tests drive time and every engine agrees on it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace waflow::storage {

using Millis = std::int64_t;

// A conversation's key: the bot's number or channel (device) and the contact.
// Every piece of per-contact state (inbox, lease, session, timers, outbox order)
// hangs off it.
struct ConversationKey {
  std::string device;
  std::string contact;
  bool operator==(const ConversationKey&) const = default;
};

// What an inbox row carries into the conversation.
enum class InboxKind : std::uint8_t {
  Message,   // A user message from a gateway.
  Answer,    // The result of an AI, HTTP or store request (ref: the request id).
  Timer,     // A timer that came due (ref: the timer's tag, detail: its kind).
  Start,     // An API call that starts a flow.
  Handback,  // A person hands the conversation back to the bot.
  Send,      // An API call that sends a message outside any flow.
};
const char* to_string(InboxKind kind);
std::optional<InboxKind> parse_inbox_kind(std::string_view text);

// One inbound webhook item. Messages are deduplicated on (gateway, account,
// provider_message_id) and become inbox rows; statuses (sent, delivered, read,
// failed) name an outbound message by its provider id and are only recorded.
struct Inbound {
  enum class Type : std::uint8_t { Message, Status };
  Type type = Type::Message;
  std::string gateway;
  std::string account;
  std::string provider_message_id;
  ConversationKey key;  // Message only.
  std::string payload;  // JSON text of the normalised message (Message only).
  // The inbox row a message becomes: Message from a gateway; Send, Start or
  // Handback from the API, deduplicated the same way on its idempotency key.
  InboxKind kind = InboxKind::Message;
  std::string status;  // Status only: "sent", "delivered", "read" or "failed".
  Millis received_ms = 0;
};

// For each Inbound of a batch, in order.
enum class IngestOutcome : std::uint8_t {
  New,            // A new message: it is in the inbox now.
  Duplicate,      // Seen before (within the dedup horizon): nothing happened.
  StatusApplied,  // A status for a known outbound message was recorded.
  StatusUnknown,  // A status for no outbound message we know (another sender's, or pruned).
};

// An inbox row the server adds itself (an answer, a start, a handback, ...).
struct NewInbox {
  ConversationKey key;
  InboxKind kind = InboxKind::Start;
  std::string ref;
  std::string detail;
  std::string payload;  // JSON text.
  Millis received_ms = 0;
};

// What one AI step used, written with the answer it produced (Store::mark_sent), for the usage
// stats. The conversation comes from the outbox row, the day from the time of the answer.
struct AiUsage {
  std::string provider;  // "openai", "anthropic", ...: "none" when no model was tried.
  std::string model;     // The model's name in the config: "openai/gpt-4o-mini".
  std::string flow;
  std::string step;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t latency_ms = 0;  // From the step's first request to its answer.
  bool ok = true;               // False: the step took its error exit.
};

struct InboxRow {
  std::int64_t id = 0;
  InboxKind kind = InboxKind::Message;
  std::string ref;     // Provider message id, request id or timer tag.
  std::string detail;  // Timer: the timer's kind.
  std::string payload;
  Millis received_ms = 0;
};

// The stored per-contact state a worker resumes from.
struct StoredSession {
  std::string blob;
  std::string bundle_hash;
};

struct Contact {
  ConversationKey key;
  std::string name;
  bool paused = false;                     // A person has taken over: the bot stays silent.
  std::optional<std::string> bundle_hash;  // Of the stored session, if any.
};

// A leased conversation: its pending inbox rows (oldest first) and its session.
// The lease is the (worker, token) pair; it ends at lease_until unless renewed.
// A claim offered to ClaimRequest::turn may hold no lease: its contact was
// free with nothing pending, and its one row, the message that came (id 0),
// is stored only if the turn is not written.
struct Claim {
  std::int64_t contact_id = 0;
  ConversationKey key;
  std::string worker_id;
  std::int64_t token = 0;
  Millis lease_until = 0;
  std::vector<InboxRow> rows;
  std::optional<StoredSession> session;
  std::string name;
  bool paused = false;
  // Another conversation was ready too when this one was claimed: the worker
  // claims again after this turn instead of waiting to be woken.
  bool more = false;
};

}  // namespace waflow::storage
