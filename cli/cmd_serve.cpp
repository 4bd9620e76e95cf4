// waflow serve --config FILE: the durable runtime. Composes the SQLite store,
// the engine (runtime/server), the gateways and HTTP adapters (webhooks in,
// sends out) and the health routes, then runs until SIGTERM or SIGINT.
//
// Start-up errors (config, flows, database, port) are printed as one plain
// line and exit 1; from then on everything is a JSON log line on stderr.
// Stopping: readiness fails first, the HTTP server stops accepting and answers
// what is in flight (webhooks get their 2xx once durable), the engine finishes
// turns and records deliveries in flight, then the store closes.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>
#include <pthread.h>
#include <signal.h>

#include "adapters/gateways/meta.h"
#include "adapters/gateways/waha.h"
#include "adapters/http/client.h"
#include "adapters/http/server.h"
#include "adapters/webchat/webchat.h"
#include "cli/commands.h"
#include "cli/serve_ai.h"
#include "cli/serve_api.h"
#include "cli/serve_transport.h"
#include "cli/version.h"
#include "compiler/checks/checks.h"
#include "compiler/codegen/codegen.h"
#include "compiler/frontend.h"
#include "compiler/render.h"
#include "runtime/bytecode/bundle.h"
#include "runtime/server/config.h"
#include "runtime/server/engine.h"
#include "runtime/storage/sqlite_store.h"

namespace waflow::cli {

namespace {

struct ServeOptions {
  std::string config;
  bool test_clock = false;
  bool debug = false;
};

int fail(const std::string& message) {
  std::fprintf(stderr, "waflow serve: error: %s\n", message.c_str());
  return kExitErrors;
}

// The bundle the config names: its flows compiled (diagnostics on stderr), or a
// .wfb file read as it is; "" when it names neither (deployments come through
// the API only).
Result<std::string> bundle_bytes(const server::ServeConfig& config) {
  if (config.flows.empty() && config.bundle.empty()) {
    return std::string();
  }
  if (!config.bundle.empty()) {
    std::ifstream in(config.bundle, std::ios::binary);
    if (!in) {
      return Error{ErrorCode::NotFound, config.bundle + ": cannot read the bundle"};
    }
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  }
  SourceManager sources;
  Diagnostics diags;
  const ir::Project project = load_project(config.flows, sources, diags);
  check_project(project, sources, diags);
  diags.sort(sources);
  RenderOptions render;
  render.format = RenderFormat::Human;
  render.color = false;
  if (diags.has_errors()) {
    const std::string text = render_diagnostics(diags.all(), sources, render);
    std::fputs(text.c_str(), stderr);
    return Error{
        ErrorCode::InvalidInput,
        "the flows do not compile: " + summary_line(diags.error_count(), diags.warning_count())};
  }
  const bytecode::Bundle bundle =
      generate_bundle(project, sources, std::string("waflow ") + kVersion);
  const std::vector<std::uint8_t> bytes = bytecode::write_bundle(bundle);
  return std::string(bytes.begin(), bytes.end());
}

std::unique_ptr<gateways::Gateway> make_gateway(const server::DeviceConfig& d) {
  if (d.gateway == "meta") {
    gateways::MetaConfig m;
    m.graph_base = d.graph_base;
    m.graph_version = d.graph_version;
    m.phone_number_id = d.phone_number_id;
    m.access_token = d.access_token;
    m.app_secret = d.app_secret;
    m.verify_token = d.verify_token;
    return gateways::make_meta(std::move(m));
  }
  if (d.gateway == "waha") {
    gateways::WahaConfig w;
    w.base_url = d.base_url;
    w.session = d.session;
    w.api_key = d.api_key;
    w.hmac_key = d.hmac_key;
    return gateways::make_waha(std::move(w));
  }
  return nullptr;
}

http::Response json_reply(int status, const nlohmann::json& body) {
  return http::Response::json(status, body.dump());
}

// A gateway's normalised message as the engine ingests it.
server::IncomingMessage incoming(const std::string& device, std::string gateway,
                                 gateways::Inbound in) {
  server::IncomingMessage m;
  m.device = device;
  m.gateway = std::move(gateway);
  m.account = std::move(in.account);
  m.provider_message_id = std::move(in.provider_message_id);
  m.contact = std::move(in.contact);
  m.contact_name = std::move(in.contact_name);
  m.timestamp_ms = in.timestamp_ms;
  m.message = std::move(in.message);
  return m;
}

// The web chat of a `web` device: a page's message is ingested like a webhook's
// (the page gets its acknowledgement once it is durable), a flow picked on the
// sandbox page starts as an API trigger would, and the flows offered are those
// of the deployed bundle.
std::unique_ptr<webchat::WebChat> make_webchat(const server::DeviceConfig& d,
                                               server::Engine& engine, storage::Store& store,
                                               server::Clock& clock) {
  webchat::WebChatOptions options;
  options.device = d.name;
  options.title = d.name;
  webchat::WebChatCallbacks callbacks;
  callbacks.on_inbound = [&engine, name = d.name](gateways::Inbound in) -> Result<bool> {
    // Runs on the web chat's own workers, so waiting for the commit is fine.
    auto stored = std::make_shared<std::promise<Result<server::IngestSummary>>>();
    std::future<Result<server::IngestSummary>> done = stored->get_future();
    engine.ingest({incoming(name, "web", std::move(in))}, {},
                  [stored](Result<server::IngestSummary> r) { stored->set_value(std::move(r)); });
    Result<server::IngestSummary> r = done.get();
    if (!r) {
      return r.error();
    }
    return r.value().accepted > 0;
  };
  // Read at every page load, so a deployment shows at once.
  callbacks.flows = [&engine] {
    std::vector<webchat::FlowInfo> flows;
    for (auto& [name, title] : engine.active_flows()) {
      flows.push_back({name, title});
    }
    return flows;
  };
  callbacks.on_start = [&store, &clock, &engine, name = d.name](
                           const std::string& contact, const std::string& flow) -> Result<bool> {
    storage::NewInbox start;
    start.key = {name, contact};
    start.kind = storage::InboxKind::Start;
    nlohmann::json payload = {{"flow", flow}};
    start.payload = payload.dump();
    start.received_ms = clock.now_ms();
    Result<std::vector<std::int64_t>> queued = store.enqueue({start});
    if (!queued) {
      return queued.error();
    }
    engine.wake();
    return true;
  };
  return std::make_unique<webchat::WebChat>(std::move(options), std::move(callbacks));
}

// The counters of a gateway's webhooks (labels: gateway and result, never a
// device's number or a contact).
struct WebhookMeters {
  server::Counter& accepted;
  server::Counter& duplicate;
  server::Counter& refused;
  server::Counter& unavailable;
  server::Counter& handshake;
  server::Histogram& ack_seconds;
};

WebhookMeters webhook_meters(server::Metrics& m, const std::string& gateway) {
  const std::string name = "waflow_inbound_webhooks_total";
  const std::string help = "Webhook calls by gateway and result";
  const auto result = [&](const char* r) -> server::Counter& {
    return m.counter(name, help, {{"gateway", gateway}, {"result", r}});
  };
  return WebhookMeters{result("accepted"),
                       result("duplicate"),
                       result("refused"),
                       result("unavailable"),
                       result("handshake"),
                       m.histogram("waflow_inbound_ack_duration_seconds",
                                   "From a webhook's arrival to its 2xx: verified, parsed and "
                                   "durable",
                                   {{"gateway", gateway}})};
}

// A webhook call: verify and parse, ingest, answer 200 once durable.
void handle_webhook(const server::DeviceConfig& device, const gateways::Gateway& gateway,
                    server::Engine& engine, server::JsonLog& log, WebhookMeters& meters,
                    http::Request request, http::Reply reply) {
  const auto began = std::chrono::steady_clock::now();
  gateways::WebhookRequest w;
  w.method = request.method;
  w.path = request.path;
  w.query = request.query_string;
  for (const auto& [name, value] : request.headers) {
    w.headers.emplace_back(name, value);
  }
  w.body = std::move(request.body);
  gateways::WebhookResult parsed = gateway.parse_webhook(w);
  if (!parsed) {
    const gateways::WebhookError& e = parsed.error();
    log.warn("webhook_refused", {{"device", device.name},
                                 {"status", e.status},
                                 {"error", e.message},
                                 {"remote", request.remote_address}});
    meters.refused.inc();
    reply(http::Response::error(e.status, "webhook_refused", e.message));
    return;
  }
  gateways::ParsedWebhook p = std::move(parsed).value();
  if (p.reply) {
    http::Response r;
    r.status = p.reply->status;
    r.content_type = p.reply->content_type.empty() ? "text/plain" : p.reply->content_type;
    r.body = p.reply->body;
    log.info("webhook_handshake", {{"device", device.name}, {"status", r.status}});
    meters.handshake.inc();
    reply(std::move(r));
    return;
  }
  if (log.enabled(server::LogLevel::Debug)) {
    for (const std::string& why : p.ignored) {
      log.debug("webhook_item_ignored", {{"device", device.name}, {"why", why}});
    }
  }
  std::vector<server::IncomingMessage> messages;
  for (gateways::Inbound& in : p.messages) {
    messages.push_back(incoming(device.name, std::string(gateway.kind()), std::move(in)));
  }
  std::vector<server::IncomingStatus> statuses;
  for (gateways::StatusUpdate& st : p.statuses) {
    server::IncomingStatus s;
    s.gateway = std::string(gateway.kind());
    s.account = std::move(st.account);
    s.provider_message_id = std::move(st.provider_message_id);
    s.status = std::move(st.status);
    statuses.push_back(std::move(s));
  }
  auto shared = std::make_shared<http::Reply>(std::move(reply));
  engine.ingest(
      std::move(messages), std::move(statuses),
      [shared, &log, &meters, began, name = device.name](Result<server::IngestSummary> r) {
        if (!r) {
          // Not acknowledged: the provider delivers it again later.
          log.error("webhook_not_stored", {{"device", name}, {"error", r.error().message}});
          meters.unavailable.inc();
          (*shared)(http::Response::error(503, "unavailable", "not stored, retry later"));
          return;
        }
        if (r.value().duplicates > 0) {
          log.info("webhook_duplicate", {{"device", name}, {"duplicates", r.value().duplicates}});
        }
        (r.value().duplicates > 0 && r.value().accepted == 0 ? meters.duplicate : meters.accepted)
            .inc();
        meters.ack_seconds.observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
        (*shared)(http::Response::json(200, "{\"ok\":true}"));
      });
}

int run_serve(const ServeOptions& options) {
  // Every thread started from here on inherits the blocked signals, so only
  // sigwait() below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Result<server::ServeConfig> loaded = server::load_config(options.config);
  if (!loaded) {
    return fail(loaded.error().message);
  }
  const server::ServeConfig config = std::move(loaded).value();
  server::JsonLog log(stderr, options.debug ? server::LogLevel::Debug : server::LogLevel::Info);

  Result<std::string> bytes = bundle_bytes(config);
  if (!bytes) {
    return fail(bytes.error().message);
  }
  storage::SqliteOptions store_options;
  store_options.commit_interval_us = static_cast<int>(config.commit_interval_ms * 1000 + 0.5);
  Result<std::unique_ptr<storage::Store>> opened =
      storage::open_sqlite_store(config.sqlite, store_options);
  if (!opened) {
    return fail(config.sqlite + ": " + opened.error().message);
  }
  std::unique_ptr<storage::Store> store = std::move(opened).value();

  server::SystemClock system_clock;
  server::OffsetClock test_clock;
  server::Clock& clock =
      options.test_clock ? static_cast<server::Clock&>(test_clock) : system_clock;

  http::HttpClient client;
  ServeTransport transport(client);
  std::vector<std::unique_ptr<gateways::Gateway>> gateways;
  for (const server::DeviceConfig& d : config.devices) {
    gateways.push_back(make_gateway(d));
    transport.add_device(d.name, gateways.back().get());
    if (d.gateway == "meta" && d.app_secret.empty()) {
      log.warn("webhook_unsigned",
               {{"device", d.name}, {"why", "app_secret is empty: signatures are not checked"}});
    } else if (d.gateway == "waha" && d.hmac_key.empty()) {
      log.warn("webhook_unsigned",
               {{"device", d.name}, {"why", "hmac_key is empty: signatures are not checked"}});
    }
  }

  server::EngineOptions engine_options;
  engine_options.workers = config.workers;
  engine_options.instance = "serve-" + std::to_string(::getpid());
  engine_options.timezone = config.timezone;
  server::Metrics metrics;
  engine_options.metrics = &metrics;
  metrics.collect([](server::GaugeWriter& w) {
    w.gauge("waflow_build_info", "The running waflow's version", {{"version", kVersion}}, 1);
  });
  for (const server::DeviceConfig& d : config.devices) {
    engine_options.device_rates[d.name] = d.rate_per_second;
    if (d.ai_fallback) {
      engine_options.ai_fallbacks[d.name] = *d.ai_fallback;
    }
    if (d.media) {
      engine_options.media[d.name] = server::DeviceMedia{*d.media, d.media_max_bytes};
    }
  }
  // AI calls get a client of their own: each waits seconds for its model, so
  // under the gateways' limits (16 a host) a burst of them queued one batch of
  // 16 after another, and held up sends. Many calls to one provider at once is
  // the normal case; the engine's max_inflight bounds them.
  http::ClientOptions ai_client_options;
  ai_client_options.max_connections = 1024;
  ai_client_options.max_per_host = 1024;
  ai_client_options.default_timeout_ms = 120'000;
  http::HttpClient ai_client(ai_client_options);
  Result<AiRuntime> made_ai = make_ai_runtime(config.ai, ai_client);
  if (!made_ai) {
    return fail(config.path + ": " + made_ai.error().message);
  }
  AiRuntime ai = std::move(made_ai).value();
  if (ai.runner) {
    transport.set_ai(ai.router.get(), ai.runner.get(), &metrics, &log);
    transport.set_ai_client(&ai_client);
  }
  for (const server::DeviceConfig& d : config.devices) {
    transport.set_device_model(d.name, d.ai_model);
  }
  server::Engine engine(*store, clock, transport, log, engine_options);
  Result<std::string> hash = std::string();
  if (!bytes.value().empty()) {
    hash = engine.deploy(bytes.value(), "waflow serve", config.path);
    if (!hash) {
      return fail("cannot deploy the flows: " + hash.error().message);
    }
  } else {
    hash = engine.active_hash();
    if (hash.value().empty()) {
      log.warn("no_bundle", {{"why",
                              "the config names no flows and nothing is deployed: messages wait in "
                              "the inbox until `waflow deploy` activates a bundle"}});
    }
  }

  http::ServerOptions server_options;
  server_options.address = config.listen.host;
  server_options.port = config.listen.port;
  server_options.threads = config.listen.threads;
  server_options.logger = [&log](http::LogLevel level, std::string_view message,
                                 std::span<const http::LogField> fields) {
    std::string detail;
    for (const http::LogField& f : fields) {
      detail += (detail.empty() ? "" : " ") + std::string(f.key) + "=" + f.value;
    }
    const server::LogLevel l = level == http::LogLevel::Error  ? server::LogLevel::Error
                               : level == http::LogLevel::Warn ? server::LogLevel::Warn
                               : level == http::LogLevel::Info ? server::LogLevel::Info
                                                               : server::LogLevel::Debug;
    log.write(l, "http", {{"message", message}, {"detail", detail}});
  };
  // The /api/v1 routes; declared before the server so it is destroyed after it.
  ApiContext api_context{engine, *store, clock, log, config.tokens, {}};
  for (const server::DeviceConfig& d : config.devices) {
    api_context.devices.push_back({d.name, d.gateway});
  }
  Api api(std::move(api_context));
  // Web chats: the first at the root (the sandbox page at /), others under
  // /chat/<device>.
  std::vector<std::unique_ptr<webchat::WebChat>> chats;
  http::HttpServer server(server_options);
  for (const server::DeviceConfig& d : config.devices) {
    if (d.gateway != "web") {
      continue;
    }
    chats.push_back(make_webchat(d, engine, *store, clock));
    transport.add_web_device(d.name, chats.back().get());
    const std::string base = chats.size() == 1 ? std::string() : "/chat/" + d.name;
    chats.back()->install(server, base);
    log.info("webchat", {{"device", d.name}, {"path", base.empty() ? "/" : base + "/"}});
  }
  for (std::size_t i = 0; i < config.devices.size(); ++i) {
    const server::DeviceConfig& d = config.devices[i];
    const gateways::Gateway* g = gateways[i].get();
    if (g == nullptr || d.webhook_path.empty()) {
      continue;
    }
    auto meters = std::make_shared<WebhookMeters>(webhook_meters(metrics, d.gateway));
    auto handler = [&d, g, &engine, &log, meters](http::Request req, http::Reply reply) {
      handle_webhook(d, *g, engine, log, *meters, std::move(req), std::move(reply));
    };
    server.route("GET", d.webhook_path, http::HttpServer::Handler(handler));
    server.route("POST", d.webhook_path, http::HttpServer::Handler(handler));
  }
  // Prometheus scrapes this; like the health routes it needs no token (bind the
  // server to a private address, or filter the path at the proxy, to keep it in).
  server.route("GET", "/metrics", http::HttpServer::SyncHandler([&metrics](const http::Request&) {
                 http::Response r;
                 r.status = 200;
                 r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                 r.body = metrics.render();
                 return r;
               }));
  server.route("GET", "/livez", http::HttpServer::SyncHandler([](const http::Request&) {
                 return json_reply(200, {{"status", "ok"}});
               }));
  server.route("GET", "/readyz", http::HttpServer::SyncHandler([&engine](const http::Request&) {
                 const bool ready = engine.ready();
                 return json_reply(ready ? 200 : 503, {{"status", ready ? "ready" : "not ready"}});
               }));
  if (options.test_clock) {
    // Only with --test-clock: end-to-end tests move time forward to fire timers.
    server.route("GET", "/api/v1/admin/clock",
                 http::HttpServer::SyncHandler([&test_clock](const http::Request&) {
                   return json_reply(200, {{"now_ms", test_clock.now_ms()},
                                           {"offset_ms", test_clock.offset_ms()}});
                 }));
    server.route(
        "POST", "/api/v1/admin/clock",
        http::HttpServer::SyncHandler([&test_clock, &engine, &log](const http::Request& req) {
          const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
          if (!body.is_object() || !body.contains("advance_ms") ||
              !body["advance_ms"].is_number_integer() ||
              body["advance_ms"].get<std::int64_t>() < 0) {
            return http::Response::error(400, "bad_request",
                                         "expected {\"advance_ms\": N} with N >= 0");
          }
          const std::int64_t now = test_clock.advance(body["advance_ms"].get<std::int64_t>());
          log.info("clock_advanced", {{"now_ms", now}, {"offset_ms", test_clock.offset_ms()}});
          engine.wake();
          return json_reply(200, {{"now_ms", now}, {"offset_ms", test_clock.offset_ms()}});
        }));
  }

  api.install(server);

  engine.start();
  Result<std::uint16_t> port = server.start();
  if (!port) {
    engine.stop();
    return fail("cannot listen on " + config.listen.host + ":" +
                std::to_string(config.listen.port) + ": " + port.error().message);
  }
  log.info("serving", {{"version", kVersion},
                       {"config", config.describe()},
                       {"port", static_cast<int>(port.value())},
                       {"bundle", hash.value()},
                       {"api_tokens", config.tokens.size()},
                       {"test_clock", options.test_clock}});

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  log.info("draining", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  engine.drain();
  server.stop(std::chrono::milliseconds(5000));
  api.stop();  // Requests still queued for the store are answered first.
  engine.stop();
  ai.shutdown();
  ai_client.shutdown();
  client.shutdown();
  store->close();
  const server::EngineCounters c = engine.counters();
  log.info("stopped", {{"turns", c.turns}, {"sent", c.sent}, {"retried", c.retried}});
  return kExitOk;
}

}  // namespace

void add_serve_command(CLI::App& app, int& status) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* cmd =
      app.add_subcommand("serve", "Run flows for WhatsApp contacts: webhooks in, replies out");
  cmd->add_option("-c,--config", options->config, "The config file (YAML)")->required();
  cmd->add_flag("--test-clock", options->test_clock,
                "Let POST /api/v1/admin/clock move time forward (tests only)");
  cmd->add_flag("--debug", options->debug, "Log every turn and every ignored webhook item");
  cmd->callback([options, &status] { status = run_serve(*options); });
}

}  // namespace waflow::cli
