#pragma once

// The built-in web chat channel: a sandbox page at `/`, an embeddable widget script and a
// WebSocket, so `waflow serve` is useful with no WhatsApp account at all.
//
// It plays the part a gateway plays for WhatsApp, with the server on the other side of a few
// callbacks: a user's message becomes a gateways::Inbound handed to on_inbound (the server
// makes it durable, then the page gets an ack), and the server's dispatcher hands each send
// payload to deliver(). Nothing is kept here but the open sockets: a bot message for a contact
// with no open page is refused (deliver() is false) and stays in the server's outbox until the
// page comes back, which is what a WhatsApp gateway that is down looks like too.
//
// The callbacks may be slow (a database commit), so they never run on an I/O thread: a few
// workers of this class run them, each contact always on the same worker, so one page's
// messages reach on_inbound in the order they were typed. The frames are in protocol.h and
// docs/webchat.md; the page and the widget are plain files in assets/, built into the binary.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/gateways/gateway.h"
#include "adapters/http/server.h"
#include "adapters/webchat/protocol.h"
#include "runtime/base/result.h"
#include "runtime/vm/value.h"

namespace waflow::webchat {

struct FlowInfo {
  std::string name;
  std::string title;
};

struct WebChatOptions {
  std::string device = "web";  // Inbound::account of every message, and the widget's name.
  std::string title = "waflow";
  // Origins (e.g. "https://shop.example") whose pages may open the socket through the
  // widget; "*" allows any. The server's own origin and clients that send no Origin (not a
  // browser) are always allowed.
  std::vector<std::string> allowed_origins;
  int workers = 2;                          // Threads that run the callbacks.
  std::size_t max_pending = 10000;          // Queued callbacks; beyond this a frame is refused.
  std::size_t max_sockets_per_contact = 8;  // Tabs of one page; one more is closed.
  std::size_t history_limit = 50;           // Lines asked of history() when a page connects.
  // Frames one page may send: a burst, then a steady rate; beyond it a frame is refused
  // with an error frame (the page keeps it and may send it again). 0: no limit.
  double frame_burst = 60;
  double frames_per_second = 2;
  http::Logger logger;  // Optional: refused frames and failed callbacks.
};

struct WebChatCallbacks {
  // Stores a user's message (dedup on provider_message_id); returns once it is durable.
  // true: stored, false: a duplicate of one already stored (acknowledged all the same).
  std::function<Result<bool>(gateways::Inbound)> on_inbound;
  // The flows the sandbox offers. Optional (none offered).
  std::function<std::vector<FlowInfo>()> flows;
  // Starts `flow` for `contact`, as an API trigger would. Optional (start is refused).
  std::function<Result<bool>(const std::string& contact, const std::string& flow)> on_start;
  // The most recent lines of the contact's conversation, oldest first, for a page that
  // reconnects. Optional; may return none.
  std::function<std::vector<HistoryEntry>(const std::string& contact, std::size_t limit)> history;
};

class WebChat {
 public:
  WebChat(WebChatOptions options, WebChatCallbacks callbacks);
  // Stops the workers (queued callbacks are dropped; the pages resend what was not
  // acknowledged). Destroy it after HttpServer::stop(): the routes point at it.
  ~WebChat();
  WebChat(const WebChat&) = delete;
  WebChat& operator=(const WebChat&) = delete;

  // Registers, under `base_path` ("" or e.g. "/chat"): GET / (the sandbox page),
  // GET /webchat/widget.js, GET /webchat/chat.css, GET /webchat/flows and the WebSocket
  // /webchat/ws?contact=<id>. Before HttpServer::start().
  void install(http::HttpServer& server, std::string_view base_path = "");

  // Pushes one bot message (a VM send payload) to every open page of `contact`. False when
  // none is open: the dispatcher keeps the message and tries again later. Thread-safe. The
  // message's id ("web-<process>-<n>", unique across restarts) is stored in `message_id`.
  bool deliver(const std::string& contact, const vm::Value& payload,
               std::string* message_id = nullptr);
  // Shows "typing..." on every open page of `contact` for `ms`; false when none is open.
  bool typing(const std::string& contact, std::int64_t ms);

  // Open sockets of a contact (for tests and metrics).
  std::size_t open_sockets(const std::string& contact) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace waflow::webchat
