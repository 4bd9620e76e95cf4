#pragma once

// A small canonical YAML emitter: a value tree in, YAML text out.
//
// waflow writes YAML itself rather than through YAML::Emitter so that the text
// is fully decided here: two-space indentation, block style for anything
// nested, flow style (`[a, b]`, `{id: x, title: X}`) for short items marked
// compact, and one quoting rule: a string is plain when no YAML 1.1 or 1.2
// reader could take it for anything else (a number, a bool, null, a date),
// single-quoted when it holds double quotes or backslashes, double-quoted with
// escapes otherwise; multi-line strings in block context become literal blocks.
// The output never depends on the locale.

#include <string>
#include <vector>

namespace waflow::yaml {

struct Value;

// A key and its value in a mapping. (A struct rather than std::pair so that
// Value can hold a vector of them while it is still incomplete.)
struct Entry;

struct Value {
  enum class Kind { String, Raw, Sequence, Mapping };
  Kind kind = Kind::String;
  std::string text;  // String: any text, quoted as needed. Raw: written as is.
  std::vector<Value> items;
  std::vector<Entry> entries;  // Keys are plain words.
  bool compact = false;        // Flow style when it fits on the line.

  static Value string(std::string s);
  // Numbers and `true`: text that is already a valid plain YAML scalar.
  static Value raw(std::string s);
  static Value sequence(bool flow_style = false);
  static Value mapping(bool flow_style = false);
  Value& add(std::string key, Value value);
  Value& push(Value value);
};

struct Entry {
  std::string key;
  Value value;
};

// The document for a top-level mapping.
std::string emit(const Value& root);

// True when `text` can be written as a plain scalar (in flow context when
// `in_flow`) and reads back as the same string. Exposed for tests.
bool plain_safe(const std::string& text, bool in_flow);

}  // namespace waflow::yaml
