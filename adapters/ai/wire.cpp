// Shared wire helpers of the AI providers. The status table follows
// research/runtime-anchors.md A.1-A.5: quota and spend caps are told apart from rate limits by
// the provider's code, never by the status alone.

#include "adapters/ai/wire.h"

#include <array>
#include <cctype>
#include <chrono>
#include <cmath>

#include "adapters/ai/schema.h"

namespace waflow::ai::wire {

namespace {

bool contains_ci(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) {
    return false;
  }
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    bool match = true;
    for (std::size_t j = 0; j < needle.size() && match; ++j) {
      match = std::tolower(static_cast<unsigned char>(haystack[i + j])) ==
              std::tolower(static_cast<unsigned char>(needle[j]));
    }
    if (match) {
      return true;
    }
  }
  return false;
}

// Digits at s[pos, pos+n) as a number; -1 when any is not a digit.
int digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) {
    return -1;
  }
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return -1;
    }
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

std::int64_t unix_ms(int year, int month, int day, int hour, int minute, int second) {
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60) {
    return -1;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{year},
                                        std::chrono::month{static_cast<unsigned>(month)},
                                        std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) {
    return -1;
  }
  const auto days = std::chrono::sys_days{ymd}.time_since_epoch().count();
  return ((static_cast<std::int64_t>(days) * 24 + hour) * 60 + minute) * 60'000 +
         static_cast<std::int64_t>(second) * 1000;
}

}  // namespace

std::string dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<Json> parse_json(std::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) {
    return std::nullopt;
  }
  return j;
}

std::optional<Json> parse_object(std::string_view text) {
  std::optional<Json> j = parse_json(text);
  if (!j || !j->is_object()) {
    return std::nullopt;
  }
  return j;
}

const Json* field(const Json& object, const char* key) {
  if (!object.is_object()) {
    return nullptr;
  }
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

std::string text(const Json& object, const char* key) {
  const Json* f = field(object, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : std::string();
}

std::int64_t integer(const Json& object, const char* key) {
  const Json* f = field(object, key);
  if (f == nullptr || !f->is_number()) {
    return 0;
  }
  if (f->is_number_integer()) {
    return f->get<std::int64_t>();
  }
  const double d = f->get<double>();
  return std::isfinite(d) && std::fabs(d) < 9e15 ? static_cast<std::int64_t>(d) : 0;
}

std::string scalar_text(const Json* value) {
  if (value == nullptr) {
    return {};
  }
  if (value->is_string()) {
    return value->get<std::string>();
  }
  if (value->is_number_integer()) {
    return std::to_string(value->get<std::int64_t>());
  }
  return {};
}

std::int64_t http_date_ms(std::string_view date) {
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (the obsolete forms are not sent by the
  // providers we talk to).
  date = http::trim_ows(date);
  if (date.size() != 29 || date[3] != ',' || date.substr(26) != "GMT") {
    return -1;
  }
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int month = 0;
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (date.substr(8, 3) == kMonths[i]) {
      month = static_cast<int>(i) + 1;
    }
  }
  const int day = digits(date, 5, 2);
  const int year = digits(date, 12, 4);
  const int hour = digits(date, 17, 2);
  const int minute = digits(date, 20, 2);
  const int second = digits(date, 23, 2);
  if (month == 0 || day < 0 || year < 0 || hour < 0 || minute < 0 || second < 0 ||
      date[19] != ':' || date[22] != ':') {
    return -1;
  }
  return unix_ms(year, month, day, hour, minute, second);
}

std::int64_t rfc3339_ms(std::string_view ts) {
  ts = http::trim_ows(ts);
  if (ts.size() < 20 || ts[4] != '-' || ts[7] != '-' || (ts[10] != 'T' && ts[10] != 't') ||
      ts[13] != ':' || ts[16] != ':') {
    return -1;
  }
  const int year = digits(ts, 0, 4);
  const int month = digits(ts, 5, 2);
  const int day = digits(ts, 8, 2);
  const int hour = digits(ts, 11, 2);
  const int minute = digits(ts, 14, 2);
  const int second = digits(ts, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) {
    return -1;
  }
  std::int64_t ms = unix_ms(year, month, day, hour, minute, second);
  if (ms < 0) {
    return -1;
  }
  std::size_t pos = 19;
  if (pos < ts.size() && ts[pos] == '.') {
    std::int64_t frac = 0;
    int scale = 0;
    for (++pos; pos < ts.size() && ts[pos] >= '0' && ts[pos] <= '9'; ++pos) {
      if (scale < 3) {
        frac = frac * 10 + (ts[pos] - '0');
        ++scale;
      }
    }
    for (; scale < 3; ++scale) {
      frac *= 10;
    }
    ms += frac;
  }
  const std::string_view zone = ts.substr(pos);
  if (zone == "Z" || zone == "z") {
    return ms;
  }
  if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    const int h = digits(zone, 1, 2);
    const int m = digits(zone, 4, 2);
    if (h < 0 || m < 0) {
      return -1;
    }
    const std::int64_t offset = (static_cast<std::int64_t>(h) * 60 + m) * 60'000;
    return zone[0] == '+' ? ms - offset : ms + offset;
  }
  return -1;
}

std::int64_t go_duration_ms(std::string_view text) {
  text = http::trim_ows(text);
  if (text.empty() || text.size() > 32) {
    return -1;
  }
  double total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t start = pos;
    while (pos < text.size() && ((text[pos] >= '0' && text[pos] <= '9') || text[pos] == '.')) {
      ++pos;
    }
    if (pos == start) {
      return -1;
    }
    double value = 0;
    double scale = 0;
    for (std::size_t i = start; i < pos; ++i) {
      if (text[i] == '.') {
        if (scale != 0) {
          return -1;
        }
        scale = 1;
        continue;
      }
      if (scale == 0) {
        value = value * 10 + (text[i] - '0');
      } else {
        scale /= 10;
        value += scale * (text[i] - '0');
      }
    }
    double unit = 0;
    if (text.substr(pos, 2) == "ms") {
      unit = 1;
      pos += 2;
    } else if (pos < text.size() && text[pos] == 's') {
      unit = 1000;
      ++pos;
    } else if (pos < text.size() && text[pos] == 'm') {
      unit = 60'000;
      ++pos;
    } else if (pos < text.size() && text[pos] == 'h') {
      unit = 3'600'000;
      ++pos;
    } else {
      return -1;
    }
    total += value * unit;
  }
  return total > 1e12 ? -1 : static_cast<std::int64_t>(std::ceil(total));
}

std::string base_url(const ProviderConfig& config) {
  std::string url =
      config.base_url.empty() ? std::string(default_base_url(config.kind)) : config.base_url;
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  return url;
}

std::string_view header(const http::StringMap& headers, std::string_view name) {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

std::int64_t retry_after_ms(const http::StringMap& headers, std::int64_t now_unix_ms) {
  if (const std::string_view ms = http::trim_ows(header(headers, "retry-after-ms")); !ms.empty()) {
    const std::int64_t v = go_duration_ms(std::string(ms) + "ms");
    if (v >= 0) {
      return v;
    }
  }
  const std::string_view value = http::trim_ows(header(headers, "retry-after"));
  if (value.empty()) {
    return -1;
  }
  if (const std::int64_t seconds = http::retry_after_seconds_ms(value); seconds >= 0) {
    return seconds;
  }
  const std::int64_t at = http_date_ms(value);
  if (at < 0) {
    return -1;
  }
  return at > now_unix_ms ? at - now_unix_ms : 0;
}

AiError error(ErrorClass c, Reason r, std::string message, int status) {
  AiError e;
  e.error_class = c;
  e.reason = r;
  e.status = status;
  e.message = std::move(message);
  return e;
}

AiError status_error(int status, const Quirks* quirks) {
  const bool gateway = quirks != nullptr && quirks->gateway_errors_fail_over;
  const std::string what = "HTTP " + std::to_string(status);
  switch (status) {
    case 400:
    case 422:
      return error(ErrorClass::Fatal, Reason::BadRequest, what, status);
    case 401:
      return error(ErrorClass::Fatal, Reason::Auth, what, status);
    case 402:
      return error(ErrorClass::Fatal, Reason::Billing, what, status);
    case 403:
      // OpenRouter answers 403 when moderation flags the input.
      return gateway ? error(ErrorClass::Failover, Reason::ContentPolicy, what, status)
                     : error(ErrorClass::Fatal, Reason::Permission, what, status);
    case 404:
      return error(ErrorClass::Failover, Reason::ModelUnavailable, what, status);
    case 408:
      return error(ErrorClass::Retry, Reason::Timeout, what, status);
    case 409:
      return error(ErrorClass::Retry, Reason::Conflict, what, status);
    case 413:
      return error(ErrorClass::Failover, Reason::ContextWindow, what, status);
    case 429:
      return error(ErrorClass::Retry, Reason::RateLimit, what, status);
    case 502:
      return gateway ? error(ErrorClass::Failover, Reason::ModelUnavailable, what, status)
                     : error(ErrorClass::Retry, Reason::Server, what, status);
    case 503:
      return gateway ? error(ErrorClass::Failover, Reason::ModelUnavailable, what, status)
                     : error(ErrorClass::Retry, Reason::Overloaded, what, status);
    case 504:
      return error(ErrorClass::Retry, Reason::Timeout, what, status);
    case 529:
      return error(ErrorClass::Retry, Reason::Overloaded, what, status);
    default:
      break;
  }
  if (status >= 500) {
    return error(ErrorClass::Retry, Reason::Server, what, status);
  }
  if (status >= 400) {
    return error(ErrorClass::Fatal, Reason::BadRequest, what, status);
  }
  // A redirect or an informational status: not the provider's API at this address.
  return error(ErrorClass::Failover, Reason::Server, what + " is not an answer of the API", status);
}

void refine(AiError& e, std::string_view code) {
  static constexpr std::array<std::string_view, 6> kQuota = {
      "insufficient_quota",           "credit_balance_exhausted", "billing_hard_limit_reached",
      "enforced_spend_limit_reached", "spend_limit_reached",      "quota_exceeded"};
  for (const std::string_view q : kQuota) {
    if (code == q) {
      e.error_class = ErrorClass::Fatal;
      e.reason = Reason::Quota;
      return;
    }
  }
  if (code == "slow_down" || code == "rate_limit_exceeded") {
    e.error_class = ErrorClass::Retry;
    e.reason = Reason::RateLimit;
    return;
  }
  if (code == "server_is_overloaded" || code == "overloaded_error") {
    e.error_class = ErrorClass::Retry;
    e.reason = Reason::Overloaded;
    return;
  }
  if (code == "model_not_found") {
    e.error_class = ErrorClass::Failover;
    e.reason = Reason::ModelUnavailable;
    return;
  }
  if (e.status != 400 && e.status != 413 && e.status != 422 && e.status != 200) {
    return;
  }
  const std::string_view m = e.message;
  if (code == "context_length_exceeded" || code == "string_above_max_length" ||
      contains_ci(m, "context length") || contains_ci(m, "context window") ||
      contains_ci(m, "maximum context") || contains_ci(m, "prompt is too long") ||
      contains_ci(m, "too many tokens")) {
    e.error_class = ErrorClass::Failover;
    e.reason = Reason::ContextWindow;
    return;
  }
  if (code == "content_policy_violation" || code == "content_filter" ||
      contains_ci(m, "content policy") || contains_ci(m, "content management policy") ||
      contains_ci(m, "flagged")) {
    e.error_class = ErrorClass::Failover;
    e.reason = Reason::ContentPolicy;
  }
}

void apply_should_retry(AiError& e, const http::StringMap& headers) {
  const std::string_view v = http::trim_ows(header(headers, "x-should-retry"));
  // A quota or spend cap stays fatal whatever the header says: A.1.
  if (v == "true" && e.reason != Reason::Quota && e.reason != Reason::Billing) {
    e.error_class = ErrorClass::Retry;
  } else if (v == "false" && e.error_class == ErrorClass::Retry) {
    e.error_class = ErrorClass::Failover;
  }
}

AiError malformed(std::string_view provider, std::string_view what, int status) {
  return error(ErrorClass::Retry, Reason::Server,
               std::string(provider) + " answered " + std::string(what), status);
}

std::optional<std::string> arguments_text(const Json& arguments, std::string& why) {
  if (arguments.is_null()) {
    return std::string("{}");
  }
  if (arguments.is_object()) {
    return dump(arguments);
  }
  if (arguments.is_string()) {
    const std::string& s = arguments.get_ref<const std::string&>();
    if (http::trim_ows(s).empty()) {
      return std::string("{}");
    }
    std::optional<Json> parsed = parse_json(s);
    if (!parsed) {
      why = "tool arguments are not JSON: " + s.substr(0, 200);
      return std::nullopt;
    }
    if (!parsed->is_object()) {
      why = "tool arguments are not a JSON object: " + s.substr(0, 200);
      return std::nullopt;
    }
    return dump(*parsed);
  }
  why = "tool arguments are neither an object nor a JSON string";
  return std::nullopt;
}

std::optional<AiError> check_answer(const ChatRequest& request, ChatResponse& response) {
  if (!response.tool_calls.empty()) {
    return std::nullopt;  // the model called a tool first; the answer comes later
  }
  if (http::trim_ows(response.text).empty()) {
    if (response.finish == FinishReason::ContentFilter) {
      return error(ErrorClass::Failover, Reason::ContentPolicy,
                   "the answer was withheld by the provider's content filter");
    }
    if (response.finish == FinishReason::Length) {
      return error(ErrorClass::Failover, Reason::InvalidOutput,
                   "the model used every token it was allowed before writing an answer");
    }
    return error(ErrorClass::Failover, Reason::InvalidOutput, "the model gave an empty answer");
  }
  if (!request.output) {
    return std::nullopt;
  }
  if (response.finish == FinishReason::Length) {
    return error(ErrorClass::Failover, Reason::InvalidOutput,
                 "the structured answer was cut at max_tokens before it was complete");
  }
  if (response.finish == FinishReason::ContentFilter) {
    return error(ErrorClass::Failover, Reason::ContentPolicy,
                 "the answer was withheld by the provider's content filter");
  }
  // JSON mode without a schema lets some models wrap the object in a Markdown fence.
  std::string_view body = http::trim_ows(response.text);
  while (!body.empty() && (body.front() == '\n' || body.front() == '\r')) {
    body.remove_prefix(1);
  }
  if (body.substr(0, 3) == "```") {
    const std::size_t first_line = body.find('\n');
    const std::size_t close = body.rfind("```");
    if (first_line != std::string_view::npos && close > first_line) {
      body = body.substr(first_line + 1, close - first_line - 1);
    }
  }
  std::optional<Json> parsed = parse_json(body);
  if (!parsed) {
    return error(ErrorClass::Failover, Reason::InvalidOutput,
                 "the structured answer is not JSON: " + std::string(body.substr(0, 200)));
  }
  response.parsed = dump(*parsed);
  if (std::optional<std::string> why = validate_json(request.output->schema, response.parsed)) {
    response.parsed.clear();
    return error(ErrorClass::Failover, Reason::InvalidOutput,
                 "the structured answer does not match the schema: " + *why);
  }
  return std::nullopt;
}

}  // namespace waflow::ai::wire
