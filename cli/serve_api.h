#pragma once

// The HTTP API of `waflow serve` (/api/v1, docs/api.md): deployments, sends and
// flow starts, conversation and message queries, contact pause/resume, stats and
// a live event stream over a WebSocket. Bearer tokens with scopes guard every
// route.
//
// Handlers run on the HTTP server's I/O threads, which must never wait, while
// most of what the API does is a blocking store call. So the API keeps its own
// small pool of threads with a bounded queue: a request that finds the queue
// full is answered 503 at once instead of piling up. Sends and flow starts go
// through Engine::submit, which is asynchronous already, and are answered from
// its callback. JSON (nlohmann) stays inside serve_api.cpp.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "adapters/http/server.h"
#include "runtime/server/clock.h"
#include "runtime/server/config.h"
#include "runtime/server/engine.h"
#include "runtime/server/log.h"
#include "runtime/storage/store.h"

namespace waflow::cli {

struct ApiDevice {
  std::string name;
  std::string gateway;  // "meta", "waha" or "web": says how contact ids are written.
};

// What the API works on; everything referenced must outlive the Api.
struct ApiContext {
  server::Engine& engine;
  storage::Store& store;
  server::Clock& clock;
  server::JsonLog& log;
  std::vector<server::ApiToken> tokens;  // None: every route answers 401.
  std::vector<ApiDevice> devices;
  int threads = 2;              // Threads for blocking store calls.
  std::size_t max_queued = 64;  // Requests waiting for them; beyond this, 503.
};

class Api {
 public:
  explicit Api(ApiContext context);
  ~Api();  // stop()
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Adds the /api/v1 routes and the /api/v1/events WebSocket; before server.start().
  void install(http::HttpServer& server);
  // After server.stop(): finishes the queued requests (the store is still
  // open), joins the threads and drops event subscriptions. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace waflow::cli
