// The outbound client against the server, both real, on 127.0.0.1.

#include "adapters/http/client.h"

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "adapters/http/server.h"
#include "tests/http/helpers.h"

namespace {

using namespace waflow::http;
using test::eventually;
using namespace std::chrono_literals;

std::string url(std::uint16_t port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

// Replies the server never gives until the test says so.
struct Holder {
  std::mutex mutex;
  std::vector<Reply> replies;
  HttpServer::Handler handler() {
    return [this](Request, Reply reply) {
      std::lock_guard lock(mutex);
      replies.push_back(std::move(reply));
    };
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return replies.size();
  }
};

}  // namespace

TEST_CASE("client: a POST body and headers make the round trip") {
  HttpServer server(ServerOptions{});
  server.route("POST", "/echo", [](const Request& request) {
    Response response = Response::json(429, request.body);
    response.headers.emplace_back("Retry-After", "7");
    response.headers.emplace_back("X-Seen-Token", std::string(request.header("x-token")));
    response.headers.emplace_back("X-Seen-Agent", std::string(request.header("user-agent")));
    response.headers.emplace_back("X-Seen-Type", std::string(request.header("content-type")));
    return response;
  });
  server.route("PUT", "/size", [](const Request& request) {
    return Response::text(200, request.method + " " + std::to_string(request.body.size()));
  });
  auto port = server.start();
  REQUIRE(port.ok());

  ClientOptions options;
  options.user_agent = "waflow-test";
  HttpClient client(options);
  ClientRequest request;
  request.method = "POST";
  request.url = url(port.value(), "/echo");
  request.headers = {{"X-Token", "abc"}, {"Content-Type", "application/json"}};
  request.body = R"({"text":"héllo"})";
  ClientResponse response = client.fetch(request);
  CHECK(response.ok());
  CHECK(response.status == 429);
  CHECK(response.body == R"({"text":"héllo"})");
  CHECK(response.header("retry-after") == "7");
  CHECK(response.header("content-type") == "application/json");
  CHECK(response.header("x-seen-token") == "abc");
  CHECK(response.header("x-seen-agent") == "waflow-test");
  CHECK(response.header("x-seen-type") == "application/json");
  CHECK(response.elapsed_ms >= 0);

  // A large body goes out without an Expect: 100-continue round trip.
  ClientRequest put;
  put.method = "PUT";
  put.url = url(port.value(), "/size");
  put.body = std::string(300'000, 'b');
  response = client.fetch(put);
  CHECK(response.status == 200);
  CHECK(response.body == "PUT 300000");
}

TEST_CASE("client: a request carries nothing of the one before it on the same client") {
  // Finished transfers' handles are reset and used again: a GET after a POST
  // must not send the POST's body, headers or method.
  HttpServer server(ServerOptions{});
  auto seen = [](const Request& request) {
    return Response::text(200, request.method + " token=" + std::string(request.header("x-token")) +
                                   " body=" + std::to_string(request.body.size()));
  };
  server.route("POST", "/seen", seen);
  server.route("GET", "/seen", seen);
  server.route("DELETE", "/seen", seen);
  auto port = server.start();
  REQUIRE(port.ok());

  HttpClient client(ClientOptions{});
  for (int round = 0; round < 3; ++round) {
    ClientRequest post;
    post.method = "POST";
    post.url = url(port.value(), "/seen");
    post.headers = {{"X-Token", "abc"}};
    post.body = "twelve bytes";
    CHECK(client.fetch(post).body == "POST token=abc body=12");

    ClientRequest get;
    get.method = "GET";
    get.url = url(port.value(), "/seen");
    CHECK(client.fetch(get).body == "GET token= body=0");

    ClientRequest del;
    del.method = "DELETE";
    del.url = url(port.value(), "/seen");
    CHECK(client.fetch(del).body == "DELETE token= body=0");

    // A failed transfer leaves nothing behind either.
    ClientRequest refused;
    refused.method = "GET";
    refused.url = "http://127.0.0.1:1/nothing-listens";
    CHECK_FALSE(client.fetch(refused).ok());
  }
}

TEST_CASE("client: 200 parallel requests are all answered, over reused connections") {
  ServerOptions server_options;
  server_options.threads = 2;
  HttpServer server(server_options);
  std::mutex ports_mutex;
  std::vector<std::uint16_t> ports;
  server.route("GET", "/item/{n}", [&](const Request& request) {
    {
      std::lock_guard lock(ports_mutex);
      if (std::find(ports.begin(), ports.end(), request.remote_port) == ports.end()) {
        ports.push_back(request.remote_port);
      }
    }
    return Response::text(200, "item " + std::string(request.param("n")));
  });
  auto port = server.start();
  REQUIRE(port.ok());

  ClientOptions options;
  options.max_per_host = 8;
  HttpClient client(options);
  std::mutex mutex;
  std::vector<std::pair<int, ClientResponse>> done;
  constexpr int kRequests = 200;
  for (int i = 0; i < kRequests; ++i) {
    ClientRequest request;
    request.url = url(port.value(), "/item/" + std::to_string(i));
    client.submit(request, [&, i](ClientResponse response) {
      std::lock_guard lock(mutex);
      done.emplace_back(i, std::move(response));
    });
  }
  REQUIRE(eventually(
      [&] {
        std::lock_guard lock(mutex);
        return done.size() == kRequests;
      },
      60s));
  std::lock_guard lock(mutex);
  for (const auto& [i, response] : done) {
    INFO(i << ": " << response.error);
    CHECK(response.status == 200);
    CHECK(response.body == "item " + std::to_string(i));
  }
  CHECK(client.pending() == 0);
  std::lock_guard ports_lock(ports_mutex);
  CHECK(ports.size() <= 8);  // max_per_host connections, each reused.
}

TEST_CASE("client: a request to a handler that never answers times out") {
  HttpServer server(ServerOptions{});
  Holder holder;
  server.route("GET", "/never", holder.handler());
  auto port = server.start();
  REQUIRE(port.ok());

  HttpClient client;
  ClientRequest request;
  request.url = url(port.value(), "/never");
  request.timeout_ms = 200;
  ClientResponse response = client.fetch(request);
  CHECK(response.status == 0);
  CHECK(response.error.find("timed out") != std::string::npos);
  CHECK(holder.count() == 1);
}

TEST_CASE("client: a refused connection, a bad URL and a bad header are errors, not crashes") {
  std::uint16_t closed_port = 0;
  {
    HttpServer server(ServerOptions{});
    auto port = server.start();
    REQUIRE(port.ok());
    closed_port = port.value();
  }
  HttpClient client;
  ClientRequest request;
  request.url = url(closed_port, "/");
  ClientResponse response = client.fetch(request);
  CHECK(response.status == 0);
  CHECK_FALSE(response.error.empty());

  request.url = "ftp://127.0.0.1/file";
  response = client.fetch(request);
  CHECK(response.error == "unsupported URL 'ftp://127.0.0.1/file': only http:// and https://");

  request.url = url(closed_port, "/");
  request.headers = {{"X-Evil", "a\r\nHost: elsewhere"}};
  response = client.fetch(request);
  CHECK(response.error == "invalid header field 'X-Evil'");

  ClientRequest unresolvable;
  unresolvable.url = "http://waflow-test.invalid/";
  unresolvable.timeout_ms = 3000;
  response = client.fetch(unresolvable);
  CHECK(response.status == 0);
  CHECK_FALSE(response.error.empty());
}

TEST_CASE("client: a response over the size limit is an error") {
  HttpServer server(ServerOptions{});
  server.route("GET", "/big",
               [](const Request&) { return Response::text(200, std::string(5000, 'x')); });
  auto port = server.start();
  REQUIRE(port.ok());
  ClientOptions options;
  options.max_response_bytes = 1000;
  HttpClient client(options);
  ClientRequest request;
  request.url = url(port.value(), "/big");
  ClientResponse response = client.fetch(request);
  CHECK(response.status == 0);
  CHECK(response.error == "response body over 1000 bytes");
}

TEST_CASE("client: shutdown completes pending requests with an error") {
  HttpServer server(ServerOptions{});
  Holder holder;
  server.route("GET", "/never", holder.handler());
  auto port = server.start();
  REQUIRE(port.ok());

  HttpClient client;
  std::mutex mutex;
  std::vector<ClientResponse> done;
  auto collect = [&](ClientResponse response) {
    std::lock_guard lock(mutex);
    done.push_back(std::move(response));
  };
  ClientRequest request;
  request.url = url(port.value(), "/never");
  client.submit(request, collect);
  REQUIRE(eventually([&] { return holder.count() == 1; }));
  CHECK(client.pending() == 1);
  client.shutdown();
  {
    std::lock_guard lock(mutex);
    REQUIRE(done.size() == 1);
    CHECK(done[0].status == 0);
    CHECK(done[0].error == "client shut down");
  }
  client.submit(request, collect);  // Answered at once, on this thread.
  std::lock_guard lock(mutex);
  REQUIRE(done.size() == 2);
  CHECK(done[1].error == "client shut down");
  CHECK(client.pending() == 0);
}

// The client keeps max_per_host itself: requests beyond it wait in order and
// each starts as soon as one to its host ends (curl's own queue started them
// only at its next poll, up to a second later).
TEST_CASE("client: requests beyond max_per_host wait and start, in order, as others end") {
  HttpServer server(ServerOptions{});
  std::mutex mutex;
  std::vector<std::pair<std::string, Reply>> held;
  server.route("GET", "/hold/{n}", [&](Request request, Reply reply) {
    std::lock_guard lock(mutex);
    held.emplace_back(std::string(request.param("n")), std::move(reply));
  });
  auto port = server.start();
  REQUIRE(port.ok());
  auto arrived = [&] {
    std::lock_guard lock(mutex);
    return held.size();
  };

  ClientOptions options;
  options.max_per_host = 2;
  HttpClient client(options);
  std::atomic<int> answered{0};
  for (int i = 0; i < 6; ++i) {
    ClientRequest request;
    request.url = url(port.value(), "/hold/" + std::to_string(i));
    client.submit(request, [&](const ClientResponse& response) {
      CHECK(response.status == 200);
      ++answered;
    });
  }
  REQUIRE(eventually([&] { return arrived() == 2; }));
  std::this_thread::sleep_for(100ms);  // Nothing more may arrive while both are held.
  CHECK(arrived() == 2);
  for (std::size_t next = 0; next < 6; ++next) {
    REQUIRE(eventually([&] { return arrived() >= std::min<std::size_t>(next + 2, 6); }));
    CHECK(arrived() <= next + 2);  // Never more than two in flight.
    std::optional<Reply> reply;
    {
      std::lock_guard lock(mutex);
      // The first two start together; each later one only when one before it
      // ended, so they arrive in the order they were made.
      if (next >= 2) {
        CHECK(held[next].first == std::to_string(next));
      } else {
        CHECK((held[next].first == "0" || held[next].first == "1"));
      }
      reply.emplace(std::move(held[next].second));
    }
    (*reply)(Response::text(200, "ok"));
  }
  REQUIRE(eventually([&] { return answered.load() == 6; }));
}

TEST_CASE("client: a callback may submit the next request") {
  HttpServer server(ServerOptions{});
  server.route("GET", "/step/{n}", [](const Request& request) {
    return Response::text(200, std::string(request.param("n")));
  });
  auto port = server.start();
  REQUIRE(port.ok());

  HttpClient client;
  std::atomic<int> last{-1};
  std::function<void(int)> step = [&](int n) {
    ClientRequest request;
    request.url = url(port.value(), "/step/" + std::to_string(n));
    client.submit(request, [&, n](ClientResponse response) {
      last = std::stoi(response.body);
      if (n < 5)
        step(n + 1);
    });
  };
  step(0);
  CHECK(eventually([&] { return last == 5; }));
}
