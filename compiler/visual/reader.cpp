// Reads a visual file (docs/visual.md) into the flow IR.
//
// nlohmann::json parses the text; JsonLocator maps each value back to its bytes,
// so every diagnostic has a line:col and a JSON pointer. Each node's `data`
// becomes a step body; edges become a graph, which structure_graph turns into
// the IR's tree of blocks. The reader reports every problem it can find and
// keeps going: a node it cannot read is left out, an edge it cannot follow is
// dropped, and what remains is still structured.
//
// Node ids are step ids. An id equal to the one the compiler would derive for
// the step (assign_step_ids) is not explicit, so DSL -> visual -> DSL keeps
// labels where they were; which ids are explicit is settled by a small fixed
// point, since explicit ids shift the numbering of derived ones.

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "compiler/dsl/expr_parser.h"
#include "compiler/frontend.h"
#include "compiler/ir/walk.h"
#include "compiler/visual/json_locator.h"
#include "compiler/visual/node_types.h"
#include "compiler/visual/structure.h"
#include "compiler/visual/visual.h"

namespace waflow {

namespace {

using json = nlohmann::json;
using visual::JsonLocator;

// Deeper JSON is refused before parsing (WF0107); no flow needs more than a few
// levels per step.
constexpr std::size_t kMaxJsonDepth = 200;

// Presentation keys a React Flow export may carry on nodes and edges; waflow
// accepts and ignores them.
const std::set<std::string, std::less<>>& ignored_node_keys() {
  static const std::set<std::string, std::less<>> keys = {
      "width",          "height",         "selected",   "dragging",    "positionAbsolute",
      "measured",       "draggable",      "selectable", "connectable", "deletable",
      "focusable",      "hidden",         "zIndex",     "style",       "className",
      "sourcePosition", "targetPosition", "parentId",   "parentNode",  "extent",
      "expandParent",   "ariaLabel",      "dragHandle", "resizing",    "origin"};
  return keys;
}

const std::set<std::string, std::less<>>& ignored_edge_keys() {
  static const std::set<std::string, std::less<>> keys = {
      "type",         "animated",       "label",
      "style",        "markerEnd",      "markerStart",
      "selected",     "hidden",         "deletable",
      "focusable",    "zIndex",         "interactionWidth",
      "className",    "labelStyle",     "labelShowBg",
      "labelBgStyle", "labelBgPadding", "labelBgBorderRadius",
      "updatable",    "reconnectable",  "ariaLabel",
      "pathOptions",  "data",           "targetHandle"};
  return keys;
}

bool is_ident(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) != 0 || s[0] == '_')) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

// A step id or flow name, as the DSL writes them: a letter or _, then letters,
// digits, _ and -.
bool is_name(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) != 0 || s[0] == '_')) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
  });
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      out += i + 1 == names.size() ? " and " : ", ";
    }
    out += names[i];
  }
  return out;
}

// Whether `id` is one assign_step_ids could give this step: the id of the first
// step of its kind, or the numbered ids of later ones.
bool derivable_id(const ir::StepBody& body, const std::string& id) {
  ir::Flow probe;
  ir::Step step;
  step.body = body;
  probe.steps = {step, step};
  assign_step_ids(probe);
  const std::string& first = probe.steps[0].id;
  const std::string& second = probe.steps[1].id;
  if (id == first) {
    return true;
  }
  if (second.size() < 2 || second.compare(second.size() - 2, 2, "_2") != 0) {
    return false;
  }
  const std::string prefix = second.substr(0, second.size() - 1);  // "say_"
  if (id.size() <= prefix.size() || id.compare(0, prefix.size(), prefix) != 0) {
    return false;
  }
  const std::string number = id.substr(prefix.size());
  return number[0] != '0' &&
         std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
         number != "1";
}

// The first byte nested deeper than kMaxJsonDepth, or npos.
std::size_t too_deep_at(std::string_view text) {
  std::size_t depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') {
          ++i;
        }
      }
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return i;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

// nlohmann's message without its prefix ("[json.exception...] parse error at
// line 1, column 2: ") and without the "last read" excerpt, which the caret shows.
std::string parse_error_message(const std::string& what) {
  std::string message = what;
  const std::size_t column = message.find(", column ");
  if (column != std::string::npos) {
    const std::size_t colon = message.find(": ", column);
    if (colon != std::string::npos) {
      message = message.substr(colon + 2);
    }
  }
  const std::size_t last = message.find("; last read: '");
  if (last != std::string::npos) {
    const std::size_t close = message.find("'", last + 14);
    message.erase(last, close == std::string::npos ? std::string::npos : close + 1 - last);
  }
  return message;
}

// A JSON value being read: the value, where it sits and its pointer.
struct Value {
  const json* j = nullptr;
  JsonLocator::Ref ref = JsonLocator::kNone;
  SourceSpan span;
  std::string pointer;
};

// One node of a flow as read.
struct NodeInfo {
  std::string id;
  std::string type;
  Value value;
  bool start = false;
  bool usable = false;  // A known step type: it takes part in the graph.
  bool derivable = false;
  ir::Step step;
  visual::NodeShape shape = visual::NodeShape::Linear;
  std::vector<visual::HandleSpec> exits;
  std::size_t graph_index = visual::kExit;
  // The edge taken from each handle: `next` first, then the exits.
  std::map<std::string, std::size_t> edge_of_handle;
};

struct EdgeInfo {
  Value value;
  std::string id;
  std::size_t target = visual::kExit;  // Index into the flow's nodes.
};

class Reader {
 public:
  Reader(const SourceManager& sources, FileId file, Diagnostics& diags)
      : text_(sources.file(file).text), file_(file), diags_(diags), locator_(std::string_view()) {}

  ir::Module read() {
    ir::Module module;
    module.file = file_;
    if (const std::size_t deep = too_deep_at(text_); deep != std::string_view::npos) {
      const auto at = static_cast<std::uint32_t>(deep);
      diags_.report(DiagnosticKind::NestingTooDeep, SourceSpan{file_, at, at + 1}, kMaxJsonDepth);
      return module;
    }
    json doc;
    try {
      doc = json::parse(text_);
    } catch (const json::parse_error& e) {
      std::size_t at = e.byte > 0 ? e.byte - 1 : 0;
      at = std::min(at, text_.size());
      const auto pos = static_cast<std::uint32_t>(at);
      diags_.report(DiagnosticKind::JsonSyntax,
                    SourceSpan{file_, pos, pos + (at < text_.size() ? 1U : 0U)},
                    parse_error_message(e.what()));
      return module;
    } catch (const json::exception& e) {
      diags_.report(DiagnosticKind::JsonSyntax, SourceSpan{file_, 0, 0},
                    parse_error_message(e.what()));
      return module;
    }
    locator_ = JsonLocator(text_);
    const Value root = value_at(&doc, locator_.root(), "");
    read_module(root, module);
    return module;
  }

 private:
  const std::string& text_;
  FileId file_;
  Diagnostics& diags_;
  JsonLocator locator_;
  std::vector<std::size_t> into_start_;  // Diagnostics of edges into the start node.
  inline static const json kEmptyObject = json::object();

  // --- Values and diagnostics -----------------------------------------------------

  Value value_at(const json* j, JsonLocator::Ref ref, std::string pointer,
                 SourceSpan fallback = {}) const {
    Value v;
    v.j = j;
    v.ref = ref;
    v.pointer = std::move(pointer);
    if (ref != JsonLocator::kNone) {
      const visual::ByteRange r = locator_.range(ref);
      v.span = SourceSpan{file_, r.begin, r.end};
    } else {
      v.span = fallback.valid() ? fallback : SourceSpan{file_, 0, 0};
    }
    return v;
  }

  // The span of a string's contents, without its quotes.
  static SourceSpan inner(const Value& v) {
    SourceSpan s = v.span;
    if (v.j != nullptr && v.j->is_string() && s.end >= s.begin + 2) {
      ++s.begin;
      --s.end;
    }
    return s;
  }

  template <typename... Args>
  Diagnostic& report(DiagnosticKind kind, const Value& at, const Args&... args) {
    Diagnostic& d = diags_.report(kind, at.span, args...);
    d.pointer = at.pointer;
    return d;
  }

  template <typename... Args>
  Diagnostic& report_at(DiagnosticKind kind, SourceSpan span, const std::string& pointer,
                        const Args&... args) {
    Diagnostic& d = diags_.report(kind, span, args...);
    d.pointer = pointer;
    return d;
  }

  std::optional<Value> member(const Value& obj, std::string_view key) const {
    if (obj.j == nullptr || !obj.j->is_object()) {
      return std::nullopt;
    }
    auto it = obj.j->find(key);
    if (it == obj.j->end()) {
      return std::nullopt;
    }
    return value_at(&*it, locator_.member(obj.ref, key),
                    obj.pointer + "/" + visual::escape_pointer_token(key), obj.span);
  }

  // A member that is present and not null.
  std::optional<Value> optional(const Value& obj, std::string_view key) const {
    std::optional<Value> v = member(obj, key);
    if (v && v->j->is_null()) {
      return std::nullopt;
    }
    return v;
  }

  std::optional<Value> required(const Value& obj, std::string_view key, const std::string& where) {
    std::optional<Value> v = member(obj, key);
    if (!v) {
      report(DiagnosticKind::MissingKey, obj, key, where);
    }
    return v;
  }

  Value element(const Value& array, std::size_t index) const {
    return value_at(&(*array.j)[index], locator_.element(array.ref, index),
                    array.pointer + "/" + std::to_string(index), array.span);
  }

  // What a message calls a value: its key, or "list/index" for a list element.
  static std::string name_of(const Value& v) {
    const std::size_t slash = v.pointer.rfind('/');
    if (slash == std::string::npos) {
      return v.pointer;
    }
    const std::string token = v.pointer.substr(slash + 1);
    const bool index = !token.empty() && std::all_of(token.begin(), token.end(),
                                                     [](char c) { return c >= '0' && c <= '9'; });
    if (!index || slash == 0) {
      return token;
    }
    const std::size_t before = v.pointer.rfind('/', slash - 1);
    return v.pointer.substr(before == std::string::npos ? 0 : before + 1);
  }

  bool expect(const Value& v, bool ok, std::string_view what) {
    if (!ok) {
      report(DiagnosticKind::WrongValueKind, v, name_of(v), what);
    }
    return ok;
  }

  bool expect_object(const Value& v) { return expect(v, v.j->is_object(), "an object"); }
  bool expect_array(const Value& v) { return expect(v, v.j->is_array(), "a list"); }
  bool expect_string(const Value& v) { return expect(v, v.j->is_string(), "a string"); }

  // Reports unknown and repeated keys of an object.
  void check_keys(const Value& obj, const std::vector<std::string_view>& allowed,
                  const std::string& where,
                  const std::set<std::string, std::less<>>* ignored = nullptr) {
    if (obj.ref == JsonLocator::kNone) {
      return;
    }
    std::set<std::string> seen;
    const std::size_t count = locator_.child_count(obj.ref);
    for (std::size_t i = 0; i < count; ++i) {
      const JsonLocator::Ref child = locator_.child(obj.ref, i);
      const std::string key = locator_.key_of(child);
      const visual::ByteRange r = locator_.key_range(child);
      const SourceSpan span{file_, r.begin, r.end};
      const std::string pointer = obj.pointer + "/" + visual::escape_pointer_token(key);
      if (!seen.insert(key).second) {
        report_at(DiagnosticKind::DuplicateOption, span, pointer, key);
        continue;
      }
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end() ||
          (ignored != nullptr && ignored->count(key) != 0)) {
        continue;
      }
      Diagnostic& d = report_at(DiagnosticKind::UnknownKey, span, pointer, key, where);
      suggest(d, key, std::vector<std::string>(allowed.begin(), allowed.end()));
    }
  }

  // --- Typed fields -------------------------------------------------------------

  std::optional<std::string> string_field(const Value& obj, std::string_view key, bool needed,
                                          const std::string& where, SourceSpan* span = nullptr) {
    std::optional<Value> v = needed ? required(obj, key, where) : optional(obj, key);
    if (!v || !expect_string(*v)) {
      return std::nullopt;
    }
    if (span != nullptr) {
      *span = inner(*v);
    }
    return v->j->get<std::string>();
  }

  ir::Text text_field(const Value& obj, std::string_view key, bool needed,
                      const std::string& where) {
    std::optional<Value> v = needed ? required(obj, key, where) : optional(obj, key);
    if (!v || !expect_string(*v)) {
      return {};
    }
    return ir::Text{v->j->get<std::string>(), v->span};
  }

  std::optional<ir::Text> text_value(const Value& v) {
    if (!expect_string(v)) {
      return std::nullopt;
    }
    return ir::Text{v.j->get<std::string>(), v.span};
  }

  std::optional<int> int_field(const Value& obj, std::string_view key, SourceSpan* span = nullptr) {
    std::optional<Value> v = optional(obj, key);
    if (!v) {
      return std::nullopt;
    }
    const bool whole = v->j->is_number_integer() ||
                       (v->j->is_number_float() &&
                        v->j->get<double>() == static_cast<double>(static_cast<long long>(
                                                   std::clamp(v->j->get<double>(), -1e12, 1e12))));
    if (!expect(*v, whole, "a whole number")) {
      return std::nullopt;
    }
    const double number = v->j->get<double>();
    if (number > 1e9 || number < -1e9) {
      report(DiagnosticKind::InvalidNumber, *v,
             text_.substr(v->span.begin, v->span.end - v->span.begin));
      return std::nullopt;
    }
    if (span != nullptr) {
      *span = v->span;
    }
    return static_cast<int>(number);
  }

  bool bool_field(const Value& obj, std::string_view key) {
    std::optional<Value> v = optional(obj, key);
    if (!v || !expect(*v, v->j->is_boolean(), "true or false")) {
      return false;
    }
    return v->j->get<bool>();
  }

  std::optional<ir::Duration> duration_value(const Value& v) {
    if (!expect(v, v.j->is_string(), "a duration such as \"30s\", \"5m\", \"2h\" or \"1d\"")) {
      return std::nullopt;
    }
    ir::Duration d;
    d.text = v.j->get<std::string>();
    d.span = inner(v);
    if (!ir::parse_duration(d.text, d.ms)) {
      report_at(DiagnosticKind::InvalidDuration, d.span, v.pointer, d.text);
    }
    return d;
  }

  std::optional<ir::Duration> duration_field(const Value& obj, std::string_view key, bool needed,
                                             const std::string& where) {
    std::optional<Value> v = needed ? required(obj, key, where) : optional(obj, key);
    if (!v) {
      return std::nullopt;
    }
    return duration_value(*v);
  }

  std::optional<ir::VarRef> var_value(const Value& v) {
    static constexpr const char* kWhat = "a variable name such as address or contact.name";
    if (!expect(v, v.j->is_string(), kWhat)) {
      return std::nullopt;
    }
    const std::string text = v.j->get<std::string>();
    ir::VarRef ref;
    ref.span = inner(v);
    const std::size_t dot = text.find('.');
    const std::string scope = dot == std::string::npos ? "" : text.substr(0, dot);
    ref.name = dot == std::string::npos ? text : text.substr(dot + 1);
    if (!is_ident(ref.name) || (dot != std::string::npos && !is_ident(scope))) {
      report(DiagnosticKind::WrongValueKind, v, name_of(v), kWhat);
      return std::nullopt;
    }
    if (dot == std::string::npos) {
      return ref;
    }
    if (scope == "contact") {
      ref.scope = ir::Scope::Contact;
    } else if (scope == "conversation" || scope == "conv") {
      ref.scope = ir::Scope::Conversation;
    } else if (scope == "flow") {
      ref.scope = ir::Scope::Flow;
    } else if (scope == "message") {
      ref.scope = ir::Scope::Message;
    } else {
      const SourceSpan at{file_, ref.span.begin,
                          ref.span.begin + static_cast<std::uint32_t>(scope.size())};
      Diagnostic& d = report_at(DiagnosticKind::UnknownScope, at, v.pointer, scope);
      suggest(d, scope, {"contact", "conversation", "flow"});
    }
    return ref;
  }

  std::optional<ir::VarRef> var_field(const Value& obj, std::string_view key, bool needed,
                                      const std::string& where) {
    std::optional<Value> v = needed ? required(obj, key, where) : optional(obj, key);
    if (!v) {
      return std::nullopt;
    }
    return var_value(*v);
  }

  // An expression: a string in the expression language; plain JSON numbers,
  // booleans and null are taken as the literals they are.
  std::optional<ir::Expr> expr_value(const Value& v) {
    ir::Expr e;
    e.span = v.span;
    if (v.j->is_number()) {
      e.kind = ir::ExprKind::Number;
      e.text = text_.substr(v.span.begin, v.span.end - v.span.begin);
      e.number = v.j->get<double>();
      return e;
    }
    if (v.j->is_boolean()) {
      e.kind = ir::ExprKind::Bool;
      e.text = v.j->get<bool>() ? "true" : "false";
      return e;
    }
    if (v.j->is_null()) {
      e.text = "null";
      return e;
    }
    if (!expect(v, v.j->is_string(), "an expression (a string)")) {
      return std::nullopt;
    }
    const std::string text = v.j->get<std::string>();
    const std::size_t before = diags_.all().size();
    std::optional<ir::Expr> parsed = dsl::parse_expression(text, inner(v), diags_);
    for (std::size_t i = before; i < diags_.all().size(); ++i) {
      diags_.all()[i].pointer = v.pointer;
    }
    return parsed;
  }

  std::optional<ir::Expr> expr_field(const Value& obj, std::string_view key, bool needed,
                                     const std::string& where) {
    std::optional<Value> v = needed ? required(obj, key, where) : member(obj, key);
    if (!v) {
      return std::nullopt;
    }
    return expr_value(*v);
  }

  std::optional<ir::CaptureType> capture_value(const Value& v) {
    if (!expect_string(v)) {
      return std::nullopt;
    }
    const std::string name = v.j->get<std::string>();
    ir::CaptureType type{};
    if (ir::parse_capture_type(name, type)) {
      return type;
    }
    Diagnostic& d = report_at(DiagnosticKind::UnknownType, inner(v), v.pointer, name);
    suggest(d, name,
            {"text", "number", "email", "phone", "date", "url", "choice", "yesno", "regex", "media",
             "location"});
    return std::nullopt;
  }

  std::vector<std::string> string_list(const Value& obj, std::string_view key, bool needed,
                                       const std::string& where,
                                       std::vector<SourceSpan>* spans = nullptr) {
    std::vector<std::string> out;
    std::optional<Value> v = needed ? required(obj, key, where) : optional(obj, key);
    if (!v || !expect_array(*v)) {
      return out;
    }
    for (std::size_t i = 0; i < v->j->size(); ++i) {
      const Value item = element(*v, i);
      if (expect_string(item)) {
        out.push_back(item.j->get<std::string>());
        if (spans != nullptr) {
          spans->push_back(inner(item));
        }
      }
    }
    return out;
  }

  // Calls fn(item) for each object of the list `key`.
  template <typename Fn>
  void each_object(const Value& obj, std::string_view key, bool needed, const std::string& where,
                   const Fn& fn) {
    std::optional<Value> v = needed ? required(obj, key, where) : optional(obj, key);
    if (!v || !expect_array(*v)) {
      return;
    }
    for (std::size_t i = 0; i < v->j->size(); ++i) {
      const Value item = element(*v, i);
      if (expect_object(item)) {
        fn(item);
      }
    }
  }

  // --- The module and its flows -----------------------------------------------------

  void read_module(const Value& root, ir::Module& module) {
    if (!root.j->is_object()) {
      report(DiagnosticKind::WrongValueKind, root, "document",
             "an object: {\"waflow\": \"visual\", \"version\": 1, \"flows\": [...]}");
      return;
    }
    const std::string where = "the file";
    std::optional<Value> version = member(root, "version");
    if (!version) {
      Diagnostic& d = report(DiagnosticKind::MissingKey, root, "version", where);
      add_wrapper_help(root, d);
    } else if (version->j->is_number_integer() && version->j->get<long long>() != 1) {
      report(DiagnosticKind::UnsupportedVersion, *version,
             text_.substr(version->span.begin, version->span.end - version->span.begin),
             kVisualFormatVersion);
      return;
    } else if (!version->j->is_number_integer()) {
      report(DiagnosticKind::WrongValueKind, *version, "version", "the number 1");
      return;
    }
    if (std::optional<Value> tag = member(root, "waflow")) {
      expect(*tag, tag->j->is_string() && tag->j->get<std::string>() == "visual", "\"visual\"");
    } else if (version) {
      Diagnostic& d = report(DiagnosticKind::MissingKey, root, "waflow", where);
      add_wrapper_help(root, d);
    }
    check_keys(root, {"waflow", "version", "timezone", "hours", "flows"}, where);
    if (auto tz = string_field(root, "timezone", false, where, &module.timezone_span)) {
      module.timezone = *tz;
    }
    if (std::optional<Value> hours = optional(root, "hours"); hours && expect_array(*hours)) {
      for (std::size_t i = 0; i < hours->j->size(); ++i) {
        const Value item = element(*hours, i);
        if (!expect_string(item)) {
          continue;
        }
        ir::HoursRange range;
        range.text = item.j->get<std::string>();
        range.span = inner(item);
        if (!ir::parse_hours_text(range.text, range)) {
          report_at(DiagnosticKind::InvalidHours, range.span, item.pointer,
                    fmt::format("'{}' (use e.g. mon-fri 09:00-17:00)", range.text));
        }
        module.hours.push_back(std::move(range));
      }
    }
    each_object(root, "flows", version.has_value(), where,
                [&](const Value& v) { module.flows.push_back(read_flow(v)); });
  }

  void add_wrapper_help(const Value& root, Diagnostic& d) {
    if (member(root, "nodes")) {
      d.notes.push_back(Note{true,
                             "this looks like a bare React Flow export; wrap it as {\"waflow\": "
                             "\"visual\", \"version\": 1, \"flows\": [{\"name\": ..., \"nodes\": "
                             "[...], \"edges\": [...]}]}",
                             {}});
    }
  }

  ir::Flow read_flow(const Value& v) {
    ir::Flow flow;
    flow.span = v.span;
    const std::string where = "a flow";
    check_keys(v,
               {"name", "title", "priority", "triggers", "vars", "tools", "reminders", "nodes",
                "edges", "viewport"},
               where);
    if (auto name = string_field(v, "name", true, where, &flow.name_span)) {
      flow.name = *name;
      if (!is_name(flow.name)) {
        report_at(DiagnosticKind::WrongValueKind, flow.name_span, v.pointer + "/name", "name",
                  "a flow name (a letter or _, then letters, digits, _ and -)");
      }
    }
    flow.title = text_field(v, "title", false, where);
    flow.priority = int_field(v, "priority");
    each_object(v, "triggers", false, where,
                [&](const Value& t) { flow.triggers.push_back(read_trigger(t)); });
    each_object(v, "vars", false, where, [&](const Value& t) { flow.vars.push_back(read_var(t)); });
    each_object(v, "tools", false, where,
                [&](const Value& t) { flow.tools.push_back(read_tool(t)); });
    each_object(v, "reminders", false, where,
                [&](const Value& t) { flow.reminders.push_back(read_reminder(t)); });
    if (std::optional<Value> viewport = optional(v, "viewport");
        viewport && expect_object(*viewport)) {
      check_keys(*viewport, {"x", "y", "zoom"}, "the viewport");
      for (const char* key : {"x", "y", "zoom"}) {
        if (std::optional<Value> n = optional(*viewport, key)) {
          expect(*n, n->j->is_number(), "a number");
        }
      }
    }
    read_graph(v, flow);
    return flow;
  }

  ir::Trigger read_trigger(const Value& v) {
    ir::Trigger trigger;
    trigger.span = v.span;
    const std::string where = "a trigger";
    check_keys(v, {"kind", "values", "timezone", "priority"}, where);
    std::optional<Value> kind = required(v, "kind", where);
    if (kind && expect_string(*kind)) {
      const std::string name = kind->j->get<std::string>();
      if (!ir::parse_trigger_kind(name, trigger.kind)) {
        Diagnostic& d =
            report(DiagnosticKind::WrongValueKind, *kind, "kind",
                   "one of keyword, exact, regex, any, first_contact, payload, api, schedule");
        suggest(
            d, name,
            {"keyword", "exact", "regex", "any", "first_contact", "payload", "api", "schedule"});
        kind.reset();
      }
    }
    trigger.values = string_list(v, "values", false, where);
    if (auto tz = string_field(v, "timezone", false, where)) {
      trigger.timezone = *tz;
    }
    trigger.priority = int_field(v, "priority");
    if (!kind) {
      return trigger;
    }
    using K = ir::TriggerKind;
    const bool wants_values = trigger.kind == K::Keyword || trigger.kind == K::Exact ||
                              trigger.kind == K::Regex || trigger.kind == K::Payload ||
                              trigger.kind == K::Schedule;
    const std::string kind_name = ir::trigger_kind_name(trigger.kind);
    std::optional<Value> values = member(v, "values");
    if (wants_values && trigger.values.empty()) {
      if (!values) {
        report(DiagnosticKind::MissingKey, v, "values", fmt::format("a {} trigger", kind_name));
      } else {
        report(DiagnosticKind::WrongValueKind, *values, "values", "a list of at least one string");
      }
    } else if (!wants_values && values && !trigger.values.empty()) {
      report(DiagnosticKind::WrongValueKind, *values, "values",
             fmt::format("left out for a trigger of kind '{}'", kind_name));
    } else if ((trigger.kind == K::Regex || trigger.kind == K::Schedule) &&
               trigger.values.size() > 1 && values) {
      report(DiagnosticKind::WrongValueKind, *values, "values",
             fmt::format("a list of one string for a {} trigger", kind_name));
    }
    return trigger;
  }

  ir::VarDecl read_var(const Value& v) {
    ir::VarDecl decl;
    decl.span = v.span;
    const std::string where = "a variable declaration";
    check_keys(v, {"name", "type", "value"}, where);
    if (auto ref = var_field(v, "name", true, where)) {
      decl.var = *ref;
    }
    if (std::optional<Value> type = optional(v, "type"); type && expect_string(*type)) {
      const std::string name = type->j->get<std::string>();
      if (!ir::parse_value_type(name, decl.type)) {
        Diagnostic& d = report_at(DiagnosticKind::UnknownType, inner(*type), type->pointer, name);
        suggest(d, name,
                {"text", "number", "bool", "date", "datetime", "duration", "choice", "media",
                 "location", "object", "list"});
      }
    }
    if (member(v, "value")) {
      decl.init = expr_field(v, "value", false, where);
    }
    return decl;
  }

  ir::Header read_header(const Value& v) {
    ir::Header h;
    h.span = v.span;
    const std::string where = "an HTTP header";
    check_keys(v, {"name", "value"}, where);
    if (auto name = string_field(v, "name", true, where)) {
      h.name = *name;
    }
    h.value = text_field(v, "value", true, where);
    return h;
  }

  ir::Tool read_tool(const Value& v) {
    ir::Tool tool;
    tool.span = v.span;
    const std::string where = "a tool";
    check_keys(v, {"name", "description", "params", "method", "url", "headers", "json", "timeout"},
               where);
    if (auto name = string_field(v, "name", true, where)) {
      tool.name = *name;
    }
    tool.description = text_field(v, "description", false, where);
    each_object(v, "params", false, where, [&](const Value& p) {
      ir::ToolParam param;
      param.span = p.span;
      const std::string param_where = "a tool parameter";
      check_keys(p, {"name", "type", "description", "optional"}, param_where);
      if (auto name = string_field(p, "name", true, param_where)) {
        param.name = *name;
      }
      if (std::optional<Value> type = optional(p, "type")) {
        param.type = capture_value(*type).value_or(ir::CaptureType::Text);
      }
      param.description = text_field(p, "description", false, param_where);
      param.optional = bool_field(p, "optional");
      tool.params.push_back(std::move(param));
    });
    if (auto method = string_field(v, "method", false, where)) {
      tool.method = *method;
    }
    tool.url = text_field(v, "url", true, where);
    each_object(v, "headers", false, where,
                [&](const Value& h) { tool.headers.push_back(read_header(h)); });
    if (optional(v, "json")) {
      tool.json = expr_field(v, "json", false, where);
    }
    tool.timeout = duration_field(v, "timeout", false, where);
    return tool;
  }

  ir::Reminder read_reminder(const Value& v) {
    ir::Reminder r;
    r.span = v.span;
    const std::string where = "a reminder";
    check_keys(v, {"after", "text"}, where);
    if (auto after = duration_field(v, "after", true, where)) {
      r.after = *after;
    }
    r.text = text_field(v, "text", true, where);
    return r;
  }

  // --- Step data ----------------------------------------------------------------------

  void read_options(const Value& data, ir::Options& options, const std::string& where) {
    each_object(data, "buttons", false, where, [&](const Value& b) {
      const std::string button_where = "a button";
      check_keys(b, {"id", "title"}, button_where);
      ir::Button button;
      button.span = b.span;
      if (auto id = string_field(b, "id", true, button_where)) {
        button.id = *id;
      }
      button.title = text_field(b, "title", true, button_where);
      options.buttons.push_back(std::move(button));
    });
    std::optional<Value> list = optional(data, "list");
    if (!list || !expect_object(*list)) {
      return;
    }
    const std::string list_where = "a list";
    check_keys(*list, {"button", "sections"}, list_where);
    options.list_button = text_field(*list, "button", true, list_where);
    each_object(*list, "sections", true, list_where, [&](const Value& s) {
      const std::string section_where = "a list section";
      check_keys(s, {"title", "rows"}, section_where);
      ir::ListSection section;
      section.span = s.span;
      section.title = text_field(s, "title", false, section_where);
      each_object(s, "rows", true, section_where, [&](const Value& r) {
        const std::string row_where = "a list row";
        check_keys(r, {"id", "title", "description"}, row_where);
        ir::ListRow row;
        row.span = r.span;
        if (auto id = string_field(r, "id", true, row_where)) {
          row.id = *id;
        }
        row.title = text_field(r, "title", true, row_where);
        row.description = text_field(r, "description", false, row_where);
        section.rows.push_back(std::move(row));
      });
      options.sections.push_back(std::move(section));
    });
  }

  void read_ai(const Value& data, ir::AiOptions& ai, const std::string& where) {
    if (auto model = string_field(data, "model", false, where)) {
      ai.model = *model;
    }
    ai.fallbacks = string_list(data, "fallbacks", false, where);
    ai.system = text_field(data, "system", false, where);
    ai.prompt = text_field(data, "prompt", false, where);
    if (std::optional<Value> t = optional(data, "temperature");
        t && expect(*t, t->j->is_number(), "a number")) {
      ai.temperature = t->j->get<double>();
      ai.temperature_span = t->span;
    }
    ai.history = int_field(data, "history", &ai.history_span);
    ai.max_tokens = int_field(data, "maxTokens", &ai.max_tokens_span);
    ai.buffer = duration_field(data, "buffer", false, where);
    ai.timeout = duration_field(data, "timeout", false, where);
    ai.tools = string_list(data, "tools", false, where, &ai.tool_spans);
  }

  // Reads `invalid: {retries, reprompt}`; returns whether it is there.
  bool read_invalid(const Value& data, std::optional<int>& retries, ir::Text* reprompt,
                    SourceSpan& span) {
    std::optional<Value> v = optional(data, "invalid");
    if (!v || !expect_object(*v)) {
      return false;
    }
    const std::string where = "the invalid exit";
    if (reprompt != nullptr) {
      check_keys(*v, {"retries", "reprompt"}, where);
      *reprompt = text_field(*v, "reprompt", false, where);
    } else {
      check_keys(*v, {"retries"}, where);
    }
    retries = int_field(*v, "retries");
    span = v->span;
    return true;
  }

  static constexpr std::array<std::string_view, 10> kAiKeys = {
      "model",   "fallbacks", "system", "prompt",  "temperature",
      "history", "maxTokens", "buffer", "timeout", "tools"};

  std::optional<ir::StepBody> read_body(const std::string& type, const std::string& id,
                                        const Value& data) {
    const std::string where = fmt::format("the data of node '{}' ({})", id, type);
    auto keys = [&](std::initializer_list<std::string_view> allowed) {
      check_keys(data, std::vector<std::string_view>(allowed), where);
    };
    auto ai_keys = [&](std::initializer_list<std::string_view> own) {
      std::vector<std::string_view> allowed(own);
      allowed.insert(allowed.end(), kAiKeys.begin(), kAiKeys.end());
      check_keys(data, allowed, where);
    };
    if (type == "message") {
      keys({"text", "header", "footer", "buttons", "list"});
      ir::SayStep s;
      s.text = text_field(data, "text", true, where);
      s.header = text_field(data, "header", false, where);
      s.footer = text_field(data, "footer", false, where);
      read_options(data, s.options, where);
      return s;
    }
    if (type == "image" || type == "audio" || type == "video" || type == "document" ||
        type == "sticker") {
      keys({"url", "caption", "filename", "mime"});
      ir::MediaStep m;
      m.kind = type == "image"      ? ir::MediaKind::Image
               : type == "audio"    ? ir::MediaKind::Audio
               : type == "video"    ? ir::MediaKind::Video
               : type == "document" ? ir::MediaKind::Document
                                    : ir::MediaKind::Sticker;
      m.source = text_field(data, "url", true, where);
      m.caption = text_field(data, "caption", false, where);
      m.filename = text_field(data, "filename", false, where);
      if (auto mime = string_field(data, "mime", false, where, &m.mime_span)) {
        m.mime = *mime;
      }
      return m;
    }
    if (type == "location") {
      keys({"latitude", "longitude", "name", "address"});
      ir::LocationStep l;
      if (auto e = expr_field(data, "latitude", true, where)) {
        l.latitude = *e;
      }
      if (auto e = expr_field(data, "longitude", true, where)) {
        l.longitude = *e;
      }
      l.name = text_field(data, "name", false, where);
      l.address = text_field(data, "address", false, where);
      return l;
    }
    if (type == "template") {
      keys({"name", "language", "params"});
      ir::TemplateStep t;
      if (auto name = string_field(data, "name", true, where, &t.name_span)) {
        t.name = *name;
      }
      if (auto language = string_field(data, "language", false, where)) {
        t.language = *language;
      }
      if (std::optional<Value> params = optional(data, "params"); params && expect_array(*params)) {
        for (std::size_t i = 0; i < params->j->size(); ++i) {
          if (auto text = text_value(element(*params, i))) {
            t.params.push_back(*text);
          }
        }
      }
      return t;
    }
    if (type == "typing") {
      keys({"duration"});
      ir::TypingStep t;
      if (auto d = duration_field(data, "duration", true, where)) {
        t.duration = *d;
      }
      return t;
    }
    if (type == "buttons" || type == "list" || type == "user_reply") {
      keys({"variable", "type", "text", "buttons", "list", "pattern", "reminders", "invalid",
            "timeout"});
      ir::AskStep a;
      if (auto var = var_field(data, "variable", true, where)) {
        a.var = *var;
      }
      a.prompt = text_field(data, "text", true, where);
      read_options(data, a.options, where);
      a.type = a.options.empty() ? ir::CaptureType::Text : ir::CaptureType::Choice;
      if (std::optional<Value> t = optional(data, "type")) {
        a.type = capture_value(*t).value_or(a.type);
      }
      if (auto pattern = string_field(data, "pattern", false, where, &a.pattern_span)) {
        a.pattern = *pattern;
      }
      each_object(data, "reminders", false, where,
                  [&](const Value& r) { a.reminders.push_back(read_reminder(r)); });
      a.has_invalid = read_invalid(data, a.retries, &a.reprompt, a.invalid_span);
      a.timeout = duration_field(data, "timeout", false, where);
      return a;
    }
    if (type == "ai_prompt") {
      ai_keys({"into", "onError"});
      ir::AiReplyStep a;
      a.into = var_field(data, "into", false, where);
      read_ai(data, a.ai, where);
      a.has_error = bool_field(data, "onError");
      return a;
    }
    if (type == "ai_question") {
      ai_keys({"variable", "fields", "invalid", "onError"});
      ir::AiExtractStep a;
      if (auto var = var_field(data, "variable", true, where)) {
        a.var = *var;
      }
      each_object(data, "fields", true, where, [&](const Value& f) {
        const std::string field_where = "a field";
        check_keys(f, {"name", "type", "description", "optional"}, field_where);
        ir::ExtractField field;
        field.span = f.span;
        if (auto name = string_field(f, "name", true, field_where)) {
          field.name = *name;
        }
        if (std::optional<Value> t = optional(f, "type")) {
          field.type = capture_value(*t).value_or(ir::CaptureType::Text);
        }
        field.description = text_field(f, "description", false, field_where);
        field.optional = bool_field(f, "optional");
        a.fields.push_back(std::move(field));
      });
      read_ai(data, a.ai, where);
      a.has_invalid = read_invalid(data, a.retries, nullptr, a.invalid_span);
      a.has_error = bool_field(data, "onError");
      return a;
    }
    if (type == "ai_classify") {
      ai_keys({"variable", "input", "intents", "other", "onError"});
      ir::AiClassifyStep a;
      if (auto var = var_field(data, "variable", true, where)) {
        a.var = *var;
      }
      if (optional(data, "input")) {
        a.input = expr_field(data, "input", false, where);
      }
      each_object(data, "intents", true, where, [&](const Value& i) {
        const std::string intent_where = "an intent";
        check_keys(i, {"name", "description"}, intent_where);
        ir::Intent intent;
        intent.span = i.span;
        SourceSpan name_span;
        if (auto name = string_field(i, "name", true, intent_where, &name_span)) {
          intent.name = *name;
          if (!is_name(intent.name)) {
            report_at(DiagnosticKind::WrongValueKind, name_span, i.pointer + "/name", "name",
                      "an intent name (a letter or _, then letters, digits, _ and -)");
          }
        }
        intent.description = text_field(i, "description", false, intent_where);
        a.intents.push_back(std::move(intent));
      });
      a.has_other = bool_field(data, "other");
      read_ai(data, a.ai, where);
      a.has_error = bool_field(data, "onError");
      return a;
    }
    if (type == "condition") {
      keys({"conditions"});
      ir::IfStep s;
      std::optional<Value> list = required(data, "conditions", where);
      if (list && expect(*list, list->j->is_array() && !list->j->empty(),
                         "a list of at least one condition")) {
        for (std::size_t i = 0; i < list->j->size(); ++i) {
          const Value item = element(*list, i);
          ir::Branch branch;
          branch.span = item.span;
          if (auto e = expr_value(item)) {
            branch.condition = *e;
          }
          s.branches.push_back(std::move(branch));
        }
      }
      return s;
    }
    if (type == "switch") {
      keys({"subject", "cases"});
      ir::MatchStep m;
      if (auto e = expr_field(data, "subject", true, where)) {
        m.subject = *e;
      }
      each_object(data, "cases", true, where, [&](const Value& c) {
        const std::string case_where = "a case";
        check_keys(c, {"values"}, case_where);
        ir::Case kase;
        kase.span = c.span;
        std::optional<Value> values = required(c, "values", case_where);
        if (values && expect(*values, values->j->is_array() && !values->j->empty(),
                             "a list of at least one value")) {
          for (std::size_t i = 0; i < values->j->size(); ++i) {
            if (auto e = expr_value(element(*values, i))) {
              kase.values.push_back(*e);
            }
          }
        }
        m.cases.push_back(std::move(kase));
      });
      return m;
    }
    if (type == "set") {
      keys({"variable", "value"});
      ir::SetStep s;
      if (auto var = var_field(data, "variable", true, where)) {
        s.var = *var;
      }
      if (auto e = expr_field(data, "value", true, where)) {
        s.value = *e;
      }
      return s;
    }
    if (type == "goto") {
      keys({"target"});
      ir::GotoStep g;
      if (auto target = string_field(data, "target", true, where, &g.target_span)) {
        g.target = *target;
      }
      return g;
    }
    if (type == "call") {
      keys({"flow"});
      ir::CallStep c;
      if (auto flow = string_field(data, "flow", true, where, &c.flow_span)) {
        c.flow = *flow;
      }
      return c;
    }
    if (type == "return") {
      keys({});
      return ir::ReturnStep{};
    }
    if (type == "end") {
      keys({});
      return ir::EndStep{};
    }
    if (type == "stage") {
      keys({"name"});
      ir::StageStep s;
      if (auto name = string_field(data, "name", true, where)) {
        s.name = *name;
      }
      return s;
    }
    if (type == "tag") {
      keys({"tags", "remove"});
      ir::TagStep t;
      t.tags = string_list(data, "tags", true, where);
      t.add = !bool_field(data, "remove");
      return t;
    }
    if (type == "api_call") {
      keys({"variable", "method", "url", "headers", "json", "body", "timeout", "retries",
            "mappings", "onError"});
      ir::HttpStep h;
      h.var = var_field(data, "variable", false, where);
      if (auto method = string_field(data, "method", false, where, &h.method_span)) {
        h.method = *method;
      }
      h.url = text_field(data, "url", true, where);
      each_object(data, "headers", false, where,
                  [&](const Value& v) { h.headers.push_back(read_header(v)); });
      if (optional(data, "json")) {
        h.json = expr_field(data, "json", false, where);
      }
      h.body = text_field(data, "body", false, where);
      h.timeout = duration_field(data, "timeout", false, where);
      h.retries = int_field(data, "retries");
      each_object(data, "mappings", false, where, [&](const Value& m) {
        const std::string mapping_where = "a response mapping";
        check_keys(m, {"name", "path"}, mapping_where);
        ir::Mapping mapping;
        mapping.span = m.span;
        if (auto name = string_field(m, "name", true, mapping_where)) {
          mapping.name = *name;
        }
        if (auto path = string_field(m, "path", true, mapping_where)) {
          mapping.path = *path;
        }
        h.mappings.push_back(std::move(mapping));
      });
      h.has_error = bool_field(data, "onError");
      return h;
    }
    if (type == "store") {
      keys({"variable", "collection", "record"});
      ir::StoreStep s;
      s.var = var_field(data, "variable", false, where);
      if (auto collection = string_field(data, "collection", true, where)) {
        s.collection = *collection;
      }
      if (auto e = expr_field(data, "record", true, where)) {
        s.record = *e;
      }
      return s;
    }
    if (type == "delay") {
      keys({"duration"});
      ir::DelayStep d;
      if (auto duration = duration_field(data, "duration", true, where)) {
        d.duration = *duration;
      }
      return d;
    }
    if (type == "handoff") {
      keys({"note", "queue"});
      ir::HandoffStep h;
      h.note = text_field(data, "note", false, where);
      if (auto queue = string_field(data, "queue", false, where)) {
        h.queue = *queue;
      }
      return h;
    }
    return std::nullopt;
  }

  // --- Nodes, edges and structure ---------------------------------------------------

  std::optional<ir::Position> read_position(const Value& node) {
    std::optional<Value> v = optional(node, "position");
    if (!v || !expect_object(*v)) {
      return std::nullopt;
    }
    check_keys(*v, {"x", "y"}, "a position");
    ir::Position p;
    bool ok = true;
    for (const char* key : {"x", "y"}) {
      std::optional<Value> n = required(*v, key, "a position");
      if (!n || !expect(*n, n->j->is_number(), "a number")) {
        ok = false;
        continue;
      }
      (key[0] == 'x' ? p.x : p.y) = n->j->get<double>();
    }
    return ok ? std::optional<ir::Position>(p) : std::nullopt;
  }

  void read_node(const Value& v, NodeInfo& node, ir::Flow& flow) {
    node.value = v;
    const std::string where = "a node";
    check_keys(v, {"id", "type", "position", "data"}, where, &ignored_node_keys());
    SourceSpan id_span = v.span;
    if (auto id = string_field(v, "id", true, where, &id_span)) {
      node.id = *id;
      if (!is_name(node.id)) {
        report_at(DiagnosticKind::WrongValueKind, id_span, v.pointer + "/id", "id",
                  "a step id (a letter or _, then letters, digits, _ and -)");
      }
    }
    std::optional<Value> type = required(v, "type", where);
    if (!type || !expect_string(*type)) {
      return;
    }
    node.type = type->j->get<std::string>();
    std::optional<Value> data = optional(v, "data");
    if (data && !expect_object(*data)) {
      data.reset();
    }
    const Value body_data =
        data ? *data : value_at(&kEmptyObject, JsonLocator::kNone, v.pointer + "/data", v.span);
    const std::optional<ir::Position> position = read_position(v);
    if (node.type == "start") {
      node.start = true;
      check_keys(body_data, {}, "the data of a start node");
      if (!flow.position) {
        flow.position = position;
      }
      return;
    }
    std::optional<ir::StepBody> body = read_body(node.type, node.id, body_data);
    if (!body) {
      Diagnostic& d =
          report_at(DiagnosticKind::UnknownNodeType, inner(*type), type->pointer, node.type);
      suggest(d, node.type, visual::node_type_names());
      return;
    }
    node.usable = true;
    node.step.body = std::move(*body);
    node.step.id = node.id;
    node.step.id_span = id_span;
    node.step.span = v.span;
    node.step.position = position;
    node.shape = visual::shape_of(node.step.body);
    node.exits = visual::exit_handles(node.step.body);
    node.derivable = derivable_id(node.step.body, node.id);
  }

  // The handles an edge may start from.
  static std::vector<std::string> handle_names(const NodeInfo& node) {
    std::vector<std::string> names;
    if (node.start || node.shape == visual::NodeShape::Linear ||
        node.shape == visual::NodeShape::Fixed) {
      names.push_back("next");
    }
    if (!node.start) {
      for (const visual::HandleSpec& h : node.exits) {
        names.push_back(h.name);
      }
    }
    return names;
  }

  void read_edge(const Value& v, std::vector<NodeInfo>& nodes,
                 const std::unordered_map<std::string, std::size_t>& by_id,
                 std::vector<EdgeInfo>& edges) {
    const std::string where = "an edge";
    check_keys(v, {"id", "source", "target", "sourceHandle"}, where, &ignored_edge_keys());
    EdgeInfo edge;
    edge.value = v;
    if (auto id = string_field(v, "id", true, where)) {
      edge.id = *id;
    }
    std::optional<Value> source = required(v, "source", where);
    std::optional<Value> target = required(v, "target", where);
    if (!source || !expect_string(*source) || !target || !expect_string(*target)) {
      return;
    }
    // Node ids for suggestions, gathered only when an edge is wrong.
    auto ids = [&] {
      std::vector<std::string> out;
      for (const NodeInfo& n : nodes) {
        out.push_back(n.id);
      }
      return out;
    };
    const std::string label = edge.id.empty() ? std::string("edge") : "edge '" + edge.id + "'";
    const std::string source_id = source->j->get<std::string>();
    const std::string target_id = target->j->get<std::string>();
    auto from = by_id.find(source_id);
    auto to = by_id.find(target_id);
    bool ok = true;
    if (from == by_id.end()) {
      Diagnostic& d = report_at(DiagnosticKind::BadEdge, inner(*source), source->pointer,
                                fmt::format("{} starts at unknown node '{}'", label, source_id));
      suggest(d, source_id, ids());
      ok = false;
    }
    if (to == by_id.end()) {
      Diagnostic& d = report_at(DiagnosticKind::BadEdge, inner(*target), target->pointer,
                                fmt::format("{} ends at unknown node '{}'", label, target_id));
      suggest(d, target_id, ids());
      ok = false;
    } else if (nodes[to->second].start) {
      report_at(DiagnosticKind::BadEdge, inner(*target), target->pointer,
                fmt::format("{} leads into the start node '{}'; the start has no way in", label,
                            target_id));
      // The help names the first step once every edge is read.
      into_start_.push_back(diags_.all().size() - 1);
      ok = false;
    }
    if (!ok) {
      return;
    }
    NodeInfo& node = nodes[from->second];
    if (!node.start && !node.usable) {
      return;  // The node itself is already reported.
    }
    std::string handle;
    std::optional<Value> handle_value = optional(v, "sourceHandle");
    if (handle_value && expect_string(*handle_value)) {
      handle = handle_value->j->get<std::string>();
    } else if (handle_value) {
      return;
    }
    const std::vector<std::string> names = handle_names(node);
    const SourceSpan span = handle_value ? inner(*handle_value) : v.span;
    const std::string pointer = handle_value ? handle_value->pointer : v.pointer;
    if (names.empty()) {
      report_at(DiagnosticKind::BadEdge, span, pointer,
                fmt::format("{} starts at '{}', a{} {} node, which has no exits", label, node.id,
                            node.type == "end" ? "n" : "", node.type));
      return;
    }
    if (handle.empty()) {
      if (std::find(names.begin(), names.end(), "next") == names.end()) {
        report_at(DiagnosticKind::BadEdge, span, pointer,
                  fmt::format("{} from '{}' needs a sourceHandle: {}", label, node.id,
                              join_names(names)));
        return;
      }
      handle = "next";
    }
    if (std::find(names.begin(), names.end(), handle) == names.end()) {
      Diagnostic& d = report_at(DiagnosticKind::BadEdge, span, pointer,
                                fmt::format("node '{}' has no handle '{}'; its handles are {}",
                                            node.id, handle, join_names(names)));
      suggest(d, handle, names);
      if (handle == "invalid" || handle == "timeout" || handle == "error") {
        const char* key = handle == "invalid"   ? "data.invalid"
                          : handle == "timeout" ? "data.timeout"
                                                : "data.onError";
        d.notes.push_back(Note{true, fmt::format("set {} to give the node this exit", key), {}});
      }
      return;
    }
    auto [it, inserted] = node.edge_of_handle.emplace(handle, edges.size());
    if (!inserted) {
      const EdgeInfo& first = edges[it->second];
      Diagnostic& d = report_at(
          DiagnosticKind::BadEdge, span, pointer,
          fmt::format("handle '{}' of node '{}' already has an edge{}; a handle leads to one node",
                      handle, node.id, first.id.empty() ? "" : " ('" + first.id + "')"));
      d.notes.push_back(Note{false, "the first edge is here", first.value.span});
      return;
    }
    edge.target = to->second;
    edges.push_back(std::move(edge));
  }

  void read_graph(const Value& flow_value, ir::Flow& flow) {
    const std::string where = fmt::format("flow '{}'", flow.name);
    std::vector<NodeInfo> nodes;
    std::unordered_map<std::string, std::size_t> by_id;
    std::set<std::string> duplicated;
    std::optional<Value> node_list = required(flow_value, "nodes", "a flow");
    if (node_list && expect_array(*node_list)) {
      nodes.resize(node_list->j->size());
      for (std::size_t i = 0; i < nodes.size(); ++i) {
        const Value item = element(*node_list, i);
        if (!expect_object(item)) {
          continue;
        }
        read_node(item, nodes[i], flow);
        if (nodes[i].id.empty()) {
          continue;
        }
        if (!by_id.emplace(nodes[i].id, i).second) {
          duplicated.insert(nodes[i].id);
        }
      }
    }
    // The start node.
    std::size_t start = visual::kExit;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (!nodes[i].start) {
        continue;
      }
      if (start == visual::kExit) {
        start = i;
        continue;
      }
      std::optional<Value> type = member(nodes[i].value, "type");
      Diagnostic& d = report(DiagnosticKind::BadEdge, type ? *type : nodes[i].value,
                             fmt::format("{} has more than one start node", where));
      d.notes.push_back(Note{false, "the first start node is here", nodes[start].value.span});
    }
    if (start == visual::kExit && node_list && node_list->j->is_array()) {
      report(DiagnosticKind::BadEdge, *node_list, fmt::format("{} has no start node", where));
    }
    std::vector<EdgeInfo> edges;
    into_start_.clear();
    if (std::optional<Value> edge_list = optional(flow_value, "edges");
        edge_list && expect_array(*edge_list)) {
      for (std::size_t i = 0; i < edge_list->j->size(); ++i) {
        const Value item = element(*edge_list, i);
        if (expect_object(item)) {
          read_edge(item, nodes, by_id, edges);
        }
      }
    }
    std::string first_step;
    if (start != visual::kExit) {
      auto it = nodes[start].edge_of_handle.find("next");
      if (it != nodes[start].edge_of_handle.end()) {
        first_step = nodes[edges[it->second].target].id;
      }
    }
    for (std::size_t index : into_start_) {
      diags_.all()[index].notes.push_back(Note{
          true,
          first_step.empty()
              ? std::string("to start over, connect the edge to the first step")
              : fmt::format("to start over, connect the edge to '{}', the first step", first_step),
          {}});
    }
    build_steps(nodes, edges, start, duplicated, flow);
  }

  void build_steps(std::vector<NodeInfo>& nodes, const std::vector<EdgeInfo>& edges,
                   std::size_t start, const std::set<std::string>& duplicated, ir::Flow& flow) {
    visual::Graph graph;
    std::vector<std::size_t> node_of;  // Graph index -> index into nodes.
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].usable) {
        nodes[i].graph_index = node_of.size();
        node_of.push_back(i);
      }
    }
    auto target_of = [&](const NodeInfo& node, const std::string& handle, std::size_t& edge) {
      edge = visual::kNoEdge;
      auto it = node.edge_of_handle.find(handle);
      if (it == node.edge_of_handle.end()) {
        return visual::kExit;
      }
      edge = it->second;
      return nodes[edges[it->second].target].graph_index;
    };
    for (std::size_t index : node_of) {
      const NodeInfo& node = nodes[index];
      visual::GraphNode g;
      g.shape = node.shape;
      g.next = target_of(node, "next", g.next_edge);
      for (const visual::HandleSpec& h : node.exits) {
        visual::GraphExit e;
        e.role = h.role;
        e.target = target_of(node, h.name, e.edge);
        g.exits.push_back(e);
      }
      graph.nodes.push_back(std::move(g));
    }
    if (start != visual::kExit) {
      std::size_t edge = visual::kNoEdge;
      graph.entry = target_of(nodes[start], "next", edge);
    }
    const visual::Structure structure = visual::structure_graph(graph);
    flow.steps = build_block(structure, 0, nodes, node_of, edges, flow);

    // Which ids are explicit: those the compiler would not derive, plus the
    // fewest others that make the derived numbering come out as written.
    std::unordered_map<std::string, bool> certain;
    for (const NodeInfo& node : nodes) {
      if (node.usable && !node.id.empty()) {
        certain[node.id] = !node.derivable || duplicated.count(node.id) != 0;
      }
    }
    std::vector<ir::Step*> steps;
    ir::for_each_step(flow.steps, [&](ir::Step& s) { steps.push_back(&s); });
    std::vector<char> is_explicit(steps.size(), 0);
    for (std::size_t i = 0; i < steps.size(); ++i) {
      auto it = certain.find(steps[i]->id);
      is_explicit[i] = static_cast<char>(it != certain.end() && it->second ? 1 : 0);
    }
    std::vector<std::string> derived(steps.size());
    for (int round = 0;; ++round) {
      ir::Flow probe;
      probe.steps = flow.steps;
      std::size_t k = 0;
      ir::for_each_step(probe.steps, [&](ir::Step& s) {
        s.explicit_id = is_explicit[k] != 0;
        if (!s.explicit_id) {
          s.id.clear();
        }
        ++k;
      });
      assign_step_ids(probe);
      k = 0;
      ir::for_each_step(probe.steps, [&](ir::Step& s) { derived[k++] = s.id; });
      std::vector<std::size_t> wrong;
      for (std::size_t i = 0; i < steps.size(); ++i) {
        if (is_explicit[i] == 0 && !steps[i]->id.empty() && derived[i] != steps[i]->id) {
          wrong.push_back(i);
        }
      }
      if (wrong.empty()) {
        break;
      }
      // One at a time keeps labels few; past a few rounds, settle them all.
      if (round < 16) {
        wrong.resize(1);
      }
      for (std::size_t i : wrong) {
        is_explicit[i] = 1;
      }
    }
    for (std::size_t i = 0; i < steps.size(); ++i) {
      steps[i]->explicit_id = is_explicit[i] != 0;
      steps[i]->id = derived[i];
    }
  }

  ir::Block build_block(const visual::Structure& structure, std::size_t index,
                        std::vector<NodeInfo>& nodes, const std::vector<std::size_t>& node_of,
                        const std::vector<EdgeInfo>& edges, const ir::Flow& flow) {
    ir::Block block;
    for (const visual::Item& item : structure.blocks[index]) {
      SourceSpan span = flow.span;
      if (item.edge != visual::kNoEdge) {
        span = edges[item.edge].value.span;
      } else if (item.owner != visual::kExit) {
        span = nodes[node_of[item.owner]].step.span;
      }
      if (item.kind == visual::ItemKind::Goto) {
        ir::Step step;
        const std::string& target = nodes[node_of[item.node]].id;
        step.body = ir::GotoStep{target, span};
        step.span = span;
        block.push_back(std::move(step));
        continue;
      }
      if (item.kind == visual::ItemKind::End) {
        // The flow finishes here, as when a run reaches the end of its steps: a
        // flow with triggers ends the run; one without (other flows call it)
        // returns to its caller.
        ir::Step step;
        if (flow.triggers.empty()) {
          step.body = ir::ReturnStep{};
        } else {
          step.body = ir::EndStep{};
        }
        step.span = span;
        block.push_back(std::move(step));
        continue;
      }
      ir::Step step = std::move(nodes[node_of[item.node]].step);
      std::vector<ir::Block> children;
      for (std::size_t child : item.blocks) {
        children.push_back(build_block(structure, child, nodes, node_of, edges, flow));
      }
      std::vector<ir::Block*> slots = visual::exit_blocks(step);
      for (std::size_t k = 0; k < slots.size() && k < children.size(); ++k) {
        *slots[k] = std::move(children[k]);
      }
      if (auto* branch = std::get_if<ir::IfStep>(&step.body)) {
        branch->has_else = !branch->otherwise.empty();
      } else if (auto* match = std::get_if<ir::MatchStep>(&step.body)) {
        match->has_else = !match->otherwise.empty();
      } else if (auto* classify = std::get_if<ir::AiClassifyStep>(&step.body)) {
        classify->has_other = classify->has_other || !classify->other.empty();
      }
      block.push_back(std::move(step));
    }
    return block;
  }
};

}  // namespace

ir::Module parse_visual(const SourceManager& sources, FileId file, Diagnostics& diags) {
  try {
    return Reader(sources, file, diags).read();
  } catch (const std::exception& e) {
    // nlohmann throws on type confusion the checks above should prevent; never
    // let it escape as anything but a diagnostic.
    diags.report(DiagnosticKind::JsonSyntax, SourceSpan{file, 0, 0}, e.what());
    ir::Module module;
    module.file = file;
    return module;
  }
}

}  // namespace waflow
