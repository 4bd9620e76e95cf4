#include "adapters/webchat/webchat.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <utility>

#include "adapters/webchat/assets.h"

namespace waflow::webchat {
namespace {

using http::LogField;
using http::LogLevel;
using http::Request;
using http::Response;
using http::WsPtr;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// Eight hex digits that differ between runs, so message ids stay unique after a restart
// although the counter starts again.
std::string process_tag() {
  std::random_device random;
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "%08x", static_cast<unsigned>(random()));
  return buffer;
}

// Whether a Host header is a plain host[:port], safe to repeat in a CSP.
bool plain_host(std::string_view host) {
  return !host.empty() && host.size() <= 255 && std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == ':' || c == '[' || c == ']';
  });
}

// "https://shop.example:8443" -> "shop.example:8443".
std::string_view origin_host(std::string_view origin) {
  std::size_t scheme = origin.find("://");
  return scheme == std::string_view::npos ? std::string_view() : origin.substr(scheme + 3);
}

// The page may load only its own script and style sheet and talk only to its own socket.
// Images are the exception: a flow sends pictures from wherever they are hosted, and an image
// runs no code. 'self' covers ws: in current browsers; the socket's address is named as well
// for older ones.
std::string page_policy(const Request& request) {
  std::string connect = "'self'";
  std::string_view host = request.header("host");
  if (plain_host(host)) {
    connect += " ws://" + std::string(host) + " wss://" + std::string(host);
  }
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
         "connect-src " +
         connect + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

void add_common_headers(Response& response) {
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
}

// A file as it is served: revalidated on every use (no-cache), so a new waflow is picked up
// at once, and answered 304 when the page already has these bytes.
Response serve_asset(const Request& request, const Asset& asset, std::string_view body) {
  Response response;
  add_common_headers(response);
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.headers.emplace_back("ETag", std::string(asset.etag));
  std::string_view match = request.header("if-none-match");
  if (!match.empty() && match.find(asset.etag) != std::string_view::npos) {
    response.status = 304;
    response.content_type.clear();
    return response;
  }
  response.content_type = std::string(asset.content_type);
  response.body = std::string(body);
  return response;
}

}  // namespace

struct WebChat::Impl {
  WebChatOptions options;
  WebChatCallbacks callbacks;
  std::string page;  // index.html with the title and device filled in.
  std::string id_prefix = "web-" + process_tag() + "-";
  std::atomic<std::uint64_t> next_id{1};

  // An open page. Until its history frame has gone out it is not ready: frames
  // for the contact wait in `held`, so the page never sees a live message
  // before the history that precedes it.
  struct OpenPage {
    WsPtr ws;
    bool ready = true;
    std::vector<std::string> held;
  };
  // Each page's frame allowance (a token bucket), by socket id.
  struct Allowance {
    double tokens = 0;
    std::chrono::steady_clock::time_point last;
  };
  std::mutex allowance_mutex;
  std::unordered_map<std::uint64_t, Allowance> allowances;

  mutable std::mutex sockets_mutex;  // Also orders the frames a contact's pages get.
  std::unordered_map<std::string, std::vector<OpenPage>> sockets;  // By contact.

  // One queue per worker; a contact always hashes to the same one, which keeps its order.
  struct Worker {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::function<void()>> jobs;
    std::thread thread;
  };
  std::vector<std::unique_ptr<Worker>> workers;
  std::atomic<std::size_t> pending{0};
  std::atomic<bool> stopping{false};

  void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
    if (options.logger) {
      std::vector<LogField> copy(fields);
      options.logger(level, message, copy);
    }
  }

  void start_workers() {
    int count = std::max(1, options.workers);
    for (int i = 0; i < count; ++i) {
      workers.push_back(std::make_unique<Worker>());
      Worker* w = workers.back().get();
      w->thread = std::thread([this, w] { run(*w); });
    }
  }

  void run(Worker& w) {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(w.mutex);
        w.wake.wait(lock, [&] { return stopping.load() || !w.jobs.empty(); });
        if (stopping.load()) {
          return;
        }
        job = std::move(w.jobs.front());
        w.jobs.pop_front();
      }
      --pending;
      // The callbacks are the host's code: whatever escapes them is logged, never lets a
      // worker die.
      try {
        job();
      } catch (const std::exception& e) {
        log(LogLevel::Error, "webchat: a callback failed", {{"error", e.what()}});
      } catch (...) {
        log(LogLevel::Error, "webchat: a callback failed", {{"error", "unknown exception"}});
      }
    }
  }

  void stop_workers() {
    stopping = true;
    for (auto& w : workers) {
      {
        std::lock_guard lock(w->mutex);
        w->jobs.clear();
      }
      w->wake.notify_all();
    }
    for (auto& w : workers) {
      if (w->thread.joinable()) {
        w->thread.join();
      }
    }
  }

  // False when the queues are full or stopping: the caller tells the client to try again.
  bool enqueue(const std::string& contact, std::function<void()> job) {
    if (stopping.load() || pending.load() >= options.max_pending) {
      return false;
    }
    Worker& w = *workers[std::hash<std::string>{}(contact) % workers.size()];
    ++pending;
    {
      std::lock_guard lock(w.mutex);
      w.jobs.push_back(std::move(job));
    }
    w.wake.notify_one();
    return true;
  }

  std::size_t page_count(const std::string& contact) const {
    std::lock_guard lock(sockets_mutex);
    auto it = sockets.find(contact);
    return it == sockets.end() ? 0 : it->second.size();
  }

  // Sends (only queues: never blocks) under the lock, so every page of the
  // contact gets the frames in one order.
  bool push(const std::string& contact, const std::string& frame) {
    std::lock_guard lock(sockets_mutex);
    auto it = sockets.find(contact);
    if (it == sockets.end()) {
      return false;
    }
    bool sent = false;
    for (OpenPage& open_page : it->second) {
      if (open_page.ready) {
        sent = open_page.ws->send(frame) || sent;
      } else {
        open_page.held.push_back(frame);
        sent = true;
      }
    }
    return sent;
  }

  // Sends `first` (the history, if any) and what was held, and makes the page ready.
  void make_ready(const std::string& contact, std::uint64_t id,
                  const std::optional<std::string>& first) {
    std::lock_guard lock(sockets_mutex);
    auto it = sockets.find(contact);
    if (it == sockets.end()) {
      return;
    }
    for (OpenPage& open_page : it->second) {
      if (open_page.ws->id() != id) {
        continue;
      }
      if (first) {
        open_page.ws->send(*first);
      }
      for (std::string& frame : open_page.held) {
        open_page.ws->send(std::move(frame));
      }
      open_page.held.clear();
      open_page.ready = true;
    }
  }

  std::optional<Response> admit(const Request& request) const {
    std::string_view contact = request.query_param("contact");
    if (!valid_contact_id(contact)) {
      return Response::error(400, "invalid_contact",
                             "contact must be 8 to 64 letters, digits, '_' or '-'");
    }
    std::string_view device = request.query_param("device");
    if (!device.empty() && device != options.device) {
      return Response::error(404, "unknown_device", "this server has no such web chat device");
    }
    std::string_view origin = request.header("origin");
    if (!origin.empty() && !origin_allowed(origin, request.header("host"))) {
      return Response::error(403, "origin_not_allowed",
                             "this origin may not open the web chat; see webchat allowed_origins");
    }
    return std::nullopt;
  }

  bool origin_allowed(std::string_view origin, std::string_view host) const {
    if (!host.empty() && origin_host(origin) == host) {
      return true;
    }
    return std::any_of(
        options.allowed_origins.begin(), options.allowed_origins.end(),
        [&](const std::string& allowed) { return allowed == "*" || allowed == origin; });
  }

  void open(const WsPtr& ws) {
    std::string contact(ws->request().query_param("contact"));
    {
      std::lock_guard lock(sockets_mutex);
      auto& list = sockets[contact];
      if (list.size() >= options.max_sockets_per_contact) {
        ws->send(error_frame("too many pages are open for this contact"));
        ws->close();
        return;
      }
      list.push_back(OpenPage{ws, !callbacks.history, {}});
    }
    if (!callbacks.history) {
      return;
    }
    bool queued = enqueue(contact, [this, ws, contact] {
      std::vector<HistoryEntry> entries = callbacks.history(contact, options.history_limit);
      make_ready(contact, ws->id(), history_frame(entries));
    });
    if (!queued) {
      log(LogLevel::Warn, "webchat: history skipped, the queue is full", {{"contact", contact}});
      make_ready(contact, ws->id(), std::nullopt);
    }
  }

  void close(const WsPtr& ws) {
    {
      const std::lock_guard lock(allowance_mutex);
      allowances.erase(ws->id());
    }
    std::string contact(ws->request().query_param("contact"));
    std::lock_guard lock(sockets_mutex);
    auto it = sockets.find(contact);
    if (it == sockets.end()) {
      return;
    }
    std::erase_if(it->second, [&](const OpenPage& other) { return other.ws->id() == ws->id(); });
    if (it->second.empty()) {
      sockets.erase(it);
    }
  }

  void refuse(const WsPtr& ws, const std::string& contact, const std::string& why,
              std::string_view id = {}) {
    log(LogLevel::Warn, "webchat: frame refused", {{"contact", contact}, {"error", why}});
    ws->send(error_frame(why, id));
  }

  // Takes one frame from the page's allowance; false when it has none left.
  bool allow_frame(const WsPtr& ws) {
    if (options.frames_per_second <= 0 || options.frame_burst <= 0) {
      return true;
    }
    const auto now = std::chrono::steady_clock::now();
    const std::lock_guard lock(allowance_mutex);
    auto [it, fresh] = allowances.try_emplace(ws->id(), Allowance{options.frame_burst, now});
    Allowance& a = it->second;
    if (!fresh) {
      const double seconds = std::chrono::duration<double>(now - a.last).count();
      a.tokens = std::min(options.frame_burst, a.tokens + seconds * options.frames_per_second);
      a.last = now;
    }
    if (a.tokens < 1) {
      return false;
    }
    a.tokens -= 1;
    return true;
  }

  void message(const WsPtr& ws, std::string_view text) {
    std::string contact(ws->request().query_param("contact"));
    if (!allow_frame(ws)) {
      Result<ClientFrame> peek = parse_client_frame(text);
      refuse(ws, contact, "too many messages from this page; wait a moment and send it again",
             peek ? peek.value().id : std::string());
      return;
    }
    Result<ClientFrame> parsed = parse_client_frame(text);
    if (!parsed) {
      refuse(ws, contact, parsed.error().message);
      return;
    }
    ClientFrame frame = std::move(parsed).value();
    std::string id = frame.id;
    std::function<void()> job;
    if (frame.type == FrameType::Start) {
      if (!callbacks.on_start) {
        refuse(ws, contact, "this server does not start flows from the web chat", id);
        return;
      }
      job = [this, ws, contact, id, flow = frame.flow] {
        Result<bool> started = callbacks.on_start(contact, flow);
        answer(ws, contact, id, started);
      };
    } else {
      gateways::Inbound inbound = to_inbound(frame, options.device, contact, now_ms());
      job = [this, ws, contact, id, inbound = std::move(inbound)]() mutable {
        Result<bool> stored = callbacks.on_inbound(std::move(inbound));
        answer(ws, contact, id, stored);
      };
    }
    if (!enqueue(contact, std::move(job))) {
      refuse(ws, contact, "the server is busy; send it again later", id);
    }
  }

  void answer(const WsPtr& ws, const std::string& contact, const std::string& id,
              const Result<bool>& result) {
    if (!result) {
      log(LogLevel::Warn, "webchat: the server did not take a frame",
          {{"contact", contact}, {"error", result.error().message}});
      ws->send(error_frame(result.error().message, id));
    } else if (!id.empty()) {
      ws->send(ack_frame(id));
    }
  }

  void flows(http::Reply reply) {
    std::vector<FlowInfo> list = callbacks.flows ? callbacks.flows() : std::vector<FlowInfo>();
    std::string body = "{\"flows\":[";
    for (std::size_t i = 0; i < list.size(); ++i) {
      body += (i == 0 ? "{\"name\":" : ",{\"name\":") + http::json_quote(list[i].name) +
              ",\"title\":" + http::json_quote(list[i].title) + "}";
    }
    body += "]}";
    Response response = Response::json(200, std::move(body));
    add_common_headers(response);
    response.headers.emplace_back("Cache-Control", "no-store");
    reply(std::move(response));
  }
};

WebChat::WebChat(WebChatOptions options, WebChatCallbacks callbacks)
    : impl_(std::make_shared<Impl>()) {
  WAFLOW_CHECK(static_cast<bool>(callbacks.on_inbound), "the web chat needs on_inbound");
  impl_->options = std::move(options);
  impl_->callbacks = std::move(callbacks);
  const Asset* page = find_asset("index.html");
  WAFLOW_CHECK(page != nullptr, "index.html is embedded");
  impl_->page = std::string(page->body);
  replace_all(impl_->page, "{{title}}", html_escape(impl_->options.title));
  replace_all(impl_->page, "{{device}}", html_escape(impl_->options.device));
  impl_->start_workers();
}

WebChat::~WebChat() {
  impl_->stop_workers();
}

void WebChat::install(http::HttpServer& server, std::string_view base_path) {
  std::string base(base_path);
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  // The routes share the Impl, so a request that races the WebChat's destruction finds it
  // still there (with its workers stopped).
  std::shared_ptr<Impl> impl = impl_;

  server.route("GET", base + "/", http::HttpServer::SyncHandler([impl](const Request& request) {
                 const Asset& asset = *find_asset("index.html");
                 Response response = serve_asset(request, asset, impl->page);
                 response.headers.emplace_back("Content-Security-Policy", page_policy(request));
                 return response;
               }));
  if (!base.empty()) {
    // The page links its files relative to itself, which needs the trailing slash.
    server.route("GET", base, http::HttpServer::SyncHandler([base](const Request&) {
                   Response response = Response::text(301, "");
                   response.headers.emplace_back("Location", base + "/");
                   return response;
                 }));
  }
  for (std::string_view name : {"widget.js", "chat.css"}) {
    const Asset* asset = find_asset(name);
    WAFLOW_CHECK(asset != nullptr, "the web chat's files are embedded");
    server.route("GET", base + "/webchat/" + std::string(name),
                 http::HttpServer::SyncHandler([asset](const Request& request) {
                   return serve_asset(request, *asset, asset->body);
                 }));
  }
  server.route("GET", base + "/webchat/flows",
               http::HttpServer::Handler([impl](const Request&, http::Reply reply) {
                 // flows() is the host's and may read a database: not on an I/O thread.
                 auto shared = std::make_shared<http::Reply>(std::move(reply));
                 if (!impl->enqueue("", [impl, shared] { impl->flows(std::move(*shared)); })) {
                   (*shared)(Response::error(503, "busy", "the web chat is busy"));
                 }
               }));

  http::WsHandler handler;
  handler.admit = [impl](const Request& request) {
    return impl->admit(request);
  };
  handler.on_open = [impl](const WsPtr& ws) {
    impl->open(ws);
  };
  handler.on_message = [impl](const WsPtr& ws, std::string_view text) {
    impl->message(ws, text);
  };
  handler.on_close = [impl](const WsPtr& ws) {
    impl->close(ws);
  };
  server.websocket(base + "/webchat/ws", std::move(handler));
}

bool WebChat::deliver(const std::string& contact, const vm::Value& payload,
                      std::string* message_id) {
  std::string id = impl_->id_prefix + std::to_string(impl_->next_id++);
  bool sent = impl_->push(contact, message_frame(id, payload));
  if (sent && message_id != nullptr) {
    *message_id = std::move(id);
  }
  return sent;
}

bool WebChat::typing(const std::string& contact, std::int64_t ms) {
  return impl_->push(contact, typing_frame(ms));
}

std::size_t WebChat::open_sockets(const std::string& contact) const {
  return impl_->page_count(contact);
}

}  // namespace waflow::webchat
