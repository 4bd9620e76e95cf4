#pragma once

// Where each value of a JSON text sits: the visual front end's source map.
//
// nlohmann::json gives values but no positions, so the reader scans the same
// text once more with this small scanner and asks it for the byte range of a
// value, by JSON pointer ("/flows/0/nodes/3/data/text") or step by step
// (member, element). Diagnostics get line:col from these ranges.
//
// The scanner expects text that a JSON parser has accepted; on anything else it
// stops early and simply knows fewer values, never reading out of bounds. Values
// are kept in one flat vector (about 28 bytes each) with each container's
// children contiguous, so arrays index in O(1) and huge files stay cheap.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace waflow::visual {

// A byte range [begin, end) of the text.
struct ByteRange {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

class JsonLocator {
 public:
  using Ref = std::uint32_t;
  static constexpr Ref kNone = 0xffffffffU;

  explicit JsonLocator(std::string_view text);

  // The top-level value, or kNone for a text without one.
  Ref root() const { return values_.empty() ? kNone : 0; }
  // The value of `key` in an object (the last, when a key repeats), or kNone.
  Ref member(Ref object, std::string_view key) const;
  // The index-th element of an array, or kNone.
  Ref element(Ref array, std::size_t index) const;
  // The children of a container in text order: members of an object, elements
  // of an array.
  std::size_t child_count(Ref container) const;
  Ref child(Ref container, std::size_t index) const;
  // The decoded key of an object member.
  std::string key_of(Ref value) const;

  // The value including its quotes or brackets.
  ByteRange range(Ref value) const;
  // The member's key including its quotes (the value's range for array elements).
  ByteRange key_range(Ref value) const;

  // Resolves an RFC 6901 pointer; where the path stops existing, the range of
  // the deepest value that does exist ("" is the whole document).
  ByteRange locate(std::string_view pointer) const;

 private:
  struct Value {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
    std::uint32_t key_begin = 0;  // Equal to key_end for array elements and the root.
    std::uint32_t key_end = 0;
    std::uint32_t first_child = 0;  // Into children_.
    std::uint32_t child_count = 0;
    bool object = false;
  };

  std::string_view text_;
  std::vector<Value> values_;
  std::vector<Ref> children_;

  void scan();
  bool key_equals(const Value& value, std::string_view key) const;
};

// Decodes the body of a JSON string (without its quotes): escapes, \uXXXX and
// surrogate pairs. Malformed escapes are kept as written.
std::string decode_json_string(std::string_view body);

// Escapes one reference token of a JSON pointer (~ as ~0, / as ~1).
std::string escape_pointer_token(std::string_view token);

}  // namespace waflow::visual
