#pragma once

// Expressions and {{templates}}, shared by all three front ends.
//
// The DSL parses expressions inline; YAML and visual flows keep them as strings
// ("lower(answer) == 'yes'") and call parse_expression with the span of that
// string, so diagnostics point into the YAML or JSON file. print_expression is
// the inverse, used by `waflow convert` and the canonical IR dump.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/diagnostic.h"
#include "compiler/ir/expr.h"

namespace waflow::dsl {

// Parses `text`, whose first byte sits at `origin` in its file. Reports syntax
// errors into `diags` and returns nothing when the text is not an expression.
std::optional<ir::Expr> parse_expression(std::string_view text, SourceSpan origin,
                                         Diagnostics& diags);

// Canonical source form: minimal parentheses, double-quoted strings.
std::string print_expression(const ir::Expr& expr);

struct TemplatePart {
  bool is_expr = false;
  std::string literal;
  ir::Expr expr;
};

// Splits a text into literal parts and {{expression}} parts. `text.span` is the
// span of the text in its source (for a quoted string, including the quotes).
std::vector<TemplatePart> parse_template(const ir::Text& text, Diagnostics& diags);

// Quotes a string for the DSL: "..." with \" \\ \n \t escapes and \{ before {{
// that is not a placeholder.
std::string quote_string(std::string_view value);

}  // namespace waflow::dsl
