// The AI fallback chatbot's pieces (fallback.h).

#include "runtime/server/fallback.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "runtime/base/civil_time.h"
#include "runtime/server/values.h"

namespace waflow::server {

namespace {

using vm::Value;

// "2025-01-06 10:00" of an instant in local time (UTC + offset).
std::string local_minutes(std::int64_t local_ms) {
  std::int64_t days = local_ms / 86'400'000;
  std::int64_t rest = local_ms % 86'400'000;
  if (rest < 0) {
    rest += 86'400'000;
    --days;
  }
  const CivilDate d = civil_from_days(days);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld", static_cast<long long>(d.year),
                d.month, d.day, static_cast<long long>(rest / 3'600'000),
                static_cast<long long>(rest / 60'000 % 60));
  return buf;
}

}  // namespace

bool is_fallback_ref(std::string_view ref) {
  return ref.substr(0, kFallbackPrefix.size()) == kFallbackPrefix;
}

FallbackState read_fallback_state(const Value& host_state) {
  FallbackState s;
  const Value* f = host_state.field("fallback");
  if (f == nullptr || f->type() != Value::Type::Object) {
    return s;
  }
  s.pending = text_field(*f, "pending");
  if (const Value* q = f->field("queued"); q != nullptr && q->type() == Value::Type::List) {
    for (const Value& t : q->as_list()) {
      if (t.is_text()) {
        s.queued.push_back(t.as_text());
      }
    }
  }
  if (const Value* n = f->field("seq"); n != nullptr && n->is_number() && n->as_number() >= 0) {
    s.seq = static_cast<std::int64_t>(n->as_number());
  }
  return s;
}

void write_fallback_state(Value& host_state, const FallbackState& state) {
  Value::Object fields;
  if (host_state.type() == Value::Type::Object) {
    for (const auto& [name, value] : host_state.as_object()) {
      if (name != "fallback") {
        fields.emplace_back(name, value);
      }
    }
  }
  // The sequence number is kept even when nothing is pending, so ids never repeat.
  if (!state.pending.empty() || !state.queued.empty() || state.seq != 0) {
    Value::List queued;
    for (const std::string& t : state.queued) {
      queued.push_back(Value::text(t));
    }
    fields.emplace_back("fallback",
                        Value::object({{"pending", Value::text(state.pending)},
                                       {"queued", Value::list(std::move(queued))},
                                       {"seq", Value::number(static_cast<double>(state.seq))}}));
  }
  host_state = fields.empty() ? Value() : Value::object(std::move(fields));
}

std::string fallback_text(const Value& message) {
  const Value* text = message.field("text");
  if (text != nullptr && !text->is_null() && !text->to_text().empty()) {
    return text->to_text();
  }
  const std::string caption = text_field(message, "caption");
  if (!caption.empty()) {
    return caption;
  }
  const std::string type = text_field(message, "type");
  return "[" + (type.empty() ? std::string("message") : type) + "]";
}

std::string fill_fallback_prompt(std::string_view system, std::int64_t now_ms,
                                 std::int64_t tz_offset_ms, std::string_view zone,
                                 const host::ContactProfile& contact) {
  std::string out;
  out.reserve(system.size());
  std::size_t i = 0;
  while (i < system.size()) {
    const std::size_t open = system.find("{{", i);
    if (open == std::string_view::npos) {
      out.append(system.substr(i));
      break;
    }
    const std::size_t close = system.find("}}", open + 2);
    if (close == std::string_view::npos) {
      out.append(system.substr(i));
      break;
    }
    out.append(system.substr(i, open - i));
    std::string_view name = system.substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ') {
      name.remove_prefix(1);
    }
    while (!name.empty() && name.back() == ' ') {
      name.remove_suffix(1);
    }
    if (name == "now") {
      out += local_minutes(now_ms + tz_offset_ms) + " " +
             (zone.empty() ? std::string("UTC") : std::string(zone));
    } else if (name == "contact.name") {
      out += contact.name;
    } else if (name == "contact.phone") {
      out += contact.phone;
    } else {
      out.append(system.substr(open, close + 2 - open));  // Not ours: left as written.
    }
    i = close + 2;
  }
  return out;
}

Value fallback_payload(const AiFallbackConfig& config, const FallbackCall& call) {
  // The input's own lines come out of the history: each from the end, before the one after it.
  const std::vector<host::HistoryEntry>& h = call.history;
  std::vector<bool> taken(h.size(), false);
  std::size_t end = h.size();
  for (std::size_t k = call.input.size(); k-- > 0;) {
    const std::string& line = call.input[k];
    std::size_t at = end;
    while (at > 0) {
      const host::HistoryEntry& e = h[at - 1];
      if (e.from_user && (e.text == line || (e.text.empty() && line.rfind('[', 0) == 0))) {
        break;
      }
      --at;
    }
    if (at == 0) {
      break;
    }
    taken[at - 1] = true;
    end = at - 1;
  }
  std::vector<Value> kept;
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (!taken[i] && !h[i].text.empty()) {
      kept.push_back(Value::object({{"role", Value::text(h[i].from_user ? "user" : "assistant")},
                                    {"text", Value::text(h[i].text)}}));
    }
  }
  const std::size_t want = static_cast<std::size_t>(std::max(config.history, 0));
  if (kept.size() > want) {
    kept.erase(kept.begin(), kept.end() - static_cast<std::ptrdiff_t>(want));
  }
  std::string input;
  for (const std::string& line : call.input) {
    input += (input.empty() ? "" : "\n") + line;
  }
  Value::Object request = {
      {"model", Value::text(config.model)},
      {"system", Value::text(fill_fallback_prompt(config.system, call.now_ms, call.tz_offset_ms,
                                                  call.zone, call.contact))}};
  if (config.temperature) {
    request.emplace_back("temperature", Value::number(*config.temperature));
  }
  if (config.max_tokens) {
    request.emplace_back("max_tokens", Value::number(static_cast<double>(*config.max_tokens)));
  }
  return Value::object({{"id", Value::text(call.id)},
                        {"effect", Value::text("ai_reply")},
                        {"flow", Value::text("")},
                        {"step", Value::text(std::string(kFallbackStep))},
                        {"input", Value::text(std::move(input))},
                        {"request", Value::object(std::move(request))},
                        {"history", Value::list(std::move(kept))},
                        {"now_ms", Value::number(static_cast<double>(call.now_ms))},
                        {"tz_offset_ms", Value::number(static_cast<double>(call.tz_offset_ms))}});
}

}  // namespace waflow::server
