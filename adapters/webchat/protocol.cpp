#include "adapters/webchat/protocol.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

namespace waflow::webchat {
namespace {

// Ordered, so frames read in the documented order: type first.
using Json = nlohmann::ordered_json;
using vm::Value;

bool id_chars(std::string_view id) {
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

Error invalid(std::string message) {
  return Error{ErrorCode::InvalidInput, std::move(message)};
}

// A text field of the frame: absent is "", anything but a string is an error. The length is
// checked here so that a huge field is refused before it is copied anywhere else.
Result<std::string> text_field(const Json& frame, const char* key, bool required) {
  auto it = frame.find(key);
  if (it == frame.end() || it->is_null()) {
    if (required) {
      return invalid(std::string("the frame has no '") + key + "'");
    }
    return std::string();
  }
  if (!it->is_string()) {
    return invalid(std::string("'") + key + "' must be a string");
  }
  std::string value = it->get<std::string>();
  if (value.size() > kMaxTextBytes) {
    return invalid(std::string("'") + key + "' is longer than " + std::to_string(kMaxTextBytes) +
                   " bytes");
  }
  return value;
}

// Text that is always valid UTF-8 (invalid bytes become U+FFFD), so a frame never fails to
// encode whatever a flow put into a payload.
std::string dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// As vm::to_json() writes a value, but kept as JSON, so the frame is dumped once, with
// invalid UTF-8 replaced rather than thrown on.
Json json_of(const Value& value) {
  switch (value.type()) {
    case Value::Type::Null:
      return nullptr;
    case Value::Type::Bool:
      return value.as_bool();
    case Value::Type::Number: {
      const double d = value.as_number();
      if (std::isfinite(d) && std::abs(d) < 9e15 &&
          d == static_cast<double>(static_cast<long long>(d))) {
        return static_cast<long long>(d);
      }
      return d;
    }
    case Value::Type::Text:
      return value.as_text();
    case Value::Type::List: {
      Json out = Json::array();
      for (const Value& item : value.as_list()) {
        out.push_back(json_of(item));
      }
      return out;
    }
    case Value::Type::Object: {
      Json out = Json::object();
      for (const auto& [key, item] : value.as_object()) {
        out[key] = json_of(item);
      }
      return out;
    }
  }
  return nullptr;
}

}  // namespace

bool valid_contact_id(std::string_view id) {
  return id.size() >= 8 && id.size() <= 64 && id_chars(id);
}

bool valid_message_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && id_chars(id);
}

Result<ClientFrame> parse_client_frame(std::string_view text) {
  Json frame = Json::parse(text, nullptr, false);
  if (frame.is_discarded()) {
    return invalid("the frame is not JSON");
  }
  if (!frame.is_object()) {
    return invalid("the frame must be a JSON object");
  }
  auto type = frame.find("type");
  if (type == frame.end() || !type->is_string()) {
    return invalid("the frame has no 'type'");
  }
  const std::string& name = type->get_ref<const std::string&>();
  ClientFrame out;
  if (name == "message") {
    out.type = FrameType::Message;
  } else if (name == "tap") {
    out.type = FrameType::Tap;
  } else if (name == "start") {
    out.type = FrameType::Start;
  } else {
    return invalid("unknown frame type '" + name.substr(0, 32) + "'");
  }

  auto id = text_field(frame, "id", out.type != FrameType::Start);
  if (!id) {
    return id.error();
  }
  out.id = std::move(id).value();
  if (!out.id.empty() && !valid_message_id(out.id)) {
    return invalid("'id' must be 1 to 64 letters, digits, '_' or '-'");
  }

  switch (out.type) {
    case FrameType::Message: {
      auto body = text_field(frame, "text", true);
      if (!body) {
        return body.error();
      }
      out.text = std::move(body).value();
      if (out.text.empty()) {
        return invalid("'text' is empty");
      }
      break;
    }
    case FrameType::Tap: {
      auto payload = text_field(frame, "payload", true);
      if (!payload) {
        return payload.error();
      }
      auto title = text_field(frame, "title", false);
      if (!title) {
        return title.error();
      }
      auto kind = text_field(frame, "kind", false);
      if (!kind) {
        return kind.error();
      }
      if (kind.value() != "" && kind.value() != "button" && kind.value() != "list") {
        return invalid("'kind' must be \"button\" or \"list\"");
      }
      out.payload = std::move(payload).value();
      out.title = std::move(title).value();
      out.list = kind.value() == "list";
      if (out.payload.empty()) {
        return invalid("'payload' is empty");
      }
      break;
    }
    case FrameType::Start: {
      auto flow = text_field(frame, "flow", true);
      if (!flow) {
        return flow.error();
      }
      out.flow = std::move(flow).value();
      if (out.flow.empty()) {
        return invalid("'flow' is empty");
      }
      break;
    }
  }
  return out;
}

gateways::Inbound to_inbound(const ClientFrame& frame, std::string_view device,
                             std::string_view contact, std::int64_t now_ms) {
  gateways::Inbound in;
  in.account = std::string(device);
  in.contact = std::string(contact);
  in.provider_message_id = std::string(contact) + ":" + frame.id;
  in.timestamp_ms = now_ms;
  if (frame.type == FrameType::Tap) {
    // The shape a WhatsApp button or list reply has after the Meta gateway read it, so a flow
    // cannot tell the web chat from a phone.
    const std::string title = frame.title.empty() ? frame.payload : frame.title;
    in.message = Value::object({{"type", Value::text(frame.list ? "list" : "button")},
                                {"payload", Value::text(frame.payload)},
                                {"text", Value::text(title)},
                                {"title", Value::text(title)}},
                               vm::Tag::Message);
  } else {
    in.message = Value::object({{"type", Value::text("text")}, {"text", Value::text(frame.text)}},
                               vm::Tag::Message);
  }
  return in;
}

std::string message_frame(std::string_view id, const vm::Value& payload) {
  return dump(Json{{"type", "message"}, {"id", id}, {"payload", json_of(payload)}});
}

std::string typing_frame(std::int64_t ms) {
  return dump(Json{{"type", "typing"}, {"ms", std::max<std::int64_t>(ms, 0)}});
}

std::string ack_frame(std::string_view id) {
  return dump(Json{{"type", "ack"}, {"id", id}});
}

std::string history_frame(const std::vector<HistoryEntry>& entries) {
  Json messages = Json::array();
  for (const HistoryEntry& e : entries) {
    messages.push_back({{"from", e.from_bot ? "bot" : "user"},
                        {"id", e.id},
                        {"timestamp_ms", e.timestamp_ms},
                        {"payload", json_of(e.payload)}});
  }
  return dump(Json{{"type", "history"}, {"messages", std::move(messages)}});
}

std::string error_frame(std::string_view message, std::string_view id) {
  Json frame{{"type", "error"}, {"message", message}};
  if (!id.empty()) {
    frame["id"] = id;
  }
  return dump(frame);
}

}  // namespace waflow::webchat
