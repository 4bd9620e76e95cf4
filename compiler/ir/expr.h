#pragma once

// Expressions and text templates of the flow IR.
//
// Expressions are values: a tree of Expr nodes, copyable and comparable, with a
// source span on every node. Text holds a message string that may contain
// {{placeholders}}; its placeholders are parsed on demand (parse_template in
// compiler/dsl/expr_parser.h) so that every front end stores text the same way.

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/base/source.h"

namespace waflow::ir {

// The static type of a value, as far as the compiler can tell.
enum class ValueType {
  Unknown,  // Dynamic data (HTTP bodies, AI output): checked at run time.
  Text,
  Number,
  Bool,
  Date,      // A calendar date.
  DateTime,  // An instant, such as `now`.
  Duration,
  Choice,    // A tapped button or list row: .id, .title.
  Media,     // An inbound file: .url, .mime, .caption.
  Location,  // .latitude, .longitude, .name, .address.
  Object,
  List,
  Null,
};

const char* value_type_name(ValueType type);
bool parse_value_type(const std::string& name, ValueType& type);

enum class Scope {
  Flow,          // Lives while the flow runs (the default for bare names).
  Conversation,  // Lives for the conversation, across called flows.
  Contact,       // Kept for the contact across conversations.
  Message,       // The inbound message being handled (read-only).
  System,        // now, today (read-only).
};

const char* scope_name(Scope scope);

struct VarRef {
  Scope scope = Scope::Flow;
  std::string name;
  SourceSpan span;

  // "address", "contact.language", "conversation.cart".
  std::string qualified() const;
  bool operator==(const VarRef& other) const { return scope == other.scope && name == other.name; }
};

enum class ExprKind {
  Null,
  Bool,      // text is "true" or "false".
  Number,    // text is the literal as written, number its value.
  String,    // text is the cooked string.
  Duration,  // text as written, number in milliseconds.
  Var,       // var.
  Member,    // args[0].text
  Index,     // args[0][args[1]]
  Unary,     // text is the operator: "not", "-".
  Binary,    // text is the operator: "==", "and", "+", "contains", "matches", ...
  Call,      // text is the function name; args are the arguments.
  List,      // [args...]
  Object,    // {keys[i]: args[i]}
};

struct Expr {
  ExprKind kind = ExprKind::Null;
  std::string text;
  double number = 0;
  VarRef var;
  std::vector<Expr> args;
  std::vector<std::string> keys;
  SourceSpan span;
};

// A message string with {{placeholders}}, as written (after escapes are cooked).
struct Text {
  std::string value;
  SourceSpan span;
  // Bytes of the span before the text's first character: an opening quote in
  // the DSL, JSON and quoted YAML; none for a plain YAML scalar.
  std::uint32_t lead = 1;

  bool empty() const { return value.empty(); }
};

struct Duration {
  std::int64_t ms = 0;
  std::string text;  // As written: "30m", "1h30m".
  SourceSpan span;
};

// Parses "30s", "5m", "2h", "1d", "1h30m", "500ms". Returns false when malformed.
bool parse_duration(const std::string& text, std::int64_t& ms);

}  // namespace waflow::ir
