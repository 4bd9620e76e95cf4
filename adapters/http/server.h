#pragma once

// The HTTP/1.1 and WebSocket server of `waflow serve`: webhook ingress, the API,
// the web chat and health checks all sit behind it.
//
// A small pool of I/O threads serves every connection; each connection runs on
// its own strand, so its callbacks never run at once. Handlers answer through a
// move-only Reply that may be called later and from any thread, which lets a
// connection wait on a database group commit or an outbound call without holding
// a thread: thousands of such waiting keep-alive connections cost only memory.
//
// What the server refuses, and how (every refusal is logged through
// ServerOptions::logger): a body over the limit gets 413, a header over the limit
// 431, bytes that are not HTTP 400, an unknown path 404 and a known path with
// another method 405 (all with a JSON error body); a client that is too slow to
// send a request is disconnected. After a refusal the connection is closed and
// the rest of the request drained, so the client reads the answer instead of a
// reset. Beast and Asio stay inside server.cpp (pimpl).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/http/message.h"
#include "runtime/base/result.h"

namespace waflow::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;               // 0: an ephemeral port; start() returns the one bound.
  int threads = 2;                      // I/O threads.
  std::size_t max_connections = 10000;  // Beyond this, new connections are closed at once.
  std::uint64_t max_body_bytes = 1 << 20;
  std::uint32_t max_header_bytes = 16 * 1024;  // Request line and header fields together.
  // A request's header, and then its body, must each arrive within this time
  // once its first byte has (slow clients are disconnected).
  std::chrono::milliseconds read_timeout{10'000};
  // How long a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{10'000};
  // WebSockets: a message over the limit closes the connection (1009); a ping
  // goes out after half the idle timeout without traffic, and the connection is
  // closed when the whole timeout passes without an answer.
  std::size_t ws_max_message_bytes = 64 * 1024;
  std::chrono::milliseconds ws_idle_timeout{60'000};
  std::size_t ws_max_queued_bytes = 4
                                    << 20;  // Unsent messages; beyond this the client is too slow.
  Logger logger;                            // Optional.
  AccessLog access_log;                     // Optional; called once per answered request.
};

// Where a Reply delivers. The server provides its own; Reply::to() wraps a
// function, for testing handlers without a server.
class ReplyTarget {
 public:
  virtual ~ReplyTarget() = default;
  virtual void deliver(Response response) = 0;
  // The Reply was destroyed without an answer; by default a 500 is delivered.
  virtual void abandon();
};

// The answer to one request. Call it once, from any thread; later calls do
// nothing. Destroying it without calling it answers 500.
class Reply {
 public:
  explicit Reply(std::unique_ptr<ReplyTarget> target) : target_(std::move(target)) {}
  Reply(Reply&&) noexcept = default;
  Reply& operator=(Reply&& other) noexcept;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  ~Reply();

  void operator()(Response response);
  bool answered() const { return target_ == nullptr; }

  static Reply to(std::function<void(Response)> deliver);

 private:
  std::unique_ptr<ReplyTarget> target_;
};

// One accepted WebSocket connection. Handles are shared_ptrs that may be kept
// and used from any thread, also after the connection (or the server) is gone.
class WsConnection {
 public:
  virtual ~WsConnection() = default;
  // Queues a text message. False when the connection is closed; when the queue
  // is over ServerOptions::ws_max_queued_bytes the connection is closed (1008).
  virtual bool send(std::string text) = 0;
  // Sends what is queued, then a close frame (1000).
  virtual void close() = 0;
  virtual bool is_open() const = 0;
  // The upgrade request (headers, query, remote address, route params).
  virtual const Request& request() const = 0;
  virtual std::uint64_t id() const = 0;  // Unique within the server.
};

using WsPtr = std::shared_ptr<WsConnection>;

// Callbacks run on an I/O thread, one at a time per connection: keep them short.
struct WsHandler {
  // Decides on the upgrade request (authentication, query): std::nullopt
  // accepts, a Response refuses with it. Optional.
  std::function<std::optional<Response>(const Request&)> admit;
  std::function<void(const WsPtr&)> on_open;
  std::function<void(const WsPtr&, std::string_view text)> on_message;
  std::function<void(const WsPtr&)> on_close;  // Once, for every opened connection.
};

class HttpServer {
 public:
  // Handlers run on an I/O thread and must not block it: to wait for anything,
  // move the Reply elsewhere and return.
  using Handler = std::function<void(Request, Reply)>;
  using SyncHandler = std::function<Response(const Request&)>;
  // Decides on a request from its header, before its body is read: std::nullopt
  // reads on, a Response refuses with it and closes the connection.
  using Admit = std::function<std::optional<Response>(const Request&)>;

  explicit HttpServer(ServerOptions options);
  ~HttpServer();  // stop(0).
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes and WebSocket paths are added before start(). Patterns: router.h.
  void route(std::string_view method, std::string_view pattern, Handler handler);
  void route(std::string_view method, std::string_view pattern, SyncHandler handler);
  // A body limit for one route instead of ServerOptions::max_body_bytes (a bundle
  // upload is larger than any webhook). Call after route() for the same pair.
  void body_limit(std::string_view method, std::string_view pattern, std::uint64_t bytes);
  // An admission check for one route, run on the I/O thread as soon as the
  // header is read (the Request has no body yet): a refused upload is answered
  // at once, without reading, or making the client send, megabytes first (a
  // client that asked for 100-continue never sends them). Call after route().
  void admit(std::string_view method, std::string_view pattern, Admit admit);
  void websocket(std::string_view pattern, WsHandler handler);

  // Binds, listens and starts the I/O threads; returns the bound port.
  Result<std::uint16_t> start();
  // Stops accepting, closes idle keep-alive connections, sends WebSockets a close
  // frame (1001) and lets requests in flight be answered until `grace` has
  // passed; then closes what is left and joins the threads. Not from an I/O thread.
  void stop(std::chrono::milliseconds grace);

  std::uint16_t port() const;
  std::size_t connection_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace waflow::http
