#include "runtime/host/call_payload.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace waflow::host {

namespace {

using vm::Value;

bool is_ai(bytecode::EffectKind kind) {
  return kind == bytecode::EffectKind::AiReply || kind == bytecode::EffectKind::AiExtract ||
         kind == bytecode::EffectKind::AiClassify;
}

Value history_window(const Request& r) {
  const Value* n = r.payload.field("history");
  const std::size_t want = n != nullptr && n->type() == Value::Type::Number && n->as_number() > 0
                               ? static_cast<std::size_t>(std::min(n->as_number(), 100.0))
                               : 0;
  std::size_t end = r.history.size();
  for (std::size_t i = 0; i < r.turn.size() && end > 0 && r.history[end - 1].from_user; ++i) {
    --end;
  }
  std::vector<Value> lines;
  for (std::size_t i = end > want ? end - want : 0; i < end; ++i) {
    lines.push_back(
        Value::object({{"role", Value::text(r.history[i].from_user ? "user" : "assistant")},
                       {"text", Value::text(r.history[i].text)}}));
  }
  return Value::list(std::move(lines));
}

}  // namespace

Value call_payload(const Request& r) {
  std::vector<std::pair<std::string, Value>> fields = {
      {"id", Value::text(r.id)},
      {"effect",
       Value::text(std::string(bytecode::kEffectNames[static_cast<std::size_t>(r.kind)]))},
      {"flow", Value::text(r.flow)},
      {"step", Value::text(r.step)},
      {"input", Value::text(r.input)},
      {"request", r.payload}};
  if (is_ai(r.kind)) {
    fields.emplace_back("history", history_window(r));
    fields.emplace_back("now_ms", Value::number(static_cast<double>(r.now_ms)));
    fields.emplace_back("tz_offset_ms", Value::number(static_cast<double>(r.tz_offset_ms)));
  }
  return Value::object(std::move(fields));
}

}  // namespace waflow::host
