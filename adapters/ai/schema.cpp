// The JSON Schema subset of structured answers. A model's answer is checked here before a
// flow sees it: a provider's "structured outputs" promise does not hold everywhere (JSON mode
// without a schema, llama.cpp grammars, Gemini's OpenAPI subset), so we never rely on it.

#include "adapters/ai/schema.h"

#include <cmath>

#include "adapters/ai/wire.h"

namespace waflow::ai {

namespace {

using wire::Json;

const char* kind_of(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return "a number";
    case Json::value_t::string:
      return "a text";
    case Json::value_t::array:
      return "a list";
    case Json::value_t::object:
      return "an object";
    default:
      return "something else";
  }
}

bool is_integer(const Json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) {
    return true;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    return std::isfinite(d) && std::floor(d) == d;
  }
  return false;
}

bool has_type(const Json& v, std::string_view type) {
  if (type == "object") {
    return v.is_object();
  }
  if (type == "array") {
    return v.is_array();
  }
  if (type == "string") {
    return v.is_string();
  }
  if (type == "number") {
    return v.is_number();
  }
  if (type == "integer") {
    return is_integer(v);
  }
  if (type == "boolean") {
    return v.is_boolean();
  }
  if (type == "null") {
    return v.is_null();
  }
  return true;  // an unknown type name constrains nothing
}

std::optional<std::string> check(const Json& schema, const Json& v, const std::string& path,
                                 int depth) {
  if (depth > 64) {
    return path + ": the schema nests too deeply";
  }
  if (!schema.is_object()) {
    return std::nullopt;  // true/false schemas and junk: nothing to check
  }
  if (v.is_null() && schema.value("nullable", false)) {
    return std::nullopt;
  }
  if (const Json* type = wire::field(schema, "type")) {
    std::string names;
    bool ok = false;
    if (type->is_string()) {
      names = type->get<std::string>();
      ok = has_type(v, names);
    } else if (type->is_array()) {
      for (const Json& t : *type) {
        if (t.is_string()) {
          names += (names.empty() ? "" : " or ") + t.get<std::string>();
          ok = ok || has_type(v, t.get<std::string>());
        }
      }
    } else {
      ok = true;
    }
    if (!ok) {
      return path + ": expected " + names + ", got " + kind_of(v);
    }
  }
  if (const Json* options = wire::field(schema, "enum");
      options != nullptr && options->is_array()) {
    bool found = false;
    for (const Json& o : *options) {
      found = found || o == v;
    }
    if (!found) {
      return path + ": " + wire::dump(v).substr(0, 80) + " is not one of " +
             wire::dump(*options).substr(0, 200);
    }
  }
  if (v.is_object()) {
    const Json* properties = wire::field(schema, "properties");
    if (const Json* required = wire::field(schema, "required");
        required != nullptr && required->is_array()) {
      for (const Json& name : *required) {
        if (name.is_string() && !v.contains(name.get<std::string>())) {
          return path + ": the required field '" + name.get<std::string>() + "' is missing";
        }
      }
    }
    const Json* extra = wire::field(schema, "additionalProperties");
    for (const auto& [key, member] : v.items()) {
      const Json* sub =
          properties != nullptr && properties->is_object() && properties->contains(key)
              ? &(*properties)[key]
              : nullptr;
      if (sub == nullptr && extra != nullptr) {
        if (extra->is_boolean() && !extra->get<bool>()) {
          return path + ": the field '" + key + "' is not in the schema";
        }
        sub = extra;
      }
      if (sub != nullptr) {
        if (std::optional<std::string> why = check(*sub, member, path + "." + key, depth + 1)) {
          return why;
        }
      }
    }
  }
  if (v.is_array()) {
    const std::int64_t min = wire::integer(schema, "minItems");
    if (wire::field(schema, "minItems") != nullptr && static_cast<std::int64_t>(v.size()) < min) {
      return path + ": expected at least " + std::to_string(min) + " items, got " +
             std::to_string(v.size());
    }
    if (wire::field(schema, "maxItems") != nullptr &&
        static_cast<std::int64_t>(v.size()) > wire::integer(schema, "maxItems")) {
      return path + ": expected at most " + std::to_string(wire::integer(schema, "maxItems")) +
             " items, got " + std::to_string(v.size());
    }
    if (const Json* items = wire::field(schema, "items")) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (std::optional<std::string> why =
                check(*items, v[i], path + "[" + std::to_string(i) + "]", depth + 1)) {
          return why;
        }
      }
    }
  }
  return std::nullopt;
}

std::string upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return s;
}

// Gemini's Schema object: https://ai.google.dev/api/caching#Schema (type, format,
// description, nullable, enum, properties, required, items, minItems, maxItems,
// propertyOrdering).
Json to_gemini(const Json& schema, int depth) {
  Json out = Json::object();
  if (!schema.is_object() || depth > 64) {
    return out;
  }
  if (const Json* type = wire::field(schema, "type")) {
    if (type->is_string()) {
      out["type"] = upper(type->get<std::string>());
    } else if (type->is_array()) {
      for (const Json& t : *type) {
        if (!t.is_string()) {
          continue;
        }
        if (t.get<std::string>() == "null") {
          out["nullable"] = true;
        } else if (!out.contains("type")) {
          out["type"] = upper(t.get<std::string>());
        }
      }
    }
  }
  for (const char* key : {"format", "description"}) {
    if (const Json* f = wire::field(schema, key); f != nullptr && f->is_string()) {
      out[key] = *f;
    }
  }
  if (schema.value("nullable", false)) {
    out["nullable"] = true;
  }
  if (const Json* options = wire::field(schema, "enum");
      options != nullptr && options->is_array()) {
    // Gemini's enum takes texts only (with type STRING).
    Json texts = Json::array();
    for (const Json& o : *options) {
      texts.push_back(o.is_string() ? o.get<std::string>() : wire::dump(o));
    }
    out["enum"] = texts;
    out["type"] = "STRING";
  }
  if (const Json* props = wire::field(schema, "properties");
      props != nullptr && props->is_object()) {
    Json converted = Json::object();
    Json order = Json::array();
    for (const auto& [key, sub] : props->items()) {
      converted[key] = to_gemini(sub, depth + 1);
      order.push_back(key);
    }
    out["properties"] = converted;
    if (const Json* required = wire::field(schema, "required");
        required != nullptr && required->is_array()) {
      out["required"] = *required;
    }
    out["propertyOrdering"] = order;
  }
  if (const Json* items = wire::field(schema, "items")) {
    out["items"] = to_gemini(*items, depth + 1);
  }
  for (const char* key : {"minItems", "maxItems"}) {
    if (const Json* f = wire::field(schema, key); f != nullptr && f->is_number()) {
      out[key] = std::to_string(wire::integer(schema, key));  // int64 as text, per the API
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> validate_json(std::string_view schema_json,
                                         std::string_view value_json) {
  const std::optional<Json> schema = wire::parse_object(schema_json);
  if (!schema) {
    return std::string("the schema is not a JSON object");
  }
  const std::optional<Json> value = wire::parse_json(value_json);
  if (!value) {
    return std::string("the answer is not JSON");
  }
  return check(*schema, *value, "$", 0);
}

std::optional<std::string> gemini_schema(std::string_view schema_json) {
  const std::optional<Json> schema = wire::parse_object(schema_json);
  if (!schema) {
    return std::nullopt;
  }
  return wire::dump(to_gemini(*schema, 0));
}

}  // namespace waflow::ai
