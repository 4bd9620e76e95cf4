// The HTTP server on 127.0.0.1, spoken to byte for byte over raw sockets.

#include "adapters/http/server.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "adapters/http/client.h"
#include "tests/http/helpers.h"

namespace {

using namespace waflow::http;
using test::body_of;
using test::eventually;
using test::has_header;
using test::LogCollector;
using test::RawConnection;
using test::status_of;
using namespace std::chrono_literals;

// Replies parked by a handler, answered later by the test (from its own thread).
class Parked {
 public:
  HttpServer::Handler handler() {
    return [this](Request request, Reply reply) {
      std::lock_guard lock(mutex_);
      requests_.push_back(std::move(request));
      replies_.push_back(std::move(reply));
    };
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return replies_.size();
  }
  std::vector<Reply> take_all() {
    std::lock_guard lock(mutex_);
    return std::move(replies_);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
  std::vector<Reply> replies_;
};

ServerOptions options_with(LogCollector& logs) {
  ServerOptions options;
  options.logger = logs.logger();
  return options;
}

std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

}  // namespace

TEST_CASE("the handler sees method, params, query, headers and body") {
  LogCollector logs;
  HttpServer server(options_with(logs));
  std::mutex mutex;
  Request seen;
  server.route("POST", "/api/v1/deployments/{hash}", [&](const Request& request) {
    std::lock_guard lock(mutex);
    seen = request;
    return Response::text(201, "made");
  });
  auto port = server.start();
  REQUIRE(port.ok());

  RawConnection c(port.value());
  REQUIRE(
      c.send("POST /api/v1/deployments/ab%20c?x=1&y=a+b%21&x=2&flag HTTP/1.1\r\nHost: test\r\n"
             "X-Custom: One\r\nx-custom: Two\r\nContent-Length: 5\r\n\r\nhello"));
  std::string response = c.read_response();
  CHECK(status_of(response) == 201);
  CHECK(body_of(response) == "made");
  CHECK(has_header(response, "Content-Type", "text/plain; charset=utf-8"));

  std::lock_guard lock(mutex);
  CHECK(seen.method == "POST");
  CHECK(seen.path == "/api/v1/deployments/ab%20c");
  CHECK(seen.target == "/api/v1/deployments/ab%20c?x=1&y=a+b%21&x=2&flag");
  CHECK(seen.param("hash") == "ab c");
  CHECK(seen.query_string == "x=1&y=a+b%21&x=2&flag");
  CHECK(seen.query_param("x") == "1");
  CHECK(seen.query_param("y") == "a b!");
  CHECK(seen.query.count("flag") == 1);
  CHECK(seen.header("x-custom") == "One, Two");
  CHECK(seen.header("host") == "test");
  CHECK(seen.body == "hello");
  CHECK(seen.remote_address == "127.0.0.1");
  CHECK(seen.remote_port != 0);
}

TEST_CASE("an unknown path is a JSON 404 and a known path with another method a 405") {
  LogCollector logs;
  HttpServer server(options_with(logs));
  server.route("POST", "/api/v1/send", [](const Request&) { return Response::text(200, "ok"); });
  auto port = server.start();
  REQUIRE(port.ok());

  RawConnection c(port.value());
  REQUIRE(c.send(get("/nope")));
  std::string response = c.read_response();
  CHECK(status_of(response) == 404);
  CHECK(has_header(response, "Content-Type", "application/json"));
  CHECK(body_of(response) ==
        R"({"error":{"code":"not_found","message":"no route for GET /nope"}})");

  REQUIRE(c.send(get("/api/v1/send")));
  response = c.read_response();
  CHECK(status_of(response) == 405);
  CHECK(has_header(response, "Allow", "POST"));
  CHECK(body_of(response).find(R"("code":"method_not_allowed")") != std::string::npos);
}

TEST_CASE("keep-alive: several requests on one connection, also pipelined") {
  LogCollector logs;
  HttpServer server(options_with(logs));
  std::atomic<int> distinct_ports{0};
  std::mutex mutex;
  std::vector<std::uint16_t> ports;
  server.route("GET", "/n/{i}", [&](const Request& request) {
    std::lock_guard lock(mutex);
    if (std::find(ports.begin(), ports.end(), request.remote_port) == ports.end()) {
      ports.push_back(request.remote_port);
      ++distinct_ports;
    }
    return Response::text(200, "n=" + std::string(request.param("i")));
  });
  auto port = server.start();
  REQUIRE(port.ok());

  RawConnection c(port.value());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.send(get("/n/" + std::to_string(i))));
    std::string response = c.read_response();
    CHECK(status_of(response) == 200);
    CHECK(body_of(response) == "n=" + std::to_string(i));
  }
  REQUIRE(c.send(get("/n/a") + get("/n/b") + get("/n/c")));
  CHECK(body_of(c.read_response()) == "n=a");
  CHECK(body_of(c.read_response()) == "n=b");
  CHECK(body_of(c.read_response()) == "n=c");
  CHECK(distinct_ports == 1);
  CHECK(server.connection_count() == 1);

  SECTION("HTTP/1.0 without keep-alive is closed after its response") {
    RawConnection old(port.value());
    REQUIRE(old.send("GET /n/old HTTP/1.0\r\n\r\n"));
    std::string response = old.read_response();
    CHECK(response.compare(0, 8, "HTTP/1.0") == 0);
    CHECK(body_of(response) == "n=old");
    CHECK(old.closed_by_peer());
  }
  SECTION("Connection: close is honoured") {
    RawConnection once(port.value());
    REQUIRE(once.send(get("/n/x", "Connection: close\r\n")));
    std::string response = once.read_response();
    CHECK(has_header(response, "Connection", "close"));
    CHECK(once.closed_by_peer());
  }
}

TEST_CASE("a reply from another thread answers the request") {
  LogCollector logs;
  HttpServer server(options_with(logs));
  Parked parked;
  server.route("GET", "/later", parked.handler());
  auto port = server.start();
  REQUIRE(port.ok());

  RawConnection c(port.value());
  REQUIRE(c.send(get("/later")));
  REQUIRE(eventually([&] { return parked.count() == 1; }));
  std::thread answerer([replies = parked.take_all()]() mutable {
    Reply reply = std::move(replies.front());
    reply(Response::json(202, R"({"queued":true})"));
    reply(Response::text(200, "a second answer is ignored"));
    CHECK(reply.answered());
  });
  answerer.join();
  std::string response = c.read_response();
  CHECK(status_of(response) == 202);
  CHECK(body_of(response) == R"({"queued":true})");
  // The connection stays usable for the next request.
  REQUIRE(c.send(get("/later")));
  REQUIRE(eventually([&] { return parked.count() == 1; }));
  parked.take_all().front()(Response::text(200, "again"));
  CHECK(body_of(c.read_response()) == "again");
}

TEST_CASE("a dropped Reply, a throwing handler and an invalid status answer 500") {
  LogCollector logs;
  HttpServer server(options_with(logs));
  server.route("GET", "/drop", [](Request, Reply) {});
  server.route("GET", "/throw", [](Request, Reply) { throw std::runtime_error("boom"); });
  server.route("GET", "/bad-status", [](const Request&) { return Response::text(42, "?"); });
  server.route("GET", "/bad-header", [](const Request&) {
    Response response = Response::text(200, "fine");
    response.headers.emplace_back("X-Evil", "a\r\nSet-Cookie: x=1");
    return response;
  });
  auto port = server.start();
  REQUIRE(port.ok());

  RawConnection c(port.value());
  REQUIRE(c.send(get("/drop")));
  std::string response = c.read_response();
  CHECK(status_of(response) == 500);
  CHECK(body_of(response).find(R"("code":"no_response")") != std::string::npos);
  CHECK(eventually([&] { return logs.contains("handler dropped its reply"); }));

  REQUIRE(c.send(get("/throw")));
  CHECK(status_of(c.read_response()) == 500);
  CHECK(eventually([&] { return logs.contains("handler threw"); }));

  REQUIRE(c.send(get("/bad-status")));
  CHECK(status_of(c.read_response()) == 500);
  CHECK(logs.contains("invalid status"));

  REQUIRE(c.send(get("/bad-header")));
  response = c.read_response();
  CHECK(status_of(response) == 200);
  CHECK(response.find("Set-Cookie") == std::string::npos);
  CHECK(logs.contains("invalid header field"));
}

TEST_CASE("a route may have its own body limit") {
  LogCollector logs;
  ServerOptions options = options_with(logs);
  options.max_body_bytes = 1000;
  HttpServer server(options);
  const auto size = [](const Request& r) {
    return Response::text(200, std::to_string(r.body.size()));
  };
  server.route("POST", "/small", size);
  server.route("POST", "/upload/{name}", size);
  server.body_limit("POST", "/upload/{name}", 10000);
  auto port = server.start();
  REQUIRE(port.ok());
  const auto post = [&](const std::string& path, std::size_t n) {
    RawConnection c(port.value());
    REQUIRE(c.send("POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(n) +
                   "\r\n\r\n" + std::string(n, 'x')));
    return c.read_response();
  };
  CHECK(body_of(post("/upload/a", 8000)) == "8000");
  const std::string over = post("/upload/a", 12000);
  CHECK(status_of(over) == 413);
  CHECK(body_of(over).find("over 10000 bytes") != std::string::npos);
  const std::string small = post("/small", 2000);
  CHECK(status_of(small) == 413);
  CHECK(body_of(small).find("over 1000 bytes") != std::string::npos);
  server.stop(std::chrono::milliseconds(1000));
}

TEST_CASE("an admission check answers from the header before any of the body is read") {
  LogCollector logs;
  HttpServer server(options_with(logs));
  std::atomic<int> handled{0};
  server.route("POST", "/upload/{name}", [&](const Request& r) {
    handled += 1;
    return Response::text(200, std::to_string(r.body.size()));
  });
  server.body_limit("POST", "/upload/{name}", 64u << 20);
  std::string seen_name;
  server.admit("POST", "/upload/{name}", [&](const Request& r) -> std::optional<Response> {
    seen_name = std::string(r.param("name"));
    if (r.header("authorization") != "Bearer good") {
      return Response::error(401, "unauthorized", "no entry for " + std::string(r.param("name")));
    }
    return std::nullopt;
  });
  auto port = server.start();
  REQUIRE(port.ok());
  {
    // 50 MB announced, not one byte of it sent: the refusal comes anyway.
    RawConnection c(port.value());
    REQUIRE(
        c.send("POST /upload/big HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer bad\r\n"
               "Content-Length: 50000000\r\nExpect: 100-continue\r\n\r\n"));
    const std::string response = c.read_response();
    CHECK(status_of(response) == 401);
    CHECK(body_of(response).find("no entry for big") != std::string::npos);
    CHECK(response.find("100 Continue") == std::string::npos);
    CHECK(c.closed_by_peer());
  }
  {
    // Without 100-continue, part of the body already sent: still refused and closed cleanly.
    RawConnection c(port.value());
    REQUIRE(c.send("POST /upload/part HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n" +
                   std::string(100000, 'x')));
    CHECK(status_of(c.read_response()) == 401);
  }
  {
    RawConnection c(port.value());
    REQUIRE(
        c.send("POST /upload/ok HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer good\r\n"
               "Content-Length: 3000\r\n\r\n" +
               std::string(3000, 'x')));
    const std::string response = c.read_response();
    CHECK(status_of(response) == 200);
    CHECK(body_of(response) == "3000");
  }
  CHECK(seen_name == "ok");
  CHECK(handled == 1);
  server.stop(std::chrono::milliseconds(1000));
}

TEST_CASE("a body over the limit is 413, a header over the limit 431, and serving goes on") {
  LogCollector logs;
  ServerOptions options = options_with(logs);
  options.max_body_bytes = 1000;
  options.max_header_bytes = 2000;
  HttpServer server(options);
  server.route("POST", "/in",
               [](const Request& r) { return Response::text(200, std::to_string(r.body.size())); });
  auto port = server.start();
  REQUIRE(port.ok());

  {
    RawConnection c(port.value());
    REQUIRE(c.send("POST /in HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" +
                   std::string(5000, 'x')));
    std::string response = c.read_response();
    CHECK(status_of(response) == 413);
    CHECK(body_of(response).find(R"("code":"body_too_large")") != std::string::npos);
    CHECK(c.closed_by_peer());
  }
  {
    // A chunked body has no length up front: it is cut off when it passes the limit.
    RawConnection c(port.value());
    REQUIRE(
        c.send("POST /in HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               "400\r\n" +
               std::string(1024, 'y') + "\r\n0\r\n\r\n"));
    CHECK(status_of(c.read_response()) == 413);
  }
  {
    RawConnection c(port.value());
    REQUIRE(c.send("POST /in HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(3000, 'h') +
                   "\r\nContent-Length: 0\r\n\r\n"));
    std::string response = c.read_response();
    CHECK(status_of(response) == 431);
    CHECK(body_of(response).find(R"("code":"header_too_large")") != std::string::npos);
  }
  {
    RawConnection c(port.value());
    REQUIRE(c.send("POST /in HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" +
                   std::string(1000, 'z')));
    std::string response = c.read_response();
    CHECK(status_of(response) == 200);
    CHECK(body_of(response) == "1000");
  }
  auto lines = logs.lines();
  int refused = 0;
  for (const auto& line : lines) {
    if (line.message == "request refused")
      ++refused;
  }
  CHECK(refused == 3);
}

TEST_CASE("malformed request bytes get 400 and a log line") {
  LogCollector logs;
  HttpServer server(options_with(logs));
  server.route("GET", "/", [](const Request&) { return Response::text(200, "root"); });
  auto port = server.start();
  REQUIRE(port.ok());

  const std::vector<std::string> inputs = {
      "GARBAGE\r\n\r\n",
      "GET / HTTP/9.9\r\nHost: t\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Header Line\r\n\r\n",
      std::string("\x00\x01\x02\xff\r\n\r\n", 8),
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 12abc\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  };
  for (const std::string& input : inputs) {
    RawConnection c(port.value());
    REQUIRE(c.send(input));
    std::string response = c.read_response();
    INFO(input);
    CHECK(status_of(response) == 400);
    CHECK(body_of(response).find(R"("code":"malformed_request")") != std::string::npos);
  }
  CHECK(logs.contains("request refused"));
  RawConnection c(port.value());
  REQUIRE(c.send(get("/")));
  CHECK(body_of(c.read_response()) == "root");
}

TEST_CASE("slow and idle clients are disconnected") {
  LogCollector logs;
  ServerOptions options = options_with(logs);
  options.read_timeout = 200ms;
  options.idle_timeout = 300ms;
  HttpServer server(options);
  server.route("GET", "/", [](const Request&) { return Response::text(200, "root"); });
  auto port = server.start();
  REQUIRE(port.ok());

  RawConnection silent(port.value());
  RawConnection slow(port.value());
  REQUIRE(slow.send("GET / HTTP/1.1\r\nHost:"));
  RawConnection idle(port.value());
  REQUIRE(idle.send(get("/")));
  CHECK(status_of(idle.read_response()) == 200);

  CHECK(slow.closed_by_peer());
  CHECK(silent.closed_by_peer());
  CHECK(idle.closed_by_peer());
  CHECK(eventually([&] { return logs.contains("too slow to send its request"); }));
  CHECK(eventually([&] { return logs.contains("sent no request in time"); }));
  CHECK(eventually([&] { return server.connection_count() == 0; }));
}

TEST_CASE("hundreds of connections wait on deferred replies without holding the I/O threads") {
  LogCollector logs;
  ServerOptions options = options_with(logs);
  options.threads = 2;
  HttpServer server(options);
  Parked parked;
  server.route("GET", "/wait", parked.handler());
  server.route("GET", "/ping", [](const Request&) { return Response::text(200, "pong"); });
  auto port = server.start();
  REQUIRE(port.ok());

  constexpr int kWaiting = 300;
  std::vector<std::unique_ptr<RawConnection>> connections;
  for (int i = 0; i < kWaiting; ++i) {
    connections.push_back(std::make_unique<RawConnection>(port.value()));
    REQUIRE(connections.back()->send(get("/wait")));
  }
  REQUIRE(eventually([&] { return parked.count() == kWaiting; }));

  RawConnection ping(port.value());
  REQUIRE(ping.send(get("/ping")));
  CHECK(body_of(ping.read_response()) == "pong");

  std::thread answerer([replies = parked.take_all()]() mutable {
    for (std::size_t i = 0; i < replies.size(); ++i) {
      replies[i](Response::text(200, "done"));
    }
  });
  answerer.join();
  int answered = 0;
  for (auto& c : connections) {
    if (body_of(c->read_response()) == "done")
      ++answered;
  }
  CHECK(answered == kWaiting);
}

TEST_CASE("stop lets a request in flight finish and closes idle connections") {
  LogCollector logs;
  auto server = std::make_unique<HttpServer>(options_with(logs));
  Parked parked;
  server->route("GET", "/wait", parked.handler());
  server->route("GET", "/ping", [](const Request&) { return Response::text(200, "pong"); });
  auto port = server->start();
  REQUIRE(port.ok());

  RawConnection idle(port.value());
  REQUIRE(idle.send(get("/ping")));
  CHECK(status_of(idle.read_response()) == 200);
  RawConnection busy(port.value());
  REQUIRE(busy.send(get("/wait")));
  REQUIRE(eventually([&] { return parked.count() == 1; }));

  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    server->stop(30s);
    stopped = true;
  });
  CHECK(idle.closed_by_peer());
  CHECK_FALSE(stopped);
  parked.take_all().front()(Response::text(200, "finished"));
  std::string response = busy.read_response();
  CHECK(body_of(response) == "finished");
  CHECK(has_header(response, "Connection", "close"));
  stopper.join();
  CHECK(stopped);
  CHECK_FALSE(RawConnection(port.value()).connected());
}

TEST_CASE("after the grace period stop closes what still waits, late replies do nothing") {
  LogCollector logs;
  auto server = std::make_unique<HttpServer>(options_with(logs));
  Parked parked;
  server->route("GET", "/wait", parked.handler());
  auto port = server->start();
  REQUIRE(port.ok());

  RawConnection busy(port.value());
  REQUIRE(busy.send(get("/wait")));
  REQUIRE(eventually([&] { return parked.count() == 1; }));
  server->stop(50ms);
  CHECK(busy.closed_by_peer());
  CHECK(logs.contains("grace period over"));
  std::vector<Reply> replies = parked.take_all();
  replies.front()(Response::text(200, "too late"));  // The server is stopped: nothing happens.

  // A Reply may also outlive the server itself.
  auto second = std::make_unique<HttpServer>(options_with(logs));
  Parked more;
  second->route("GET", "/wait", more.handler());
  auto second_port = second->start();
  REQUIRE(second_port.ok());
  RawConnection waiting(second_port.value());
  REQUIRE(waiting.send(get("/wait")));
  REQUIRE(eventually([&] { return more.count() == 1; }));
  second.reset();
  more.take_all();  // Destroying the unanswered Reply after the server is gone.
  CHECK(waiting.closed_by_peer());
}

TEST_CASE("the access log gets method, path, status and sizes, HEAD has no body") {
  LogCollector logs;
  ServerOptions options = options_with(logs);
  std::mutex mutex;
  std::vector<std::string> entries;
  options.access_log = [&](const AccessEntry& e) {
    std::lock_guard lock(mutex);
    entries.push_back(std::string(e.method) + " " + std::string(e.path) + " " +
                      std::to_string(e.status) + " " + std::to_string(e.request_bytes) + " " +
                      std::to_string(e.response_bytes) + " " + std::string(e.remote_address));
  };
  HttpServer server(options);
  server.route("GET", "/livez", [](const Request&) { return Response::text(200, "alive"); });
  server.route("POST", "/in", [](const Request&) { return Response::text(204, ""); });
  auto port = server.start();
  REQUIRE(port.ok());

  RawConnection c(port.value());
  REQUIRE(c.send(get("/livez?x=1")));
  CHECK(body_of(c.read_response()) == "alive");
  REQUIRE(c.send("POST /in HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"));
  CHECK(status_of(c.read_response()) == 204);
  REQUIRE(c.send(get("/missing")));
  CHECK(status_of(c.read_response()) == 404);

  HttpClient client;
  ClientRequest head;
  head.method = "HEAD";
  head.url = "http://127.0.0.1:" + std::to_string(port.value()) + "/livez";
  ClientResponse response = client.fetch(head);
  CHECK(response.ok());
  CHECK(response.status == 200);
  CHECK(response.header("content-length") == "5");
  CHECK(response.body.empty());

  REQUIRE(eventually([&] {
    std::lock_guard lock(mutex);
    return entries.size() == 4;
  }));
  std::lock_guard lock(mutex);
  CHECK(entries[0] == "GET /livez 200 0 5 127.0.0.1");
  CHECK(entries[1] == "POST /in 204 3 0 127.0.0.1");
  CHECK(entries[2].starts_with("GET /missing 404 0 "));
  CHECK(entries[3] == "HEAD /livez 200 0 0 127.0.0.1");
}

TEST_CASE("start reports an address it cannot bind") {
  LogCollector logs;
  HttpServer first(options_with(logs));
  auto port = first.start();
  REQUIRE(port.ok());
  ServerOptions options = options_with(logs);
  options.port = port.value();
  HttpServer second(options);
  auto taken = second.start();
  REQUIRE_FALSE(taken.ok());
  CHECK(taken.error().message.find("cannot bind 127.0.0.1:" + std::to_string(port.value())) == 0);

  options.address = "not-an-address";
  options.port = 0;
  HttpServer third(options);
  auto invalid = third.start();
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error().message == "invalid listen address 'not-an-address'");
}

TEST_CASE("connections beyond max_connections are closed at once, and logged") {
  LogCollector logs;
  ServerOptions options = options_with(logs);
  options.max_connections = 2;
  HttpServer server(options);
  server.route("GET", "/", [](const Request&) { return Response::text(200, "root"); });
  auto port = server.start();
  REQUIRE(port.ok());

  RawConnection first(port.value());
  RawConnection second(port.value());
  REQUIRE(eventually([&] { return server.connection_count() == 2; }));
  RawConnection third(port.value());
  CHECK(third.closed_by_peer());
  CHECK(logs.contains("max_connections"));
  REQUIRE(first.send(get("/")));
  CHECK(body_of(first.read_response()) == "root");
}
