#pragma once

// One logical line of a .wf file, as the PEGTL grammar (grammar.cpp) reads it.
//
// The DSL is line-oriented: layout.cpp splits a file into logical lines and
// builds the block tree from indentation; the grammar parses each line into a
// Statement (a keyword and its typed tokens); lower.cpp turns the tree into IR.
// Keeping PEGTL to one translation unit keeps the build fast.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compiler/diagnostic.h"
#include "compiler/ir/expr.h"

namespace waflow::dsl {

enum class TokenKind {
  Word,   // An option keyword inside a statement: caption, retry, into, GET...
  Name,   // An id: a step label, a button id, a flow name, a type name.
  Var,    // A variable: name or scope.name.
  Str,    // A cooked string literal.
  Num,    // A number literal.
  Dur,    // A duration literal: 30s, 5m, 1h30m.
  Expr,   // An expression.
  Raw,    // The rest of the line, verbatim (hours).
  Colon,  // The ':' that introduces a type.
};

struct Token {
  TokenKind kind = TokenKind::Word;
  std::string text;
  double number = 0;
  ir::Expr expr;
  SourceSpan span;
};

struct Statement {
  std::string keyword;
  std::vector<Token> tokens;
  SourceSpan span;
  SourceSpan keyword_span;
};

// The keywords a line may start with (for "did you mean" suggestions).
const std::vector<std::string>& statement_keywords();

// Parses the logical line [begin, end) of `text` (file `file`). On a syntax error
// reports it and returns nothing.
std::optional<Statement> parse_statement(const std::string& text, FileId file,
                                         std::uint32_t begin, std::uint32_t end,
                                         Diagnostics& diags);

}  // namespace waflow::dsl
