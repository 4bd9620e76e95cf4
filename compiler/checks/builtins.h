#pragma once

// The built-ins of the flow language: the variables the host provides and the
// functions expressions may call. Declared once, here: the variable and type
// checks read this table, docs/functions.md lists it, and the runtime evaluates
// calls by the same names with the same arity and types.
//
// Every built-in variable is read-only. `now` and `today` are in the business time
// zone (the file's `timezone`, UTC when it has none). A function parameter of kind
// Time accepts a date or a date and time.
//
// Regular expressions (trigger regex, ask patterns, `matches`) use one dialect
// everywhere: ECMAScript as std::regex implements it. regex_error is the single
// place that decides whether a pattern is valid, for the compiler and the runtime.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "compiler/ir/expr.h"

namespace waflow::builtins {

struct Variable {
  ir::Scope scope;
  std::string_view name;  // Without its scope: "name" for contact.name.
  ir::ValueType type;
  std::string_view doc;
};

// What a function parameter accepts.
enum class ArgKind {
  Any,
  Text,
  Number,
  Time,  // A date or a date and time.
  List,
  TextOrList,
};

// How a function's result type follows from its arguments.
enum class ResultRule {
  Fixed,        // Always `result`.
  SameAsFirst,  // The first argument's type (default(x, fallback)).
};

inline constexpr int kVariadic = -1;
inline constexpr std::size_t kMaxParams = 3;

struct Function {
  std::string_view name;
  std::string_view group;  // "Text", "Numbers", ...: the section of docs/functions.md.
  int min_args;
  int max_args;  // kVariadic: no upper bound; the last parameter kind repeats.
  ArgKind params[kMaxParams];
  ir::ValueType result;
  ResultRule rule;
  std::string_view signature;  // "substring(text, start, length?)"
  std::string_view doc;
};

// Every built-in variable, grouped by scope, in documentation order.
std::span<const Variable> variables();
// Every built-in function, grouped, in documentation order.
std::span<const Function> functions();

const Variable* find_variable(ir::Scope scope, std::string_view name);
const Function* find_function(std::string_view name);

// The parameter kind of argument `index` (0-based) of `fn`.
ArgKind param_kind(const Function& fn, std::size_t index);
// Whether `fn` accepts `count` arguments.
bool accepts_arity(const Function& fn, std::size_t count);
// The accepted argument counts in words: "1", "1 or 2", "2 to 3", "at least 2".
std::string arity_text(const Function& fn);
// Whether a value of `type` fits a parameter of kind `kind` (Unknown and null fit all).
bool accepts(ArgKind kind, ir::ValueType type);
// "text", "a number", "a date", ...: what a parameter wants, for messages.
std::string_view arg_kind_text(ArgKind kind);

// Why `pattern` is not a valid regular expression, or nothing when it is.
std::optional<std::string> regex_error(std::string_view pattern);

}  // namespace waflow::builtins
