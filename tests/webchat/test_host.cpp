// webchat_test_host: an HttpServer with the web chat and a scripted bot, for the headless
// browser test (browser_test.py) and for trying the page by hand.
//
// The bot answers any text with two buttons and a tap with the text "You picked <title>";
// starting the flow "pizza" greets the contact. It answers from its own thread, after
// on_inbound has returned, the way the server's dispatcher would. A second server on another
// port plays a shop's site that embeds the widget (another origin, allowed by the web chat).
// It prints "listening on http://127.0.0.1:<port>/", then "site on http://127.0.0.1:<port>/",
// and serves until its standard input closes.

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include "adapters/http/server.h"
#include "adapters/webchat/webchat.h"

namespace {

using waflow::Result;
using waflow::vm::Value;
using namespace waflow;

// Replies waiting to go out, delivered by one thread in order.
class Outbox {
 public:
  void push(std::string contact, Value payload) {
    {
      std::lock_guard lock(mutex_);
      items_.emplace_back(std::move(contact), std::move(payload));
    }
    wake_.notify_one();
  }
  void run(webchat::WebChat& chat) {
    for (;;) {
      std::pair<std::string, Value> item;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || !items_.empty(); });
        if (stop_) {
          return;
        }
        item = std::move(items_.front());
        items_.pop_front();
      }
      chat.typing(item.first, 300);
      if (!chat.deliver(item.first, item.second)) {
        std::cerr << "test host: no page open for " << item.first << "\n";
      }
    }
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<std::string, Value>> items_;
  bool stop_ = false;
};

Value text(std::string body) {
  return Value::object({{"type", Value::text("text")}, {"text", Value::text(std::move(body))}});
}

Value size_buttons() {
  auto button = [](const char* id, const char* title) {
    return Value::object({{"id", Value::text(id)}, {"title", Value::text(title)}});
  };
  return Value::object(
      {{"type", Value::text("buttons")},
       {"text", Value::text("Which size?")},
       {"buttons", Value::list({button("small", "Small"), button("large", "Large")})}});
}

}  // namespace

int main(int argc, char** argv) {
  http::ServerOptions server_options;
  server_options.address = "127.0.0.1";
  server_options.port = 0;
  if (argc > 1) {
    server_options.port = static_cast<std::uint16_t>(std::stoi(argv[1]));
  }
  server_options.logger = [](http::LogLevel, std::string_view message,
                             std::span<const http::LogField> fields) {
    std::string line(message);
    for (const auto& f : fields) {
      line += " " + std::string(f.key) + "=" + f.value;
    }
    std::fprintf(stderr, "%s\n", line.c_str());
  };
  http::HttpServer server(server_options);

  // The shop's site: a page of its own that embeds the widget from the chat server.
  std::atomic<unsigned> chat_port{0};
  http::HttpServer site(server_options);
  site.route("GET", "/", http::HttpServer::SyncHandler([&](const http::Request&) {
               const std::string chat = "http://127.0.0.1:" + std::to_string(chat_port.load());
               return http::Response{
                   200,
                   "text/html; charset=utf-8",
                   {},
                   "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<link rel=\"icon\" href=\"data:,\"><title>A shop</title></head>\n"
                   "<body><h1>A shop</h1><p>Ask us anything.</p>\n<script src=\"" +
                       chat +
                       "/webchat/widget.js\" data-device=\"web\" data-title=\"Pizza "
                       "shop\"></script>\n</body></html>\n"};
             }));
  Result<std::uint16_t> site_port = site.start();
  if (!site_port) {
    std::fprintf(stderr, "test host: %s\n", site_port.error().message.c_str());
    return 1;
  }

  Outbox outbox;
  webchat::WebChatOptions options;
  options.device = "web";
  options.title = "Pizza test";
  options.logger = server_options.logger;
  options.allowed_origins = {"http://127.0.0.1:" + std::to_string(site_port.value())};
  webchat::WebChatCallbacks callbacks;
  callbacks.on_inbound = [&](gateways::Inbound in) -> Result<bool> {
    const Value* type = in.message.field("type");
    if (type != nullptr && type->is_text() && type->as_text() == "button") {
      outbox.push(in.contact, text("You picked " + in.message.field("title")->as_text()));
    } else {
      outbox.push(in.contact, size_buttons());
    }
    return true;
  };
  callbacks.flows = [] {
    return std::vector<webchat::FlowInfo>{{"pizza", "Pizza order"}};
  };
  callbacks.on_start = [&](const std::string& contact, const std::string& flow) -> Result<bool> {
    if (flow != "pizza") {
      return Error{ErrorCode::NotFound, "no flow named '" + flow + "'"};
    }
    outbox.push(contact, text("Welcome to Pizza order"));
    return true;
  };
  webchat::WebChat chat(options, callbacks);
  chat.install(server);

  Result<std::uint16_t> port = server.start();
  if (!port) {
    std::fprintf(stderr, "test host: %s\n", port.error().message.c_str());
    return 1;
  }
  chat_port = port.value();
  std::thread dispatcher([&] { outbox.run(chat); });
  std::printf("listening on http://127.0.0.1:%u/\n", static_cast<unsigned>(port.value()));
  std::printf("site on http://127.0.0.1:%u/\n", static_cast<unsigned>(site_port.value()));
  std::fflush(stdout);

  std::string line;
  while (std::getline(std::cin, line)) {
  }
  site.stop(std::chrono::milliseconds(1000));
  server.stop(std::chrono::milliseconds(1000));
  outbox.stop();
  dispatcher.join();
  return 0;
}
