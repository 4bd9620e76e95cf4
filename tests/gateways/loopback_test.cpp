// The requests a gateway builds, performed over real HTTP (libcurl) against a fake provider on
// 127.0.0.1, and the provider's real answers read back: what the provider receives is what
// the docs say, and the status, body and Retry-After a client sees map as the tables say.

#include <cctype>
#include <cstring>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adapters/gateways/meta.h"
#include "adapters/gateways/waha.h"
#include "tests/gateways/helpers.h"

namespace {

using namespace waflow::gateways;           // NOLINT(google-build-using-namespace)
using namespace waflow::gateways::testing;  // NOLINT(google-build-using-namespace)
using waflow::gateways::testing::value;

// What the fake provider saw of one request.
struct Seen {
  std::string request_line;
  std::string head;  // the header lines, names as sent
  std::string body;
};

// A one-request HTTP server on 127.0.0.1 that answers with a canned response. Every wait is
// bounded, so a broken client fails the test instead of hanging it.
class FakeProvider {
 public:
  FakeProvider(int status, std::string body, std::string extra_headers = "")
      : response_("HTTP/1.1 " + std::to_string(status) +
                  " X\r\nContent-Type: application/json\r\n" + extra_headers + "Content-Length: " +
                  std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener_, 1) == 0);
    socklen_t size = sizeof addr;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &size) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeProvider() {
    if (thread_.joinable()) {
      thread_.join();
    }
    ::close(listener_);
  }
  FakeProvider(const FakeProvider&) = delete;
  FakeProvider& operator=(const FakeProvider&) = delete;

  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Read after the request was performed (the server thread is done by then).
  Seen seen() {
    if (thread_.joinable()) {
      thread_.join();
    }
    return seen_;
  }

 private:
  void serve() {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, 10'000) <= 0) {
      return;
    }
    const int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) {
      return;
    }
    std::string data;
    std::size_t need = std::string::npos;
    char buf[4096];
    while (need == std::string::npos || data.size() < need) {
      pollfd q{fd, POLLIN, 0};
      if (::poll(&q, 1, 10'000) <= 0) {
        break;
      }
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        break;
      }
      data.append(buf, static_cast<std::size_t>(n));
      const std::size_t end = data.find("\r\n\r\n");
      if (need == std::string::npos && end != std::string::npos) {
        const std::string head = data.substr(0, end);
        std::size_t length = 0;
        for (const char* name : {"Content-Length: ", "content-length: "}) {
          if (const std::size_t at = head.find(name); at != std::string::npos) {
            length = std::stoul(head.substr(at + std::strlen(name)));
          }
        }
        need = end + 4 + length;
      }
    }
    const std::size_t line_end = data.find("\r\n");
    const std::size_t head_end = data.find("\r\n\r\n");
    if (line_end != std::string::npos && head_end != std::string::npos) {
      seen_.request_line = data.substr(0, line_end);
      seen_.head = data.substr(line_end + 2, head_end - line_end - 2);
      seen_.body = data.substr(head_end + 4);
    }
    std::size_t sent = 0;
    while (sent < response_.size()) {
      const ssize_t n = ::send(fd, response_.data() + sent, response_.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        break;
      }
      sent += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }

  std::string response_;
  int listener_ = -1;
  int port_ = 0;
  Seen seen_;
  std::thread thread_;
};

struct Answer {
  long status = 0;
  std::string body;
  std::string retry_after;
};

std::size_t collect(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

std::size_t collect_header(char* data, std::size_t size, std::size_t count, void* out) {
  const std::string line(data, size * count);
  const std::string name = "retry-after:";
  std::string lower = line.substr(0, name.size());
  for (char& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (lower == name) {
    std::string v = line.substr(name.size());
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) {
      v.pop_back();
    }
    *static_cast<std::string*>(out) = v;
  }
  return size * count;
}

// Performs one built request as the server's dispatcher would.
Answer perform(const OutboundRequest& r) {
  Answer a;
  CURL* curl = curl_easy_init();
  REQUIRE(curl != nullptr);
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : r.headers) {
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r.body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(r.body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a.retry_after);
  const CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return a;
}

SendResult deliver(const Gateway& gateway, const std::string& contact, const char* payload,
                   Seen& seen, FakeProvider& provider) {
  const auto built = gateway.build_send(contact, value(payload));
  REQUIRE(built.ok());
  REQUIRE(built.value().size() == 1);
  const Answer a = perform(built.value()[0]);
  seen = provider.seen();
  return gateway.parse_send_result(static_cast<int>(a.status), a.body, a.retry_after);
}

}  // namespace

TEST_CASE("loopback: a Meta text goes to the Graph API path with the token, and its id returns") {
  FakeProvider graph(200, R"({"messaging_product":"whatsapp","contacts":[{"input":"6281234567890",
    "wa_id":"6281234567890"}],"messages":[{"id":"wamid.LOOP1"}]})");
  MetaConfig c;
  c.graph_base = graph.base();
  c.phone_number_id = "106540352242922";
  c.access_token = "EAAG-token";
  const auto gw = make_meta(c);
  Seen seen;
  const SendResult r =
      deliver(*gw, "+6281234567890", R"({"type":"text","text":"Hi ☕"})", seen, graph);
  CHECK(seen.request_line == "POST /v21.0/106540352242922/messages HTTP/1.1");
  CHECK(seen.head.find("Authorization: Bearer EAAG-token") != std::string::npos);
  CHECK(seen.head.find("Content-Type: application/json") != std::string::npos);
  CHECK(Json::parse(seen.body) ==
        Json::parse(R"({"messaging_product":"whatsapp","recipient_type":"individual",
                        "to":"6281234567890","type":"text",
                        "text":{"body":"Hi ☕","preview_url":false}})"));
  CHECK(r.outcome == SendOutcome::Sent);
  CHECK(r.provider_message_id == "wamid.LOOP1");
}

TEST_CASE("loopback: Meta's throughput error with Retry-After is a rate limit for that long") {
  FakeProvider graph(429,
                     R"({"error":{"message":"(#130429) Rate limit hit","type":"OAuthException",
                         "code":130429,"fbtrace_id":"X"}})",
                     "Retry-After: 5\r\n");
  MetaConfig c;
  c.graph_base = graph.base();
  c.phone_number_id = "1";
  const auto gw = make_meta(c);
  Seen seen;
  const SendResult r = deliver(*gw, "+6281234567890", R"({"type":"text","text":"x"})", seen, graph);
  CHECK(r.outcome == SendOutcome::RateLimited);
  CHECK(r.error_code == "130429");
  CHECK(r.retry_after_ms == 5000);
}

TEST_CASE("loopback: a WAHA list goes out as numbered text with the API key, NOWEB's id returns") {
  FakeProvider waha(201, R"({"key":{"remoteJid":"6281234567890@s.whatsapp.net","fromMe":true,
    "id":"3EB0LOOP"},"message":{"conversation":"x"},"status":"PENDING"})");
  WahaConfig c;
  c.base_url = waha.base();
  c.api_key = "waha-key";
  const auto gw = make_waha(c);
  Seen seen;
  const SendResult r = deliver(*gw, "+6281234567890", R"({"type":"list","text":"Menu",
    "button":"Choose","sections":[{"title":"","rows":[{"id":"a","title":"Tea"},
    {"id":"b","title":"Coffee"}]}]})",
                               seen, waha);
  CHECK(seen.request_line == "POST /api/sendText HTTP/1.1");
  CHECK(seen.head.find("X-Api-Key: waha-key") != std::string::npos);
  CHECK(Json::parse(seen.body) == Json::parse(R"({"session":"default","chatId":"6281234567890@c.us",
                        "text":"Menu\n\n1. Tea\n2. Coffee"})"));
  CHECK(r.outcome == SendOutcome::Sent);
  CHECK(r.provider_message_id == "true_6281234567890@c.us_3EB0LOOP");
}

TEST_CASE("loopback: a WAHA server that refuses the key is a permanent failure") {
  FakeProvider waha(401, R"({"message":"Unauthorized","statusCode":401})");
  WahaConfig c;
  c.base_url = waha.base();
  c.api_key = "wrong";
  const auto gw = make_waha(c);
  Seen seen;
  const SendResult r = deliver(*gw, "123456789012345@lid",
                               R"({"type":"image","url":"https://example.com/a.jpg"})", seen, waha);
  CHECK(seen.request_line == "POST /api/sendImage HTTP/1.1");
  CHECK(Json::parse(seen.body)["chatId"] == "123456789012345@lid");
  CHECK(r.outcome == SendOutcome::Permanent);
  CHECK(r.error == "WAHA refused the API key (HTTP 401)");
}
