// JSON conversion of run-time values. The only file of the VM library that sees
// nlohmann/json.

#include <nlohmann/json.hpp>

#include "runtime/vm/value.h"

namespace waflow::vm {

namespace {

using Json = nlohmann::ordered_json;

Json to_json_value(const Value& v) {
  switch (v.type()) {
    case Value::Type::Null:
      return nullptr;
    case Value::Type::Bool:
      return v.as_bool();
    case Value::Type::Number: {
      const double d = v.as_number();
      if (d == static_cast<double>(static_cast<long long>(d)) && std::abs(d) < 9e15) {
        return static_cast<long long>(d);
      }
      return d;
    }
    case Value::Type::Text:
      return v.as_text();
    case Value::Type::List: {
      Json out = Json::array();
      for (const Value& item : v.as_list()) {
        out.push_back(to_json_value(item));
      }
      return out;
    }
    case Value::Type::Object: {
      Json out = Json::object();
      for (const auto& [key, item] : v.as_object()) {
        out[key] = to_json_value(item);
      }
      return out;
    }
  }
  return nullptr;
}

Value from_json_value(const Json& j, int depth) {
  if (depth > 128) {
    return {};
  }
  switch (j.type()) {
    case Json::value_t::boolean:
      return Value::boolean(j.get<bool>());
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return Value::number(j.get<double>());
    case Json::value_t::string:
      return Value::text(j.get<std::string>());
    case Json::value_t::array: {
      Value::List items;
      for (const Json& item : j) {
        items.push_back(from_json_value(item, depth + 1));
      }
      return Value::list(std::move(items));
    }
    case Json::value_t::object: {
      Value::Object fields;
      for (auto it = j.begin(); it != j.end(); ++it) {
        fields.emplace_back(it.key(), from_json_value(it.value(), depth + 1));
      }
      return Value::object(std::move(fields));
    }
    default:
      return {};
  }
}

}  // namespace

std::string to_json(const Value& value) {
  return to_json_value(value).dump();
}

bool from_json(std::string_view text, Value& out) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    return false;
  }
  out = from_json_value(j, 0);
  return true;
}

}  // namespace waflow::vm
