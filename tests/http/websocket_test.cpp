// WebSockets on 127.0.0.1, with Beast's own client on the far side.

#include <atomic>
#include <mutex>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <sys/time.h>

#include "adapters/http/server.h"
#include "tests/http/helpers.h"

namespace {

using namespace waflow::http;
using test::eventually;
using test::LogCollector;
using namespace std::chrono_literals;
namespace beast = boost::beast;
namespace ws = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// A blocking client; every read gives up after 10 s instead of hanging a test.
class WsClient {
 public:
  beast::error_code connect(std::uint16_t port, const std::string& target) {
    beast::error_code ec;
    stream_.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    if (ec)
      return ec;
    timeval limit{10, 0};
    ::setsockopt(stream_.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit,
                 sizeof(limit));
    stream_.handshake(response_, "127.0.0.1", target, ec);
    return ec;
  }
  beast::error_code send(const std::string& text) {
    beast::error_code ec;
    stream_.text(true);
    stream_.write(net::buffer(text), ec);
    return ec;
  }
  std::string read(beast::error_code& ec) {
    beast::flat_buffer buffer;
    stream_.read(buffer, ec);
    return beast::buffers_to_string(buffer.data());
  }
  ws::stream<tcp::socket>& stream() { return stream_; }
  const ws::response_type& response() const { return response_; }

 private:
  net::io_context ioc_;
  ws::stream<tcp::socket> stream_{ioc_};
  ws::response_type response_;
};

// Connections opened, kept for sends from the test's own thread.
struct Opened {
  std::mutex mutex;
  std::vector<WsPtr> connections;
  std::atomic<int> closed{0};

  WsHandler handler() {
    WsHandler h;
    h.on_open = [this](const WsPtr& c) {
      std::lock_guard lock(mutex);
      connections.push_back(c);
    };
    h.on_message = [](const WsPtr& c, std::string_view text) {
      c->send("echo:" + std::string(text));
    };
    h.on_close = [this](const WsPtr&) {
      ++closed;
    };
    return h;
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return connections.size();
  }
  WsPtr first() {
    std::lock_guard lock(mutex);
    return connections.front();
  }
};

}  // namespace

TEST_CASE("websocket: echo, with the upgrade request available to the handler") {
  LogCollector logs;
  ServerOptions options;
  options.logger = logs.logger();
  HttpServer server(options);
  Opened opened;
  server.websocket("/ws/{room}", opened.handler());
  auto port = server.start();
  REQUIRE(port.ok());

  WsClient client;
  REQUIRE_FALSE(client.connect(port.value(), "/ws/lobby?token=t1"));
  CHECK(client.response()[beast::http::field::server] == "waflow");
  REQUIRE_FALSE(client.send("hi"));
  beast::error_code ec;
  CHECK(client.read(ec) == "echo:hi");
  REQUIRE_FALSE(ec);
  REQUIRE_FALSE(client.send("again"));
  CHECK(client.read(ec) == "echo:again");

  REQUIRE(opened.count() == 1);
  WsPtr connection = opened.first();
  CHECK(connection->request().param("room") == "lobby");
  CHECK(connection->request().query_param("token") == "t1");
  CHECK(connection->request().remote_address == "127.0.0.1");
  CHECK(connection->is_open());

  client.stream().close(ws::close_code::normal, ec);
  CHECK(eventually([&] { return opened.closed == 1; }));
  CHECK_FALSE(connection->is_open());
  CHECK_FALSE(connection->send("gone"));
}

TEST_CASE("websocket: messages sent from another thread arrive, in order") {
  HttpServer server(ServerOptions{});
  Opened opened;
  server.websocket("/events", opened.handler());
  auto port = server.start();
  REQUIRE(port.ok());

  WsClient client;
  REQUIRE_FALSE(client.connect(port.value(), "/events"));
  REQUIRE(eventually([&] { return opened.count() == 1; }));
  std::thread sender([connection = opened.first()] {
    for (int i = 0; i < 200; ++i)
      connection->send("m" + std::to_string(i));
  });
  sender.join();
  for (int i = 0; i < 200; ++i) {
    beast::error_code ec;
    std::string text = client.read(ec);
    REQUIRE_FALSE(ec);
    CHECK(text == "m" + std::to_string(i));
  }
}

TEST_CASE("websocket: close() sends what is queued, then a close frame, on_close runs once") {
  HttpServer server(ServerOptions{});
  Opened opened;
  server.websocket("/events", opened.handler());
  auto port = server.start();
  REQUIRE(port.ok());

  WsClient client;
  REQUIRE_FALSE(client.connect(port.value(), "/events"));
  REQUIRE(eventually([&] { return opened.count() == 1; }));
  WsPtr connection = opened.first();
  connection->send("last words");
  connection->close();
  beast::error_code ec;
  CHECK(client.read(ec) == "last words");
  client.read(ec);
  CHECK(ec == ws::error::closed);
  CHECK(client.stream().reason().code == ws::close_code::normal);
  CHECK(eventually([&] { return opened.closed == 1; }));
  CHECK_FALSE(connection->is_open());
}

TEST_CASE("websocket: admit refuses an upgrade, and an unknown path is 404") {
  HttpServer server(ServerOptions{});
  Opened opened;
  WsHandler handler = opened.handler();
  handler.admit = [](const Request& request) -> std::optional<Response> {
    if (request.query_param("token") == "secret")
      return std::nullopt;
    return Response::error(401, "unauthorized", "a token is required");
  };
  server.websocket("/chat", handler);
  auto port = server.start();
  REQUIRE(port.ok());

  WsClient refused;
  CHECK(refused.connect(port.value(), "/chat") == ws::error::upgrade_declined);
  WsClient lost;
  CHECK(lost.connect(port.value(), "/elsewhere") == ws::error::upgrade_declined);

  // The statuses, seen on the wire (Beast's client does not keep a declined answer).
  const std::string upgrade =
      " HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  test::RawConnection raw(port.value());
  REQUIRE(raw.send("GET /chat" + upgrade));
  std::string response = raw.read_response();
  CHECK(test::status_of(response) == 401);
  CHECK(test::body_of(response) ==
        R"({"error":{"code":"unauthorized","message":"a token is required"}})");
  test::RawConnection raw_lost(port.value());
  REQUIRE(raw_lost.send("GET /elsewhere" + upgrade));
  CHECK(test::status_of(raw_lost.read_response()) == 404);
  // A plain request to a WebSocket path is told to upgrade.
  test::RawConnection plain(port.value());
  REQUIRE(plain.send("GET /chat HTTP/1.1\r\nHost: t\r\n\r\n"));
  response = plain.read_response();
  CHECK(test::status_of(response) == 426);
  CHECK(test::has_header(response, "Upgrade", "websocket"));

  WsClient admitted;
  CHECK_FALSE(admitted.connect(port.value(), "/chat?token=secret"));
  CHECK(eventually([&] { return opened.count() == 1; }));
}

TEST_CASE("websocket: a message over the limit closes the connection with 1009") {
  LogCollector logs;
  ServerOptions options;
  options.logger = logs.logger();
  options.ws_max_message_bytes = 1000;
  HttpServer server(options);
  Opened opened;
  server.websocket("/events", opened.handler());
  auto port = server.start();
  REQUIRE(port.ok());

  WsClient client;
  REQUIRE_FALSE(client.connect(port.value(), "/events"));
  // The server refuses the frame from its header, sends 1009 and closes; whether
  // the client finishes writing, and reads the close frame before the reset of
  // its unread bytes, depends on timing.
  (void)client.send(std::string(5000, 'x'));
  beast::error_code ec;
  client.read(ec);
  CHECK(ec);
  if (ec == ws::error::closed)
    CHECK(client.stream().reason().code == ws::close_code::too_big);
  CHECK(eventually([&] { return logs.contains("websocket message over the limit"); }));
  CHECK(eventually([&] { return opened.closed == 1; }));
}

TEST_CASE("websocket: stop sends open connections a going-away close frame") {
  auto server = std::make_unique<HttpServer>(ServerOptions{});
  Opened opened;
  server->websocket("/events", opened.handler());
  auto port = server->start();
  REQUIRE(port.ok());

  WsClient client;
  REQUIRE_FALSE(client.connect(port.value(), "/events"));
  REQUIRE(eventually([&] { return opened.count() == 1; }));
  std::thread stopper([&] { server->stop(10s); });
  beast::error_code ec;
  client.read(ec);
  CHECK(ec == ws::error::closed);
  CHECK(client.stream().reason().code == ws::close_code::going_away);
  stopper.join();
  CHECK(opened.closed == 1);
  CHECK_FALSE(opened.first()->send("after stop"));
  server.reset();
  CHECK_FALSE(opened.first()->send("after the server is gone"));
}

TEST_CASE("websocket: a peer that answers no ping is closed after the idle timeout") {
  LogCollector logs;
  ServerOptions options;
  options.logger = logs.logger();
  options.ws_idle_timeout = 300ms;
  HttpServer server(options);
  Opened opened;
  server.websocket("/events", opened.handler());
  auto port = server.start();
  REQUIRE(port.ok());

  // Beast's client answers pings only while it reads; this one never reads.
  WsClient client;
  REQUIRE_FALSE(client.connect(port.value(), "/events"));
  CHECK(eventually([&] { return opened.closed == 1; }));
  CHECK(logs.contains("stopped answering pings"));
}
