// The real Transport of `waflow serve` (serve_transport.h).

#include "cli/serve_transport.h"

#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "adapters/ai/media.h"
#include "adapters/gateways/media.h"
#include "cli/serve_ai.h"
#include "runtime/server/values.h"

namespace waflow::cli {

namespace {

using server::DeliveryResult;
using server::failure;
using server::text_field;
using vm::Value;

constexpr std::int64_t kSendTimeoutMs = 15'000;

DeliveryResult permanent(std::string error) {
  DeliveryResult r;
  r.outcome = DeliveryResult::Outcome::Permanent;
  r.error = std::move(error);
  return r;
}

DeliveryResult answered(Value answer) {
  DeliveryResult r;
  r.outcome = DeliveryResult::Outcome::Sent;
  r.answer = std::move(answer);
  return r;
}

DeliveryResult from_send(const gateways::SendResult& s) {
  DeliveryResult r;
  r.provider_message_id = s.provider_message_id;
  r.retry_after_ms = s.retry_after_ms;
  r.error = s.error.empty() ? std::string() : s.error_code + " " + s.error;
  switch (s.outcome) {
    case gateways::SendOutcome::Sent:
      r.outcome = DeliveryResult::Outcome::Sent;
      break;
    case gateways::SendOutcome::Retry:
      r.outcome = DeliveryResult::Outcome::Retry;
      break;
    case gateways::SendOutcome::RateLimited:
      r.outcome = DeliveryResult::Outcome::RateLimited;
      break;
    case gateways::SendOutcome::OutsideWindow:
      r.outcome = DeliveryResult::Outcome::Permanent;
      r.error = "outside the 24-hour window: " + r.error;
      break;
    case gateways::SendOutcome::Permanent:
      r.outcome = DeliveryResult::Outcome::Permanent;
      break;
  }
  return r;
}

// The requests of one send, performed one after the other.
struct SendChain : std::enable_shared_from_this<SendChain> {
  http::HttpClient* client = nullptr;
  const gateways::Gateway* gateway = nullptr;
  std::vector<gateways::OutboundRequest> requests;
  std::size_t next = 0;
  std::string first_id;
  std::function<void(DeliveryResult)> done;

  void step() {
    const gateways::OutboundRequest& out = requests[next];
    http::ClientRequest req;
    req.method = out.method;
    req.url = out.url;
    req.headers = out.headers;
    req.body = out.body;
    req.timeout_ms = kSendTimeoutMs;
    client->submit(std::move(req), [self = shared_from_this()](http::ClientResponse resp) {
      self->on_response(resp);
    });
  }

  void on_response(const http::ClientResponse& resp) {
    const gateways::SendResult s =
        gateway->parse_send_result(resp.status, resp.body, resp.header("retry-after"));
    DeliveryResult r = from_send(s);
    if (r.outcome == DeliveryResult::Outcome::Retry && !resp.ok()) {
      r.error = resp.error;
    }
    if (r.outcome != DeliveryResult::Outcome::Sent) {
      done(std::move(r));
      return;
    }
    if (first_id.empty()) {
      first_id = r.provider_message_id;
    }
    if (++next < requests.size()) {
      step();
      return;
    }
    // Statuses name the message by the id of its first part.
    r.provider_message_id = first_id;
    done(std::move(r));
  }
};

}  // namespace

void ServeTransport::set_ai(ai::AiRouter* router, ai::StepRunner* runner, server::Metrics* metrics,
                            server::JsonLog* log) {
  ai_ = runner;
  router_ = router;
  metrics_ = metrics;
  log_ = log;
  if (router == nullptr || metrics == nullptr) {
    return;
  }
  // One observation per HTTP attempt: retries, fallbacks and tool rounds each count alone,
  // so the histogram says how fast each provider answers, not how long steps wait.
  router->set_attempt_observer([metrics](const ai::Attempt& a) {
    metrics
        ->histogram("waflow_llm_request_duration_seconds",
                    "Requests to AI providers: one per HTTP attempt, from sending to the answer",
                    {{"provider", a.provider},
                     {"model", a.model_name},
                     {"result", a.outcome == "ok" ? "ok" : "error"}})
        .observe(static_cast<double>(a.elapsed_ms) / 1000.0);
  });
}

void ServeTransport::deliver(const storage::OutboxRow& row,
                             std::function<void(DeliveryResult)> done) {
  if (row.kind == "send") {
    send(row, std::move(done));
  } else if (row.kind == "ai" && ai_ != nullptr) {
    ai_step(row, std::move(done));
  } else if (row.kind == "media" && router_ != nullptr) {
    media(row, std::move(done));
  } else {
    call(row, std::move(done));
  }
}

void ServeTransport::send(const storage::OutboxRow& row, std::function<void(DeliveryResult)> done) {
  if (auto chat = chats_.find(row.key.device); chat != chats_.end()) {
    Value payload;
    if (!vm::from_json(row.payload, payload)) {
      done(permanent("the send payload is not JSON"));
      return;
    }
    DeliveryResult r;
    if (chat->second->deliver(row.key.contact, payload, &r.provider_message_id)) {
      r.outcome = DeliveryResult::Outcome::Sent;
    } else {
      r.outcome = DeliveryResult::Outcome::Retry;
      r.error = "no page of this contact is open";
      r.device_fault = false;  // One closed page must not stop the device's other contacts.
    }
    done(std::move(r));
    return;
  }
  auto it = gateways_.find(row.key.device);
  if (it == gateways_.end() || it->second == nullptr) {
    done(permanent("no gateway is configured for device '" + row.key.device + "'"));
    return;
  }
  Value payload;
  if (!vm::from_json(row.payload, payload)) {
    done(permanent("the send payload is not JSON"));
    return;
  }
  Result<std::vector<gateways::OutboundRequest>> built =
      it->second->build_send(row.key.contact, payload);
  if (!built) {
    done(permanent(built.error().message));
    return;
  }
  if (built.value().empty()) {
    DeliveryResult r;
    r.outcome = DeliveryResult::Outcome::Sent;
    done(std::move(r));
    return;
  }
  auto chain = std::make_shared<SendChain>();
  chain->client = &client_;
  chain->gateway = it->second;
  chain->requests = std::move(built).value();
  chain->done = std::move(done);
  chain->step();
}

void ServeTransport::call(const storage::OutboxRow& row, std::function<void(DeliveryResult)> done) {
  Value envelope;
  if (!vm::from_json(row.payload, envelope) || envelope.field("request") == nullptr) {
    done(answered(failure("the request is not readable")));
    return;
  }
  const Value& r = *envelope.field("request");
  http::ClientRequest req;
  req.method = text_field(r, "method");
  req.url = text_field(r, "url");
  if (const Value* headers = r.field("headers");
      headers != nullptr && headers->type() == Value::Type::Object) {
    for (const auto& [name, value] : headers->as_object()) {
      req.headers.emplace_back(name, value.to_text());
    }
  }
  if (const Value* json = r.field("json")) {
    req.body = vm::to_json(*json);
    bool typed = false;
    for (const auto& [name, value] : req.headers) {
      std::string lower = name;
      for (char& c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      typed = typed || lower == "content-type";
    }
    if (!typed) {
      req.headers.emplace_back("Content-Type", "application/json");
    }
  } else if (const Value* body = r.field("body"); body != nullptr && body->is_text()) {
    req.body = body->as_text();
  }
  if (const Value* t = r.field("timeout_ms"); t != nullptr && t->is_number()) {
    req.timeout_ms = static_cast<std::int64_t>(t->as_number());
  }
  int retries = 0;
  if (const Value* n = r.field("retries"); n != nullptr && n->is_number()) {
    retries = static_cast<int>(n->as_number());
  }
  const int attempts = row.attempts;
  client_.submit(
      std::move(req), [done = std::move(done), retries, attempts](http::ClientResponse resp) {
        const bool ok = resp.ok() && resp.status >= 200 && resp.status < 300;
        if (!ok && attempts <= retries) {
          DeliveryResult again;
          again.outcome = DeliveryResult::Outcome::Retry;
          again.error = resp.ok() ? "HTTP status " + std::to_string(resp.status) : resp.error;
          done(std::move(again));
          return;
        }
        if (!resp.ok()) {
          done(answered(failure(resp.error)));
          return;
        }
        Value body;
        if (!vm::from_json(resp.body, body)) {
          body = Value::text(resp.body);
        }
        Value::Object fields = {
            {"ok", Value::boolean(ok)}, {"status", Value::number(resp.status)}, {"body", body}};
        if (!ok) {
          fields.emplace_back("error", Value::text("HTTP status " + std::to_string(resp.status)));
        }
        done(answered(Value::object(std::move(fields))));
      });
}

void ServeTransport::ai_step(const storage::OutboxRow& row,
                             std::function<void(DeliveryResult)> done) {
  // An extraction's values are validated like an ask of each field's type.
  Value envelope;
  const bool readable = vm::from_json(row.payload, envelope);
  auto device = device_models_.find(row.key.device);
  const std::string model = device != device_models_.end() ? device->second : std::string();
  ai_->run(
      row.payload,
      [this, done = std::move(done), envelope = readable ? std::move(envelope) : Value()](
          std::string answer, const ai::StepReport& report) {
        Value v = ai_answer_value(answer, envelope);
        DeliveryResult r = answered(std::move(v));
        r.ai_usage = record(report);
        done(std::move(r));
      },
      model);
}

namespace {

// Claims of a "media" row before a transient failure is given up on: the messages behind it
// wait meanwhile, so the outbox's own (long) limit is not used.
constexpr int kMediaAttempts = 3;
constexpr std::int64_t kDescribeTimeoutMs = 60'000;

std::string boundary() {
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out = "waflow-";
  std::uniform_int_distribution<int> d(0, 15);
  for (int i = 0; i < 24; ++i) {
    out += kHex[d(rng)];
  }
  return out;
}

std::string value_text(const Value& v, std::string_view name) {
  const Value* f = v.field(name);
  return f != nullptr && f->is_text() ? f->as_text() : std::string();
}

}  // namespace

void ServeTransport::media(const storage::OutboxRow& row,
                           std::function<void(DeliveryResult)> done) {
  Value p;
  if (!vm::from_json(row.payload, p)) {
    done(answered(failure("the media payload is not JSON")));
    return;
  }
  auto gateway = gateways_.find(row.key.device);
  if (gateway == gateways_.end() || gateway->second == nullptr) {
    done(answered(failure("device " + row.key.device + " has no gateway that downloads media")));
    return;
  }
  const std::string task = value_text(p, "task");
  const std::string model = value_text(p, "model");
  const std::string prompt = value_text(p, "prompt");
  const Value* message = p.field("message");
  gateways::MediaOptions options;
  if (const Value* max = p.field("max_bytes"); max != nullptr && max->is_number()) {
    options.max_bytes = static_cast<std::int64_t>(max->as_number());
  }
  const auto began = std::chrono::steady_clock::now();
  // Ends the row: an answer, or a retry of a transient failure while attempts remain.
  auto finish = [this, done = std::move(done), attempts = row.attempts, task, model, began,
                 device = row.key.device](std::string text, std::string error, bool transient,
                                          std::optional<storage::AiUsage> usage = std::nullopt) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - began)
                        .count();
    const bool retry = !error.empty() && transient && attempts < kMediaAttempts;
    if (log_ != nullptr) {
      log_->write(error.empty() ? server::LogLevel::Info : server::LogLevel::Warn, "media_call",
                  {{"device", device},
                   {"task", task},
                   {"model", model},
                   {"attempt", attempts},
                   {"latency_ms", static_cast<std::int64_t>(ms)},
                   {"ok", error.empty()},
                   {"retry", retry},
                   {"error", error}});
    }
    if (retry) {
      DeliveryResult r;
      r.outcome = DeliveryResult::Outcome::Retry;
      r.error = error;
      r.device_fault = false;  // The model's or the file's trouble, not the device's sends.
      done(std::move(r));
      return;
    }
    DeliveryResult r = answered(
        error.empty() ? Value::object({{"ok", Value::boolean(true)}, {"text", Value::text(text)}})
                      : failure(error));
    // What the model used, kept with AI steps' (waflow query): step media_transcribe or
    // media_describe, no flow.
    if (usage) {
      usage->step = "media_" + task;
      usage->latency_ms = static_cast<std::int64_t>(ms);
      usage->ok = error.empty();
      r.ai_usage = std::move(usage);
    }
    done(std::move(r));
  };
  if (message == nullptr || (task != "transcribe" && task != "describe")) {
    finish("", "the media payload has no message or task", false);
    return;
  }
  gateways::download_media(
      client_, *gateway->second, *message, options,
      [this, finish = std::move(finish), task, model, prompt,
       declared = value_text(*message, "mime")](gateways::MediaResult file) mutable {
        if (!file.ok) {
          finish("", "download: " + file.error, file.transient);
          return;
        }
        std::string mime = file.file.mime.empty() ? declared : file.file.mime;
        // A chat call through the router: descriptions, and transcriptions by Gemini (audio
        // inline). The router has retried and failed over already when it answers.
        auto chat = [this, &model](ai::ChatRequest request, std::string what,
                                   decltype(finish) then) {
          router_->call(model, std::move(request), kDescribeTimeoutMs,
                        [finish = std::move(then), what](ai::CallResult r) mutable {
                          storage::AiUsage usage;
                          usage.provider = r.stats.provider.empty() ? "none" : r.stats.provider;
                          usage.model = r.stats.model_name.empty() ? "none" : r.stats.model_name;
                          usage.input_tokens = r.stats.input_tokens;
                          usage.output_tokens = r.stats.output_tokens;
                          if (!r.ok()) {
                            finish("", what + ": " + r.error.message, false, usage);
                            return;
                          }
                          std::string text = r.response->text;
                          const std::size_t first = text.find_first_not_of(" \t\r\n");
                          text = first == std::string::npos
                                     ? std::string()
                                     : text.substr(first,
                                                   text.find_last_not_of(" \t\r\n") - first + 1);
                          finish(text, text.empty() ? what + ": no text" : "", false, usage);
                        });
        };
        if (task == "describe") {
          chat(ai::describe_request(prompt, ai::Image{mime.empty() ? "image/jpeg" : mime,
                                                      std::move(file.file.bytes)}),
               "describe", std::move(finish));
          return;
        }
        const ai::ModelConfig* target = nullptr;
        for (const ai::ModelConfig& m : router_->models()) {
          if (m.name == model) {
            target = &m;
          }
        }
        if (target == nullptr) {
          finish("", "transcribe: no model '" + model + "' under ai.models", false);
          return;
        }
        if (target->provider.kind == ai::ProviderKind::Gemini) {
          chat(ai::transcribe_request(
                   ai::Image{mime.empty() ? "audio/ogg" : mime, std::move(file.file.bytes)}),
               "transcribe", std::move(finish));
          return;
        }
        ai::AudioFile audio{std::move(file.file.bytes), mime, ""};
        ai::AiResult<http::ClientRequest> built =
            ai::build_transcription(target->provider, audio, boundary());
        if (!built) {
          finish("", "transcribe: " + built.error().message, false);
          return;
        }
        http::ClientRequest req = std::move(built).value();
        req.timeout_ms = target->timeout_ms;
        storage::AiUsage usage;
        usage.provider = std::string(ai::kind_name(target->provider.kind));
        usage.model = model;
        http::HttpClient& ai_client = ai_client_ != nullptr ? *ai_client_ : client_;
        ai_client.submit(std::move(req), [finish = std::move(finish), provider = target->provider,
                                          usage](http::ClientResponse resp) {
          if (!resp.ok()) {
            finish("", "transcribe: " + resp.error, true);
            return;
          }
          const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
          ai::AiResult<std::string> text =
              ai::parse_transcription(provider, resp.status, resp.headers, resp.body, now);
          if (!text) {
            finish("", "transcribe: " + text.error().message,
                   text.error().error_class == ai::ErrorClass::Retry, usage);
            return;
          }
          finish(text.value(), text.value().empty() ? "transcribe: no words heard" : "", false,
                 usage);
        });
      });
}

storage::AiUsage ServeTransport::record(const ai::StepReport& report) {
  const std::string provider = report.provider.empty() ? "none" : report.provider;
  const std::string model = report.model_name.empty() ? "none" : report.model_name;
  if (metrics_ != nullptr) {
    metrics_
        ->histogram(
            "waflow_ai_step_duration_seconds",
            "AI steps: from the first request to the answer, retries, fallbacks and tool "
            "calls included",
            {{"provider", provider}, {"model", model}, {"result", report.ok ? "ok" : "error"}})
        .observe(static_cast<double>(report.latency_ms) / 1000.0);
    metrics_
        ->counter("waflow_llm_tokens_total", "Tokens of AI calls, as the providers counted them",
                  {{"provider", provider}, {"model", model}, {"direction", "input"}})
        .inc(report.input_tokens);
    metrics_
        ->counter("waflow_llm_tokens_total", "Tokens of AI calls, as the providers counted them",
                  {{"provider", provider}, {"model", model}, {"direction", "output"}})
        .inc(report.output_tokens);
  }
  if (log_ != nullptr) {
    log_->write(report.ok ? server::LogLevel::Info : server::LogLevel::Warn, "ai_call",
                {{"flow", report.flow},
                 {"step", report.step},
                 {"effect", report.effect},
                 {"provider", provider},
                 {"model", model},
                 {"provider_model", report.model},
                 {"calls", report.calls},
                 {"attempts", report.attempts},
                 {"tool_calls", report.tool_calls},
                 {"tokens_in", report.input_tokens},
                 {"tokens_out", report.output_tokens},
                 {"latency_ms", report.latency_ms},
                 {"ok", report.ok},
                 {"error", report.error}});
  }
  storage::AiUsage usage;
  usage.provider = provider;
  usage.model = model;
  usage.flow = report.flow;
  usage.step = report.step;
  usage.input_tokens = report.input_tokens;
  usage.output_tokens = report.output_tokens;
  usage.latency_ms = report.latency_ms;
  usage.ok = report.ok;
  return usage;
}

}  // namespace waflow::cli
