// The Beast side of the HTTP server: the only translation unit of waflow that
// includes Beast's HTTP and WebSocket headers, so that their compile time is paid
// once.
//
// Lifetimes. Each connection is a session owned by the asynchronous operations
// pending on it. A request waiting for its Reply has no operation pending, so the
// session holds itself (hold_) until the answer arrives; Replies and WebSocket
// handles only keep weak pointers and post to the session's strand, after
// checking under the core's mutex that the io_context still accepts work.
// stop() releases whatever is still held once the threads are joined, so every
// socket is destroyed before its io_context.

#include "adapters/http/server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <initializer_list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "adapters/http/router.h"
#include "runtime/base/check.h"
#include "runtime/base/thread_name.h"

namespace waflow::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ws = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

std::string to_string(beast::string_view text) {
  return std::string(text.data(), text.size());
}

std::string lower(beast::string_view text) {
  std::string out(text.data(), text.size());
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A connection the server can ask to wind down (stop) or drop (stop's deadline).
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void begin_shutdown() = 0;  // Posts to the strand.
  virtual void force_close() = 0;     // Posts to the strand.
  virtual void release() = 0;         // Only once the I/O threads are joined.
};

// What the server, its sessions and their Replies share. Outlives the io_context.
struct Core {
  ServerOptions options;
  Router router;
  std::vector<HttpServer::Handler> handlers;
  std::vector<std::uint64_t> body_limits;  // Per route; 0: options.max_body_bytes.
  std::vector<HttpServer::Admit> admits;   // Per route; empty: none.
  std::uint64_t largest_body_limit = 0;    // Of the options and every route.
  Router ws_router;
  std::vector<WsHandler> ws_handlers;

  mutable std::mutex mutex;
  std::condition_variable drained;  // Signalled when `connections` becomes empty.
  bool open = true;                 // Posting to the io_context is allowed.
  bool stopping = false;
  std::uint64_t next_id = 1;
  std::unordered_map<std::uint64_t, std::weak_ptr<Connection>> connections;

  void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) const {
    if (!options.logger)
      return;
    try {
      options.logger(level, message, std::span<const LogField>(fields.begin(), fields.size()));
    } catch (...) {
      // A failing logger must not take a connection down with it.
    }
  }

  // Registers a connection; returns its id, or 0 when the server is stopping or
  // full (the caller closes it).
  std::uint64_t add(const std::shared_ptr<Connection>& connection) {
    std::lock_guard lock(mutex);
    if (stopping || connections.size() >= options.max_connections)
      return 0;
    std::uint64_t id = next_id++;
    connections.emplace(id, connection);
    return id;
  }

  void remove(std::uint64_t id) {
    if (id == 0)
      return;
    std::lock_guard lock(mutex);
    connections.erase(id);
    if (connections.empty())
      drained.notify_all();
  }

  std::vector<std::shared_ptr<Connection>> snapshot() const {
    std::lock_guard lock(mutex);
    std::vector<std::shared_ptr<Connection>> out;
    for (const auto& [id, weak] : connections) {
      if (auto connection = weak.lock())
        out.push_back(std::move(connection));
    }
    return out;
  }
};

// ---------------------------------------------------------------------------
// WebSocket sessions.

class WsSession;

// The handle users hold: it outlives the session safely.
class WsLink final : public WsConnection {
 public:
  WsLink(std::shared_ptr<Core> core, Request request, std::uint64_t id)
      : core_(std::move(core)), request_(std::move(request)), id_(id) {}

  bool send(std::string text) override;
  void close() override;
  bool is_open() const override { return open_.load(); }
  const Request& request() const override { return request_; }
  std::uint64_t id() const override { return id_; }

  std::weak_ptr<WsSession> session_;
  std::atomic<bool> open_{false};

 private:
  std::shared_ptr<Core> core_;
  Request request_;
  std::uint64_t id_;

  template <typename F>
  bool post(F&& f);
};

class WsSession final : public Connection, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(std::shared_ptr<Core> core, tcp::socket socket, const WsHandler& handler)
      : core_(std::move(core)), ws_(std::move(socket)), handler_(handler) {}

  ~WsSession() override { core_->remove(id_); }

  // Answers the upgrade request and starts reading.
  void start(bhttp::request<bhttp::string_body> upgrade, Request request) {
    id_ = core_->add(shared_from_this());
    if (id_ == 0) {
      beast::error_code ec;
      beast::get_lowest_layer(ws_).socket().close(ec);
      return;
    }
    link_ = std::make_shared<WsLink>(core_, std::move(request), id_);
    link_->session_ = weak_from_this();
    upgrade_ = std::move(upgrade);
    const ServerOptions& o = core_->options;
    ws::stream_base::timeout timeout{};
    timeout.handshake_timeout = o.read_timeout;
    timeout.idle_timeout = o.ws_idle_timeout;
    timeout.keep_alive_pings = true;
    ws_.set_option(timeout);
    ws_.set_option(ws::stream_base::decorator(
        [](ws::response_type& res) { res.set(bhttp::field::server, "waflow"); }));
    ws_.read_message_max(o.ws_max_message_bytes);
    ws_.text(true);
    ws_.async_accept(upgrade_,
                     [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
  }

  void begin_shutdown() override {
    net::post(ws_.get_executor(),
              [self = shared_from_this()] { self->begin_close(ws::close_code::going_away); });
  }
  void force_close() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      beast::get_lowest_layer(self->ws_).socket().close(ec);
    });
  }
  void release() override {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  // On the strand.
  void enqueue(std::string text) {
    if (!link_->open_ || closing_)
      return;
    if (queued_bytes_ + text.size() > core_->options.ws_max_queued_bytes) {
      core_->log(LogLevel::Warn, "websocket send queue full; closing the connection",
                 {{"remote", link_->request().remote_address},
                  {"path", link_->request().path},
                  {"queued_bytes", std::to_string(queued_bytes_)}});
      drop_queued();
      begin_close(ws::close_code::policy_error);
      return;
    }
    queued_bytes_ += text.size();
    queue_.push_back(std::move(text));
    if (!writing_)
      write_next();
  }

  void begin_close(ws::close_code code) {
    if (!link_ || !link_->open_ || closing_)
      return;
    closing_ = true;
    close_code_ = code;
    if (!writing_)
      send_close();
  }

  net::any_io_executor executor() { return ws_.get_executor(); }

 private:
  std::shared_ptr<Core> core_;
  ws::stream<beast::tcp_stream> ws_;
  const WsHandler& handler_;  // Owned by the core, which outlives the session.
  std::uint64_t id_ = 0;
  std::shared_ptr<WsLink> link_;
  bhttp::request<bhttp::string_body> upgrade_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  bool opened_ = false;
  ws::close_code close_code_ = ws::close_code::normal;

  template <typename F>
  void call(const F& callback, std::string_view what) {
    try {
      callback();
    } catch (const std::exception& e) {
      core_->log(LogLevel::Error, "websocket handler threw",
                 {{"callback", std::string(what)}, {"error", e.what()}});
    } catch (...) {
      core_->log(LogLevel::Error, "websocket handler threw", {{"callback", std::string(what)}});
    }
  }

  void on_accept(beast::error_code ec) {
    if (ec) {
      core_->log(LogLevel::Warn, "websocket handshake failed",
                 {{"remote", link_->request().remote_address}, {"error", ec.message()}});
      return;
    }
    link_->open_ = true;
    opened_ = true;
    if (handler_.on_open)
      call([&] { handler_.on_open(link_); }, "on_open");
    // A shutdown that arrived during the handshake found the link not yet open.
    bool stopping;
    {
      std::lock_guard lock(core_->mutex);
      stopping = core_->stopping;
    }
    if (stopping)
      begin_close(ws::close_code::going_away);
    read_next();
  }

  void read_next() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (ec == ws::error::message_too_big) {
        core_->log(LogLevel::Warn, "websocket message over the limit; connection closed",
                   {{"remote", link_->request().remote_address},
                    {"limit", std::to_string(core_->options.ws_max_message_bytes)}});
      } else if (ec == beast::error::timeout) {
        core_->log(LogLevel::Info, "websocket peer stopped answering pings; connection closed",
                   {{"remote", link_->request().remote_address}});
      }
      finish();
      return;
    }
    std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    if (handler_.on_message && !closing_) {
      call([&] { handler_.on_message(link_, text); }, "on_message");
    }
    read_next();
  }

  void write_next() {
    writing_ = true;
    ws_.async_write(
        net::buffer(queue_.front()),
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    if (ec)
      return;  // The pending read fails too and finishes the session.
    if (!queue_.empty()) {
      queued_bytes_ -= queue_.front().size();
      queue_.pop_front();
    }
    if (!queue_.empty()) {
      write_next();
    } else if (closing_) {
      send_close();
    }
  }

  void send_close() {
    writing_ = true;  // A close frame is a write: no message may follow it.
    ws_.async_close(close_code_, [self = shared_from_this()](beast::error_code) {
      // The pending read completes when the peer's close frame arrives (or the
      // handshake times out), and finishes the session.
    });
  }

  // The read loop has ended: the connection is closed either way.
  void finish() {
    link_->open_ = false;
    if (!opened_)
      return;
    opened_ = false;
    if (handler_.on_close)
      call([&] { handler_.on_close(link_); }, "on_close");
  }

  // Drops unsent messages, except the one being written (its buffer is in use).
  void drop_queued() {
    std::size_t keep = writing_ && !queue_.empty() ? 1 : 0;
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(keep), queue_.end());
    queued_bytes_ = keep == 1 ? queue_.front().size() : 0;
  }
};

template <typename F>
bool WsLink::post(F&& f) {
  std::shared_ptr<WsSession> session;  // Outlives the lock, as in SessionTarget::send.
  std::lock_guard lock(core_->mutex);
  if (!core_->open)
    return false;
  session = session_.lock();
  if (!session)
    return false;
  net::post(session->executor(), [session, f = std::forward<F>(f)]() mutable { f(*session); });
  return true;
}

bool WsLink::send(std::string text) {
  if (!open_)
    return false;
  return post([text = std::move(text)](WsSession& s) mutable { s.enqueue(std::move(text)); });
}

void WsLink::close() {
  post([](WsSession& s) { s.begin_close(ws::close_code::normal); });
}

// ---------------------------------------------------------------------------
// HTTP sessions.

class HttpSession;

class SessionTarget final : public ReplyTarget {
 public:
  SessionTarget(std::weak_ptr<HttpSession> session, std::shared_ptr<Core> core,
                std::uint64_t generation)
      : session_(std::move(session)), core_(std::move(core)), generation_(generation) {}
  void deliver(Response response) override { send(std::move(response), false); }
  void abandon() override {
    send(Response::error(500, "no_response", "the handler finished without answering"), true);
  }

 private:
  std::weak_ptr<HttpSession> session_;
  std::shared_ptr<Core> core_;
  std::uint64_t generation_;

  void send(Response response, bool abandoned);
};

class HttpSession final : public Connection, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::shared_ptr<Core> core, tcp::socket socket)
      : core_(std::move(core)), stream_(std::move(socket)) {}

  ~HttpSession() override { core_->remove(id_); }

  void start() {
    beast::error_code ec;
    tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      remote_address_ = remote.address().to_string();
      remote_port_ = remote.port();
    }
    id_ = core_->add(shared_from_this());
    if (id_ == 0) {
      core_->log(LogLevel::Warn, "connection refused: server stopping or at max_connections",
                 {{"remote", remote_address_}});
      stream_.socket().close(ec);
      return;
    }
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->wait_for_request(); });
  }

  void begin_shutdown() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->shutting_down_ = true;
      // Between requests (or halfway through one) there is nothing to finish.
      if (self->state_ == State::Idle || self->state_ == State::Reading)
        self->stream_.close();
    });
  }

  void force_close() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->shutting_down_ = true;
      self->stream_.close();
      self->hold_.reset();
    });
  }

  void release() override {
    stream_.close();
    hold_.reset();
  }

  // On the strand: the answer to request number `generation`.
  void on_reply(std::uint64_t generation, Response response, bool abandoned) {
    if (generation != generation_ || state_ != State::Handling)
      return;
    auto self = std::move(hold_);
    if (abandoned) {
      core_->log(LogLevel::Error, "handler dropped its reply; answered 500",
                 {{"method", method_}, {"path", path_}});
    }
    send_response(std::move(response));
  }

  net::any_io_executor executor() { return stream_.get_executor(); }

 private:
  enum class State : std::uint8_t { Idle, Reading, Handling, Writing, Closing };

  std::shared_ptr<Core> core_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> response_;
  bhttp::response<bhttp::empty_body> continue_;
  std::shared_ptr<HttpSession> hold_;  // Set while a handler owes an answer.
  std::uint64_t id_ = 0;
  std::uint64_t generation_ = 0;
  State state_ = State::Idle;
  bool first_request_ = true;
  bool shutting_down_ = false;
  bool keep_alive_ = true;
  bool head_ = false;
  unsigned version_ = 11;
  Clock::time_point started_;
  std::string method_;
  std::string path_;
  std::uint64_t body_limit_ = 0;  // Of the request being read.
  std::uint64_t request_bytes_ = 0;
  std::string remote_address_;
  std::uint16_t remote_port_ = 0;
  std::size_t drained_ = 0;
  std::array<char, 4096> drain_buffer_{};

  // Waits for the first byte of the next request under the idle timeout (the
  // read timeout for a new connection), so that a keep-alive connection may
  // rest long while a request, once begun, must arrive quickly.
  void wait_for_request() {
    state_ = State::Idle;
    if (shutting_down_) {
      close_gracefully();
      return;
    }
    if (buffer_.size() > 0) {  // Pipelined: the next request is already here.
      read_header();
      return;
    }
    const ServerOptions& o = core_->options;
    stream_.expires_after(first_request_ ? o.read_timeout : o.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
          self->buffer_.commit(n);
          if (ec) {
            if (ec == beast::error::timeout && self->first_request_) {
              self->core_->log(LogLevel::Warn, "client sent no request in time; disconnected",
                               {{"remote", self->remote_address_}});
            }
            self->close_now();
            return;
          }
          self->read_header();
        });
  }

  void read_header() {
    state_ = State::Reading;
    started_ = Clock::now();
    method_.clear();
    path_.clear();
    parser_.emplace();
    parser_->header_limit(core_->options.max_header_bytes);
    // The largest limit of any route until the header says which route it is
    // (a Content-Length over the limit fails the header read itself).
    body_limit_ = core_->largest_body_limit;
    parser_->body_limit(body_limit_);
    stream_.expires_after(core_->options.read_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) {
      on_read_error(ec);
      return;
    }
    auto& req = parser_->get();
    method_ = to_string(req.method_string());
    auto target = req.target();
    path_ = to_string(target.substr(0, std::min(target.find('?'), target.size())));
    body_limit_ = core_->options.max_body_bytes;
    if (Router::Match m = core_->router.match(method_, path_);
        m.outcome == Router::Outcome::Found) {
      if (const HttpServer::Admit& admit = core_->admits[m.route]) {
        Request request = header_request();
        request.params = std::move(m.params);
        if (std::optional<Response> refusal = admit(request)) {
          // Answered from the header alone: the body is never read (the
          // graceful close drains what the client already sent).
          version_ = req.version();
          head_ = req.method() == bhttp::verb::head;
          keep_alive_ = false;
          state_ = State::Handling;
          send_response(std::move(*refusal));
          return;
        }
      }
      if (core_->body_limits[m.route] != 0) {
        body_limit_ = core_->body_limits[m.route];
      }
    }
    if (const auto length = parser_->content_length(); length && *length > body_limit_) {
      on_read_error(bhttp::error::body_limit);
      return;
    }
    parser_->body_limit(body_limit_);
    if (parser_->is_done()) {
      on_request();
      return;
    }
    auto expect = req[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      continue_ = {};
      continue_.version(req.version());
      continue_.result(bhttp::status::continue_);
      bhttp::async_write(stream_, continue_,
                         [self = shared_from_this()](beast::error_code wec, std::size_t) {
                           if (wec) {
                             self->close_now();
                           } else {
                             self->read_body();
                           }
                         });
      return;
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(core_->options.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) {
                          self->on_read_error(ec);
                        } else {
                          self->on_request();
                        }
                      });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      respond_error(413, "body_too_large",
                    "the request body is over " + std::to_string(body_limit_) + " bytes");
    } else if (ec == bhttp::error::header_limit) {
      respond_error(431, "header_too_large",
                    "the request header is over " +
                        std::to_string(core_->options.max_header_bytes) + " bytes");
    } else if (ec == beast::error::timeout) {
      core_->log(LogLevel::Warn, "client too slow to send its request; disconnected",
                 {{"remote", remote_address_}, {"method", method_}, {"path", path_}});
      close_now();
    } else if (ec == bhttp::error::partial_message) {
      core_->log(LogLevel::Info, "client closed the connection halfway through a request",
                 {{"remote", remote_address_}});
      close_now();
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
               ec != bhttp::error::end_of_stream) {
      respond_error(400, "malformed_request", "malformed HTTP request: " + ec.message());
    } else {
      // The client went away, or the server is stopping.
      close_now();
    }
  }

  void respond_error(int status, std::string_view code, const std::string& message) {
    core_->log(LogLevel::Warn, "request refused",
               {{"status", std::to_string(status)},
                {"reason", message},
                {"remote", remote_address_},
                {"method", method_},
                {"path", path_}});
    keep_alive_ = false;
    head_ = false;
    version_ = 11;
    state_ = State::Handling;
    send_response(Response::error(status, code, message));
  }

  // The request as its header describes it: everything but the body.
  Request header_request() const {
    const auto& req = parser_->get();
    Request request;
    request.method = method_;
    request.target = to_string(req.target());
    request.path = path_;
    if (std::size_t q = request.target.find('?'); q != std::string::npos) {
      request.query_string = request.target.substr(q + 1);
      std::string_view rest = request.query_string;
      while (!rest.empty()) {
        std::size_t amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        if (pair.empty())
          continue;
        std::size_t eq = pair.find('=');
        std::string_view key = pair.substr(0, eq);
        std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
        request.query.emplace(percent_decode(key, true), percent_decode(value, true));
      }
    }
    for (const auto& field : req) {
      std::string name = lower(field.name_string());
      auto [it, inserted] = request.headers.try_emplace(std::move(name), to_string(field.value()));
      if (!inserted) {
        it->second += ", ";
        it->second += to_string(field.value());
      }
    }
    request.remote_address = remote_address_;
    request.remote_port = remote_port_;
    return request;
  }

  void on_request() {
    state_ = State::Handling;
    auto& req = parser_->get();
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    head_ = req.method() == bhttp::verb::head;

    Request request = header_request();
    request.body = std::move(req.body());
    request_bytes_ = request.body.size();

    if (ws::is_upgrade(req)) {
      auto match = core_->ws_router.match("GET", path_);
      if (match.outcome == Router::Outcome::Found) {
        request.params = std::move(match.params);
        upgrade(parser_->release(), std::move(request), core_->ws_handlers[match.route]);
        return;
      }
    }

    auto match = core_->router.match(method_, path_);
    if (match.outcome == Router::Outcome::NotFound) {
      if (core_->ws_router.match("GET", path_).outcome == Router::Outcome::Found) {
        Response response =
            Response::error(426, "upgrade_required", path_ + " is a WebSocket endpoint");
        response.headers.emplace_back("Upgrade", "websocket");
        send_response(std::move(response));
        return;
      }
      core_->log(LogLevel::Debug, "no route",
                 {{"method", method_}, {"path", path_}, {"remote", remote_address_}});
      send_response(Response::error(404, "not_found", "no route for " + method_ + " " + path_));
      return;
    }
    if (match.outcome == Router::Outcome::MethodNotAllowed) {
      Response response = Response::error(
          405, "method_not_allowed",
          method_ + " is not allowed on " + path_ + " (allowed: " + match.allow + ")");
      response.headers.emplace_back("Allow", match.allow);
      send_response(std::move(response));
      return;
    }
    request.params = std::move(match.params);
    ++generation_;
    stream_.expires_never();
    hold_ = shared_from_this();
    const HttpServer::Handler& handler = core_->handlers[match.route];
    try {
      handler(std::move(request),
              Reply(std::make_unique<SessionTarget>(weak_from_this(), core_, generation_)));
    } catch (const std::exception& e) {
      core_->log(LogLevel::Error, "handler threw", {{"path", path_}, {"error", e.what()}});
    } catch (...) {
      core_->log(LogLevel::Error, "handler threw", {{"path", path_}});
    }
    // The Reply, answered or destroyed, has posted its answer to the strand.
  }

  void upgrade(bhttp::request<bhttp::string_body> req, Request request, const WsHandler& handler) {
    if (handler.admit) {
      std::optional<Response> refusal;
      try {
        refusal = handler.admit(request);
      } catch (const std::exception& e) {
        core_->log(LogLevel::Error, "websocket admit threw",
                   {{"path", path_}, {"error", e.what()}});
        refusal =
            Response::error(500, "internal_error", "the server could not admit the connection");
      }
      if (refusal) {
        keep_alive_ = false;
        send_response(std::move(*refusal));
        return;
      }
    }
    log_access(101, 0);
    stream_.expires_never();
    auto session = std::make_shared<WsSession>(core_, stream_.release_socket(), handler);
    session->start(std::move(req), std::move(request));
    state_ = State::Closing;  // This session ends here; the socket has moved on.
  }

  void log_access(int status, std::uint64_t response_bytes) {
    if (!core_->options.access_log)
      return;
    AccessEntry entry;
    entry.method = method_;
    entry.path = path_;
    entry.status = status;
    entry.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_);
    entry.remote_address = remote_address_;
    entry.request_bytes = request_bytes_;
    entry.response_bytes = response_bytes;
    try {
      core_->options.access_log(entry);
    } catch (...) {
      // Metrics must not take a connection down.
    }
  }

  static bool valid_field(std::string_view text) {
    return text.find_first_of("\r\n") == std::string_view::npos;
  }

  void send_response(Response response) {
    if (response.status < 200 || response.status > 599) {
      core_->log(LogLevel::Error, "handler answered an invalid status; answered 500",
                 {{"path", path_}, {"status", std::to_string(response.status)}});
      response = Response::error(500, "internal_error", "invalid response status");
    }
    response_ = {};
    response_.version(version_);
    response_.result(static_cast<unsigned>(response.status));
    response_.set(bhttp::field::server, "waflow");
    if (!response.content_type.empty() && valid_field(response.content_type)) {
      response_.set(bhttp::field::content_type, response.content_type);
    }
    for (auto& [name, value] : response.headers) {
      if (name.empty() || !valid_field(name) || !valid_field(value) ||
          name.find(':') != std::string::npos) {
        core_->log(LogLevel::Error, "handler set an invalid header field; dropped",
                   {{"path", path_}, {"name", name}});
        continue;
      }
      response_.set(name, value);
    }
    std::uint64_t body_bytes = response.body.size();
    if (head_) {
      response_.content_length(body_bytes);
    } else {
      response_.body() = std::move(response.body);
      response_.prepare_payload();
    }
    response_.keep_alive(keep_alive_ && !shutting_down_);
    log_access(response.status, head_ ? 0 : body_bytes);

    state_ = State::Writing;
    stream_.expires_after(core_->options.write_timeout);
    bhttp::async_write(
        stream_, response_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    if (ec) {
      close_now();
      return;
    }
    if (!response_.keep_alive()) {
      close_gracefully();
      return;
    }
    first_request_ = false;
    wait_for_request();
  }

  // Half-closes and reads what the client still sends (bounded in time and
  // bytes), so the answer is not lost to a reset when unread request bytes
  // remain, as after a 413.
  void close_gracefully() {
    state_ = State::Closing;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      close_now();
      return;
    }
    stream_.expires_after(std::chrono::seconds(2));
    drain();
  }

  void drain() {
    stream_.async_read_some(net::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > (4u << 20)) {
                                self->close_now();
                              } else {
                                self->drain();
                              }
                            });
  }

  void close_now() {
    state_ = State::Closing;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }
};

void SessionTarget::send(Response response, bool abandoned) {
  // Declared before the lock: if this turns out to be the last reference, the
  // session's destructor takes the core's mutex itself.
  std::shared_ptr<HttpSession> session;
  std::lock_guard lock(core_->mutex);
  if (!core_->open)
    return;
  session = session_.lock();
  if (!session)
    return;
  net::post(session->executor(), [session, generation = generation_, response = std::move(response),
                                  abandoned]() mutable {
    session->on_reply(generation, std::move(response), abandoned);
  });
}

}  // namespace

// ---------------------------------------------------------------------------
// Reply.

void ReplyTarget::abandon() {
  deliver(Response::error(500, "no_response", "the handler finished without answering"));
}

Reply& Reply::operator=(Reply&& other) noexcept {
  if (this != &other) {
    Reply old(std::move(*this));  // An unanswered reply being replaced answers 500.
    target_ = std::move(other.target_);
  }
  return *this;
}

Reply::~Reply() {
  if (!target_)
    return;
  try {
    std::unique_ptr<ReplyTarget> target = std::move(target_);
    target->abandon();
  } catch (...) {
    // Nothing sensible is left to do; the connection times out.
  }
}

void Reply::operator()(Response response) {
  if (!target_)
    return;
  std::unique_ptr<ReplyTarget> target = std::move(target_);
  target->deliver(std::move(response));
}

Reply Reply::to(std::function<void(Response)> deliver) {
  class FunctionTarget final : public ReplyTarget {
   public:
    explicit FunctionTarget(std::function<void(Response)> f) : f_(std::move(f)) {}
    void deliver(Response response) override { f_(std::move(response)); }

   private:
    std::function<void(Response)> f_;
  };
  return Reply(std::make_unique<FunctionTarget>(std::move(deliver)));
}

// ---------------------------------------------------------------------------
// The server.

struct HttpServer::Impl {
  explicit Impl(ServerOptions options)
      : core(std::make_shared<Core>()),
        ioc(std::max(1, options.threads)),
        acceptor(net::make_strand(ioc)),
        retry_timer(acceptor.get_executor()),
        work(net::make_work_guard(ioc)) {
    core->options = std::move(options);
    core->largest_body_limit = core->options.max_body_bytes;
  }

  std::shared_ptr<Core> core;
  net::io_context ioc;
  tcp::acceptor acceptor;
  net::steady_timer retry_timer;
  net::executor_work_guard<net::io_context::executor_type> work;
  std::vector<std::thread> threads;
  std::uint16_t port = 0;
  bool started = false;
  bool stopped = false;

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open())
        return;
      if (ec) {
        // Out of file descriptors, typically: wait instead of spinning.
        core->log(LogLevel::Error, "accept failed", {{"error", ec.message()}});
        retry_timer.expires_after(std::chrono::milliseconds(100));
        retry_timer.async_wait([this](beast::error_code wait_ec) {
          if (!wait_ec)
            accept();
        });
        return;
      }
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<HttpSession>(core, std::move(socket))->start();
      accept();
    });
  }

  bool on_io_thread() const {
    auto me = std::this_thread::get_id();
    return std::any_of(threads.begin(), threads.end(),
                       [&](const std::thread& t) { return t.get_id() == me; });
  }
};

HttpServer::HttpServer(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() {
  stop(std::chrono::milliseconds(0));
}

void HttpServer::route(std::string_view method, std::string_view pattern, Handler handler) {
  WAFLOW_CHECK(!impl_->started, "routes are added before start()");
  WAFLOW_CHECK(handler != nullptr, "a route needs a handler");
  impl_->core->router.add(method, pattern);
  impl_->core->handlers.push_back(std::move(handler));
  impl_->core->body_limits.push_back(0);
  impl_->core->admits.emplace_back();
}

void HttpServer::body_limit(std::string_view method, std::string_view pattern,
                            std::uint64_t bytes) {
  WAFLOW_CHECK(!impl_->started, "body limits are set before start()");
  const std::optional<std::size_t> route = impl_->core->router.find(method, pattern);
  WAFLOW_CHECK(route.has_value(), "body_limit() for a route that was not added");
  impl_->core->body_limits[*route] = bytes;
  impl_->core->largest_body_limit = std::max(impl_->core->largest_body_limit, bytes);
}

void HttpServer::admit(std::string_view method, std::string_view pattern, Admit admit) {
  WAFLOW_CHECK(!impl_->started, "admission checks are set before start()");
  const std::optional<std::size_t> route = impl_->core->router.find(method, pattern);
  WAFLOW_CHECK(route.has_value(), "admit() for a route that was not added");
  impl_->core->admits[*route] = std::move(admit);
}

void HttpServer::route(std::string_view method, std::string_view pattern, SyncHandler handler) {
  WAFLOW_CHECK(handler != nullptr, "a route needs a handler");
  route(method, pattern, Handler([handler = std::move(handler)](Request request, Reply reply) {
          reply(handler(request));
        }));
}

void HttpServer::websocket(std::string_view pattern, WsHandler handler) {
  WAFLOW_CHECK(!impl_->started, "websocket paths are added before start()");
  impl_->core->ws_router.add("GET", pattern);
  impl_->core->ws_handlers.push_back(std::move(handler));
}

Result<std::uint16_t> HttpServer::start() {
  WAFLOW_CHECK(!impl_->started, "start() twice");
  const ServerOptions& o = impl_->core->options;
  beast::error_code ec;
  auto address = net::ip::make_address(o.address, ec);
  if (ec) {
    return Error{ErrorCode::InvalidInput, "invalid listen address '" + o.address + "'"};
  }
  tcp::endpoint endpoint(address, o.port);
  auto fail = [&](std::string_view what) {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    return Error{ErrorCode::Io, "cannot " + std::string(what) + " " + o.address + ":" +
                                    std::to_string(o.port) + ": " + ec.message()};
  };
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (ec)
    return fail("open a socket for");
  impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec)
    return fail("set SO_REUSEADDR on");
  impl_->acceptor.bind(endpoint, ec);
  if (ec)
    return fail("bind");
  impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return fail("listen on");
  impl_->port = impl_->acceptor.local_endpoint(ec).port();
  impl_->started = true;
  impl_->accept();
  int threads = std::max(1, o.threads);
  for (int i = 0; i < threads; ++i) {
    impl_->threads.emplace_back([this] {
      name_this_thread("wf-http");
      // Handlers have their own last-resort catch; this one keeps a thread alive
      // whatever escapes Asio.
      while (true) {
        try {
          impl_->ioc.run();
          return;
        } catch (const std::exception& e) {
          impl_->core->log(LogLevel::Error, "I/O thread caught an exception",
                           {{"error", e.what()}});
        }
      }
    });
  }
  return impl_->port;
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  Impl& impl = *impl_;
  if (!impl.started || impl.stopped)
    return;
  WAFLOW_CHECK(!impl.on_io_thread(), "stop() from an I/O thread would wait for itself");
  impl.stopped = true;
  std::shared_ptr<Core> core = impl.core;
  auto deadline = Clock::now() + grace;
  {
    std::lock_guard lock(core->mutex);
    core->stopping = true;
  }
  net::post(impl.acceptor.get_executor(), [&impl] {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
    impl.retry_timer.cancel();
  });
  // The work guard stays: a request waiting for its Reply has no operation
  // pending, and the threads must still be there when the answer is posted.
  for (const auto& connection : core->snapshot())
    connection->begin_shutdown();

  auto wait_until = [&](Clock::time_point until) {
    std::unique_lock lock(core->mutex);
    return core->drained.wait_until(lock, until, [&] { return core->connections.empty(); });
  };
  if (!wait_until(deadline)) {
    core->log(LogLevel::Warn, "grace period over; closing the remaining connections",
              {{"connections", std::to_string(core->snapshot().size())}});
    for (const auto& connection : core->snapshot())
      connection->force_close();
    (void)wait_until(Clock::now() + std::chrono::seconds(2));
  }
  impl.work.reset();
  impl.ioc.stop();
  for (std::thread& thread : impl.threads)
    thread.join();
  impl.threads.clear();
  beast::error_code ignored;
  impl.acceptor.close(ignored);
  {
    std::lock_guard lock(core->mutex);
    core->open = false;
  }
  for (const auto& connection : core->snapshot())
    connection->release();
}

std::uint16_t HttpServer::port() const {
  return impl_->port;
}

std::size_t HttpServer::connection_count() const {
  std::lock_guard lock(impl_->core->mutex);
  return impl_->core->connections.size();
}

}  // namespace waflow::http
