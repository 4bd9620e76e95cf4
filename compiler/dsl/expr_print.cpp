// Printing expressions back to source, and splitting {{templates}}.

#include <string>

#include "compiler/dsl/expr_parser.h"

namespace waflow::dsl {

namespace {

int precedence_of(const ir::Expr& e) {
  if (e.kind == ir::ExprKind::Binary) {
    const std::string& op = e.text;
    if (op == "or") {
      return 1;
    }
    if (op == "and") {
      return 2;
    }
    if (op == "+" || op == "-") {
      return 5;
    }
    if (op == "*" || op == "/" || op == "%") {
      return 6;
    }
    return 4;  // Comparisons.
  }
  if (e.kind == ir::ExprKind::Unary) {
    return e.text == "not" ? 3 : 7;
  }
  return 8;
}

void print(const ir::Expr& e, std::string& out);

void print_child(const ir::Expr& child, int min_precedence, std::string& out) {
  const bool parens = precedence_of(child) < min_precedence;
  if (parens) {
    out += '(';
  }
  print(child, out);
  if (parens) {
    out += ')';
  }
}

void print_list(const std::vector<ir::Expr>& items, std::string& out) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      out += ", ";
    }
    print(items[i], out);
  }
}

bool is_identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) != 0 || s[0] == '_')) {
    return false;
  }
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_')) {
      return false;
    }
  }
  return true;
}

void print(const ir::Expr& e, std::string& out) {
  switch (e.kind) {
    case ir::ExprKind::Null:
      out += "null";
      return;
    case ir::ExprKind::Bool:
    case ir::ExprKind::Number:
    case ir::ExprKind::Duration:
      out += e.text;
      return;
    case ir::ExprKind::String:
      out += quote_string(e.text);
      return;
    case ir::ExprKind::Var:
      out += e.var.qualified();
      return;
    case ir::ExprKind::Member:
      print_child(e.args[0], 8, out);
      out += '.';
      out += e.text;
      return;
    case ir::ExprKind::Index:
      print_child(e.args[0], 8, out);
      out += '[';
      print(e.args[1], out);
      out += ']';
      return;
    case ir::ExprKind::Unary:
      out += e.text;
      if (e.text == "not") {
        out += ' ';
      }
      print_child(e.args[0], precedence_of(e), out);
      return;
    case ir::ExprKind::Binary: {
      const int p = precedence_of(e);
      // Comparisons do not chain; both sides bind tighter. Others are left-associative.
      print_child(e.args[0], p == 4 ? 5 : p, out);
      out += ' ';
      out += e.text;
      out += ' ';
      print_child(e.args[1], p + 1, out);
      return;
    }
    case ir::ExprKind::Call:
      out += e.text;
      out += '(';
      print_list(e.args, out);
      out += ')';
      return;
    case ir::ExprKind::List:
      out += '[';
      print_list(e.args, out);
      out += ']';
      return;
    case ir::ExprKind::Object:
      out += '{';
      for (std::size_t i = 0; i < e.args.size(); ++i) {
        if (i > 0) {
          out += ", ";
        }
        out += is_identifier(e.keys[i]) ? e.keys[i] : quote_string(e.keys[i]);
        out += ": ";
        print(e.args[i], out);
      }
      out += '}';
      return;
  }
}

}  // namespace

std::string print_expression(const ir::Expr& expr) {
  std::string out;
  print(expr, out);
  return out;
}

std::string quote_string(std::string_view value) {
  std::string out = "\"";
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        // A template escape \{ stays as written.
        if (i + 1 < value.size() && value[i + 1] == '{') {
          out += "\\{";
          ++i;
        } else {
          out += "\\\\";
        }
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  out += '"';
  return out;
}

std::vector<TemplatePart> parse_template(const ir::Text& text, Diagnostics& diags) {
  std::vector<TemplatePart> parts;
  const std::string& s = text.value;
  // Offsets inside the text map to the source from where its characters start
  // (after an opening quote); exact when no escapes come first.
  const std::uint32_t origin = text.span.valid() ? text.span.begin + text.lead : 0;
  std::string literal;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '{') {
      literal += '{';
      i += 2;
      continue;
    }
    if (s.compare(i, 2, "{{") != 0) {
      literal += s[i++];
      continue;
    }
    const std::size_t close = s.find("}}", i + 2);
    const auto at = static_cast<std::uint32_t>(origin + i);
    if (close == std::string::npos) {
      diags.report(DiagnosticKind::BadTemplate, SourceSpan{text.span.file, at, at + 2},
                   "'{{' is not closed by '}}'");
      literal += s.substr(i);
      break;
    }
    if (!literal.empty()) {
      parts.push_back(TemplatePart{false, std::move(literal), {}});
      literal.clear();
    }
    const std::string inner = s.substr(i + 2, close - i - 2);
    const SourceSpan inner_span{text.span.file, static_cast<std::uint32_t>(origin + i + 2),
                                static_cast<std::uint32_t>(origin + close)};
    if (inner.find_first_not_of(" \t") == std::string::npos) {
      diags.report(DiagnosticKind::BadTemplate,
                   SourceSpan{text.span.file, at, static_cast<std::uint32_t>(origin + close + 2)},
                   "empty placeholder");
    } else if (auto expr = parse_expression(inner, inner_span, diags)) {
      parts.push_back(TemplatePart{true, {}, std::move(*expr)});
    }
    i = close + 2;
  }
  if (!literal.empty()) {
    parts.push_back(TemplatePart{false, std::move(literal), {}});
  }
  return parts;
}

}  // namespace waflow::dsl
