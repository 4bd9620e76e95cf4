// The YAML front end: lowers the tree of document.h into the flow IR.
//
// The format (described atop writer.cpp and in schemas/flow.schema.json) is the
// DSL's constructs as data, so this file mirrors compiler/dsl/lower.cpp: the
// same IR for the same construct, and the same value checks (durations, types,
// scopes, numbers) with the same diagnostics. On top of those it reports the
// shape errors only data can have: unknown keys (with a suggestion among the
// keys valid at that place), missing keys and values of the wrong kind. It
// never stops at the first error: a bad value is skipped and reading goes on.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <set>
#include <string>

#include "compiler/dsl/expr_parser.h"
#include "compiler/frontend.h"
#include "compiler/yaml/document.h"
#include "compiler/yaml/format.h"

namespace waflow::yaml {

namespace {

using ir::Block;
using ir::Step;
using Keys = std::vector<std::string>;

const Keys kTopKeys = {"timezone", "hours", "flows"};
const Keys kFlowKeys = {"flow", "title", "priority",  "position", "triggers",
                        "vars", "tools", "reminders", "steps"};
const Keys kTriggerOptions = {"priority", "tz"};
const Keys kVarKeys = {"var", "type", "value"};
const Keys kToolKeys = {"tool", "description", "params", "method",
                        "url",  "headers",     "json",   "timeout"};
const Keys kParamKeys = {"param", "type", "description", "optional"};
const Keys kHeaderKeys = {"name", "value"};
const Keys kReminderKeys = {"after", "text"};
const Keys kButtonKeys = {"id", "title"};
const Keys kSectionKeys = {"title", "rows"};
const Keys kRowKeys = {"id", "title", "description"};
const Keys kAskInvalidKeys = {"retry", "reprompt", "steps"};
const Keys kExtractInvalidKeys = {"retry", "steps"};
const Keys kTimeoutKeys = {"after", "steps"};
const Keys kFieldKeys = {"field", "type", "description", "optional"};
const Keys kIntentKeys = {"intent", "description", "steps"};
const Keys kElifKeys = {"if", "then"};
const Keys kCaseKeys = {"case", "then"};
const Keys kMapKeys = {"name", "path"};
const Keys kPositionKeys = {"x", "y"};
const Keys kStepCommonKeys = {"id", "position"};

bool contains(const Keys& keys, std::string_view key) {
  for (const std::string& k : keys) {
    if (k == key) {
      return true;
    }
  }
  return false;
}

std::string with_article(std::string_view kind) {
  const bool vowel =
      !kind.empty() && std::string_view("aeiou").find(kind[0]) != std::string_view::npos;
  return fmt::format("{} '{}' step", vowel ? "an" : "a", kind);
}

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || (c >= '0' && c <= '9');
}

// [A-Za-z_][A-Za-z0-9_]*
bool is_identifier(std::string_view s) {
  if (s.empty() || !is_ident_start(s[0])) {
    return false;
  }
  for (char c : s) {
    if (!is_ident_char(c)) {
      return false;
    }
  }
  return true;
}

// A DSL name: an identifier that may also hold '-'.
bool is_name(std::string_view s) {
  if (s.empty() || !is_ident_start(s[0])) {
    return false;
  }
  for (char c : s) {
    if (!is_ident_char(c) && c != '-') {
      return false;
    }
  }
  return true;
}

// The whole of `text` as a number, the way the DSL reads number literals
// (std::from_chars does not depend on the locale).
std::optional<double> parse_number(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  std::string_view digits = text;
  bool negative = false;
  if (digits[0] == '-' || digits[0] == '+') {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  // A digit first, or YAML's ".5"; never "inf" or "nan", which from_chars takes.
  const auto is_digit = [](char c) {
    return c >= '0' && c <= '9';
  };
  if (digits.empty() ||
      !(is_digit(digits[0]) || (digits[0] == '.' && digits.size() > 1 && is_digit(digits[1])))) {
    return std::nullopt;
  }
  double value = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return negative ? -value : value;
}

// One key of a mapping and its value.
struct Entry {
  const Node* key = nullptr;
  const Node* value = nullptr;
  std::string name;

  explicit operator bool() const { return value != nullptr; }
  // From the key to the end of its value when that is on the key's line.
  SourceSpan line_span() const {
    SourceSpan span = key->span;
    if (value->kind == NodeKind::Scalar || value->flow ||
        (value->kind == NodeKind::Null && !value->value.empty())) {
      span.end = std::max(span.end, value->span.end);
    }
    return span;
  }
};

// The accepted keys of one mapping, in source order.
class Fields {
 public:
  Entry get(std::string_view key) const {
    for (const Entry& e : entries_) {
      if (e.name == key) {
        return e;
      }
    }
    return {};
  }
  bool has(std::string_view key) const { return static_cast<bool>(get(key)); }
  void add(Entry e) { entries_.push_back(std::move(e)); }

 private:
  std::vector<Entry> entries_;
};

class Reader {
 public:
  Reader(std::string_view source, FileId file, Diagnostics& diags)
      : source_(source), file_(file), diags_(diags) {}

  ir::Module module(const Node* root) {
    ir::Module module;
    module.file = file_;
    if (root == nullptr || (root->kind == NodeKind::Null && root->value.empty())) {
      return module;
    }
    if (root->kind != NodeKind::Mapping) {
      diags_.report(DiagnosticKind::WrongValueKind, root->span, "document",
                    "a mapping with 'flows' (and optionally 'timezone' and 'hours')");
      return module;
    }
    const Fields f = fields(*root, "the top level", kTopKeys);
    if (Entry e = f.get("timezone")) {
      if (auto tz = string(e)) {
        module.timezone = *tz;
        module.timezone_span = e.value->span;
      }
    }
    if (Entry e = f.get("hours")) {
      for (const Node* item :
           scalar_list(e, "a list of opening hours such as 'mon-fri 09:00-17:00'")) {
        ir::HoursRange range;
        range.text = item->value;
        range.span = item->span;
        if (!ir::parse_hours_text(range.text, range)) {
          diags_.report(DiagnosticKind::InvalidHours, item->span,
                        fmt::format("'{}' (use e.g. mon-fri 09:00-17:00)", range.text));
        }
        module.hours.push_back(std::move(range));
      }
    }
    if (Entry e = f.get("flows")) {
      for (const Node* item : list(e, "a list of flows")) {
        if (auto flow = read_flow(*item)) {
          module.flows.push_back(std::move(*flow));
        }
      }
    }
    return module;
  }

 private:
  std::string_view source_;  // The file's text.
  FileId file_;
  Diagnostics& diags_;

  // --- Mappings and keys ------------------------------------------------------------

  // Checks the keys of `map` against `allowed`: unknown keys, repeated keys and
  // keys that are not strings are reported and left out.
  Fields fields(const Node& map, std::string_view context, const Keys& allowed) {
    Fields out;
    std::set<std::string, std::less<>> seen;
    for (const auto& [key, value] : map.entries) {
      if (key->kind != NodeKind::Scalar) {
        diags_.report(DiagnosticKind::WrongValueKind, key->span, "key", "a string");
        continue;
      }
      if (!seen.insert(key->value).second) {
        diags_.report(DiagnosticKind::DuplicateOption, key->span, key->value);
        continue;
      }
      if (!contains(allowed, key->value)) {
        Diagnostic& d = diags_.report(DiagnosticKind::UnknownKey, key->span, key->value, context);
        suggest(d, key->value, allowed);
        continue;
      }
      out.add(Entry{key.get(), value.get(), key->value});
    }
    return out;
  }

  // The value of scalar key `key` in `map`, before its keys are checked.
  static const Node* peek(const Node& map, std::string_view key) {
    for (const auto& [k, v] : map.entries) {
      if (k->kind == NodeKind::Scalar && k->value == key) {
        return v.get();
      }
    }
    return nullptr;
  }

  // Where a missing key is reported: the first line of the mapping.
  void missing(const Node& map, std::string_view key, std::string_view context) {
    diags_.report(DiagnosticKind::MissingKey, map.span, key, context);
  }

  // Reports a value of the wrong kind. An empty value (`key:` and nothing) has
  // no text of its own, so the key is underlined.
  void wrong(const Entry& e, std::string_view expected) {
    const bool empty = e.value->kind == NodeKind::Null && e.value->value.empty();
    diags_.report(DiagnosticKind::WrongValueKind, empty ? e.key->span : e.value->span, e.name,
                  expected);
  }
  void wrong_item(std::string_view key, const Node& item, std::string_view expected) {
    diags_.report(DiagnosticKind::WrongValueKind, item.span, key, expected);
  }

  // --- Values ------------------------------------------------------------------------

  std::optional<std::string> string(const Entry& e) {
    if (e.value->kind != NodeKind::Scalar) {
      wrong(e, "a string");
      return std::nullopt;
    }
    return e.value->value;
  }

  ir::Text text(const Entry& e) {
    if (e.value->kind != NodeKind::Scalar) {
      wrong(e, "a string");
      return {};
    }
    return text_of(*e.value);
  }

  // A scalar as a text, with where its characters start in the source, so that
  // a placeholder's diagnostic points at the placeholder: after the quote of a
  // quoted scalar, at once for a plain one, on the first content line of a block.
  ir::Text text_of(const Node& n) const {
    ir::Text t{n.value, n.span};
    switch (n.style) {
      case ScalarStyle::Plain:
        t.lead = 0;
        break;
      case ScalarStyle::SingleQuoted:
      case ScalarStyle::DoubleQuoted:
        t.lead = 1;
        break;
      case ScalarStyle::Block: {
        // The span covers the indicator line only; the text starts on the next.
        std::size_t at = source_.find('\n', n.span.begin);
        if (at != std::string_view::npos) {
          at = source_.find_first_not_of(' ', at + 1);
          if (at != std::string_view::npos) {
            t.lead = static_cast<std::uint32_t>(at - n.span.begin);
          }
        }
        break;
      }
    }
    return t;
  }

  // An integer, as the DSL's `integer()`: numbers that are not whole or beyond
  // a billion are invalid numbers; text that is no number is the wrong kind.
  std::optional<int> integer(const Entry& e) {
    if (e.value->kind != NodeKind::Scalar) {
      wrong(e, "an integer");
      return std::nullopt;
    }
    const std::optional<double> v = parse_number(e.value->value);
    if (!v) {
      wrong(e, "an integer");
      return std::nullopt;
    }
    if (*v != std::floor(*v) || *v > 1e9 || *v < -1e9) {
      diags_.report(DiagnosticKind::InvalidNumber, e.value->span, e.value->value);
      return std::nullopt;
    }
    return static_cast<int>(*v);
  }

  std::optional<double> number(const Entry& e) {
    std::optional<double> v;
    if (e.value->kind == NodeKind::Scalar) {
      v = parse_number(e.value->value);
    }
    if (!v) {
      wrong(e, "a number");
    }
    return v;
  }

  std::optional<bool> boolean(const Entry& e) {
    if (e.value->kind == NodeKind::Scalar) {
      const std::string& v = e.value->value;
      if (v == "true" || v == "True" || v == "TRUE") {
        return true;
      }
      if (v == "false" || v == "False" || v == "FALSE") {
        return false;
      }
    }
    wrong(e, "true or false");
    return std::nullopt;
  }

  // Kinds without an operand (`end: true`) take the value true.
  void require_true(const Entry& e) {
    if (e.value->kind != NodeKind::Scalar ||
        (e.value->value != "true" && e.value->value != "True" && e.value->value != "TRUE")) {
      wrong(e, "true");
    }
  }

  ir::Duration duration(const Entry& e) {
    ir::Duration d;
    if (e.value->kind != NodeKind::Scalar) {
      wrong(e, "a duration such as 30s, 5m, 2h or 1d");
      return d;
    }
    d.text = e.value->value;
    d.span = e.value->span;
    if (!ir::parse_duration(d.text, d.ms)) {
      diags_.report(DiagnosticKind::InvalidDuration, d.span, d.text);
    }
    return d;
  }

  // "address", "contact.language": the scope rules of the DSL's var_ref.
  ir::VarRef var_ref(const Entry& e) {
    ir::VarRef ref;
    ref.span = e.value->span;
    const std::string* text = e.value->kind == NodeKind::Scalar ? &e.value->value : nullptr;
    const std::size_t dot = text == nullptr ? std::string::npos : text->find('.');
    const bool valid =
        text != nullptr &&
        (dot == std::string::npos ? is_identifier(*text)
                                  : is_identifier(std::string_view(*text).substr(0, dot)) &&
                                        is_identifier(std::string_view(*text).substr(dot + 1)));
    if (!valid) {
      wrong(e, "a variable name such as 'address' or 'contact.language'");
      return ref;
    }
    if (dot == std::string::npos) {
      ref.name = *text;
      return ref;
    }
    const std::string scope = text->substr(0, dot);
    ref.name = text->substr(dot + 1);
    if (scope == "contact") {
      ref.scope = ir::Scope::Contact;
    } else if (scope == "conversation" || scope == "conv") {
      ref.scope = ir::Scope::Conversation;
    } else if (scope == "flow") {
      ref.scope = ir::Scope::Flow;
    } else if (scope == "message") {
      ref.scope = ir::Scope::Message;
    } else {
      const std::uint32_t begin =
          e.value->span.begin + (e.value->style == ScalarStyle::Plain ? 0 : 1);
      Diagnostic& d =
          diags_.report(DiagnosticKind::UnknownScope,
                        SourceSpan{file_, begin, begin + static_cast<std::uint32_t>(dot)}, scope);
      suggest(d, scope, {"contact", "conversation", "flow"});
    }
    return ref;
  }

  // A name: a flow, step id, tool, intent, field... (letters, digits, _ and -).
  std::optional<std::string> name(const Entry& e) {
    if (e.value->kind != NodeKind::Scalar || !is_name(e.value->value)) {
      wrong(e, "a name (letters, digits, _ and -, not starting with a digit)");
      return std::nullopt;
    }
    return e.value->value;
  }

  std::optional<ir::Expr> expression(const Entry& e) {
    const Node& v = *e.value;
    if (v.kind == NodeKind::Null && !v.value.empty()) {
      // `value: null` or `value: ~`: the null expression.
      ir::Expr null;
      null.kind = ir::ExprKind::Null;
      null.text = "null";
      null.span = v.span;
      return null;
    }
    if (v.kind != NodeKind::Scalar) {
      wrong(e, "an expression (a string such as 'lower(answer) == \"yes\"')");
      return std::nullopt;
    }
    SourceSpan origin = v.span;
    if (v.style == ScalarStyle::SingleQuoted || v.style == ScalarStyle::DoubleQuoted) {
      ++origin.begin;
    }
    return dsl::parse_expression(v.value, origin, diags_);
  }

  std::optional<ir::CaptureType> capture_type(const Entry& e) {
    const std::optional<std::string> s = string(e);
    if (!s) {
      return std::nullopt;
    }
    ir::CaptureType type{};
    if (ir::parse_capture_type(*s, type)) {
      return type;
    }
    Diagnostic& d = diags_.report(DiagnosticKind::UnknownType, e.value->span, *s);
    suggest(d, *s, capture_type_names());
    return std::nullopt;
  }

  // The items of a sequence value; anything else is reported.
  std::vector<const Node*> list(const Entry& e, std::string_view expected) {
    std::vector<const Node*> out;
    if (e.value->kind != NodeKind::Sequence) {
      wrong(e, expected);
      return out;
    }
    for (const NodePtr& item : e.value->items) {
      out.push_back(item.get());
    }
    return out;
  }

  // A list of mappings; other items are reported.
  std::vector<const Node*> mappings(const Entry& e, std::string_view expected) {
    std::vector<const Node*> out;
    for (const Node* item : list(e, expected)) {
      if (item->kind != NodeKind::Mapping) {
        wrong_item(e.name, *item, expected);
        continue;
      }
      out.push_back(item);
    }
    return out;
  }

  // A list of strings, or one string standing for a list of one.
  std::vector<const Node*> scalar_list(const Entry& e, std::string_view expected) {
    std::vector<const Node*> out;
    if (e.value->kind == NodeKind::Scalar) {
      out.push_back(e.value);
      return out;
    }
    for (const Node* item : list(e, expected)) {
      if (item->kind != NodeKind::Scalar) {
        wrong_item(e.name, *item, expected);
        continue;
      }
      out.push_back(item);
    }
    return out;
  }

  std::vector<std::string> strings(const Entry& e, std::string_view expected) {
    std::vector<std::string> out;
    for (const Node* item : scalar_list(e, expected)) {
      out.push_back(item->value);
    }
    return out;
  }

  // A list item standing alone, as an entry for the value readers.
  static Entry item_entry(const Entry& list_entry, const Node* item) {
    return Entry{list_entry.key, item, list_entry.name};
  }

  std::optional<ir::Position> position(const Entry& e) {
    if (e.value->kind != NodeKind::Mapping) {
      wrong(e, "a mapping {x: NUMBER, y: NUMBER}");
      return std::nullopt;
    }
    const Fields f = fields(*e.value, "position", kPositionKeys);
    ir::Position p;
    bool ok = true;
    for (const char* axis : {"x", "y"}) {
      const Entry a = f.get(axis);
      if (!a) {
        missing(*e.value, axis, "position");
        ok = false;
        continue;
      }
      if (auto v = number(a)) {
        (axis[0] == 'x' ? p.x : p.y) = *v;
      } else {
        ok = false;
      }
    }
    return ok ? std::optional<ir::Position>(p) : std::nullopt;
  }

  // --- Flows -------------------------------------------------------------------------

  std::optional<ir::Flow> read_flow(const Node& n) {
    if (n.kind != NodeKind::Mapping) {
      wrong_item("flows", n, "a list of flows");
      return std::nullopt;
    }
    const Node* name_node = peek(n, "flow");
    const std::string context = name_node != nullptr && name_node->kind == NodeKind::Scalar
                                    ? fmt::format("flow '{}'", name_node->value)
                                    : std::string("a flow");
    const Fields f = fields(n, context, kFlowKeys);
    ir::Flow flow;
    flow.span = n.span;
    if (Entry e = f.get("flow")) {
      flow.span = e.line_span();
      flow.name_span = e.value->span;
      if (auto s = name(e)) {
        flow.name = *s;
      }
    } else {
      missing(n, "flow", context);
    }
    if (Entry e = f.get("title")) {
      flow.title = text(e);
    }
    if (Entry e = f.get("priority")) {
      flow.priority = integer(e);
    }
    if (Entry e = f.get("position")) {
      flow.position = position(e);
    }
    if (Entry e = f.get("triggers")) {
      for (const Node* item : mappings(e, "a list of triggers such as '- keyword: [hi]'")) {
        if (auto trigger = read_trigger(*item)) {
          flow.triggers.push_back(std::move(*trigger));
        }
      }
    }
    if (Entry e = f.get("vars")) {
      for (const Node* item : mappings(e, "a list of {var, type, value} mappings")) {
        flow.vars.push_back(read_var(*item));
      }
    }
    if (Entry e = f.get("tools")) {
      for (const Node* item : mappings(e, "a list of tools")) {
        flow.tools.push_back(read_tool(*item));
      }
    }
    if (Entry e = f.get("reminders")) {
      flow.reminders = reminders(e);
    }
    if (Entry e = f.get("steps")) {
      flow.steps = block(e);
    }
    return flow;
  }

  // The kind keys among the keys of `map` (steps and triggers name their kind
  // with a key).
  static std::vector<Entry> kind_entries(const Node& map, const Keys& kinds) {
    std::vector<Entry> out;
    for (const auto& [k, v] : map.entries) {
      // A repeated kind key is one kind given twice; fields() reports it.
      const std::string& key = k->value;
      const bool repeated =
          std::any_of(out.begin(), out.end(), [&](const Entry& e) { return e.name == key; });
      if (k->kind == NodeKind::Scalar && contains(kinds, k->value) && !repeated) {
        out.push_back(Entry{k.get(), v.get(), k->value});
      }
    }
    return out;
  }

  // Checks that `map` has exactly one kind key; reports otherwise.
  std::optional<Entry> one_kind(const Node& map, const Keys& kinds, std::string_view what,
                                std::string_view context, const Keys& other_keys) {
    const std::vector<Entry> found = kind_entries(map, kinds);
    if (found.size() == 1) {
      return found[0];
    }
    if (found.size() > 1) {
      Diagnostic& d =
          diags_.report(DiagnosticKind::WrongValueKind, found[1].key->span, what,
                        fmt::format("a mapping with one kind key, not both '{}' and '{}'",
                                    found[0].name, found[1].name));
      d.notes.push_back(Note{true, "start each item of the list with '- '", {}});
      return std::nullopt;
    }
    // No kind: unknown keys are likely misspelt kinds.
    Keys candidates = kinds;
    candidates.insert(candidates.end(), other_keys.begin(), other_keys.end());
    const std::size_t before = diags_.all().size();
    fields(map, context, candidates);
    if (diags_.all().size() == before) {
      diags_.report(DiagnosticKind::WrongValueKind, map.span, what,
                    fmt::format("a mapping with a key naming its kind, such as '{}'", kinds[0]));
    }
    return std::nullopt;
  }

  std::optional<ir::Trigger> read_trigger(const Node& n) {
    const std::optional<Entry> kind =
        one_kind(n, trigger_kinds(), "trigger", "a trigger", kTriggerOptions);
    if (!kind) {
      return std::nullopt;
    }
    Keys allowed = kTriggerOptions;
    allowed.push_back(kind->name);
    const Fields f = fields(n, fmt::format("a '{}' trigger", kind->name), allowed);
    ir::Trigger trigger;
    trigger.span = kind->line_span();
    ir::parse_trigger_kind(kind->name, trigger.kind);
    using K = ir::TriggerKind;
    const bool wants_values = trigger.kind == K::Keyword || trigger.kind == K::Exact ||
                              trigger.kind == K::Regex || trigger.kind == K::Payload ||
                              trigger.kind == K::Schedule;
    const bool one_value = trigger.kind == K::Regex || trigger.kind == K::Schedule;
    if (!wants_values) {
      require_true(*kind);
    } else if (one_value) {
      if (auto s = string(*kind)) {
        trigger.values.push_back(*s);
      }
    } else {
      trigger.values = strings(*kind, "a list of strings");
      if (trigger.values.empty() && kind->value->kind == NodeKind::Sequence) {
        wrong(*kind, "a list of one or more strings");
      }
    }
    if (Entry e = f.get("priority")) {
      trigger.priority = integer(e);
    }
    if (Entry e = f.get("tz")) {
      if (auto s = string(e)) {
        trigger.timezone = *s;
      }
    }
    return trigger;
  }

  ir::VarDecl read_var(const Node& n) {
    const Fields f = fields(n, "a var", kVarKeys);
    ir::VarDecl decl;
    decl.span = n.span;
    if (Entry e = f.get("var")) {
      decl.span = e.line_span();
      decl.var = var_ref(e);
    } else {
      missing(n, "var", "a var");
    }
    if (Entry e = f.get("type")) {
      if (auto s = string(e); s && !ir::parse_value_type(*s, decl.type)) {
        Diagnostic& d = diags_.report(DiagnosticKind::UnknownType, e.value->span, *s);
        suggest(d, *s, value_type_names());
      }
    }
    if (Entry e = f.get("value")) {
      decl.init = expression(e);
    }
    return decl;
  }

  ir::Tool read_tool(const Node& n) {
    const Node* name_node = peek(n, "tool");
    const std::string context = name_node != nullptr && name_node->kind == NodeKind::Scalar
                                    ? fmt::format("tool '{}'", name_node->value)
                                    : std::string("a tool");
    const Fields f = fields(n, context, kToolKeys);
    ir::Tool tool;
    tool.span = n.span;
    if (Entry e = f.get("tool")) {
      tool.span = e.line_span();
      if (auto s = name(e)) {
        tool.name = *s;
      }
    } else {
      missing(n, "tool", context);
    }
    if (Entry e = f.get("description")) {
      tool.description = text(e);
    }
    if (Entry e = f.get("params")) {
      for (const Node* item : mappings(e, "a list of {param, type, description} mappings")) {
        const Fields p = fields(*item, "a param", kParamKeys);
        ir::ToolParam param;
        param.span = item->span;
        if (Entry pe = p.get("param")) {
          param.span = pe.line_span();
          if (auto s = name(pe)) {
            param.name = *s;
          }
        } else {
          missing(*item, "param", "a param");
        }
        if (Entry pe = p.get("type")) {
          if (auto type = capture_type(pe)) {
            param.type = *type;
          }
        }
        if (Entry pe = p.get("description")) {
          param.description = text(pe);
        }
        if (Entry pe = p.get("optional")) {
          param.optional = boolean(pe).value_or(false);
        }
        tool.params.push_back(std::move(param));
      }
    }
    if (Entry e = f.get("method")) {
      if (auto s = string(e)) {
        tool.method = *s;
      }
    } else {
      missing(n, "method", context);
    }
    if (Entry e = f.get("url")) {
      tool.url = text(e);
    } else {
      missing(n, "url", context);
    }
    if (Entry e = f.get("headers")) {
      tool.headers = headers(e);
    }
    if (Entry e = f.get("json")) {
      tool.json = expression(e);
    }
    if (Entry e = f.get("timeout")) {
      tool.timeout = duration(e);
    }
    return tool;
  }

  std::vector<ir::Header> headers(const Entry& e) {
    std::vector<ir::Header> out;
    for (const Node* item : mappings(e, "a list of {name, value} mappings")) {
      const Fields f = fields(*item, "a header", kHeaderKeys);
      ir::Header h;
      h.span = item->span;
      if (Entry n = f.get("name")) {
        if (auto s = string(n)) {
          h.name = *s;
        }
      } else {
        missing(*item, "name", "a header");
      }
      if (Entry v = f.get("value")) {
        h.value = text(v);
      } else {
        missing(*item, "value", "a header");
      }
      out.push_back(std::move(h));
    }
    return out;
  }

  std::vector<ir::Reminder> reminders(const Entry& e) {
    std::vector<ir::Reminder> out;
    for (const Node* item : mappings(e, "a list of {after, text} mappings")) {
      const Fields f = fields(*item, "a reminder", kReminderKeys);
      ir::Reminder r;
      r.span = item->span;
      if (Entry a = f.get("after")) {
        r.after = duration(a);
      } else {
        missing(*item, "after", "a reminder");
      }
      if (Entry t = f.get("text")) {
        r.text = text(t);
      } else {
        missing(*item, "text", "a reminder");
      }
      out.push_back(std::move(r));
    }
    return out;
  }

  // --- Steps -------------------------------------------------------------------------

  Block block(const Entry& e) {
    Block out;
    if (e.value->kind != NodeKind::Sequence) {
      wrong(e, "a list of steps");
      return out;
    }
    for (const NodePtr& item : e.value->items) {
      if (auto s = step(*item)) {
        out.push_back(std::move(*s));
      }
    }
    return out;
  }

  std::optional<Step> step(const Node& n) {
    if (n.kind != NodeKind::Mapping) {
      Diagnostic& d = diags_.report(DiagnosticKind::WrongValueKind, n.span, "step",
                                    "a mapping such as 'say: Hello'");
      if (n.kind == NodeKind::Scalar && contains(step_kinds(), n.value)) {
        d.notes.push_back(Note{true, fmt::format("write '{}: ...'", n.value), {}});
      }
      return std::nullopt;
    }
    const std::optional<Entry> kind = one_kind(n, step_kinds(), "step", "a step", kStepCommonKeys);
    if (!kind) {
      return std::nullopt;
    }
    Keys allowed = kStepCommonKeys;
    allowed.push_back(kind->name);
    const Keys& own = step_keys(kind->name);
    allowed.insert(allowed.end(), own.begin(), own.end());
    const Fields f = fields(n, with_article(kind->name), allowed);
    std::optional<Step> out = step_body(kind->name, *kind, f, n);
    if (!out) {
      return std::nullopt;
    }
    out->span = kind->line_span();
    if (Entry e = f.get("id")) {
      if (auto s = name(e)) {
        out->id = *s;
        out->explicit_id = true;
        out->id_span = e.value->span;
      }
    }
    if (Entry e = f.get("position")) {
      out->position = position(e);
    }
    return out;
  }

  static Step make(ir::StepBody body) {
    Step s;
    s.body = std::move(body);
    return s;
  }

  std::optional<Step> step_body(const std::string& k, const Entry& kind, const Fields& f,
                                const Node& n) {
    const std::string context = with_article(k);
    if (k == "say") {
      ir::SayStep say;
      say.text = text(kind);
      if (Entry e = f.get("header")) {
        say.header = text(e);
      }
      if (Entry e = f.get("footer")) {
        say.footer = text(e);
      }
      say.options = options(f);
      return make(std::move(say));
    }
    if (k == "image" || k == "audio" || k == "video" || k == "document" || k == "sticker") {
      ir::MediaStep m;
      m.kind = k == "image"      ? ir::MediaKind::Image
               : k == "audio"    ? ir::MediaKind::Audio
               : k == "video"    ? ir::MediaKind::Video
               : k == "document" ? ir::MediaKind::Document
                                 : ir::MediaKind::Sticker;
      m.source = text(kind);
      if (Entry e = f.get("caption")) {
        m.caption = text(e);
      }
      if (Entry e = f.get("filename")) {
        m.filename = text(e);
      }
      if (Entry e = f.get("mime")) {
        if (auto s = string(e)) {
          m.mime = *s;
          m.mime_span = e.value->span;
        }
      }
      return make(std::move(m));
    }
    if (k == "location") {
      ir::LocationStep l;
      const std::vector<const Node*> coords = list(kind, "a list [latitude, longitude]");
      if (coords.size() == 2) {
        l.latitude = coordinate(item_entry(kind, coords[0]));
        l.longitude = coordinate(item_entry(kind, coords[1]));
      } else if (kind.value->kind == NodeKind::Sequence) {
        wrong(kind, "a list [latitude, longitude]");
      }
      if (Entry e = f.get("name")) {
        l.name = text(e);
      }
      if (Entry e = f.get("address")) {
        l.address = text(e);
      }
      return make(std::move(l));
    }
    if (k == "template") {
      ir::TemplateStep t;
      t.name_span = kind.value->span;
      if (auto s = name(kind)) {
        t.name = *s;
      }
      if (Entry e = f.get("lang")) {
        if (auto s = string(e)) {
          t.language = *s;
        }
      }
      if (Entry e = f.get("params")) {
        for (const Node* item : scalar_list(e, "a list of strings")) {
          t.params.push_back(text_of(*item));
        }
      }
      return make(std::move(t));
    }
    if (k == "typing") {
      return make(ir::TypingStep{duration(kind)});
    }
    if (k == "ask") {
      return read_ask(kind, f, n);
    }
    if (k == "ai_reply") {
      ir::AiReplyStep ai;
      require_true(kind);
      if (Entry e = f.get("into")) {
        ai.into = var_ref(e);
      }
      ai.ai = ai_options(f);
      if (Entry e = f.get("on_error")) {
        ai.has_error = true;
        ai.on_error = block(e);
      }
      return make(std::move(ai));
    }
    if (k == "ai_extract") {
      return read_extract(kind, f);
    }
    if (k == "ai_classify") {
      return read_classify(kind, f);
    }
    if (k == "if") {
      return read_if(kind, f, n);
    }
    if (k == "match") {
      return read_match(kind, f);
    }
    if (k == "set") {
      ir::SetStep set;
      set.var = var_ref(kind);
      if (Entry e = f.get("value")) {
        if (auto v = expression(e)) {
          set.value = std::move(*v);
        }
      } else {
        missing(n, "value", context);
      }
      return make(std::move(set));
    }
    if (k == "goto" || k == "call") {
      const std::string target = name(kind).value_or("");
      if (k == "goto") {
        return make(ir::GotoStep{target, kind.value->span});
      }
      return make(ir::CallStep{target, kind.value->span});
    }
    if (k == "return") {
      require_true(kind);
      return make(ir::ReturnStep{});
    }
    if (k == "end") {
      require_true(kind);
      return make(ir::EndStep{});
    }
    if (k == "stage") {
      return make(ir::StageStep{string(kind).value_or("")});
    }
    if (k == "tag" || k == "untag") {
      ir::TagStep t;
      t.add = k == "tag";
      t.tags = strings(kind, "a list of tags");
      return make(std::move(t));
    }
    if (k == "http") {
      return read_http(kind, f, n);
    }
    if (k == "store") {
      ir::StoreStep st;
      st.collection = name(kind).value_or("");
      if (Entry e = f.get("record")) {
        if (auto v = expression(e)) {
          st.record = std::move(*v);
        }
      } else {
        missing(n, "record", context);
      }
      if (Entry e = f.get("into")) {
        st.var = var_ref(e);
      }
      return make(std::move(st));
    }
    if (k == "delay") {
      return make(ir::DelayStep{duration(kind)});
    }
    // handoff
    ir::HandoffStep h;
    require_true(kind);
    if (Entry e = f.get("note")) {
      h.note = text(e);
    }
    if (Entry e = f.get("queue")) {
      h.queue = string(e).value_or("");
    }
    return make(std::move(h));
  }

  // A latitude or longitude: a number literal, as the DSL writes it, or else an
  // expression.
  std::optional<ir::Expr> coordinate_expr(const Entry& e) {
    if (e.value->kind == NodeKind::Scalar) {
      if (auto v = parse_number(e.value->value)) {
        ir::Expr x;
        x.kind = ir::ExprKind::Number;
        x.text = e.value->value;
        x.number = *v;
        x.span = e.value->span;
        return x;
      }
    }
    return expression(e);
  }
  ir::Expr coordinate(const Entry& e) { return coordinate_expr(e).value_or(ir::Expr{}); }

  ir::Options options(const Fields& f) {
    ir::Options o;
    if (Entry e = f.get("buttons")) {
      for (const Node* item : mappings(e, "a list of {id, title} mappings")) {
        const Fields b = fields(*item, "a button", kButtonKeys);
        ir::Button button;
        button.span = item->span;
        option_id_title(b, *item, "a button", button.id, button.title);
        o.buttons.push_back(std::move(button));
      }
    }
    if (Entry e = f.get("list")) {
      o.list_button = text(e);
    }
    if (Entry e = f.get("sections")) {
      for (const Node* item : mappings(e, "a list of {title, rows} mappings")) {
        const Fields s = fields(*item, "a section", kSectionKeys);
        ir::ListSection section;
        section.span = item->span;
        if (Entry t = s.get("title")) {
          section.title = text(t);
        }
        if (Entry r = s.get("rows")) {
          for (const Node* row_node : mappings(r, "a list of {id, title, description} mappings")) {
            const Fields rf = fields(*row_node, "a row", kRowKeys);
            ir::ListRow row;
            row.span = row_node->span;
            option_id_title(rf, *row_node, "a row", row.id, row.title);
            if (Entry d = rf.get("description")) {
              row.description = text(d);
            }
            section.rows.push_back(std::move(row));
          }
        } else {
          missing(*item, "rows", "a section");
        }
        o.sections.push_back(std::move(section));
      }
    }
    return o;
  }

  void option_id_title(const Fields& f, const Node& n, std::string_view context, std::string& id,
                       ir::Text& title) {
    if (Entry e = f.get("id")) {
      id = string(e).value_or("");
    } else {
      missing(n, "id", context);
    }
    if (Entry e = f.get("title")) {
      title = text(e);
    } else {
      missing(n, "title", context);
    }
  }

  std::optional<Step> read_ask(const Entry& kind, const Fields& f, const Node& n) {
    ir::AskStep ask;
    ask.var = var_ref(kind);
    // As in the DSL: a given type, even a misspelt one, stops the choice default.
    const Entry type_entry = f.get("type");
    if (type_entry) {
      if (auto type = capture_type(type_entry)) {
        ask.type = *type;
      }
    }
    if (Entry e = f.get("prompt")) {
      ask.prompt = text(e);
    } else {
      missing(n, "prompt", "an 'ask' step");
    }
    ask.options = options(f);
    if (Entry e = f.get("pattern")) {
      if (auto s = string(e)) {
        ask.pattern = *s;
        ask.pattern_span = e.value->span;
      }
    }
    if (Entry e = f.get("reminders")) {
      ask.reminders = reminders(e);
    }
    if (Entry e = f.get("on_invalid")) {
      if (e.value->kind != NodeKind::Mapping) {
        wrong(e, "a mapping {retry, reprompt, steps}");
      } else {
        const Fields inv = fields(*e.value, "on_invalid", kAskInvalidKeys);
        ask.has_invalid = true;
        ask.invalid_span = e.key->span;
        if (Entry r = inv.get("retry")) {
          ask.retries = integer(r);
        }
        if (Entry r = inv.get("reprompt")) {
          ask.reprompt = text(r);
        }
        if (Entry s = inv.get("steps")) {
          ask.on_invalid = block(s);
        }
      }
    }
    if (Entry e = f.get("on_timeout")) {
      if (e.value->kind != NodeKind::Mapping) {
        wrong(e, "a mapping {after, steps}");
      } else {
        const Fields t = fields(*e.value, "on_timeout", kTimeoutKeys);
        if (Entry a = t.get("after")) {
          ask.timeout = duration(a);
        } else {
          missing(*e.value, "after", "on_timeout");
        }
        if (Entry s = t.get("steps")) {
          ask.on_timeout = block(s);
        }
      }
    }
    if (!type_entry && !ask.options.empty()) {
      ask.type = ir::CaptureType::Choice;
    }
    return make(std::move(ask));
  }

  ir::AiOptions ai_options(const Fields& f) {
    ir::AiOptions ai;
    if (Entry e = f.get("model")) {
      ai.model = string(e).value_or("");
    }
    if (Entry e = f.get("fallback")) {
      ai.fallbacks = strings(e, "a list of model names");
    }
    if (Entry e = f.get("system")) {
      ai.system = text(e);
    }
    if (Entry e = f.get("prompt")) {
      ai.prompt = text(e);
    }
    if (Entry e = f.get("temperature")) {
      ai.temperature = number(e);
      ai.temperature_span = e.value->span;
    }
    if (Entry e = f.get("history")) {
      ai.history = integer(e);
      ai.history_span = e.value->span;
    }
    if (Entry e = f.get("max_tokens")) {
      ai.max_tokens = integer(e);
      ai.max_tokens_span = e.value->span;
    }
    if (Entry e = f.get("buffer")) {
      ai.buffer = duration(e);
    }
    if (Entry e = f.get("timeout")) {
      ai.timeout = duration(e);
    }
    if (Entry e = f.get("tools")) {
      for (const Node* item : scalar_list(e, "a list of tool names")) {
        if (auto s = name(item_entry(e, item))) {
          ai.tools.push_back(*s);
          ai.tool_spans.push_back(item->span);
        }
      }
    }
    return ai;
  }

  std::optional<Step> read_extract(const Entry& kind, const Fields& f) {
    ir::AiExtractStep ai;
    ai.var = var_ref(kind);
    ai.ai = ai_options(f);
    if (Entry e = f.get("fields")) {
      for (const Node* item : mappings(e, "a list of {field, type, description} mappings")) {
        const Fields ff = fields(*item, "a field", kFieldKeys);
        ir::ExtractField field;
        field.span = item->span;
        if (Entry fe = ff.get("field")) {
          field.span = fe.line_span();
          field.name = name(fe).value_or("");
        } else {
          missing(*item, "field", "a field");
        }
        if (Entry fe = ff.get("type")) {
          // As in the DSL: an unknown type is reported once and read as text.
          field.type = capture_type(fe).value_or(ir::CaptureType::Text);
        }
        if (Entry fe = ff.get("description")) {
          field.description = text(fe);
        }
        if (Entry fe = ff.get("optional")) {
          field.optional = boolean(fe).value_or(false);
        }
        ai.fields.push_back(std::move(field));
      }
    }
    if (Entry e = f.get("on_invalid")) {
      if (e.value->kind != NodeKind::Mapping) {
        wrong(e, "a mapping {retry, steps}");
      } else {
        const Fields inv = fields(*e.value, "on_invalid", kExtractInvalidKeys);
        ai.has_invalid = true;
        ai.invalid_span = e.key->span;
        if (Entry r = inv.get("retry")) {
          ai.retries = integer(r);
        }
        if (Entry s = inv.get("steps")) {
          ai.on_invalid = block(s);
        }
      }
    }
    if (Entry e = f.get("on_error")) {
      ai.has_error = true;
      ai.on_error = block(e);
    }
    return make(std::move(ai));
  }

  std::optional<Step> read_classify(const Entry& kind, const Fields& f) {
    ir::AiClassifyStep ai;
    ai.var = var_ref(kind);
    if (Entry e = f.get("from")) {
      ai.input = expression(e);
    }
    ai.ai = ai_options(f);
    if (Entry e = f.get("intents")) {
      for (const Node* item : mappings(e, "a list of {intent, description, steps} mappings")) {
        const Fields inf = fields(*item, "an intent", kIntentKeys);
        ir::Intent intent;
        intent.span = item->span;
        if (Entry ie = inf.get("intent")) {
          intent.span = ie.line_span();
          intent.name = name(ie).value_or("");
        } else {
          missing(*item, "intent", "an intent");
        }
        if (Entry ie = inf.get("description")) {
          intent.description = text(ie);
        }
        if (Entry ie = inf.get("steps")) {
          intent.body = block(ie);
        }
        ai.intents.push_back(std::move(intent));
      }
    }
    if (Entry e = f.get("other")) {
      ai.has_other = true;
      ai.other = block(e);
    }
    if (Entry e = f.get("on_error")) {
      ai.has_error = true;
      ai.on_error = block(e);
    }
    return make(std::move(ai));
  }

  std::optional<Step> read_if(const Entry& kind, const Fields& f, const Node& n) {
    ir::IfStep body;
    ir::Branch first;
    first.span = kind.line_span();
    if (auto c = expression(kind)) {
      first.condition = std::move(*c);
    }
    if (Entry e = f.get("then")) {
      first.body = block(e);
    } else {
      missing(n, "then", "an 'if' step");
    }
    body.branches.push_back(std::move(first));
    if (Entry e = f.get("elif")) {
      for (const Node* item : mappings(e, "a list of {if, then} mappings")) {
        const Fields bf = fields(*item, "an elif branch", kElifKeys);
        ir::Branch branch;
        branch.span = item->span;
        if (Entry c = bf.get("if")) {
          branch.span = c.line_span();
          if (auto cond = expression(c)) {
            branch.condition = std::move(*cond);
          }
        } else {
          missing(*item, "if", "an elif branch");
        }
        if (Entry t = bf.get("then")) {
          branch.body = block(t);
        } else {
          missing(*item, "then", "an elif branch");
        }
        body.branches.push_back(std::move(branch));
      }
    }
    if (Entry e = f.get("else")) {
      body.has_else = true;
      body.otherwise = block(e);
    }
    return make(std::move(body));
  }

  std::optional<Step> read_match(const Entry& kind, const Fields& f) {
    ir::MatchStep m;
    if (auto s = expression(kind)) {
      m.subject = std::move(*s);
    }
    if (Entry e = f.get("cases")) {
      for (const Node* item : mappings(e, "a list of {case, then} mappings")) {
        const Fields cf = fields(*item, "a case", kCaseKeys);
        ir::Case kase;
        kase.span = item->span;
        if (Entry c = cf.get("case")) {
          kase.span = c.line_span();
          if (c.value->kind == NodeKind::Sequence) {
            for (const Node* v : list(c, "a list of expressions")) {
              if (auto x = expression(item_entry(c, v))) {
                kase.values.push_back(std::move(*x));
              }
            }
          } else if (auto x = expression(c)) {
            kase.values.push_back(std::move(*x));
          }
        } else {
          missing(*item, "case", "a case");
        }
        if (Entry t = cf.get("then")) {
          kase.body = block(t);
        } else {
          missing(*item, "then", "a case");
        }
        m.cases.push_back(std::move(kase));
      }
    }
    if (Entry e = f.get("else")) {
      m.has_else = true;
      m.otherwise = block(e);
    }
    return make(std::move(m));
  }

  std::optional<Step> read_http(const Entry& kind, const Fields& f, const Node& n) {
    ir::HttpStep h;
    if (auto s = string(kind)) {
      h.method = *s;
      h.method_span = kind.value->span;
    }
    if (Entry e = f.get("url")) {
      h.url = text(e);
    } else {
      missing(n, "url", "an 'http' step");
    }
    if (Entry e = f.get("into")) {
      h.var = var_ref(e);
    }
    if (Entry e = f.get("headers")) {
      h.headers = headers(e);
    }
    if (Entry e = f.get("json")) {
      h.json = expression(e);
    }
    if (Entry e = f.get("body")) {
      if (f.has("json")) {
        diags_.report(DiagnosticKind::MisplacedStatement, e.key->span,
                      "an 'http' step sends 'json' or 'body', not both");
      } else {
        h.body = text(e);
      }
    }
    if (Entry e = f.get("timeout")) {
      h.timeout = duration(e);
    }
    if (Entry e = f.get("retries")) {
      h.retries = integer(e);
    }
    if (Entry e = f.get("map")) {
      for (const Node* item : mappings(e, "a list of {name, path} mappings")) {
        const Fields mf = fields(*item, "a map entry", kMapKeys);
        ir::Mapping mapping;
        mapping.span = item->span;
        if (Entry me = mf.get("name")) {
          mapping.name = name(me).value_or("");
        } else {
          missing(*item, "name", "a map entry");
        }
        if (Entry me = mf.get("path")) {
          mapping.path = string(me).value_or("");
        } else {
          missing(*item, "path", "a map entry");
        }
        h.mappings.push_back(std::move(mapping));
      }
    }
    if (Entry e = f.get("on_error")) {
      h.has_error = true;
      h.on_error = block(e);
    }
    return make(std::move(h));
  }
};

}  // namespace

}  // namespace waflow::yaml

namespace waflow {

ir::Module parse_yaml(const SourceManager& sources, FileId file, Diagnostics& diags) {
  const std::string& text = sources.file(file).text;
  if (const std::size_t bad = utf8_invalid_offset(text); bad != std::string::npos) {
    const auto at = static_cast<std::uint32_t>(bad);
    diags.report(DiagnosticKind::InvalidUtf8, SourceSpan{file, at, at + 1});
    ir::Module empty;
    empty.file = file;
    return empty;
  }
  const yaml::NodePtr root = yaml::load_document(sources, file, diags);
  return yaml::Reader(text, file, diags).module(root.get());
}

}  // namespace waflow
