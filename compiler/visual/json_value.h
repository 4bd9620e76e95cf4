#pragma once

// A small ordered JSON value and its printer, for writing visual files.
//
// The writer needs members in a fixed order and numbers exactly as they should
// read (an integer as "280", a coordinate as "12.5", a literal as written), so it
// builds this tree instead of a nlohmann::json and prints it in the same layout
// as nlohmann's dump(2): 2-space indentation, empty containers as {} and [].

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace waflow::visual {

class JsonValue {
 public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  JsonValue() = default;
  static JsonValue string(std::string value);
  static JsonValue boolean(bool value);
  // A number from its JSON text; `text` must be a valid JSON number.
  static JsonValue number_text(std::string text);
  // Integers print without a fraction; others in their shortest exact form.
  static JsonValue number(double value);
  static JsonValue array();
  static JsonValue object();

  Kind kind() const { return kind_; }
  // Appends a member (objects) and returns it.
  JsonValue& set(std::string key, JsonValue value);
  // Appends an element (arrays) and returns it.
  JsonValue& push(JsonValue value);
  bool empty() const { return members_.empty() && items_.empty(); }

  // Pretty-printed with 2-space indentation, ending without a newline.
  std::string dump() const;

 private:
  Kind kind_ = Kind::Null;
  std::string text_;
  std::vector<std::pair<std::string, JsonValue>> members_;
  std::vector<JsonValue> items_;

  void print(std::string& out, std::size_t indent) const;
};

// Whether `text` is a JSON number literal (RFC 8259 grammar).
bool is_json_number(std::string_view text);

// Quotes and escapes a string for JSON.
std::string json_quote(std::string_view value);

}  // namespace waflow::visual
