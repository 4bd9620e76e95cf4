#pragma once

// The web chat's JSON frames over its WebSocket (docs/webchat.md), parsed and built without
// any I/O so they are tested, and could be fuzzed, with bytes alone.
//
// Client to server: {type:"message", id, text}, {type:"tap", id, payload, title, kind?},
// {type:"start", flow, id?}. Server to client: {type:"message", id, payload}, {type:"typing",
// ms}, {type:"ack", id}, {type:"history", messages}, {type:"error", message, id?}. A frame the
// server cannot use gets an error frame; it never closes the socket.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/gateways/gateway.h"
#include "runtime/base/result.h"
#include "runtime/vm/value.h"

namespace waflow::webchat {

// The longest text, tap payload or title a client may send, in bytes.
inline constexpr std::size_t kMaxTextBytes = 4096;

// A contact id kept by the page: [A-Za-z0-9_-]{8,64}.
bool valid_contact_id(std::string_view id);
// A client message id (the dedup key of a resend): [A-Za-z0-9_-]{1,64}.
bool valid_message_id(std::string_view id);

enum class FrameType : std::uint8_t { Message, Tap, Start };

struct ClientFrame {
  FrameType type = FrameType::Message;
  std::string id;       // Message and tap: required. Start: optional (acknowledged when set).
  std::string text;     // Message.
  std::string payload;  // Tap: the id of the button or list row.
  std::string title;    // Tap: what the button said.
  bool list = false;    // Tap: a list row rather than a button (kind:"list").
  std::string flow;     // Start.
};

// Reads one client frame. The error message is what the error frame tells the client.
Result<ClientFrame> parse_client_frame(std::string_view text);

// The user's message as the VM reads message.*, addressed the way the store dedups it: the
// provider message id is "<contact>:<client id>", so a resend of the same id is a duplicate
// and two pages cannot collide.
gateways::Inbound to_inbound(const ClientFrame& frame, std::string_view device,
                             std::string_view contact, std::int64_t now_ms);

// One line of a conversation shown again to a page that reconnects.
struct HistoryEntry {
  bool from_bot = false;
  std::string id;
  std::int64_t timestamp_ms = 0;
  // From the bot: the send payload. From the user: the message object ({type, text, ...}).
  vm::Value payload;
};

std::string message_frame(std::string_view id, const vm::Value& payload);
std::string typing_frame(std::int64_t ms);
std::string ack_frame(std::string_view id);
std::string history_frame(const std::vector<HistoryEntry>& entries);
// `id` names the client frame the error answers, when it had one.
std::string error_frame(std::string_view message, std::string_view id = {});

}  // namespace waflow::webchat
