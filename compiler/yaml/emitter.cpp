// The canonical YAML emitter (see emitter.h).

#include "compiler/yaml/emitter.h"

#include <regex>
#include <string_view>

namespace waflow::yaml {

namespace {

constexpr std::size_t kLineWidth = 100;
constexpr std::size_t kIndent = 2;

// Words YAML 1.1 or 1.2 readers resolve to null or a bool, and the 1.1 merge
// and value keys.
bool is_reserved_word(std::string_view s) {
  static constexpr std::string_view kWords[] = {
      "~",   "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
      "yes", "Yes",  "YES",  "no",   "No",   "NO",   "on",   "On",    "ON",    "off",
      "Off", "OFF",  "y",    "Y",    "n",    "N",    "<<",   "="};
  for (std::string_view w : kWords) {
    if (s == w) {
      return true;
    }
  }
  return false;
}

// Numbers of YAML 1.2 and 1.1 (binary, octal, hex, sexagesimal, floats, .inf,
// .nan) and 1.1 timestamps: such text must be quoted to stay a string.
bool looks_like_number_or_date(const std::string& s) {
  const char c = s[0];
  if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.')) {
    return false;
  }
  static const std::regex number(
      "[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(:[0-5]?[0-9])*(\\.[0-9_]*)?"
      "([eE][-+]?[0-9]+)?|\\.[0-9_]+([eE][-+]?[0-9]+)?|\\.(inf|Inf|INF|nan|NaN|NAN))",
      std::regex::ECMAScript | std::regex::optimize);
  static const std::regex date("[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?.*",
                               std::regex::ECMAScript | std::regex::optimize);
  return std::regex_match(s, number) || std::regex_match(s, date);
}

// Byte length of a character YAML treats as a line break or will not print
// raw (C0/C1 controls, DEL, NEL, LS, PS, BOM) at `i`, or 0.
std::size_t special_at(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x20 || c == 0x7f) {
    return 1;
  }
  if (c == 0xC2 && i + 1 < s.size()) {
    const auto d = static_cast<unsigned char>(s[i + 1]);
    return d >= 0x80 && d <= 0x9f ? 2 : 0;
  }
  if (s.substr(i, 3) == "\xE2\x80\xA8" || s.substr(i, 3) == "\xE2\x80\xA9" ||
      s.substr(i, 3) == "\xEF\xBB\xBF") {
    return 3;
  }
  return 0;
}

bool has_special(std::string_view s, bool allow_newline) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (allow_newline && s[i] == '\n') {
      continue;
    }
    if (special_at(s, i) != 0) {
      return true;
    }
  }
  return false;
}

std::string hex_escape(unsigned char c) {
  static constexpr std::string_view kDigits = "0123456789ABCDEF";
  return std::string("\\x") + kDigits[c >> 4U] + kDigits[c & 15U];
}

std::string double_quoted(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const std::size_t special = special_at(s, i);
    if (special == 0) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
      continue;
    }
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (special == 1) {
          out += hex_escape(static_cast<unsigned char>(c));
        } else if (special == 2) {
          // C1 controls, NEL included: yaml-cpp reads \N as a lone byte.
          out += hex_escape(static_cast<unsigned char>(s[i + 1]));
        } else {
          const std::string_view seq = s.substr(i, 3);
          out += seq == "\xE2\x80\xA8" ? "\\L" : seq == "\xE2\x80\xA9" ? "\\P" : "\\uFEFF";
        }
    }
    i += special - 1;
  }
  out += '"';
  return out;
}

std::string single_quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') {
      out += '\'';
    }
  }
  out += '\'';
  return out;
}

std::string scalar(const std::string& s, bool in_flow) {
  if (plain_safe(s, in_flow)) {
    return s;
  }
  const bool needs_escapes = s.find_first_of("\"\\") != std::string::npos;
  if (needs_escapes && !has_special(s, false)) {
    return single_quoted(s);
  }
  return double_quoted(s);
}

// Multi-line text reads best as a literal block; only text that a literal block
// carries exactly qualifies.
bool literal_safe(std::string_view s) {
  if (s.find('\n') == std::string_view::npos || s[0] == ' ' || s[0] == '\n' ||
      s.find('\t') != std::string_view::npos || has_special(s, true)) {
    return false;
  }
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] == ' ' && s[i + 1] == '\n') {
      return false;
    }
  }
  return s.back() != ' ';
}

void literal(const std::string& s, std::size_t indent, std::string& out) {
  std::size_t trailing = 0;
  while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') {
    ++trailing;
  }
  out += trailing == 0 ? "|-\n" : trailing == 1 ? "|\n" : "|+\n";
  std::vector<std::string_view> lines;
  std::string_view rest(s);
  while (true) {
    const std::size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      lines.push_back(rest);
      break;
    }
    lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  if (trailing > 0) {
    lines.pop_back();
  }
  for (std::string_view line : lines) {
    if (!line.empty()) {
      out.append(indent, ' ');
      out += line;
    }
    out += '\n';
  }
}

std::string flow(const Value& v) {
  switch (v.kind) {
    case Value::Kind::String:
      return scalar(v.text, true);
    case Value::Kind::Raw:
      return v.text;
    case Value::Kind::Sequence: {
      std::string out = "[";
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        out += i > 0 ? ", " : "";
        out += flow(v.items[i]);
      }
      return out + "]";
    }
    case Value::Kind::Mapping: {
      std::string out = "{";
      for (std::size_t i = 0; i < v.entries.size(); ++i) {
        out += i > 0 ? ", " : "";
        out += v.entries[i].key + ": " + flow(v.entries[i].value);
      }
      return out + "}";
    }
  }
  return {};
}

bool is_empty_collection(const Value& v) {
  return (v.kind == Value::Kind::Sequence && v.items.empty()) ||
         (v.kind == Value::Kind::Mapping && v.entries.empty());
}

void emit_mapping(const Value& v, std::size_t indent, bool first_inline, std::string& out);
void emit_sequence(const Value& v, std::size_t indent, std::string& out);

// Writes `v` after "key:" or "-" (whose text ends at `column`), at block
// indentation `indent` for what nests under it.
void emit_after(const Value& v, std::size_t indent, std::size_t column, std::string& out) {
  if (v.kind == Value::Kind::Raw) {
    out += ' ' + v.text + '\n';
    return;
  }
  if (v.kind == Value::Kind::String) {
    if (literal_safe(v.text)) {
      out += ' ';
      literal(v.text, indent, out);
    } else {
      out += ' ' + scalar(v.text, false) + '\n';
    }
    return;
  }
  if (is_empty_collection(v)) {
    out += v.kind == Value::Kind::Sequence ? " []\n" : " {}\n";
    return;
  }
  if (v.compact) {
    const std::string text = flow(v);
    if (column + 1 + text.size() <= kLineWidth) {
      out += ' ' + text + '\n';
      return;
    }
  }
  if (v.kind == Value::Kind::Mapping) {
    out += '\n';
    emit_mapping(v, indent, false, out);
  } else {
    out += '\n';
    emit_sequence(v, indent, out);
  }
}

void emit_mapping(const Value& v, std::size_t indent, bool first_inline, std::string& out) {
  for (std::size_t i = 0; i < v.entries.size(); ++i) {
    const auto& [key, value] = v.entries[i];
    if (i > 0 || !first_inline) {
      out.append(indent, ' ');
    }
    out += key + ':';
    emit_after(value, indent + kIndent, indent + key.size() + 1, out);
  }
}

void emit_sequence(const Value& v, std::size_t indent, std::string& out) {
  for (const Value& item : v.items) {
    out.append(indent, ' ');
    out += '-';
    if (item.kind == Value::Kind::Mapping && !is_empty_collection(item) &&
        !(item.compact && indent + 2 + flow(item).size() <= kLineWidth)) {
      out += ' ';
      emit_mapping(item, indent + kIndent, true, out);
    } else {
      emit_after(item, indent + kIndent, indent + 1, out);
    }
  }
}

}  // namespace

Value Value::string(std::string s) {
  Value v;
  v.text = std::move(s);
  return v;
}

Value Value::raw(std::string s) {
  Value v;
  v.kind = Kind::Raw;
  v.text = std::move(s);
  return v;
}

Value Value::sequence(bool flow_style) {
  Value v;
  v.kind = Kind::Sequence;
  v.compact = flow_style;
  return v;
}

Value Value::mapping(bool flow_style) {
  Value v;
  v.kind = Kind::Mapping;
  v.compact = flow_style;
  return v;
}

Value& Value::add(std::string key, Value value) {
  entries.push_back(Entry{std::move(key), std::move(value)});
  return entries.back().value;
}

Value& Value::push(Value value) {
  items.push_back(std::move(value));
  return items.back();
}

bool plain_safe(const std::string& s, bool in_flow) {
  if (s.empty() || is_reserved_word(s) || looks_like_number_or_date(s)) {
    return false;
  }
  if (std::string_view("-?:,[]{}#&*!|>'\"%@` ").find(s[0]) != std::string_view::npos ||
      s.back() == ' ' || s.back() == ':' || s.compare(0, 3, "...") == 0) {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (special_at(s, i) != 0 || (c == ':' && i + 1 < s.size() && s[i + 1] == ' ') ||
        (c == '#' && i > 0 && s[i - 1] == ' ')) {
      return false;
    }
    if (in_flow && std::string_view(",[]{}:?").find(c) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::string emit(const Value& root) {
  std::string out;
  if (root.kind == Value::Kind::Mapping) {
    emit_mapping(root, 0, false, out);
  }
  return out;
}

}  // namespace waflow::yaml
