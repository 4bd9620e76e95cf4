#pragma once

// The outbound HTTP client: AI providers, WhatsApp gateways, flow HTTP steps and
// event webhooks all go out through it.
//
// One background thread drives a libcurl multi handle, so hundreds of requests
// are in flight at once without a thread each, and connections are kept alive
// and reused per host. Callbacks run on that thread, one at a time: they must be
// quick and must not block (hand the response to a queue or post it elsewhere).
// They may submit further requests. Every failure of the transport (refused
// connection, DNS, TLS, timeout, a body over the limit) comes back as a response
// with `error` set and status 0, never as an exception or a crash.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "adapters/http/message.h"

namespace waflow::http {

struct ClientOptions {
  long max_connections = 64;  // Open at once, over all hosts; also the idle cache size.
  long max_per_host = 16;     // Further requests to a host wait for a free connection.
  std::int64_t default_timeout_ms = 30'000;  // Whole request, when the request sets none.
  std::int64_t connect_timeout_ms = 10'000;
  std::string user_agent = "waflow";
  std::uint64_t max_response_bytes = 16 << 20;
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // http:// or https:// only.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::int64_t timeout_ms = 0;  // 0: ClientOptions::default_timeout_ms.
};

struct ClientResponse {
  int status = 0;     // 0 whenever `error` is set.
  StringMap headers;  // Names in lower case (e.g. "retry-after"); repeats joined with ", ".
  std::string body;
  std::string error;            // Empty on success, else what went wrong (curl's text).
  std::int64_t elapsed_ms = 0;  // From submit() to completion.

  bool ok() const { return error.empty(); }
  std::string_view header(std::string_view name) const;
};

class HttpClient {
 public:
  using Callback = std::function<void(ClientResponse)>;

  explicit HttpClient(ClientOptions options = {});
  ~HttpClient();  // shutdown().
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Queues a request; `callback` runs once, on the client's thread. After
  // shutdown() it runs at once, on the caller's thread, with an error.
  void submit(ClientRequest request, Callback callback);
  // Blocks until the response (for the command line). Not from a callback.
  ClientResponse fetch(ClientRequest request);
  // Completes every pending request with the error "client shut down" and stops
  // the thread. Idempotent.
  void shutdown();
  // Requests submitted and not completed yet.
  std::size_t pending() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace waflow::http
