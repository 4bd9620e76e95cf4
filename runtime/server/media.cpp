// Holding and enriching media messages (media.h).

#include "runtime/server/media.h"

#include <utility>

#include "runtime/server/values.h"

namespace waflow::server {

namespace {

using vm::Value;

}  // namespace

bool is_media_ref(std::string_view ref) {
  return ref.substr(0, kMediaPrefix.size()) == kMediaPrefix;
}

MediaState read_media_state(const Value& host_state) {
  MediaState s;
  const Value* m = host_state.field("media");
  if (m == nullptr || m->type() != Value::Type::Object) {
    return s;
  }
  s.pending = text_field(*m, "pending");
  if (const Value* seq = m->field("seq"); seq != nullptr && seq->is_number()) {
    s.seq = static_cast<std::int64_t>(seq->as_number());
  }
  if (const Value* held = m->field("held"); held != nullptr && held->type() == Value::Type::List) {
    for (const Value& h : held->as_list()) {
      const Value* message = h.field("message");
      if (message != nullptr && message->type() == Value::Type::Object) {
        s.held.push_back(HeldMessage{*message, text_field(h, "ref")});
      }
    }
  }
  return s;
}

void write_media_state(Value& host_state, const MediaState& state) {
  std::vector<std::pair<std::string, Value>> fields;
  if (host_state.type() == Value::Type::Object) {
    for (const auto& [name, value] : host_state.as_object()) {
      if (name != "media") {
        fields.emplace_back(name, value);
      }
    }
  }
  if (!state.pending.empty() || !state.held.empty() || state.seq != 0) {
    std::vector<Value> held;
    for (const HeldMessage& h : state.held) {
      held.push_back(Value::object({{"message", h.message}, {"ref", Value::text(h.ref)}}));
    }
    fields.emplace_back("media",
                        Value::object({{"pending", Value::text(state.pending)},
                                       {"seq", Value::number(static_cast<double>(state.seq))},
                                       {"held", Value::list(std::move(held))}}));
  }
  host_state = fields.empty() ? Value() : Value::object(std::move(fields));
}

std::string media_task(const MediaConfig& config, const Value& message) {
  const std::string type = text_field(message, "type");
  if ((type == "audio" || type == "voice") && !config.transcribe.empty()) {
    return "transcribe";
  }
  if (type == "image" && !config.describe.empty()) {
    return "describe";
  }
  return {};
}

Value media_payload(const MediaConfig& config, const std::string& id, const std::string& task,
                    std::int64_t max_bytes, const Value& message) {
  const bool transcribe = task == "transcribe";
  return Value::object({{"id", Value::text(id)},
                        {"task", Value::text(task)},
                        {"model", Value::text(transcribe ? config.transcribe : config.describe)},
                        {"prompt", Value::text(transcribe ? "" : config.describe_prompt)},
                        {"max_bytes", Value::number(static_cast<double>(max_bytes))},
                        {"message", message}});
}

Value enrich(const Value& message, const std::string& task, const Value& answer,
             std::string& error) {
  const Value* ok = answer.field("ok");
  const std::string text = text_field(answer, "text");
  if (ok == nullptr || !ok->truthy()) {
    error = text_field(answer, "error");
    if (error.empty()) {
      error = "the call failed";
    }
    return message;
  }
  if (text.empty()) {
    error = task == "transcribe" ? "the model heard no words" : "the model gave no description";
    return message;
  }
  std::vector<std::pair<std::string, Value>> fields;
  if (message.type() == Value::Type::Object) {
    fields = message.as_object();
  }
  auto set = [&fields](const std::string& name, Value v) {
    for (auto& [n, value] : fields) {
      if (n == name) {
        value = std::move(v);
        return;
      }
    }
    fields.emplace_back(name, std::move(v));
  };
  if (task == "transcribe") {
    set("text", Value::text(text));
    set("transcript", Value::text(text));
  } else {
    if (text_field(message, "text").empty() && text_field(message, "caption").empty()) {
      set("text", Value::text(text));
    }
    set("description", Value::text(text));
  }
  return Value::object(std::move(fields), message.tag());
}

}  // namespace waflow::server
