// Type checks: the static type of every expression, and the values of options
// that have a fixed form (regexes, durations, time zones, hours, cron lines,
// URLs, HTTP methods, JSON paths, number ranges, ask shapes, match cases).
//
// Types come from literals, operators, the built-ins (builtins.h), capture types,
// `var` declarations and what each step stores. A variable's type is its
// declared type or, undeclared, the type every step that sets it agrees on
// (Unknown when they disagree); `set x = y` follows y, so types are computed to a
// fixed point (at most 16 rounds; what is still open then is Unknown) before
// anything is reported. Unknown (HTTP bodies, AI output) is
// never an error: it is checked at run time.
//
// Decisions the runtime follows too:
//   - A choice is read through .id or .title; compared with text or passed where
//     text is wanted it is a type mismatch (in a {{placeholder}} it shows its title).
//   - `+` adds numbers, joins two texts, and moves dates by durations.
//   - A condition that is not yes/no is true when it is not empty (is_empty()).
//   - The fields of an HTTP response are read through `map NAME = "$.path"`:
//     X.status and X.NAME are fine, anything under X.body is WF0305.
//   - Time zones are checked against an embedded list of IANA names (timezones.inc),
//     not the machine's tz database, so results do not depend on the machine.

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <deque>
#include <initializer_list>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include "compiler/checks/builtins.h"
#include "compiler/checks/passes.h"
#include "compiler/checks/step_values.h"
#include "compiler/dsl/expr_parser.h"
#include "compiler/ir/walk.h"

namespace waflow::checks {

namespace {

using ir::ExprKind;
using ir::Scope;
using ir::ValueType;

constexpr std::string_view kTimeZones[] = {
#include "compiler/checks/timezones.inc"
};

// What an object value is, when the checker knows its fields.
enum class Shape { Open, HttpResult, Record, Extracted, Literal };

struct Type {
  ValueType type = ValueType::Unknown;
  Shape shape = Shape::Open;
  std::map<std::string, ValueType> fields;  // For every shape but Open.
  const ir::Step* origin = nullptr;         // The http step of an HttpResult.

  bool operator==(const Type& o) const {
    return type == o.type && shape == o.shape && fields == o.fields && origin == o.origin;
  }
};

Type of(ValueType t) {
  return Type{t, Shape::Open, {}, nullptr};
}

bool known(ValueType t) {
  return t != ValueType::Unknown && t != ValueType::Null;
}

std::string describe(ValueType t) {
  switch (t) {
    case ValueType::Unknown:
      return "a value of unknown type";
    case ValueType::Text:
      return "text";
    case ValueType::Number:
      return "a number";
    case ValueType::Bool:
      return "a yes/no value";
    case ValueType::Date:
      return "a date";
    case ValueType::DateTime:
      return "a date and time";
    case ValueType::Duration:
      return "a duration";
    case ValueType::Choice:
      return "a choice";
    case ValueType::Media:
      return "a media file";
    case ValueType::Location:
      return "a location";
    case ValueType::Object:
      return "an object";
    case ValueType::List:
      return "a list";
    case ValueType::Null:
      return "null";
  }
  return "a value";
}

std::string describe(const Type& t) {
  if (t.type == ValueType::Object) {
    switch (t.shape) {
      case Shape::HttpResult:
        return "an HTTP result";
      case Shape::Record:
        return "a stored record";
      case Shape::Extracted:
        return "an ai extract result";
      case Shape::Open:
      case Shape::Literal:
        break;
    }
  }
  return describe(t.type);
}

bool is_time(ValueType t) {
  return t == ValueType::Date || t == ValueType::DateTime;
}

// The kinds that compare with each other: dates with date-times, otherwise equal types.
int comparison_group(ValueType t) {
  return is_time(t) ? static_cast<int>(ValueType::Date) : static_cast<int>(t);
}

// Whether a value of `actual` may go into a variable declared as `declared`.
bool fits(ValueType declared, ValueType actual) {
  return !known(actual) || declared == ValueType::Unknown ||
         comparison_group(declared) == comparison_group(actual);
}

std::string quoted(const ir::Expr& e) {
  return "'" + dsl::print_expression(e) + "'";
}

Type merge(const Type& a, const Type& b) {
  if (a.type == ValueType::Null) {
    return b;
  }
  if (b.type == ValueType::Null || a == b) {
    return a;
  }
  if (a.type != b.type) {
    return of(ValueType::Unknown);
  }
  if (a.type == ValueType::Object) {
    if (a.shape != b.shape || a.shape == Shape::Open) {
      return of(ValueType::Object);
    }
    Type out = a;
    for (const auto& [name, type] : b.fields) {
      auto [it, inserted] = out.fields.emplace(name, type);
      if (!inserted && it->second != type) {
        it->second = ValueType::Unknown;
      }
    }
    return out;
  }
  return a;
}

Type declared_type(const ir::VarDecl& decl) {
  return of(decl.type);
}

// --- Fixed forms -----------------------------------------------------------------

// Why a cron line is invalid, or "" when it is fine.
std::string cron_error(const std::string& line) {
  struct Field {
    const char* name;
    int min;
    int max;
    std::array<std::string_view, 12> names;  // Index 0 is `min`.
  };
  static const std::array<Field, 5> kFields = {{
      {"minute", 0, 59, {}},
      {"hour", 0, 23, {}},
      {"day of month", 1, 31, {}},
      {"month",
       1,
       12,
       {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
      {"day of week", 0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
  }};
  std::vector<std::string> parts;
  std::string current;
  for (char c : line) {
    if (c == ' ' || c == '\t') {
      if (!current.empty()) {
        parts.push_back(std::move(current));
        current.clear();
      }
    } else {
      current += c;
    }
  }
  if (!current.empty()) {
    parts.push_back(std::move(current));
  }
  if (parts.size() != 5) {
    return fmt::format("expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                       parts.size());
  }
  auto value = [](const Field& f, std::string_view text, int& out) {
    if (text.empty()) {
      return false;
    }
    if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      if (text.size() > 3) {
        return false;
      }
      out = std::stoi(std::string(text));
      return true;
    }
    std::string lower;
    for (char c : text) {
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    for (std::size_t i = 0; i < f.names.size(); ++i) {
      if (!f.names[i].empty() && f.names[i] == lower) {
        out = f.min + static_cast<int>(i);
        return true;
      }
    }
    return false;
  };
  for (std::size_t i = 0; i < 5; ++i) {
    const Field& f = kFields[i];
    const std::string& part = parts[i];
    std::size_t start = 0;
    while (start <= part.size()) {
      std::size_t comma = part.find(',', start);
      if (comma == std::string::npos) {
        comma = part.size();
      }
      std::string_view item(part.data() + start, comma - start);
      const std::size_t slash = item.find('/');
      std::string_view range = item.substr(0, slash);
      int step = 1;
      if (slash != std::string_view::npos) {
        const std::string_view step_text = item.substr(slash + 1);
        if (step_text.empty() || step_text.size() > 3 ||
            !std::all_of(step_text.begin(), step_text.end(),
                         [](char c) { return c >= '0' && c <= '9'; }) ||
            (step = std::stoi(std::string(step_text))) < 1 || step > f.max) {
          return fmt::format("'{}' is not a valid step for the {} field", item, f.name);
        }
      }
      if (range != "*") {
        const std::size_t dash = range.find('-');
        int lo = 0;
        int hi = 0;
        const bool ok = dash == std::string_view::npos ? value(f, range, lo) && ((hi = lo), true)
                                                       : value(f, range.substr(0, dash), lo) &&
                                                             value(f, range.substr(dash + 1), hi);
        if (!ok) {
          return fmt::format("'{}' is not a valid {} field", item.empty() ? part : item, f.name);
        }
        if (lo < f.min || hi > f.max || lo > hi) {
          return fmt::format("'{}' is out of range for the {} field ({}-{})", range, f.name, f.min,
                             f.max);
        }
      }
      start = comma + 1;
    }
  }
  return "";
}

// Whether `path` is a JSON path of the form $, $.a.b[0], $['a b'].
bool valid_json_path(std::string_view path) {
  if (path.empty() || path[0] != '$') {
    return false;
  }
  std::size_t i = 1;
  auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' ||
           static_cast<unsigned char>(c) >= 0x80;
  };
  while (i < path.size()) {
    if (path[i] == '.') {
      const std::size_t start = ++i;
      while (i < path.size() && name_char(path[i])) {
        ++i;
      }
      if (i == start) {
        return false;
      }
    } else if (path[i] == '[') {
      ++i;
      if (i < path.size() && (path[i] == '\'' || path[i] == '"')) {
        const char quote = path[i];
        const std::size_t close = path.find(quote, i + 1);
        if (close == std::string_view::npos || close == i + 1) {
          return false;
        }
        i = close + 1;
      } else {
        const std::size_t start = i;
        while (i < path.size() && path[i] >= '0' && path[i] <= '9') {
          ++i;
        }
        if (i == start) {
          return false;
        }
      }
      if (i >= path.size() || path[i] != ']') {
        return false;
      }
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

// Whether a URL template starts with http:// or https:// (or a placeholder that
// supplies it) and has no white space outside placeholders.
bool valid_url(const std::string& url) {
  std::string literal;  // The text with each {{...}} replaced by one '\x01'.
  for (std::size_t i = 0; i < url.size();) {
    if (url.compare(i, 2, "{{") == 0) {
      const std::size_t close = url.find("}}", i + 2);
      if (close == std::string::npos) {
        return true;  // A malformed placeholder is reported as such (WF0119).
      }
      literal += '\x01';
      i = close + 2;
    } else {
      literal += url[i++];
    }
  }
  if (literal.empty() || std::any_of(literal.begin(), literal.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) != 0;
      })) {
    return false;
  }
  if (literal[0] == '\x01') {
    return true;
  }
  std::string lower;
  for (char c : literal.substr(0, 8)) {
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  std::size_t host = 0;
  if (lower.rfind("https://", 0) == 0) {
    host = 8;
  } else if (lower.rfind("http://", 0) == 0) {
    host = 7;
  } else {
    return false;
  }
  return host < literal.size() && literal[host] != '/' && literal[host] != '?' &&
         literal[host] != '#';
}

bool valid_method(std::string_view method) {
  static constexpr std::array<std::string_view, 6> kMethods = {"GET",   "POST",   "PUT",
                                                               "PATCH", "DELETE", "HEAD"};
  return std::find(kMethods.begin(), kMethods.end(), method) != kMethods.end();
}

bool is_time_zone(std::string_view name) {
  return std::binary_search(std::begin(kTimeZones), std::end(kTimeZones), name);
}

// --- The checker -----------------------------------------------------------------

struct FlowTypes {
  const ir::Flow* flow = nullptr;
  const ir::Module* module = nullptr;
  std::map<std::string, Type> declared;
  std::map<std::string, Type> vars;
};

// Where an expression is evaluated.
struct Context {
  const FlowTypes* flow = nullptr;
  const ir::Tool* tool = nullptr;
};

class TypeChecker {
 public:
  TypeChecker(const ir::Project& project, Diagnostics& diags) : project_(project), diags_(diags) {}

  void run() {
    for (const ir::Module& module : project_.modules) {
      for (const ir::Flow& flow : module.flows) {
        flows_.push_back(FlowTypes{&flow, &module, {}, {}});
      }
    }
    compute_types();
    reporting_ = true;
    for (const ir::Module& module : project_.modules) {
      check_module(module);
    }
    for (const FlowTypes& flow : flows_) {
      check_flow(flow);
    }
  }

 private:
  const ir::Project& project_;
  Diagnostics& diags_;
  std::deque<FlowTypes> flows_;
  std::map<std::string, Type> shared_declared_;
  std::map<std::string, Type> shared_vars_;
  bool reporting_ = false;
  bool saw_pending_ = false;  // infer() read a variable whose type is not known yet.

  template <typename... Args>
  Diagnostic* report(DiagnosticKind kind, SourceSpan span, const Args&... args) {
    if (!reporting_) {
      return nullptr;
    }
    return &diags_.report(kind, span, args...);
  }

  static void help(Diagnostic* d, std::string text) {
    if (d != nullptr) {
      d->notes.push_back(Note{true, std::move(text), {}});
    }
  }

  // --- Variable types ------------------------------------------------------------

  std::optional<Type> lookup(const Context& ctx, const ir::VarRef& var) {
    if (const builtins::Variable* b = builtins::find_variable(var.scope, var.name)) {
      return of(b->type);
    }
    if (var.scope == Scope::Contact || var.scope == Scope::Conversation) {
      const std::string name = var.qualified();
      if (auto it = shared_declared_.find(name); it != shared_declared_.end()) {
        return it->second;
      }
      if (auto it = shared_vars_.find(name); it != shared_vars_.end()) {
        return it->second;
      }
      return std::nullopt;
    }
    if (var.scope != Scope::Flow) {
      return of(ValueType::Unknown);
    }
    if (ctx.tool != nullptr) {
      for (const ir::ToolParam& p : ctx.tool->params) {
        if (p.name == var.name) {
          return of(ir::capture_value_type(p.type));
        }
      }
    }
    if (ctx.flow == nullptr) {
      return of(ValueType::Unknown);
    }
    if (auto it = ctx.flow->declared.find(var.name); it != ctx.flow->declared.end()) {
      return it->second;
    }
    if (auto it = ctx.flow->vars.find(var.name); it != ctx.flow->vars.end()) {
      return it->second;
    }
    return std::nullopt;
  }

  // The type a step gives to the variable it sets.
  Type written_type(const StepWrite& w, const ir::Step& step, const Context& ctx) {
    switch (w.kind) {
      case WriteKind::Ask:
        return of(ir::capture_value_type(std::get<ir::AskStep>(step.body).type));
      case WriteKind::Set:
        return infer(std::get<ir::SetStep>(step.body).value, ctx);
      case WriteKind::Http: {
        Type t{ValueType::Object, Shape::HttpResult, {}, &step};
        t.fields["status"] = ValueType::Number;
        t.fields["body"] = ValueType::Unknown;
        for (const ir::Mapping& m : std::get<ir::HttpStep>(step.body).mappings) {
          t.fields[m.name] = ValueType::Unknown;
        }
        return t;
      }
      case WriteKind::Mapping:
        return of(ValueType::Unknown);
      case WriteKind::Store: {
        Type t{ValueType::Object, Shape::Record, {}, nullptr};
        t.fields["id"] = ValueType::Text;
        return t;
      }
      case WriteKind::AiReply:
      case WriteKind::AiClassify:
        return of(ValueType::Text);
      case WriteKind::AiExtract: {
        Type t{ValueType::Object, Shape::Extracted, {}, nullptr};
        for (const ir::ExtractField& f : std::get<ir::AiExtractStep>(step.body).fields) {
          t.fields[f.name] = f.type ? ir::capture_value_type(*f.type) : ValueType::Unknown;
        }
        return t;
      }
    }
    return of(ValueType::Unknown);
  }

  void compute_types() {
    for (FlowTypes& ft : flows_) {
      for (const ir::VarDecl& decl : ft.flow->vars) {
        if (decl.type == ValueType::Unknown) {
          continue;
        }
        if (decl.var.scope == Scope::Flow) {
          ft.declared.emplace(decl.var.name, declared_type(decl));
        } else {
          shared_declared_.emplace(decl.var.qualified(), declared_type(decl));
        }
      }
    }
    // Each round recomputes every variable from what the last round knew; a set
    // whose value reads a variable not typed yet is left out of its round.
    constexpr int kMaxRounds = 16;
    for (int round = 0; round < kMaxRounds; ++round) {
      std::map<std::string, Type> shared;
      std::vector<std::map<std::string, Type>> locals(flows_.size());
      for (std::size_t f = 0; f < flows_.size(); ++f) {
        const FlowTypes& ft = flows_[f];
        const Context ctx{&ft, nullptr};
        auto add = [&](const ir::VarRef& var, const Type& t) {
          auto& map = var.scope == Scope::Flow ? locals[f] : shared;
          const std::string key = var.scope == Scope::Flow ? var.name : var.qualified();
          auto [it, inserted] = map.emplace(key, t);
          if (!inserted) {
            it->second = merge(it->second, t);
          }
        };
        for (const ir::VarDecl& decl : ft.flow->vars) {
          if (decl.type == ValueType::Unknown && decl.init) {
            saw_pending_ = false;
            const Type t = infer(*decl.init, ctx);
            if (!(saw_pending_ && t.type == ValueType::Unknown)) {
              add(decl.var, t);
            }
          }
        }
        ir::for_each_step(ft.flow->steps, [&](const ir::Step& step) {
          for (const StepWrite& w : step_writes(step)) {
            saw_pending_ = false;
            const Type t = written_type(w, step, ctx);
            if (w.var.scope != Scope::Message && w.var.scope != Scope::System &&
                !(saw_pending_ && t.type == ValueType::Unknown)) {
              add(w.var, t);
            }
          }
        });
      }
      bool changed = shared != shared_vars_;
      for (std::size_t f = 0; f < flows_.size(); ++f) {
        changed = changed || locals[f] != flows_[f].vars;
        flows_[f].vars = std::move(locals[f]);
      }
      shared_vars_ = std::move(shared);
      if (!changed) {
        break;
      }
    }
  }

  // --- Expressions ---------------------------------------------------------------

  void condition(const ir::Expr& e, const Type& t) {
    if (known(t.type) && t.type != ValueType::Bool) {
      report(DiagnosticKind::ConditionNotBool, e.span, describe(t));
    }
  }

  // A choice where text is wanted: say how to read it.
  static void choice_help(Diagnostic* d, const ir::Expr& e) {
    const std::string text = dsl::print_expression(e);
    help(d, fmt::format("use {}.id (the option's id) or {}.title (what the user saw)", text, text));
  }

  void compare(const ir::Expr& e, const Type& a, const Type& b) {
    if (!known(a.type) || !known(b.type) || comparison_group(a.type) == comparison_group(b.type)) {
      return;
    }
    Diagnostic* d = report(DiagnosticKind::TypeMismatch, e.span,
                           fmt::format("comparing {} with {}", describe(a), describe(b)));
    if (a.type == ValueType::Choice) {
      choice_help(d, e.args[0]);
    } else if (b.type == ValueType::Choice) {
      choice_help(d, e.args[1]);
    } else if ((a.type == ValueType::Number && b.type == ValueType::Text) ||
               (a.type == ValueType::Text && b.type == ValueType::Number)) {
      help(d, "convert one side with number(...) or text(...)");
    }
  }

  void order(const ir::Expr& e, const Type& a, const Type& b) {
    for (const Type* t : {&a, &b}) {
      if (known(t->type) && t->type != ValueType::Number && t->type != ValueType::Text &&
          !is_time(t->type) && t->type != ValueType::Duration) {
        report(DiagnosticKind::TypeMismatch, e.span,
               fmt::format("'{}' needs numbers, texts, dates or durations, not {}", e.text,
                           describe(*t)));
        return;
      }
    }
    compare(e, a, b);
  }

  void not_arithmetic(const ir::Expr& operand, const Type& t) {
    Diagnostic* d =
        report(DiagnosticKind::InvalidArithmetic, operand.span, quoted(operand), describe(t));
    if (t.type == ValueType::Text) {
      help(d, fmt::format("convert it with number({})", dsl::print_expression(operand)));
    } else if (t.type == ValueType::Choice) {
      choice_help(d, operand);
    }
  }

  Type arithmetic(const ir::Expr& e, const Type& a, const Type& b) {
    const ir::Expr& lhs = e.args[0];
    const ir::Expr& rhs = e.args[1];
    const std::string& op = e.text;
    auto numeric = [&](ValueType t) {
      return t == ValueType::Number || t == ValueType::Duration || is_time(t) ||
             t == ValueType::Unknown || (op == "+" && t == ValueType::Text);
    };
    bool bad = false;
    for (const auto& [operand, type] : {std::pair{&lhs, &a}, std::pair{&rhs, &b}}) {
      if (!numeric(type->type)) {
        not_arithmetic(*operand, *type);
        bad = true;
      }
    }
    if (bad) {
      return of(ValueType::Unknown);
    }
    const ValueType x = a.type;
    const ValueType y = b.type;
    using V = ValueType;
    if (x == V::Unknown || y == V::Unknown) {
      return of(V::Unknown);
    }
    if (op == "+" && (x == V::Text || y == V::Text)) {
      if (x == y) {
        return of(V::Text);
      }
      // Text and a number: almost always a number read as text.
      const bool left_text = x == V::Text;
      not_arithmetic(left_text ? lhs : rhs, left_text ? a : b);
      return of(V::Unknown);
    }
    if (x == V::Number && y == V::Number) {
      return of(V::Number);
    }
    if (op == "+" || op == "-") {
      if (is_time(x) && y == V::Duration) {
        return of(x);
      }
      if (op == "+" && x == V::Duration && is_time(y)) {
        return of(y);
      }
      if (x == V::Duration && y == V::Duration) {
        return of(V::Duration);
      }
      if (op == "-" && is_time(x) && is_time(y)) {
        return of(V::Duration);
      }
    } else if (op == "*") {
      if ((x == V::Duration && y == V::Number) || (x == V::Number && y == V::Duration)) {
        return of(V::Duration);
      }
    } else if (op == "/") {
      if (x == V::Duration && y == V::Number) {
        return of(V::Duration);
      }
      if (x == V::Duration && y == V::Duration) {
        return of(V::Number);
      }
    }
    Diagnostic* d = report(DiagnosticKind::TypeMismatch, e.span,
                           fmt::format("'{}' between {} and {}", op, describe(a), describe(b)));
    if ((is_time(x) && y == V::Number) || (x == V::Number && is_time(y))) {
      help(d, "move a date by a duration, such as today + 1d");
    }
    return of(V::Unknown);
  }

  // If `e` reads something under X.body of an HTTP result X, returns X's type and
  // fills the JSON path of what it reads ("" when it cannot be written down).
  std::optional<Type> http_body_read(const ir::Expr& e, const Context& ctx, std::string& path,
                                     std::string& field) {
    std::vector<const ir::Expr*> chain;  // Outermost first.
    const ir::Expr* at = &e;
    while (at->kind == ExprKind::Member || at->kind == ExprKind::Index) {
      chain.push_back(at);
      at = &at->args[0];
    }
    if (at->kind != ExprKind::Var || chain.empty() || chain.back()->kind != ExprKind::Member ||
        chain.back()->text != "body") {
      return std::nullopt;
    }
    const bool pending = saw_pending_;
    std::optional<Type> root = lookup(ctx, at->var);
    saw_pending_ = pending;
    if (!root || root->type != ValueType::Object || root->shape != Shape::HttpResult) {
      return std::nullopt;
    }
    path = "$";
    field.clear();
    for (auto it = chain.rbegin() + 1; it != chain.rend(); ++it) {
      const ir::Expr& step = **it;
      if (step.kind == ExprKind::Member) {
        path += "." + step.text;
        field = step.text;
      } else if (step.args[1].kind == ExprKind::Number && step.args[1].number >= 0 &&
                 step.args[1].number == std::floor(step.args[1].number)) {
        path += "[" + step.args[1].text + "]";
      } else {
        path.clear();
        return root;
      }
    }
    return root;
  }

  Type member(const ir::Expr& e, const Context& ctx) {
    std::string path;
    std::string field;
    if (auto root = http_body_read(e, ctx, path, field)) {
      Diagnostic* d = report(DiagnosticKind::UnmappedHttpField, e.span, dsl::print_expression(e));
      const ir::Expr* base = &e;
      while (base->kind != ExprKind::Var) {
        if (base->kind == ExprKind::Index) {
          infer(base->args[1], ctx);
        }
        base = &base->args[0];
      }
      const std::string var = base->var.qualified();
      if (!path.empty() && !field.empty()) {
        help(d, fmt::format("add 'map {} = \"{}\"' under the http step and read {}.{}", field, path,
                            var, field));
      } else {
        help(d, "map what you need under the http step with 'map NAME = \"$.path\"' and read " +
                    var + ".NAME");
      }
      if (d != nullptr && root->origin != nullptr) {
        d->notes.push_back(Note{false, "the response comes from here", root->origin->span});
      }
      return of(ValueType::Unknown);
    }
    const Type base = infer(e.args[0], ctx);
    const std::string& name = e.text;
    auto fixed = [&](std::initializer_list<std::pair<const char*, ValueType>> fields) -> Type {
      std::vector<std::string> names;
      for (const auto& [n, t] : fields) {
        if (name == n) {
          return of(t);
        }
        names.emplace_back(n);
      }
      unknown_field(e, base, names);
      return of(ValueType::Unknown);
    };
    switch (base.type) {
      case ValueType::Unknown:
      case ValueType::Null:
        return of(ValueType::Unknown);
      case ValueType::Choice:
        return fixed({{"id", ValueType::Text}, {"title", ValueType::Text}});
      case ValueType::Media:
        return fixed(
            {{"url", ValueType::Text}, {"mime", ValueType::Text}, {"caption", ValueType::Text}});
      case ValueType::Location:
        return fixed({{"latitude", ValueType::Number},
                      {"longitude", ValueType::Number},
                      {"name", ValueType::Text},
                      {"address", ValueType::Text}});
      case ValueType::Object: {
        if (base.shape == Shape::Open) {
          return of(ValueType::Unknown);
        }
        if (auto it = base.fields.find(name); it != base.fields.end()) {
          return of(it->second);
        }
        std::vector<std::string> names;
        for (const auto& [n, t] : base.fields) {
          if (!(base.shape == Shape::HttpResult && n == "body")) {
            names.push_back(n);
          }
        }
        unknown_field(e, base, names);
        return of(ValueType::Unknown);
      }
      default:
        unknown_field(e, base, {});
        return of(ValueType::Unknown);
    }
  }

  void unknown_field(const ir::Expr& e, const Type& base, const std::vector<std::string>& names) {
    // Point at the field name, after the dot.
    const auto begin = static_cast<std::uint32_t>(std::max<std::int64_t>(
        e.span.begin,
        static_cast<std::int64_t>(e.span.end) - static_cast<std::int64_t>(e.text.size())));
    Diagnostic* d = report(DiagnosticKind::UnknownField, SourceSpan{e.span.file, begin, e.span.end},
                           describe(base), e.text);
    if (d == nullptr) {
      return;
    }
    const std::string best = closest_match(e.text, names);
    if (!best.empty()) {
      help(d, fmt::format("did you mean '{}'?", best));
    } else if (base.type == ValueType::Text && e.text == "length") {
      help(d, fmt::format("use len({})", dsl::print_expression(e.args[0])));
    } else if (!names.empty()) {
      std::string list;
      for (const std::string& n : names) {
        list += (list.empty() ? "" : ", ") + n;
      }
      help(d, fmt::format("it has {}", list));
    }
  }

  Type call(const ir::Expr& e, const Context& ctx) {
    std::vector<Type> args;
    for (const ir::Expr& a : e.args) {
      args.push_back(infer(a, ctx));
    }
    const builtins::Function* fn = builtins::find_function(e.text);
    // Unknown functions and wrong counts are the variable checks' (WF0209, WF0210).
    if (fn == nullptr || !builtins::accepts_arity(*fn, e.args.size())) {
      return of(ValueType::Unknown);
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
      const builtins::ArgKind kind = builtins::param_kind(*fn, i);
      if (!builtins::accepts(kind, args[i].type)) {
        Diagnostic* d = report(DiagnosticKind::TypeMismatch, e.args[i].span,
                               fmt::format("'{}' expects {}, not {}", fn->name,
                                           builtins::arg_kind_text(kind), describe(args[i])));
        if (args[i].type == ValueType::Choice) {
          choice_help(d, e.args[i]);
        } else if (kind == builtins::ArgKind::Number && args[i].type == ValueType::Text) {
          help(d, fmt::format("convert it with number({})", dsl::print_expression(e.args[i])));
        }
      }
    }
    if (fn->name == "in_hours" && ctx.flow != nullptr && ctx.flow->module->hours.empty()) {
      Diagnostic* d = report(DiagnosticKind::InvalidHours, e.span,
                             "in_hours() is used, but this file declares no business hours");
      help(d, "add a line such as 'hours mon-fri 09:00-17:00' at the top of the file");
    }
    if (fn->rule == builtins::ResultRule::SameAsFirst) {
      if (known(args[0].type)) {
        return args[0];
      }
      return args.size() > 1 ? args[1] : of(ValueType::Unknown);
    }
    return of(fn->result);
  }

  Type infer(const ir::Expr& e, const Context& ctx) {
    switch (e.kind) {
      case ExprKind::Null:
        return of(ValueType::Null);
      case ExprKind::Bool:
        return of(ValueType::Bool);
      case ExprKind::Number:
        return of(ValueType::Number);
      case ExprKind::String:
        return of(ValueType::Text);
      case ExprKind::Duration:
        return of(ValueType::Duration);
      case ExprKind::Var: {
        if (std::optional<Type> t = lookup(ctx, e.var)) {
          return *t;
        }
        saw_pending_ = true;
        return of(ValueType::Unknown);
      }
      case ExprKind::Member:
        return member(e, ctx);
      case ExprKind::Index: {
        std::string path;
        std::string field;
        if (http_body_read(e, ctx, path, field)) {
          return member(e, ctx);
        }
        const Type base = infer(e.args[0], ctx);
        infer(e.args[1], ctx);
        return of(base.type == ValueType::Text ? ValueType::Text : ValueType::Unknown);
      }
      case ExprKind::Unary: {
        const Type t = infer(e.args[0], ctx);
        if (e.text == "not") {
          condition(e.args[0], t);
          return of(ValueType::Bool);
        }
        if (known(t.type) && t.type != ValueType::Number && t.type != ValueType::Duration) {
          not_arithmetic(e.args[0], t);
          return of(ValueType::Unknown);
        }
        return t;
      }
      case ExprKind::Binary:
        return binary(e, ctx);
      case ExprKind::Call:
        return call(e, ctx);
      case ExprKind::List:
        for (const ir::Expr& a : e.args) {
          infer(a, ctx);
        }
        return of(ValueType::List);
      case ExprKind::Object: {
        Type t{ValueType::Object, Shape::Literal, {}, nullptr};
        for (std::size_t i = 0; i < e.args.size(); ++i) {
          const Type field = infer(e.args[i], ctx);
          if (i < e.keys.size()) {
            t.fields[e.keys[i]] = field.type;
          }
        }
        return t;
      }
    }
    return of(ValueType::Unknown);
  }

  Type binary(const ir::Expr& e, const Context& ctx) {
    const Type a = infer(e.args[0], ctx);
    const Type b = infer(e.args[1], ctx);
    const std::string& op = e.text;
    if (op == "and" || op == "or") {
      condition(e.args[0], a);
      condition(e.args[1], b);
      return of(ValueType::Bool);
    }
    if (op == "==" || op == "!=") {
      compare(e, a, b);
      return of(ValueType::Bool);
    }
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
      order(e, a, b);
      return of(ValueType::Bool);
    }
    if (op == "contains") {
      if (known(a.type) && a.type != ValueType::Text && a.type != ValueType::List) {
        Diagnostic* d =
            report(DiagnosticKind::TypeMismatch, e.args[0].span,
                   fmt::format("'contains' needs text or a list on its left, not {}", describe(a)));
        if (a.type == ValueType::Choice) {
          choice_help(d, e.args[0]);
        }
      }
      return of(ValueType::Bool);
    }
    if (op == "matches") {
      if (known(a.type) && a.type != ValueType::Text) {
        Diagnostic* d =
            report(DiagnosticKind::TypeMismatch, e.args[0].span,
                   fmt::format("'matches' needs text on its left, not {}", describe(a)));
        if (a.type == ValueType::Choice) {
          choice_help(d, e.args[0]);
        }
      }
      if (e.args[1].kind == ExprKind::String) {
        regex(e.args[1].text, e.args[1].span);
      } else if (known(b.type) && b.type != ValueType::Text) {
        report(DiagnosticKind::TypeMismatch, e.args[1].span,
               fmt::format("'matches' needs a pattern (text) on its right, not {}", describe(b)));
      }
      return of(ValueType::Bool);
    }
    return arithmetic(e, a, b);
  }

  // --- Texts and uses --------------------------------------------------------------

  void text(const ir::Text& t, const Context& ctx) {
    if (t.value.find("{{") == std::string::npos) {
      return;
    }
    Diagnostics scratch;  // Malformed placeholders are the variable checks' (WF0119).
    for (const dsl::TemplatePart& part : dsl::parse_template(t, scratch)) {
      if (part.is_expr) {
        infer(part.expr, ctx);
      }
    }
  }

  // --- Fixed forms -----------------------------------------------------------------

  void regex(const std::string& pattern, SourceSpan span) {
    if (auto error = builtins::regex_error(pattern)) {
      report(DiagnosticKind::InvalidRegex, span, *error);
    }
  }

  void duration(const ir::Duration& d, std::string_view what) {
    if (d.text.empty()) {
      return;
    }
    std::int64_t ms = 0;
    if (!ir::parse_duration(d.text, ms)) {
      report(DiagnosticKind::InvalidDuration, d.span, d.text);  // As the front ends word it.
    } else if (ms == 0) {
      Diagnostic* diag = report(DiagnosticKind::InvalidDuration, d.span, d.text);
      help(diag, fmt::format("{} must be longer than zero", what));
    }
  }

  void range(std::optional<int> value, int lo, int hi, std::string_view what, SourceSpan span) {
    if (value && (*value < lo || *value > hi)) {
      report(DiagnosticKind::OutOfRange, span, what, fmt::format("between {} and {}", lo, hi));
    }
  }

  void time_zone(const std::string& name, SourceSpan span) {
    if (name.empty() || is_time_zone(name)) {
      return;
    }
    Diagnostic* d = report(DiagnosticKind::InvalidTimeZone, span, name);
    std::vector<std::string> names(std::begin(kTimeZones), std::end(kTimeZones));
    const std::string best = closest_match(name, names);
    if (!best.empty()) {
      help(d, fmt::format("did you mean '{}'?", best));
    } else {
      help(d, "use an IANA time zone name such as 'Europe/Berlin' or 'America/Sao_Paulo'");
    }
  }

  void url(const ir::Text& t, SourceSpan fallback) {
    if (!t.value.empty() && !valid_url(t.value)) {
      Diagnostic* d =
          report(DiagnosticKind::InvalidUrl, t.span.valid() ? t.span : fallback, t.value);
      help(d, "a request URL starts with http:// or https:// (or a {{placeholder}} that holds it)");
    }
  }

  void method(const std::string& m, SourceSpan span) {
    if (!valid_method(m)) {
      Diagnostic* d = report(DiagnosticKind::InvalidHttpMethod, span, m);
      const std::string best = closest_match(m, {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"});
      help(d, best.empty() ? "use GET, POST, PUT, PATCH, DELETE or HEAD"
                           : fmt::format("did you mean '{}'?", best));
    }
  }

  // --- Modules, flows and steps ------------------------------------------------------

  void check_module(const ir::Module& module) {
    time_zone(module.timezone, module.timezone_span);
    for (const ir::HoursRange& h : module.hours) {
      ir::HoursRange parsed;
      if (!ir::parse_hours_text(h.text, parsed)) {
        report(DiagnosticKind::InvalidHours, h.span,
               fmt::format("'{}' (use e.g. mon-fri 09:00-17:00)", h.text));
      }
    }
  }

  void check_flow(const FlowTypes& ft) {
    const ir::Flow& flow = *ft.flow;
    const Context ctx{&ft, nullptr};
    range(flow.priority, 0, 100, "priority", flow.span);
    for (const ir::Trigger& t : flow.triggers) {
      range(t.priority, 0, 100, "priority", t.span);
      if (t.kind == ir::TriggerKind::Regex && !t.values.empty()) {
        regex(t.values[0], t.span);
      }
      if (t.kind == ir::TriggerKind::Schedule && !t.values.empty()) {
        const std::string error = cron_error(t.values[0]);
        if (!error.empty()) {
          Diagnostic* d = report(DiagnosticKind::InvalidSchedule, t.span, error);
          help(d, "e.g. \"0 9 * * mon-fri\" runs at 09:00 on weekdays");
        }
      }
      time_zone(t.timezone, t.span);
    }
    for (const ir::VarDecl& decl : flow.vars) {
      if (decl.init) {
        const Type t = infer(*decl.init, ctx);
        if (!fits(decl.type, t.type)) {
          report(DiagnosticKind::TypeMismatch, decl.init->span,
                 fmt::format("'{}' is declared as {} but starts as {}", decl.var.qualified(),
                             describe(decl.type), describe(t)));
        }
      }
    }
    for (const ir::Reminder& r : flow.reminders) {
      duration(r.after, "a reminder's delay");
      text(r.text, ctx);
    }
    for (const ir::Tool& tool : flow.tools) {
      const Context tool_ctx{&ft, &tool};
      method(tool.method, tool.span);
      url(tool.url, tool.span);
      for_each_tool_value(
          tool, [&](const ir::Text& t) { text(t, tool_ctx); },
          [&](const ir::Expr& e) { infer(e, tool_ctx); });
      if (tool.timeout) {
        duration(*tool.timeout, "a timeout");
      }
    }
    ir::for_each_step(flow.steps, [&](const ir::Step& step) { check_step(step, ctx); });
  }

  void check_write(const StepWrite& w, const ir::Step& step, const Context& ctx) {
    std::optional<Type> declared;
    if (w.var.scope == Scope::Flow) {
      if (auto it = ctx.flow->declared.find(w.var.name); it != ctx.flow->declared.end()) {
        declared = it->second;
      }
    } else if (auto it = shared_declared_.find(w.var.qualified()); it != shared_declared_.end()) {
      declared = it->second;
    }
    if (!declared || w.kind == WriteKind::Set) {
      return;  // A set's value is checked where the set step is.
    }
    const Type t = written_type(w, step, ctx);  // Not a set: nothing to infer or report.
    if (!fits(declared->type, t.type)) {
      report(DiagnosticKind::TypeMismatch, w.var.span,
             fmt::format("'{}' is declared as {} but this step stores {}", w.var.qualified(),
                         describe(declared->type), describe(t)));
    }
  }

  void check_step(const ir::Step& step, const Context& ctx) {
    // Values first, except where a step checks its own expressions below.
    const bool own_exprs = std::holds_alternative<ir::IfStep>(step.body) ||
                           std::holds_alternative<ir::MatchStep>(step.body) ||
                           std::holds_alternative<ir::SetStep>(step.body) ||
                           std::holds_alternative<ir::LocationStep>(step.body);
    for_each_step_value(
        step, [&](const ir::Text& t) { text(t, ctx); },
        [&](const ir::Expr& e) {
          if (!own_exprs) {
            infer(e, ctx);
          }
        });
    for (const StepWrite& w : step_writes(step)) {
      check_write(w, step, ctx);
    }
    std::visit([&](const auto& s) { check_body(step, s, ctx); }, step.body);
  }

  void check_body(const ir::Step&, const ir::IfStep& s, const Context& ctx) {
    for (const ir::Branch& b : s.branches) {
      condition(b.condition, infer(b.condition, ctx));
    }
  }

  void check_body(const ir::Step&, const ir::MatchStep& s, const Context& ctx) {
    const Type subject = infer(s.subject, ctx);
    std::map<std::string, SourceSpan> seen;
    for (const ir::Case& c : s.cases) {
      for (const ir::Expr& v : c.values) {
        const Type t = infer(v, ctx);
        if (known(subject.type) && known(t.type) &&
            comparison_group(subject.type) != comparison_group(t.type)) {
          Diagnostic* d = report(DiagnosticKind::TypeMismatch, v.span,
                                 fmt::format("this case is {} but the match is on {}", describe(t),
                                             describe(subject)));
          if (subject.type == ValueType::Choice) {
            choice_help(d, s.subject);
          }
        }
        const bool literal = v.kind == ExprKind::String || v.kind == ExprKind::Number ||
                             v.kind == ExprKind::Bool || v.kind == ExprKind::Null ||
                             v.kind == ExprKind::Duration;
        if (!literal) {
          continue;
        }
        const std::string key = v.kind == ExprKind::Number || v.kind == ExprKind::Duration
                                    ? fmt::format("{}:{}", static_cast<int>(v.kind), v.number)
                                    : fmt::format("{}:{}", static_cast<int>(v.kind), v.text);
        auto [it, inserted] = seen.emplace(key, v.span);
        if (!inserted) {
          Diagnostic* d = report(DiagnosticKind::DuplicateCase, v.span, dsl::print_expression(v));
          if (d != nullptr) {
            d->notes.push_back(Note{false, "first handled here", it->second});
          }
        }
      }
    }
  }

  void check_body(const ir::Step&, const ir::SetStep& s, const Context& ctx) {
    const Type t = infer(s.value, ctx);
    std::optional<Type> declared;
    if (s.var.scope == Scope::Flow) {
      if (auto it = ctx.flow->declared.find(s.var.name); it != ctx.flow->declared.end()) {
        declared = it->second;
      }
    } else if (auto it = shared_declared_.find(s.var.qualified()); it != shared_declared_.end()) {
      declared = it->second;
    } else if (const builtins::Variable* b = builtins::find_variable(s.var.scope, s.var.name)) {
      (void)b;  // Read-only: reported by the variable checks (WF0212).
    }
    if (declared && !fits(declared->type, t.type)) {
      report(DiagnosticKind::TypeMismatch, s.value.span,
             fmt::format("'{}' is declared as {} but is set to {}", s.var.qualified(),
                         describe(declared->type), describe(t)));
    }
  }

  void check_body(const ir::Step&, const ir::LocationStep& s, const Context& ctx) {
    for (const auto& [e, lo, what] :
         {std::tuple{&s.latitude, 90, "latitude"}, std::tuple{&s.longitude, 180, "longitude"}}) {
      const Type t = infer(*e, ctx);
      if (known(t.type) && t.type != ValueType::Number) {
        report(DiagnosticKind::TypeMismatch, e->span,
               fmt::format("the {} must be a number, not {}", what, describe(t)));
      } else if (e->kind == ExprKind::Number && std::abs(e->number) > lo) {
        report(DiagnosticKind::OutOfRange, e->span, what,
               fmt::format("between -{} and {}", lo, lo));
      }
    }
  }

  void check_body(const ir::Step& step, const ir::AskStep& s, const Context&) {
    using C = ir::CaptureType;
    if (s.type == C::Regex) {
      if (s.pattern.empty()) {
        Diagnostic* d = report(DiagnosticKind::RegexWithoutPattern, step.span);
        help(d, "add an indented line such as: pattern \"^[A-Z]{2}[0-9]{4}$\"");
      } else {
        regex(s.pattern, s.pattern_span);
      }
    }
    if (s.type == C::Choice && s.options.empty()) {
      Diagnostic* d = report(DiagnosticKind::ChoiceWithoutOptions, step.span);
      help(d, "add indented 'button ID \"Title\"' or 'row ID \"Title\"' lines");
    }
    if (s.type != C::Choice && !s.options.empty()) {
      const SourceSpan at =
          !s.options.buttons.empty()
              ? s.options.buttons.front().span
              : (!s.options.sections.empty() ? s.options.sections.front().span : step.span);
      Diagnostic* d = report(DiagnosticKind::OptionsOnNonChoice, at, ir::capture_type_name(s.type));
      help(d, fmt::format("drop ': {}' to make the ask a choice, or drop the options",
                          ir::capture_type_name(s.type)));
    }
    range(s.retries, 1, 10, "retry", s.invalid_span.valid() ? s.invalid_span : step.span);
    if (s.timeout) {
      duration(*s.timeout, "a timeout");
    }
    for (const ir::Reminder& r : s.reminders) {
      duration(r.after, "a reminder's delay");
    }
  }

  void check_body(const ir::Step& step, const ir::AiExtractStep& s, const Context&) {
    range(s.retries, 1, 10, "retry", s.invalid_span.valid() ? s.invalid_span : step.span);
  }

  void check_body(const ir::Step& step, const ir::HttpStep& s, const Context&) {
    method(s.method, s.method_span.valid() ? s.method_span : step.span);
    url(s.url, step.span);
    range(s.retries, 0, 10, "retries", step.span);
    if (s.timeout) {
      duration(*s.timeout, "a timeout");
    }
    for (const ir::Mapping& m : s.mappings) {
      if (!valid_json_path(m.path)) {
        Diagnostic* d = report(DiagnosticKind::InvalidJsonPath, m.span, m.path);
        help(d,
             "a path starts at $ and goes down by .name, [index] or ['name'], e.g. "
             "$.data.items[0].id");
      }
    }
  }

  void check_body(const ir::Step&, const ir::DelayStep& s, const Context&) {
    duration(s.duration, "a delay");
  }

  void check_body(const ir::Step&, const ir::TypingStep& s, const Context&) {
    duration(s.duration, "a typing pause");
  }

  template <typename T>
  void check_body(const ir::Step&, const T&, const Context&) {}
};

}  // namespace

void check_types(const ir::Project& project, Diagnostics& diags) {
  TypeChecker(project, diags).run();
}

}  // namespace waflow::checks
