#pragma once

// Run-time values of the VM: null, yes/no, numbers, texts, lists and objects.
//
// Lists and objects are immutable and shared, so copying a value is cheap and a
// value can never change under a run that holds it. A tag marks what a value
// stands for (a tapped choice, a media file, a date...), which decides how it
// prints in a message and how it compares.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace waflow::vm {

enum class Tag : std::uint8_t {
  None,
  Choice,    // {id, title}: prints as its title, equals its id or title.
  Media,     // {type, url, mime, caption}: prints as its url.
  Location,  // {latitude, longitude, name, address}.
  Date,      // A text "YYYY-MM-DD".
  DateTime,  // A number: milliseconds since the Unix epoch (UTC).
  Duration,  // A number of milliseconds.
  Message,   // An inbound message object.
};

class Value {
 public:
  using List = std::vector<Value>;
  using Object = std::vector<std::pair<std::string, Value>>;
  enum class Type : std::uint8_t { Null, Bool, Number, Text, List, Object };

  Value() = default;
  static Value boolean(bool v);
  static Value number(double v, Tag tag = Tag::None);
  static Value text(std::string v, Tag tag = Tag::None);
  static Value list(List items);
  static Value object(Object fields, Tag tag = Tag::None);

  Type type() const { return static_cast<Type>(data_.index()); }
  Tag tag() const { return tag_; }
  bool is_null() const { return type() == Type::Null; }
  bool is_text() const { return type() == Type::Text; }
  bool is_number() const { return type() == Type::Number; }

  bool as_bool() const { return std::get<bool>(data_); }
  double as_number() const { return std::get<double>(data_); }
  const std::string& as_text() const { return std::get<std::string>(data_); }
  const List& as_list() const { return *std::get<std::shared_ptr<const List>>(data_); }
  const Object& as_object() const { return *std::get<std::shared_ptr<const Object>>(data_); }

  // The field `name` of an object, or nullptr.
  const Value* field(std::string_view name) const;
  // Whether the value counts as true in a condition.
  bool truthy() const;
  // How the value reads in a message.
  std::string to_text() const;
  // A short name of the value's kind for error messages ("a number").
  std::string kind_name() const;

  friend bool operator==(const Value& a, const Value& b);

 private:
  std::variant<std::monostate, bool, double, std::string, std::shared_ptr<const List>,
               std::shared_ptr<const Object>>
      data_;
  Tag tag_ = Tag::None;
};

// Formats a number the shortest way that reads back exactly ("3", "2.5").
std::string format_number(double v);

// Sorted name -> value map of a scope's variables.
class VarMap {
 public:
  const Value* find(std::string_view name) const;
  // Setting null removes the variable.
  void set(std::string_view name, Value value);
  // Adds a variable known to sort after every present one (decoding a sorted
  // map); falls back to set() otherwise.
  void append(std::string name, Value value);
  void reserve(std::size_t n) { items_.reserve(n); }
  const std::vector<std::pair<std::string, Value>>& items() const { return items_; }
  std::size_t size() const { return items_.size(); }
  bool operator==(const VarMap& other) const = default;

 private:
  std::vector<std::pair<std::string, Value>> items_;
};

// JSON text <-> values (objects keep key order; numbers are doubles).
std::string to_json(const Value& value);
// Parses JSON; returns false on malformed input.
bool from_json(std::string_view text, Value& out);

}  // namespace waflow::vm
