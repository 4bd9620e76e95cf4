#include "runtime/vm/value.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace waflow::vm {

Value Value::boolean(bool v) {
  Value out;
  out.data_ = v;
  return out;
}

Value Value::number(double v, Tag tag) {
  Value out;
  out.data_ = v;
  out.tag_ = tag;
  return out;
}

Value Value::text(std::string v, Tag tag) {
  Value out;
  out.data_ = std::move(v);
  out.tag_ = tag;
  return out;
}

Value Value::list(List items) {
  Value out;
  out.data_ = std::make_shared<const List>(std::move(items));
  return out;
}

Value Value::object(Object fields, Tag tag) {
  Value out;
  out.data_ = std::make_shared<const Object>(std::move(fields));
  out.tag_ = tag;
  return out;
}

const Value* Value::field(std::string_view name) const {
  if (type() != Type::Object) {
    return nullptr;
  }
  for (const auto& [key, value] : as_object()) {
    if (key == name) {
      return &value;
    }
  }
  return nullptr;
}

bool Value::truthy() const {
  switch (type()) {
    case Type::Null:
      return false;
    case Type::Bool:
      return as_bool();
    case Type::Number:
      return as_number() != 0;
    case Type::Text:
      return !as_text().empty();
    case Type::List:
      return !as_list().empty();
    case Type::Object:
      return true;
  }
  return false;
}

std::string format_number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    return fmt::format("{}", static_cast<long long>(v));
  }
  return fmt::format("{}", v);
}

std::string Value::to_text() const {
  switch (type()) {
    case Type::Null:
      return "";
    case Type::Bool:
      return as_bool() ? "yes" : "no";
    case Type::Number:
      if (tag_ == Tag::Duration) {
        return format_number(as_number() / 1000) + "s";
      }
      return format_number(as_number());
    case Type::Text:
      return as_text();
    case Type::List: {
      std::string out;
      for (const Value& v : as_list()) {
        out += out.empty() ? "" : ", ";
        out += v.to_text();
      }
      return out;
    }
    case Type::Object:
      if (tag_ == Tag::Choice) {
        const Value* title = field("title");
        return title != nullptr ? title->to_text() : "";
      }
      if (tag_ == Tag::Media) {
        const Value* url = field("url");
        return url != nullptr ? url->to_text() : "";
      }
      if (tag_ == Tag::Message) {
        const Value* text = field("text");
        return text != nullptr ? text->to_text() : "";
      }
      if (tag_ == Tag::Location) {
        const Value* lat = field("latitude");
        const Value* lng = field("longitude");
        return (lat != nullptr ? lat->to_text() : "") + "," +
               (lng != nullptr ? lng->to_text() : "");
      }
      return to_json(*this);
  }
  return "";
}

std::string Value::kind_name() const {
  switch (type()) {
    case Type::Null:
      return "nothing";
    case Type::Bool:
      return "yes/no";
    case Type::Number:
      return tag_ == Tag::DateTime   ? "date and time"
             : tag_ == Tag::Duration ? "duration"
                                     : "number";
    case Type::Text:
      return tag_ == Tag::Date ? "date" : "text";
    case Type::List:
      return "list";
    case Type::Object:
      return tag_ == Tag::Choice ? "choice" : tag_ == Tag::Media ? "media" : "object";
  }
  return "value";
}

bool operator==(const Value& a, const Value& b) {
  // A choice equals its id or its title.
  if (a.tag_ == Tag::Choice && b.tag_ != Tag::Choice) {
    const Value* id = a.field("id");
    const Value* title = a.field("title");
    return (id != nullptr && *id == b) || (title != nullptr && *title == b);
  }
  if (b.tag_ == Tag::Choice && a.tag_ != Tag::Choice) {
    return b == a;
  }
  if (a.type() != b.type()) {
    return false;
  }
  switch (a.type()) {
    case Value::Type::Null:
      return true;
    case Value::Type::Bool:
      return a.as_bool() == b.as_bool();
    case Value::Type::Number:
      return a.as_number() == b.as_number();
    case Value::Type::Text:
      return a.as_text() == b.as_text();
    case Value::Type::List:
      return a.as_list() == b.as_list();
    case Value::Type::Object:
      return a.as_object() == b.as_object();
  }
  return false;
}

const Value* VarMap::find(std::string_view name) const {
  auto it = std::lower_bound(items_.begin(), items_.end(), name,
                             [](const auto& item, std::string_view n) { return item.first < n; });
  if (it != items_.end() && it->first == name) {
    return &it->second;
  }
  return nullptr;
}

void VarMap::set(std::string_view name, Value value) {
  auto it = std::lower_bound(items_.begin(), items_.end(), name,
                             [](const auto& item, std::string_view n) { return item.first < n; });
  const bool exists = it != items_.end() && it->first == name;
  if (value.is_null()) {
    if (exists) {
      items_.erase(it);
    }
    return;
  }
  if (exists) {
    it->second = std::move(value);
  } else {
    items_.emplace(it, std::string(name), std::move(value));
  }
}

void VarMap::append(std::string name, Value value) {
  if (!value.is_null() && (items_.empty() || items_.back().first < name)) {
    items_.emplace_back(std::move(name), std::move(value));
    return;
  }
  set(name, std::move(value));
}

}  // namespace waflow::vm
