// The web chat over a real HttpServer on 127.0.0.1, with Beast's WebSocket client as the page:
// the files and their headers, the upgrade's checks, every frame, bad frames, and deliver().

#include "adapters/webchat/webchat.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/time.h>

#include "adapters/http/server.h"
#include "tests/http/helpers.h"

namespace {

using namespace waflow;
using namespace std::chrono_literals;
using http::test::eventually;
using Json = nlohmann::json;
namespace beast = boost::beast;
namespace ws = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// A blocking client; every read gives up after 10 s instead of hanging a test.
class Page {
 public:
  beast::error_code connect(std::uint16_t port, const std::string& target,
                            const std::string& origin = "") {
    beast::error_code ec;
    stream_.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    if (ec) {
      return ec;
    }
    timeval limit{10, 0};
    ::setsockopt(stream_.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit,
                 sizeof(limit));
    if (!origin.empty()) {
      stream_.set_option(ws::stream_base::decorator(
          [origin](ws::request_type& request) { request.set("Origin", origin); }));
    }
    stream_.handshake(response_, "127.0.0.1:" + std::to_string(port), target, ec);
    return ec;
  }
  void send(const std::string& text) {
    stream_.text(true);
    stream_.write(net::buffer(text));
  }
  Json read() {
    beast::flat_buffer buffer;
    beast::error_code ec;
    stream_.read(buffer, ec);
    REQUIRE_FALSE(ec);
    return Json::parse(beast::buffers_to_string(buffer.data()));
  }
  // Reads frames until one of `type` (history frames and the like are skipped).
  Json read_type(const std::string& type) {
    for (int i = 0; i < 20; ++i) {
      Json frame = read();
      if (frame["type"] == type) {
        return frame;
      }
    }
    FAIL("no '" << type << "' frame");
    return {};
  }
  int status() const { return static_cast<int>(response_.result_int()); }

 private:
  net::io_context ioc_;
  ws::stream<tcp::socket> stream_{ioc_};
  ws::response_type response_;
};

// What the host side saw, for assertions.
struct Host {
  std::mutex mutex;
  std::vector<gateways::Inbound> inbound;
  std::vector<std::pair<std::string, std::string>> started;
  std::set<std::string> stored_ids;  // Dedup on the provider message id, like the store.

  webchat::WebChatCallbacks callbacks() {
    webchat::WebChatCallbacks c;
    c.on_inbound = [this](gateways::Inbound in) -> Result<bool> {
      std::lock_guard lock(mutex);
      if (in.message.field("text")->as_text() == "fail") {
        return Error{ErrorCode::Io, "the store is down"};
      }
      bool fresh = stored_ids.insert(in.provider_message_id).second;
      if (fresh) {
        inbound.push_back(std::move(in));
      }
      return fresh;
    };
    c.flows = [] {
      return std::vector<webchat::FlowInfo>{{"pizza", "Pizza \"order\""}, {"faq", "FAQ"}};
    };
    c.on_start = [this](const std::string& contact, const std::string& flow) -> Result<bool> {
      if (flow != "pizza" && flow != "faq") {
        return Error{ErrorCode::NotFound, "no flow named '" + flow + "'"};
      }
      std::lock_guard lock(mutex);
      started.emplace_back(contact, flow);
      return true;
    };
    c.history = [](const std::string& contact, std::size_t limit) {
      std::vector<webchat::HistoryEntry> out;
      if (contact == "returning1") {
        out.push_back({true, "web-old-1", 10,
                       vm::Value::object({{"type", vm::Value::text("text")},
                                          {"text", vm::Value::text("welcome back")}})});
      }
      CHECK(limit == 50);
      return out;
    };
    return c;
  }
};

struct Fixture {
  http::test::LogCollector logs;
  Host host;
  http::HttpServer server{[this] {
    http::ServerOptions o;
    o.logger = logs.logger();
    return o;
  }()};
  webchat::WebChat chat{[this] {
                          webchat::WebChatOptions o;
                          o.device = "web";
                          o.title = "Pizza <Shop>";
                          o.allowed_origins = {"https://shop.example"};
                          o.max_sockets_per_contact = 3;
                          o.logger = logs.logger();
                          return o;
                        }(),
                        host.callbacks()};
  std::uint16_t port = 0;

  explicit Fixture(std::string_view base = "") {
    chat.install(server, base);
    auto started = server.start();
    REQUIRE(started.ok());
    port = started.value();
  }
  ~Fixture() { server.stop(2000ms); }

  std::string get(const std::string& target, const std::string& extra_headers = "") {
    http::test::RawConnection c(port);
    REQUIRE(c.send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                   "\r\n" + extra_headers + "Connection: close\r\n\r\n"));
    return c.read_response();
  }
};

vm::Value text_payload(const std::string& text) {
  return vm::Value::object({{"type", vm::Value::text("text")}, {"text", vm::Value::text(text)}});
}

}  // namespace

TEST_CASE("the sandbox page is served with its title, a strict policy and an ETag") {
  Fixture f;
  std::string page = f.get("/");
  CHECK(http::test::status_of(page) == 200);
  CHECK(http::test::has_header(page, "Content-Type", "text/html; charset=utf-8"));
  CHECK(http::test::has_header(page, "Cache-Control", "no-cache"));
  CHECK(http::test::has_header(page, "X-Content-Type-Options", "nosniff"));
  std::string body = http::test::body_of(page);
  CHECK(body.find("<title>Pizza &lt;Shop&gt; · web chat</title>") != std::string::npos);
  CHECK(body.find("data-device=\"web\"") != std::string::npos);
  CHECK(body.find("{{") == std::string::npos);
  CHECK(page.find("Content-Security-Policy: default-src 'none'; script-src 'self'; style-src "
                  "'self'; img-src 'self' https: data:; connect-src 'self' ws://127.0.0.1:" +
                  std::to_string(f.port)) != std::string::npos);
  // No inline script or handler: the policy would block them.
  CHECK(body.find("onclick") == std::string::npos);
  CHECK(body.find("<script>") == std::string::npos);
}

TEST_CASE("the widget script and the style sheet have their content types, and revalidate") {
  Fixture f;
  std::string script = f.get("/webchat/widget.js");
  CHECK(http::test::status_of(script) == 200);
  CHECK(http::test::has_header(script, "Content-Type", "text/javascript; charset=utf-8"));
  CHECK(http::test::body_of(script).find("attachShadow") != std::string::npos);
  std::string css = f.get("/webchat/chat.css");
  CHECK(http::test::status_of(css) == 200);
  CHECK(http::test::has_header(css, "Content-Type", "text/css; charset=utf-8"));

  auto at = script.find("ETag: ");
  REQUIRE(at != std::string::npos);
  std::string etag = script.substr(at + 6, script.find("\r\n", at) - at - 6);
  CHECK(etag.front() == '"');
  std::string again = f.get("/webchat/widget.js", "If-None-Match: " + etag + "\r\n");
  CHECK(http::test::status_of(again) == 304);
  CHECK(http::test::body_of(again).empty());
  std::string other = f.get("/webchat/widget.js", "If-None-Match: \"something-else\"\r\n");
  CHECK(http::test::status_of(other) == 200);
}

TEST_CASE("the flows are listed as JSON") {
  Fixture f;
  std::string answer = f.get("/webchat/flows");
  CHECK(http::test::status_of(answer) == 200);
  CHECK(http::test::has_header(answer, "Content-Type", "application/json"));
  CHECK(Json::parse(http::test::body_of(answer)) ==
        Json::parse(R"({"flows":[{"name":"pizza","title":"Pizza \"order\""},)"
                    R"({"name":"faq","title":"FAQ"}]})"));
}

TEST_CASE("under a base path every route moves, and the bare path redirects") {
  Fixture f("/chat/");
  CHECK(http::test::status_of(f.get("/chat/")) == 200);
  CHECK(http::test::status_of(f.get("/chat/webchat/widget.js")) == 200);
  CHECK(http::test::status_of(f.get("/webchat/widget.js")) == 404);
  std::string bare = f.get("/chat");
  CHECK(http::test::status_of(bare) == 301);
  CHECK(http::test::has_header(bare, "Location", "/chat/"));
  Page page;
  REQUIRE_FALSE(page.connect(f.port, "/chat/webchat/ws?contact=abcdefgh12"));
}

TEST_CASE("the upgrade is refused with 400 for a missing or malformed contact id") {
  Fixture f;
  for (const char* target :
       {"/webchat/ws", "/webchat/ws?contact=short", "/webchat/ws?contact=has%20space1",
        "/webchat/ws?contact=abc%2Fdefgh"}) {
    INFO(target);
    std::string answer = f.get(target,
                               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                               "Sec-WebSocket-Version: 13\r\n");
    CHECK(http::test::status_of(answer) == 400);
    CHECK(answer.find("invalid_contact") != std::string::npos);
  }
  Page page;
  CHECK(page.connect(f.port, "/webchat/ws?contact=short"));
}

TEST_CASE("the upgrade checks the Origin and the device") {
  Fixture f;
  {
    Page page;
    CHECK(page.connect(f.port, "/webchat/ws?contact=abcdefgh12", "https://evil.example"));
  }
  {
    Page page;
    CHECK_FALSE(page.connect(f.port, "/webchat/ws?contact=abcdefgh12", "https://shop.example"));
  }
  {
    Page page;
    CHECK_FALSE(page.connect(f.port, "/webchat/ws?contact=abcdefgh12",
                             "http://127.0.0.1:" + std::to_string(f.port)));
  }
  {
    Page page;
    CHECK(page.connect(f.port, "/webchat/ws?contact=abcdefgh12&device=other"));
  }
  {
    Page page;
    CHECK_FALSE(page.connect(f.port, "/webchat/ws?contact=abcdefgh12&device=web"));
  }
}

TEST_CASE("a message is handed to on_inbound and acknowledged once stored") {
  Fixture f;
  Page page;
  REQUIRE_FALSE(page.connect(f.port, "/webchat/ws?contact=contact01"));
  CHECK(page.read_type("history")["messages"] == Json::array());
  page.send(R"({"type":"message","id":"m1","text":"hi"})");
  CHECK(page.read() == Json::parse(R"({"type":"ack","id":"m1"})"));
  std::lock_guard lock(f.host.mutex);
  REQUIRE(f.host.inbound.size() == 1);
  CHECK(f.host.inbound[0].account == "web");
  CHECK(f.host.inbound[0].contact == "contact01");
  CHECK(f.host.inbound[0].provider_message_id == "contact01:m1");
  CHECK(vm::to_json(f.host.inbound[0].message) == R"({"type":"text","text":"hi"})");
}

TEST_CASE("a resend of the same id after a reconnect is acknowledged and stored once") {
  Fixture f;
  {
    Page page;
    REQUIRE_FALSE(page.connect(f.port, "/webchat/ws?contact=contact01"));
    page.send(R"({"type":"message","id":"m1","text":"hi"})");
    CHECK(page.read_type("ack")["id"] == "m1");
  }
  Page again;
  REQUIRE_FALSE(again.connect(f.port, "/webchat/ws?contact=contact01"));
  again.send(R"({"type":"message","id":"m1","text":"hi"})");
  CHECK(again.read_type("ack")["id"] == "m1");
  again.send(R"({"type":"tap","id":"m2","payload":"large","title":"Large"})");
  CHECK(again.read_type("ack")["id"] == "m2");
  std::lock_guard lock(f.host.mutex);
  REQUIRE(f.host.inbound.size() == 2);
  CHECK(vm::to_json(f.host.inbound[1].message) ==
        R"({"type":"button","payload":"large","text":"Large","title":"Large"})");
}

TEST_CASE("messages of one page reach on_inbound in the order they were sent") {
  Fixture f;
  Page page;
  REQUIRE_FALSE(page.connect(f.port, "/webchat/ws?contact=contact01"));
  for (int i = 0; i < 50; ++i) {
    page.send(R"({"type":"message","id":"m)" + std::to_string(i) + R"(","text":"n)" +
              std::to_string(i) + "\"}");
  }
  for (int i = 0; i < 50; ++i) {
    CHECK(page.read_type("ack")["id"] == "m" + std::to_string(i));
  }
  std::lock_guard lock(f.host.mutex);
  REQUIRE(f.host.inbound.size() == 50);
  for (int i = 0; i < 50; ++i) {
    CHECK(f.host.inbound[static_cast<std::size_t>(i)].message.field("text")->as_text() ==
          "n" + std::to_string(i));
  }
}

TEST_CASE("a failed store is an error frame for that message, and the socket stays open") {
  Fixture f;
  Page page;
  REQUIRE_FALSE(page.connect(f.port, "/webchat/ws?contact=contact01"));
  page.send(R"({"type":"message","id":"m1","text":"fail"})");
  CHECK(page.read_type("error") ==
        Json::parse(R"({"type":"error","message":"the store is down","id":"m1"})"));
  CHECK(f.logs.contains("webchat: the server did not take a frame"));
  page.send(R"({"type":"message","id":"m2","text":"ok"})");
  CHECK(page.read_type("ack")["id"] == "m2");
}

TEST_CASE("a start frame starts the flow for the contact") {
  Fixture f;
  Page page;
  REQUIRE_FALSE(page.connect(f.port, "/webchat/ws?contact=contact01"));
  page.send(R"({"type":"start","id":"s1","flow":"pizza"})");
  CHECK(page.read_type("ack")["id"] == "s1");
  page.send(R"({"type":"start","id":"s2","flow":"nope"})");
  CHECK(page.read_type("error") ==
        Json::parse(R"({"type":"error","message":"no flow named 'nope'","id":"s2"})"));
  std::lock_guard lock(f.host.mutex);
  REQUIRE(f.host.started.size() == 1);
  CHECK(f.host.started[0] == std::make_pair(std::string("contact01"), std::string("pizza")));
}

TEST_CASE("bad frames get an error frame and a log line, and the socket stays open") {
  Fixture f;
  Page page;
  REQUIRE_FALSE(page.connect(f.port, "/webchat/ws?contact=contact01"));
  page.read_type("history");
  page.send("not json");
  CHECK(page.read() == Json::parse(R"({"type":"error","message":"the frame is not JSON"})"));
  page.send(R"({"type":"dance","id":"x"})");
  CHECK(page.read()["message"] == "unknown frame type 'dance'");
  page.send(R"({"type":"message","id":"m1","text":")" + std::string(5000, 'a') + "\"}");
  CHECK(page.read()["message"] == "'text' is longer than 4096 bytes");
  page.send(R"({"type":"message","id":"m1","text":["a"]})");
  CHECK(page.read()["message"] == "'text' must be a string");
  CHECK(f.logs.contains("webchat: frame refused"));
  page.send(R"({"type":"message","id":"m9","text":"still here"})");
  CHECK(page.read()["type"] == "ack");
  std::lock_guard lock(f.host.mutex);
  CHECK(f.host.inbound.size() == 1);
}

TEST_CASE("a page that comes back gets its history") {
  Fixture f;
  Page page;
  REQUIRE_FALSE(page.connect(f.port, "/webchat/ws?contact=returning1"));
  CHECK(page.read() ==
        Json::parse(R"({"type":"history","messages":[{"from":"bot","id":"web-old-1",)"
                    R"("timestamp_ms":10,"payload":{"type":"text","text":"welcome back"}}]})"));
}

TEST_CASE("deliver reaches every open page of the contact and no other") {
  Fixture f;
  Page a;
  Page b;
  Page other;
  REQUIRE_FALSE(a.connect(f.port, "/webchat/ws?contact=contact01"));
  REQUIRE_FALSE(b.connect(f.port, "/webchat/ws?contact=contact01"));
  REQUIRE_FALSE(other.connect(f.port, "/webchat/ws?contact=contact02"));
  REQUIRE(eventually([&] { return f.chat.open_sockets("contact01") == 2; }));
  REQUIRE(eventually([&] { return f.chat.open_sockets("contact02") == 1; }));

  std::string id;
  CHECK(f.chat.deliver("contact01", text_payload("Hello"), &id));
  CHECK(id.rfind("web-", 0) == 0);
  Json expected = {
      {"type", "message"}, {"id", id}, {"payload", {{"type", "text"}, {"text", "Hello"}}}};
  CHECK(a.read_type("message") == expected);
  CHECK(b.read_type("message") == expected);

  std::string second;
  CHECK(f.chat.deliver("contact02", text_payload("Other"), &second));
  CHECK(second != id);
  CHECK(other.read_type("message")["payload"]["text"] == "Other");

  CHECK(f.chat.typing("contact01", 1200));
  CHECK(a.read() == Json::parse(R"({"type":"typing","ms":1200})"));
}

TEST_CASE("deliver is false when no page of the contact is open") {
  Fixture f;
  std::string id = "unchanged";
  CHECK_FALSE(f.chat.deliver("nobody123", text_payload("Hello"), &id));
  CHECK(id == "unchanged");
  CHECK_FALSE(f.chat.typing("nobody123", 100));
  {
    Page page;
    REQUIRE_FALSE(page.connect(f.port, "/webchat/ws?contact=contact01"));
    REQUIRE(eventually([&] { return f.chat.open_sockets("contact01") == 1; }));
  }
  REQUIRE(eventually([&] { return f.chat.open_sockets("contact01") == 0; }));
  CHECK_FALSE(f.chat.deliver("contact01", text_payload("Hello")));
}

TEST_CASE("deliver from many threads at once reaches the page whole") {
  Fixture f;
  Page page;
  REQUIRE_FALSE(page.connect(f.port, "/webchat/ws?contact=contact01"));
  REQUIRE(eventually([&] { return f.chat.open_sockets("contact01") == 1; }));
  std::vector<std::thread> threads;
  std::atomic<int> sent{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (f.chat.deliver("contact01", text_payload("x"))) {
          ++sent;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(sent == 100);
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    Json frame = page.read_type("message");
    ids.insert(frame["id"].get<std::string>());
  }
  CHECK(ids.size() == 100);
}

TEST_CASE("more pages of one contact than allowed are refused with an error frame") {
  Fixture f;
  std::vector<std::unique_ptr<Page>> pages;
  for (int i = 0; i < 3; ++i) {
    pages.push_back(std::make_unique<Page>());
    REQUIRE_FALSE(pages.back()->connect(f.port, "/webchat/ws?contact=contact01"));
  }
  REQUIRE(eventually([&] { return f.chat.open_sockets("contact01") == 3; }));
  Page extra;
  REQUIRE_FALSE(extra.connect(f.port, "/webchat/ws?contact=contact01"));
  CHECK(extra.read()["message"] == "too many pages are open for this contact");
  CHECK(f.chat.open_sockets("contact01") == 3);
}

TEST_CASE("a page that sends faster than its allowance gets error frames, and the socket stays") {
  http::test::LogCollector logs;
  Host host;
  http::HttpServer server{http::ServerOptions{}};
  webchat::WebChatOptions o;
  o.frame_burst = 3;
  o.frames_per_second = 0.5;
  o.logger = logs.logger();
  webchat::WebChat chat{o, host.callbacks()};
  chat.install(server, "");
  auto started = server.start();
  REQUIRE(started.ok());
  Page page;
  REQUIRE_FALSE(page.connect(started.value(), "/webchat/ws?contact=contact01"));
  for (int i = 0; i < 8; ++i) {
    page.send(R"({"type":"message","id":"m)" + std::to_string(i) + R"(","text":"hi"})");
  }
  int acks = 0;
  int refused = 0;
  while (acks + refused < 8) {
    const Json frame = page.read();
    if (frame["type"] == "ack") {
      ++acks;
    } else if (frame["type"] == "error") {
      CHECK(frame["message"] ==
            "too many messages from this page; wait a moment and send it again");
      CHECK(frame["id"].get<std::string>().rfind('m', 0) == 0);
      ++refused;
    }
  }
  // The burst goes through; the rest wait for the rate (one every two seconds).
  CHECK(acks >= 3);
  CHECK(refused >= 1);
  server.stop(2000ms);
}
