// The /api/v1 routes of `waflow serve` (docs/api.md is the reference).
//
// Every route goes through one wrapper: authenticate (constant-time token
// compare, scope check), then run the handler on the I/O thread when it only
// parses and calls Engine::submit, or on the API's pool when it waits for the
// store. Handlers validate strictly (unknown JSON fields and query parameters
// are refused, so a typo never passes silently) by throwing Refused, which is
// private to this file: the wrapper turns it into the error answer and one log
// line, as it does for a store error or anything unexpected. Nothing thrown
// leaves this file.

#include "cli/serve_api.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <functional>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "runtime/base/civil_time.h"
#include "runtime/bytecode/bundle.h"

namespace waflow::cli {

namespace {

using Json = nlohmann::json;
using storage::Millis;

constexpr std::string_view kBase = "/api/v1";
constexpr std::size_t kMaxId = 128;                     // Idempotency keys, contact ids.
constexpr std::size_t kMaxLabel = 1'000;                // Comments, authors.
constexpr std::uint64_t kMaxBundleBytes = 32ULL << 20;  // An uploaded bundle.
constexpr int kDefaultLimit = 50;
constexpr int kMaxLimit = 1'000;

// A refusal decided while validating; caught by the route wrapper.
struct Refused {
  int status;
  std::string code;
  std::string message;
};

Refused bad_request(std::string message) {
  return Refused{400, "bad_request", std::move(message)};
}

// Invalid UTF-8 coming from the store (a contact's text) is replaced rather
// than making dump() throw.
std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    out += (out.empty() ? "" : ", ") + item;
  }
  return out;
}

// --- Times -------------------------------------------------------------------

bool digits_at(std::string_view s, std::size_t at, std::size_t n, unsigned& out) {
  if (at + n > s.size()) {
    return false;
  }
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    out = out * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return true;
}

// RFC 3339 (2026-11-22T10:00:00Z, with fractional seconds or a +hh:mm offset)
// or integer Unix milliseconds. A '+' of an offset that was not percent-encoded
// in a query arrives as a space, so a space there is read as '+'.
std::optional<Millis> parse_time(std::string_view s) {
  if (!s.empty() && s.size() <= 15 &&
      std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    Millis ms = 0;
    std::from_chars(s.data(), s.data() + s.size(), ms);
    return ms;
  }
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (s.size() < 20 || !digits_at(s, 0, 4, year) || s[4] != '-' || !digits_at(s, 5, 2, month) ||
      s[7] != '-' || !digits_at(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits_at(s, 11, 2, hour) || s[13] != ':' || !digits_at(s, 14, 2, minute) || s[16] != ':' ||
      !digits_at(s, 17, 2, second)) {
    return std::nullopt;
  }
  static constexpr unsigned kMonthDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > kMonthDays[month - 1] ||
      (month == 2 && day == 29 && !leap) || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  second = std::min(second, 59u);  // A leap second counts as the one before.
  std::size_t at = 19;
  Millis fraction = 0;
  if (at < s.size() && s[at] == '.') {
    ++at;
    const std::size_t start = at;
    Millis scale = 100;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      fraction += (s[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == start) {
      return std::nullopt;
    }
  }
  Millis offset_minutes = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-' || s[at] == ' ')) {
    unsigned oh = 0, om = 0;
    if (!digits_at(s, at + 1, 2, oh) || at + 3 >= s.size() || s[at + 3] != ':' ||
        !digits_at(s, at + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (s[at] == '-' ? -1 : 1) * static_cast<Millis>(oh * 60 + om);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != s.size()) {
    return std::nullopt;
  }
  const Millis days = days_from_civil(year, month, day);
  const Millis seconds = days * 86'400 + hour * 3'600 + minute * 60 + second - offset_minutes * 60;
  return seconds * 1000 + fraction;
}

// --- Tokens ------------------------------------------------------------------

// Equal secrets, in a time that depends on the lengths only: no early exit on
// the first differing byte, so timing does not reveal a token's prefix.
bool same_secret(std::string_view a, std::string_view b) {
  const std::size_t n = std::max(a.size(), b.size());
  volatile unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff = diff | static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

bool grants(const server::ApiToken& token, std::string_view scope) {
  return std::any_of(token.scopes.begin(), token.scopes.end(),
                     [scope](const std::string& s) { return s == scope || s == "admin"; });
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

// The media type of a Content-Type header, lower case, without parameters.
std::string media_type(const http::Request& request) {
  std::string_view value = request.header("content-type");
  value = value.substr(0, value.find(';'));
  return lower(http::trim_ows(value));
}

// --- Validation --------------------------------------------------------------

void only_params(const http::Request& request, std::initializer_list<std::string_view> known) {
  for (const auto& [name, value] : request.query) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::vector<std::string> names(known.begin(), known.end());
      throw bad_request("unknown query parameter '" + name + "'" +
                        (names.empty() ? std::string(" (this route takes none)")
                                       : " (expected one of: " + joined(names) + ")"));
    }
  }
}

void only_fields(const Json& object, const std::string& where,
                 std::initializer_list<std::string_view> known) {
  for (const auto& item : object.items()) {
    if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
      std::vector<std::string> names(known.begin(), known.end());
      throw bad_request("unknown field '" + where + item.key() +
                        "' (expected one of: " + joined(names) + ")");
    }
  }
}

// A string field: absent gives nullopt; anything but a string (or an empty one
// when `non_empty`) is refused, naming the field.
std::optional<std::string> text_field(const Json& object, const std::string& where, const char* key,
                                      bool required, bool non_empty = true) {
  const auto it = object.find(key);
  if (it == object.end()) {
    if (required) {
      throw bad_request("'" + where + key + "' is required");
    }
    return std::nullopt;
  }
  if (!it->is_string()) {
    throw bad_request("'" + where + key + "' must be a string");
  }
  std::string value = it->get<std::string>();
  if (non_empty && value.empty()) {
    throw bad_request("'" + where + key + "' must not be empty");
  }
  return value;
}

const Json& object_field(const Json& object, const char* key) {
  const Json& value = object.at(key);
  if (!value.is_object()) {
    throw bad_request(std::string("'") + key + "' must be an object");
  }
  return value;
}

std::string check_id(std::string value, const char* what) {
  if (value.empty() || value.size() > kMaxId) {
    throw bad_request(std::string(what) + " must be 1 to " + std::to_string(kMaxId) +
                      " characters long");
  }
  if (std::any_of(value.begin(), value.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    throw bad_request(std::string(what) + " must not contain control characters");
  }
  return value;
}

int parse_limit(std::string_view text) {
  if (text.empty()) {
    return kDefaultLimit;
  }
  int limit = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
  if (ec != std::errc() || end != text.data() + text.size() || limit < 1 || limit > kMaxLimit) {
    throw bad_request("limit must be an integer from 1 to " + std::to_string(kMaxLimit) +
                      ", not '" + std::string(text) + "'");
  }
  return limit;
}

std::optional<Millis> query_time(const http::Request& request, const char* name) {
  const std::string_view text = request.query_param(name);
  if (text.empty()) {
    return std::nullopt;
  }
  std::optional<Millis> ms = parse_time(text);
  if (!ms) {
    throw bad_request(std::string(name) + " must be an RFC 3339 time (2026-11-22T10:00:00Z) " +
                      "or Unix milliseconds, not '" + std::string(text) + "'");
  }
  return ms;
}

// A JSON request body: an object, sent as application/json.
Json json_body(const http::Request& request) {
  const std::string type = media_type(request);
  if (!type.empty() && type != "application/json") {
    throw Refused{415, "unsupported_media_type",
                  "the body must be JSON (Content-Type: application/json), not " + type};
  }
  Json body = Json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    throw bad_request("the body is not valid JSON");
  }
  if (!body.is_object()) {
    throw bad_request("the body must be a JSON object");
  }
  return body;
}

// Meta and WAHA contacts are phone numbers in E.164 with '+' (the gateways
// normalise inbound ids that way); digits alone name the same contact.
std::string contact_id(const ApiDevice& device, std::string to) {
  const bool phone = device.gateway == "meta" || device.gateway == "waha";
  if (phone && !to.empty() &&
      std::all_of(to.begin(), to.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return "+" + to;
  }
  return to;
}

// --- Thread pool -------------------------------------------------------------

// A few threads for blocking store calls, with a bounded queue: when it is full
// the request is refused at once (503) rather than waiting on an I/O thread.
class WorkPool {
 public:
  WorkPool(int threads, std::size_t max_queued) : max_queued_(max_queued) {
    for (int i = 0; i < std::max(1, threads); ++i) {
      threads_.emplace_back([this] { run(); });
    }
  }
  ~WorkPool() { stop(); }
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  bool post(std::function<void()> job) {
    {
      const std::lock_guard lock(mutex_);
      if (stopping_ || queue_.size() >= max_queued_) {
        return false;
      }
      queue_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
  }

  // Runs what is queued, then joins.
  void stop() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) {
          return;
        }
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();  // Jobs catch what they throw (the route wrapper).
    }
  }

  const std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// --- Answers -----------------------------------------------------------------

// The error response of a refused or failed request, and its log line: a
// warning for the caller's mistakes, an error with the reason for the server's.
http::Response refusal(server::JsonLog& log, std::string_view method, std::string_view path,
                       const Refused& r) {
  if (r.status >= 500) {
    log.error("api_failed", {{"method", method},
                             {"path", path},
                             {"status", r.status},
                             {"code", r.code},
                             {"error", r.message}});
  } else {
    log.warn("api_refused",
             {{"method", method}, {"path", path}, {"status", r.status}, {"code", r.code}});
  }
  http::Response response = http::Response::error(r.status, r.code, r.message);
  if (r.status == 401) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  return response;
}

// The Reply of one request, copyable so engine callbacks and pool jobs can hold
// it, with what the log line of a refusal needs.
class Answer {
 public:
  Answer(server::JsonLog& log, const http::Request& request, http::Reply reply)
      : log_(&log),
        method_(request.method),
        path_(request.path),
        reply_(std::make_shared<http::Reply>(std::move(reply))) {}

  void json(int status, const Json& body) const {
    (*reply_)(http::Response::json(status, dump(body)));
  }

  void fail(int status, std::string_view code, const std::string& message) const {
    (*reply_)(refusal(*log_, method_, path_, Refused{status, std::string(code), message}));
  }

  void fail(const Refused& r) const { fail(r.status, r.code, r.message); }

  // A store or engine error: the caller's mistake (400/404) or the server's (503).
  void fail(const Error& error) const {
    switch (error.code) {
      case ErrorCode::InvalidInput:
        fail(400, "bad_request", error.message);
        return;
      case ErrorCode::NotFound:
        fail(404, "not_found", error.message);
        return;
      default:
        fail(503, "unavailable", error.message);
        return;
    }
  }

 private:
  server::JsonLog* log_;
  std::string method_;
  std::string path_;
  std::shared_ptr<http::Reply> reply_;
};

Json bundle_json(const storage::BundleInfo& b) {
  Json item = {{"hash", b.hash},
               {"size", b.size},
               {"author", b.meta.author},
               {"comment", b.meta.comment},
               {"created_ms", b.meta.created_ms},
               {"created_at", format_utc_ms(b.meta.created_ms)},
               {"active", b.active},
               {"last_activated_ms", nullptr}};
  if (b.last_activated_ms) {
    item["last_activated_ms"] = *b.last_activated_ms;
    item["last_activated_at"] = format_utc_ms(*b.last_activated_ms);
  }
  return item;
}

Json conversation_json(const storage::ConversationRecord& c) {
  Json item = {{"id", c.id},
               {"device", c.key.device},
               {"contact", c.key.contact},
               {"run", c.run},
               {"flow", c.flow},
               {"bundle_hash", c.bundle_hash},
               {"status", c.status},
               {"last_step", c.last_step},
               {"started_ms", c.started_ms},
               {"started_at", format_utc_ms(c.started_ms)},
               {"updated_ms", c.updated_ms},
               {"updated_at", format_utc_ms(c.updated_ms)}};
  if (c.ended_ms) {
    item["ended_ms"] = *c.ended_ms;
    item["ended_at"] = format_utc_ms(*c.ended_ms);
  }
  return item;
}

Json message_json(const storage::MessageRecord& m) {
  Json payload = Json::parse(m.payload, nullptr, false);
  if (payload.is_discarded()) {
    payload = Json::object();
  }
  return {{"id", m.id},
          {"device", m.key.device},
          {"contact", m.key.contact},
          {"direction", m.outbound ? "out" : "in"},
          {"at_ms", m.at_ms},
          {"at", format_utc_ms(m.at_ms)},
          {"flow", m.flow},
          {"step", m.step},
          {"kind", m.kind},
          {"text", m.text},
          {"payload", std::move(payload)},
          {"run", m.run}};
}

Json record_json(const storage::StoredRecord& r) {
  Json data = Json::parse(r.data, nullptr, false);
  if (data.is_discarded()) {
    data = Json::object();
  }
  return {{"id", storage::record_ref(r.collection, r.id)},
          {"collection", r.collection},
          {"device", r.key.device},
          {"contact", r.key.contact},
          {"flow", r.flow},
          {"step", r.step},
          {"run", r.run},
          {"created_ms", r.created_ms},
          {"created_at", format_utc_ms(r.created_ms)},
          {"data", std::move(data)}};
}

enum class Where : std::uint8_t { IoThread, Pool };

}  // namespace

struct Api::Impl {
  explicit Impl(ApiContext c)
      : ctx(std::move(c)), pool(ctx.threads, std::max<std::size_t>(1, ctx.max_queued)) {}

  ApiContext ctx;
  WorkPool pool;
  std::mutex deploy_mutex;  // One upload at a time, so "stored before" is exact.
  std::mutex flows_mutex;
  std::map<std::string, std::vector<std::string>> flows_by_hash;
  std::mutex events_mutex;
  std::map<std::uint64_t, std::uint64_t> listeners;  // WebSocket id -> engine listener.
  bool stopped = false;

  using Handler = std::function<void(Impl&, const http::Request&, const Answer&)>;

  // --- Authentication ---

  // Why the request may not use `scope`, or nullopt when it may. The token
  // comes from the Authorization header, or from ?token= where allowed.
  std::optional<Refused> refuse_token(const http::Request& request, std::string_view scope,
                                      bool query_token) const {
    if (ctx.tokens.empty()) {
      return Refused{401, "unauthorized",
                     "no API tokens are configured; add tokens: to the config "
                     "(api: {tokens: [{token: ..., scopes: [...]}]})"};
    }
    std::string_view presented;
    const std::string_view header = http::trim_ows(request.header("authorization"));
    if (!header.empty()) {
      if (header.size() < 8 || lower(header.substr(0, 7)) != "bearer ") {
        return Refused{401, "unauthorized", "the Authorization header must be 'Bearer TOKEN'"};
      }
      presented = http::trim_ows(header.substr(7));
    } else if (query_token) {
      presented = request.query_param("token");
    }
    if (presented.empty()) {
      return Refused{401, "unauthorized",
                     query_token ? "a token is required (Authorization: Bearer TOKEN or ?token=)"
                                 : "a token is required (Authorization: Bearer TOKEN)"};
    }
    // Every configured token is compared, so the time does not tell which matched.
    const server::ApiToken* match = nullptr;
    for (const server::ApiToken& token : ctx.tokens) {
      if (same_secret(token.token, presented) && match == nullptr) {
        match = &token;
      }
    }
    if (match == nullptr) {
      return Refused{401, "unauthorized", "the token is not valid"};
    }
    if (!grants(*match, scope)) {
      return Refused{403, "forbidden", "this token lacks the " + std::string(scope) + " scope"};
    }
    return std::nullopt;
  }

  // --- Routes ---

  void add(http::HttpServer& server, std::string_view method, const std::string& pattern,
           std::string scope, Where where, Handler handler) {
    Impl* self = this;
    auto route = [self, where, handler = std::move(handler)](http::Request request,
                                                             http::Reply reply) {
      const Answer answer(self->ctx.log, request, std::move(reply));
      if (where == Where::IoThread) {
        guarded(*self, handler, request, answer);
        return;
      }
      auto shared = std::make_shared<http::Request>(std::move(request));
      if (!self->pool.post(
              [self, handler, shared, answer] { guarded(*self, handler, *shared, answer); })) {
        answer.fail(503, "unavailable", "the server is busy; retry in a moment");
      }
    };
    server.route(method, std::string(kBase) + pattern, http::HttpServer::Handler(route));
    // The token is checked as soon as the header is read: a refused request's
    // body (up to a 32 MiB bundle) is never read.
    server.admit(method, std::string(kBase) + pattern,
                 [self, scope = std::move(scope)](
                     const http::Request& request) -> std::optional<http::Response> {
                   if (std::optional<Refused> refused = self->refuse_token(request, scope, false)) {
                     return refusal(self->ctx.log, request.method, request.path, *refused);
                   }
                   return std::nullopt;
                 });
  }

  // The last-resort catch of every handler.
  static void guarded(Impl& self, const Handler& handler, const http::Request& request,
                      const Answer& answer) {
    try {
      handler(self, request, answer);
    } catch (const Refused& r) {
      answer.fail(r);
    } catch (const std::exception& e) {
      answer.fail(500, "internal_error", std::string("unexpected error: ") + e.what());
    } catch (...) {
      answer.fail(500, "internal_error", "unexpected error");
    }
  }

  std::vector<std::string> device_names() const {
    std::vector<std::string> names;
    for (const ApiDevice& d : ctx.devices) {
      names.push_back(d.name);
    }
    return names;
  }

  // The device a request names, or the only one configured.
  const ApiDevice& find_device(const std::string& name) const {
    if (name.empty()) {
      if (ctx.devices.size() == 1) {
        return ctx.devices.front();
      }
      throw bad_request("'device' is required: the config has " +
                        std::to_string(ctx.devices.size()) + " devices (" + joined(device_names()) +
                        ")");
    }
    for (const ApiDevice& d : ctx.devices) {
      if (d.name == name) {
        return d;
      }
    }
    throw Refused{404, "not_found",
                  "no device named '" + name + "' (configured: " + joined(device_names()) + ")"};
  }

  // The flow names of a stored bundle (kept: bundles never change).
  std::vector<std::string> flows_of(const std::string& hash) {
    {
      const std::lock_guard lock(flows_mutex);
      if (auto it = flows_by_hash.find(hash); it != flows_by_hash.end()) {
        return it->second;
      }
    }
    Result<std::optional<storage::StoredBundle>> stored = ctx.store.bundle(hash);
    if (!stored) {
      throw Refused{503, "unavailable", stored.error().message};
    }
    if (!stored.value()) {
      return {};
    }
    const std::string& bytes = stored.value()->bytes;
    Result<bytecode::Bundle> bundle =
        bytecode::load_bundle(std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
    if (!bundle) {
      throw Refused{503, "unavailable",
                    "the active bundle does not load: " + bundle.error().message};
    }
    std::vector<std::string> names = flow_names(bundle.value());
    const std::lock_guard lock(flows_mutex);
    flows_by_hash[hash] = names;
    return names;
  }

  static std::vector<std::string> flow_names(const bytecode::Bundle& bundle) {
    std::vector<std::string> names;
    for (const bytecode::FlowInfo& f : bundle.flows) {
      names.push_back(bundle.str(f.name));
    }
    return names;
  }

  // --- Deployments ---

  void get_deployments(const http::Request& request, const Answer& answer) {
    only_params(request, {});
    Result<std::vector<storage::BundleInfo>> bundles = ctx.store.list_bundles();
    if (!bundles) {
      answer.fail(503, "unavailable", bundles.error().message);
      return;
    }
    Json items = Json::array();
    for (const storage::BundleInfo& b : bundles.value()) {
      items.push_back(bundle_json(b));
    }
    answer.json(200, {{"items", std::move(items)}, {"next_cursor", ""}});
  }

  static std::string author_of(const http::Request& request) {
    const std::string author(http::trim_ows(request.header("x-waflow-author")));
    if (author.size() > kMaxLabel) {
      throw bad_request("X-Waflow-Author is longer than " + std::to_string(kMaxLabel) +
                        " characters");
    }
    return author.empty() ? "api" : author;
  }

  void post_deployment(const http::Request& request, const Answer& answer) {
    only_params(request, {"activate", "comment"});
    const std::string type = media_type(request);
    if (type != "application/octet-stream") {
      throw Refused{415, "unsupported_media_type",
                    "upload the bundle as Content-Type: application/octet-stream, not " +
                        (type.empty() ? std::string("none") : type)};
    }
    const std::string_view activate_text = request.query_param("activate");
    if (activate_text != "" && activate_text != "true" && activate_text != "false") {
      throw bad_request("activate must be true or false, not '" + std::string(activate_text) + "'");
    }
    const bool activate = activate_text == "true";
    const std::string comment(request.query_param("comment"));
    if (comment.size() > kMaxLabel) {
      throw bad_request("comment is longer than " + std::to_string(kMaxLabel) + " characters");
    }
    const std::string author = author_of(request);
    Result<bytecode::Bundle> bundle =
        bytecode::load_bundle(std::vector<std::uint8_t>(request.body.begin(), request.body.end()));
    if (!bundle) {
      answer.fail(422, "invalid_bundle", "the bundle does not load: " + bundle.error().message);
      return;
    }
    const std::vector<std::string> flows = flow_names(bundle.value());

    const std::lock_guard lock(deploy_mutex);
    Result<std::vector<storage::BundleInfo>> before = ctx.store.list_bundles();
    if (!before) {
      answer.fail(503, "unavailable", before.error().message);
      return;
    }
    storage::BundleMeta meta;
    meta.author = author;
    meta.comment = comment;
    meta.created_ms = ctx.clock.now_ms();
    Result<std::string> hash = activate ? ctx.engine.deploy(request.body, author, comment)
                                        : ctx.store.put_bundle(request.body, meta);
    if (!hash) {
      answer.fail(hash.error().code == ErrorCode::InvalidInput ? 422 : 503,
                  hash.error().code == ErrorCode::InvalidInput ? "invalid_bundle" : "unavailable",
                  hash.error().message);
      return;
    }
    const bool stored_before =
        std::any_of(before.value().begin(), before.value().end(),
                    [&](const storage::BundleInfo& b) { return b.hash == hash.value(); });
    {
      const std::lock_guard flows_lock(flows_mutex);
      flows_by_hash[hash.value()] = flows;
    }
    const bool active = ctx.engine.active_hash() == hash.value();
    ctx.log.info(
        "api_deployed",
        {{"hash", hash.value()}, {"author", author}, {"active", active}, {"new", !stored_before}});
    answer.json(stored_before ? 200 : 201, {{"hash", hash.value()},
                                            {"size", request.body.size()},
                                            {"active", active},
                                            {"flows", flows}});
  }

  void post_activate(const http::Request& request, const Answer& answer) {
    only_params(request, {});
    const std::string hash(request.param("hash"));
    Result<bool> done = ctx.engine.activate(hash, author_of(request));
    if (!done) {
      if (done.error().code == ErrorCode::NotFound) {
        answer.fail(404, "not_found", "no deployment with hash '" + hash + "'");
      } else {
        answer.fail(done.error());
      }
      return;
    }
    ctx.log.info("api_activated", {{"hash", hash}});
    answer.json(200, {{"hash", hash}, {"active", true}});
  }

  void post_rollback(const http::Request& request, const Answer& answer) {
    only_params(request, {});
    Result<std::string> hash = ctx.engine.rollback(author_of(request));
    if (!hash) {
      if (hash.error().code == ErrorCode::NotFound) {
        answer.fail(409, "conflict", "nothing to roll back to: " + hash.error().message);
      } else {
        answer.fail(hash.error());
      }
      return;
    }
    ctx.log.info("api_rolled_back", {{"hash", hash.value()}});
    answer.json(200, {{"hash", hash.value()}});
  }

  // --- Sends and flow starts ---

  // The message of a send body, as a flow's `say` produces it.
  static Json message_of(const Json& body, const std::string& kind) {
    if (kind == "text") {
      return {{"type", "text"}, {"text", *text_field(body, "", "text", true)}};
    }
    const Json& m = object_field(body, kind.c_str());
    const std::string where = kind + ".";
    Json out = {{"type", kind}};
    auto copy = [&](const char* key, bool required) {
      if (std::optional<std::string> v = text_field(m, where, key, required)) {
        out[key] = *v;
      }
    };
    if (kind == "template") {
      only_fields(m, where, {"name", "language", "params"});
      copy("name", true);
      copy("language", true);
      Json params = Json::array();
      if (const auto it = m.find("params"); it != m.end()) {
        if (!it->is_array() ||
            !std::all_of(it->begin(), it->end(), [](const Json& p) { return p.is_string(); })) {
          throw bad_request("'template.params' must be a list of strings");
        }
        params = *it;
      }
      out["params"] = std::move(params);
      return out;
    }
    if (kind == "image" || kind == "video") {
      only_fields(m, where, {"url", "caption"});
    } else if (kind == "document") {
      only_fields(m, where, {"url", "filename", "caption"});
    } else {
      only_fields(m, where, {"url"});
    }
    copy("url", true);
    if (kind != "audio") {
      copy("caption", false);
    }
    if (kind == "document") {
      copy("filename", false);
    }
    return out;
  }

  static bool is_name(const std::string& name) {
    return !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
           std::all_of(name.begin(), name.end(), [](char c) {
             return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
           });
  }

  void post_message(const http::Request& request, const Answer& answer) {
    only_params(request, {});
    const Json body = json_body(request);
    only_fields(body, "",
                {"device", "to", "text", "image", "document", "audio", "video", "template", "flow",
                 "variables", "id"});
    const ApiDevice& dev = find_device(text_field(body, "", "device", false).value_or(""));
    server::ApiAction action;
    action.device = dev.name;
    action.contact = contact_id(dev, check_id(*text_field(body, "", "to", true), "'to'"));
    if (std::optional<std::string> id = text_field(body, "", "id", false, false)) {
      action.id = check_id(std::move(*id), "'id'");
    }
    std::vector<std::string> kinds;
    for (const char* k : {"text", "image", "document", "audio", "video", "template", "flow"}) {
      if (body.contains(k)) {
        kinds.emplace_back(k);
      }
    }
    if (kinds.size() != 1) {
      throw bad_request(
          kinds.empty()
              ? "say what to send: one of text, image, document, audio, video, template or flow"
              : "send one thing at a time, not " + joined(kinds));
    }
    if (body.contains("variables") && kinds.front() != "flow") {
      throw bad_request("'variables' go with 'flow' only");
    }
    if (kinds.front() != "flow") {
      action.kind = storage::InboxKind::Send;
      action.payload = dump({{"message", message_of(body, kinds.front())}});
      submit(std::move(action), "message", answer);
      return;
    }
    const std::string flow = *text_field(body, "", "flow", true);
    Json variables = Json::object();
    if (const auto it = body.find("variables"); it != body.end()) {
      if (!it->is_object()) {
        throw bad_request("'variables' must be an object");
      }
      for (const auto& item : it->items()) {
        if (!is_name(item.key())) {
          throw bad_request("'variables." + item.key() +
                            "': a variable name is letters, digits and _ (not starting with a "
                            "digit)");
        }
      }
      variables = *it;
    }
    action.kind = storage::InboxKind::Start;
    action.payload = dump({{"flow", flow}, {"variables", std::move(variables)}});
    // The flow must exist in the active bundle: that needs the store.
    auto shared = std::make_shared<server::ApiAction>(std::move(action));
    Impl* self = this;
    const bool queued = pool.post([self, shared, flow, answer] {
      try {
        const std::string hash = self->ctx.engine.active_hash();
        const std::vector<std::string> flows =
            hash.empty() ? std::vector<std::string>() : self->flows_of(hash);
        if (std::find(flows.begin(), flows.end(), flow) == flows.end()) {
          answer.fail(404, "not_found",
                      "no flow named '" + flow + "' in the active bundle" +
                          (flows.empty() ? std::string() : " (flows: " + joined(flows) + ")"));
          return;
        }
        self->submit(std::move(*shared), "flow", answer);
      } catch (const Refused& r) {
        answer.fail(r);
      } catch (const std::exception& e) {
        answer.fail(500, "internal_error", std::string("unexpected error: ") + e.what());
      }
    });
    if (!queued) {
      answer.fail(503, "unavailable", "the server is busy; retry in a moment");
    }
  }

  void submit(server::ApiAction action, std::string queued, const Answer& answer) {
    std::string device_name = action.device;
    std::string to = action.contact;
    ctx.engine.submit(
        std::move(action), [answer, device_name = std::move(device_name), to = std::move(to),
                            queued = std::move(queued)](Result<server::ApiQueued> r) {
          if (!r) {
            answer.fail(r.error());
            return;
          }
          if (r.value().duplicate) {
            answer.json(200, {{"id", r.value().id}, {"duplicate", true}});
            return;
          }
          answer.json(
              202, {{"id", r.value().id}, {"device", device_name}, {"to", to}, {"queued", queued}});
        });
  }

  // --- Queries ---

  storage::QueryFilter filter_of(const http::Request& request) const {
    storage::QueryFilter f;
    f.device = std::string(request.query_param("device"));
    f.contact = std::string(request.query_param("contact"));
    f.flow = std::string(request.query_param("flow"));
    f.since_ms = query_time(request, "since");
    f.until_ms = query_time(request, "until");
    f.limit = parse_limit(request.query_param("limit"));
    f.cursor = std::string(request.query_param("cursor"));
    return f;
  }

  template <typename T, typename ToJson>
  static void page(const Answer& answer, Result<storage::Page<T>> result, ToJson to_json) {
    if (!result) {
      if (result.error().code == ErrorCode::InvalidInput) {
        answer.fail(400, "bad_request", result.error().message);
      } else {
        answer.fail(503, "unavailable", result.error().message);
      }
      return;
    }
    Json items = Json::array();
    for (const T& item : result.value().items) {
      items.push_back(to_json(item));
    }
    answer.json(200, {{"items", std::move(items)}, {"next_cursor", result.value().next_cursor}});
  }

  void get_conversations(const http::Request& request, const Answer& answer) {
    only_params(request, {"device", "contact", "flow", "since", "until", "limit", "cursor"});
    page(answer, ctx.store.conversations(filter_of(request)), conversation_json);
  }

  void get_messages(const http::Request& request, const Answer& answer) {
    only_params(request,
                {"device", "contact", "flow", "since", "until", "limit", "cursor", "direction"});
    storage::QueryFilter f = filter_of(request);
    const std::string_view direction = request.query_param("direction");
    if (direction == "in" || direction == "out") {
      f.outbound = direction == "out";
    } else if (!direction.empty()) {
      throw bad_request("direction must be in or out, not '" + std::string(direction) + "'");
    }
    page(answer, ctx.store.messages(f), message_json);
  }

  void get_records(const http::Request& request, const Answer& answer) {
    only_params(request,
                {"device", "contact", "flow", "since", "until", "limit", "cursor", "collection"});
    storage::QueryFilter f = filter_of(request);
    f.collection = std::string(request.query_param("collection"));
    page(answer, ctx.store.records(f), record_json);
  }

  void get_stats(const http::Request& request, const Answer& answer) {
    only_params(request, {"device", "flow", "since", "until"});
    storage::StatsFilter f;
    f.device = std::string(request.query_param("device"));
    f.flow = std::string(request.query_param("flow"));
    f.since_ms = query_time(request, "since");
    f.until_ms = query_time(request, "until");
    Result<storage::Stats> stats = ctx.store.stats(f);
    if (!stats) {
      answer.fail(stats.error().code == ErrorCode::InvalidInput ? 400 : 503,
                  stats.error().code == ErrorCode::InvalidInput ? "bad_request" : "unavailable",
                  stats.error().message);
      return;
    }
    Json days = Json::array();
    for (const storage::DayCount& d : stats.value().messages_per_day) {
      days.push_back({{"day", d.day}, {"in", d.in}, {"out", d.out}});
    }
    Json flows = Json::array();
    for (const storage::FlowCount& c : stats.value().flows) {
      flows.push_back({{"flow", c.flow},
                       {"started", c.started},
                       {"completed", c.completed},
                       {"active", c.active}});
    }
    Json steps = Json::array();
    for (const storage::StepCount& s : stats.value().steps) {
      steps.push_back(
          {{"flow", s.flow}, {"step", s.step}, {"dropped", s.dropped}, {"active", s.active}});
    }
    Json ai = Json::array();
    for (const storage::AiUsageCount& u : stats.value().ai_usage) {
      ai.push_back({{"day", u.day},
                    {"provider", u.provider},
                    {"model", u.model},
                    {"calls", u.calls},
                    {"errors", u.errors},
                    {"input_tokens", u.input_tokens},
                    {"output_tokens", u.output_tokens},
                    {"latency_p50_ms", u.latency_p50_ms},
                    {"latency_mean_ms", u.latency_mean_ms}});
    }
    answer.json(200, {{"messages_per_day", std::move(days)},
                      {"flows", std::move(flows)},
                      {"steps", std::move(steps)},
                      {"ai_usage", std::move(ai)}});
  }

  // --- Contacts ---

  storage::ConversationKey contact_key(const http::Request& request, const std::string& name) {
    const ApiDevice& dev = find_device(name);
    return {dev.name,
            contact_id(dev, check_id(std::string(request.param("contact")), "the contact"))};
  }

  void get_contact(const http::Request& request, const Answer& answer) {
    only_params(request, {"device"});
    const storage::ConversationKey key =
        contact_key(request, std::string(request.query_param("device")));
    Result<std::optional<storage::Contact>> c = ctx.store.contact(key);
    if (!c) {
      answer.fail(503, "unavailable", c.error().message);
      return;
    }
    if (!c.value()) {
      answer.fail(404, "not_found",
                  "no contact '" + key.contact + "' on device '" + key.device + "'");
      return;
    }
    Json out = {{"device", key.device},
                {"contact", key.contact},
                {"name", c.value()->name},
                {"paused", c.value()->paused}};
    if (c.value()->bundle_hash) {
      out["bundle_hash"] = *c.value()->bundle_hash;
    }
    answer.json(200, out);
  }

  // The device of a pause or resume: from the query or the body (not both differently).
  std::string pause_device(const http::Request& request) {
    only_params(request, {"device"});
    std::string device(request.query_param("device"));
    if (!http::trim_ows(request.body).empty()) {
      const Json body = json_body(request);
      only_fields(body, "", {"device"});
      if (std::optional<std::string> d = text_field(body, "", "device", false)) {
        if (!device.empty() && device != *d) {
          throw bad_request("the query names device '" + device + "' and the body '" + *d + "'");
        }
        device = *d;
      }
    }
    return device;
  }

  void set_paused(const http::Request& request, const Answer& answer, bool paused) {
    const storage::ConversationKey key = contact_key(request, pause_device(request));
    Result<bool> changed = ctx.store.set_paused(key, paused, ctx.clock.now_ms());
    if (!changed) {
      answer.fail(changed.error());
      return;
    }
    ctx.log.info(paused ? "api_paused" : "api_resumed",
                 {{"device", key.device}, {"contact", key.contact}});
    const Json out = {{"device", key.device}, {"contact", key.contact}, {"paused", paused}};
    if (paused) {
      answer.json(200, out);
      return;
    }
    // A run waiting at a handoff step continues in the contact's next turn.
    server::ApiAction handback;
    handback.device = key.device;
    handback.contact = key.contact;
    handback.kind = storage::InboxKind::Handback;
    handback.payload = "{}";
    ctx.engine.submit(std::move(handback), [answer, out](Result<server::ApiQueued> r) {
      if (!r) {
        answer.fail(r.error());
        return;
      }
      answer.json(200, out);
    });
  }

  // --- Events ---

  http::WsHandler events_handler() {
    Impl* self = this;
    http::WsHandler h;
    h.admit = [self](const http::Request& request) -> std::optional<http::Response> {
      std::optional<Refused> refused = self->refuse_token(request, "read", true);
      if (!refused) {
        try {
          only_params(request, {"device", "contact", "token"});
        } catch (const Refused& r) {
          refused = r;
        }
      }
      if (!refused) {
        return std::nullopt;
      }
      return refusal(self->ctx.log, request.method, request.path, *refused);
    };
    h.on_open = [self](const http::WsPtr& ws) {
      const std::string device(ws->request().query_param("device"));
      const std::string contact(ws->request().query_param("contact"));
      std::weak_ptr<http::WsConnection> weak = ws;
      const std::lock_guard lock(self->events_mutex);
      if (self->stopped) {
        ws->close();
        return;
      }
      const std::uint64_t id = self->ctx.engine.subscribe([weak, device,
                                                           contact](const server::EngineEvent& e) {
        if ((!device.empty() && e.device != device) || (!contact.empty() && e.contact != contact)) {
          return;
        }
        if (const http::WsPtr c = weak.lock()) {
          c->send(e.json);  // Closes a client whose queue overflows.
        }
      });
      self->listeners[ws->id()] = id;
      self->ctx.log.info("api_events_open", {{"connection", static_cast<std::int64_t>(ws->id())},
                                             {"device", device},
                                             {"contact", contact}});
    };
    h.on_message = [](const http::WsPtr&, std::string_view) {
      // Client frames carry nothing the stream needs.
    };
    h.on_close = [self](const http::WsPtr& ws) {
      const std::lock_guard lock(self->events_mutex);
      if (auto it = self->listeners.find(ws->id()); it != self->listeners.end()) {
        self->ctx.engine.unsubscribe(it->second);
        self->listeners.erase(it);
      }
    };
    return h;
  }

  void install(http::HttpServer& server) {
    using R = Impl;
    auto call = [](void (R::*method)(const http::Request&, const Answer&)) {
      return [method](Impl& self, const http::Request& request, const Answer& answer) {
        (self.*method)(request, answer);
      };
    };
    add(server, "GET", "/deployments", "read", Where::Pool, call(&R::get_deployments));
    add(server, "POST", "/deployments", "deploy", Where::Pool, call(&R::post_deployment));
    // A project's bundle outgrows the 1 MiB that is plenty for any webhook.
    server.body_limit("POST", std::string(kBase) + "/deployments", kMaxBundleBytes);
    add(server, "POST", "/deployments/{hash}/activate", "deploy", Where::Pool,
        call(&R::post_activate));
    add(server, "POST", "/deployments/rollback", "deploy", Where::Pool, call(&R::post_rollback));
    add(server, "POST", "/messages", "send", Where::IoThread, call(&R::post_message));
    add(server, "GET", "/messages", "read", Where::Pool, call(&R::get_messages));
    add(server, "GET", "/records", "read", Where::Pool, call(&R::get_records));
    add(server, "GET", "/conversations", "read", Where::Pool, call(&R::get_conversations));
    add(server, "GET", "/contacts/{contact}", "read", Where::Pool, call(&R::get_contact));
    add(server, "POST", "/contacts/{contact}/pause", "send", Where::Pool,
        [](Impl& self, const http::Request& request, const Answer& answer) {
          self.set_paused(request, answer, true);
        });
    add(server, "POST", "/contacts/{contact}/resume", "send", Where::Pool,
        [](Impl& self, const http::Request& request, const Answer& answer) {
          self.set_paused(request, answer, false);
        });
    add(server, "GET", "/stats", "read", Where::Pool, call(&R::get_stats));
    server.websocket(std::string(kBase) + "/events", events_handler());
  }

  void stop() {
    pool.stop();
    const std::lock_guard lock(events_mutex);
    stopped = true;
    for (const auto& [connection, listener] : listeners) {
      ctx.engine.unsubscribe(listener);
    }
    listeners.clear();
  }
};

Api::Api(ApiContext context) : impl_(std::make_unique<Impl>(std::move(context))) {}

Api::~Api() {
  stop();
}

void Api::install(http::HttpServer& server) {
  impl_->install(server);
}

void Api::stop() {
  impl_->stop();
}

}  // namespace waflow::cli
