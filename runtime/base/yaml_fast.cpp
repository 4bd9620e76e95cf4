// The fast reader of yaml_fast.h: yaml-cpp's events for the plain subset of YAML.
//
// What it reads, and where yaml-cpp puts the marks of what it reads:
// - a block mapping at the column of its first key (the mark of yaml-cpp's
//   BLOCK_MAP_START token is the key's), each key a one-line plain or quoted
//   scalar followed by ':' and a blank;
// - a block sequence at its first '-'; an item on the dash line may itself be a
//   mapping (at its first key's column) or a sequence;
// - a mapping's value may be a sequence at the mapping's own column;
// - one-line plain scalars, single- and double-quoted scalars, literal block
//   scalars ('|', '|-'), flow sequences and mappings (over several lines
//   only between their entries), comments, blank lines, a leading '---' line;
// - an empty value is a null whose mark is the next token's (the next key, '-'
//   or closing of a collection, or the end of the text), as yaml-cpp gives it.
// Marks are byte offsets, lines and byte columns, as yaml-cpp's UTF-8 stream
// counts them. Everything else gives up by throwing NotMine, caught in
// send_plain_subset; it is never an error, and the fallback reads the text again.

#include "runtime/base/yaml_fast.h"

#include <cstdint>
#include <string>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>

namespace waflow::yaml::detail {

namespace {

// Not in the subset (or not sure): the text goes to yaml-cpp.
struct NotMine {};

[[noreturn]] void give_up() {
  throw NotMine{};
}

// Collections deeper than this are left to yaml-cpp, whose depth checks and
// messages then apply; the subset reader's recursion stays shallow.
constexpr std::size_t kDepthCap = 100;
// yaml-cpp checks simple keys against a length limit; longer keys are left to it.
constexpr std::size_t kMaxKeyLength = 1000;

bool is_null_word(std::string_view v) {
  return v == "~" || v == "null" || v == "Null" || v == "NULL";
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp <= 0x7F) {
    out += static_cast<char>(cp);
  } else if (cp <= 0x7FF) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp <= 0xFFFF) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Only well-formed UTF-8 without control characters other than line breaks
// ("\n", "\r\n"): yaml-cpp guesses other encodings from the first bytes, and
// tabs, lone carriage returns, NEL, the line and paragraph separators and byte
// order marks each have rules of their own.
void check_characters(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned c = p[i];
    if (c >= 0x20 && c < 0x7F) {
      ++i;
      continue;
    }
    if (c == '\n') {
      ++i;
      continue;
    }
    if (c == '\r' && i + 1 < n && p[i + 1] == '\n') {
      i += 2;
      continue;
    }
    if (c < 0xC2 || c > 0xF4) {
      give_up();  // Controls, DEL, continuation bytes, overlong leads, beyond U+10FFFF.
    }
    const std::size_t len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (i + len > n) {
      give_up();
    }
    std::uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) {
        give_up();
      }
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp <= 0x9F || cp == 0x2028 || cp == 0x2029 ||
        cp == 0xFEFF) {
      give_up();
    }
    i += len;
  }
}

class SubsetReader {
 public:
  SubsetReader(std::string_view text, std::size_t depth_limit, YAML::EventHandler& out)
      : text_(text), depth_limit_(depth_limit), out_(out) {}

  void read() {
    if (text_.size() >= (std::size_t{1} << 30)) {
      give_up();
    }
    check_characters(text_);
    skip_to_content(true);
    if (starts_line_with("---")) {
      pos_ += 3;
      if (!at_break(pos_)) {
        give_up();  // Content or a comment on the '---' line.
      }
      skip_to_content(false);
    }
    if (eof()) {
      give_up();  // An empty document: rare, and yaml-cpp's marks for it are its own.
    }
    out_.OnDocumentStart(mark());
    node_on_own_line();
    skip_to_content(false);
    if (!eof()) {
      give_up();
    }
    out_.OnDocumentEnd();
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_start_ = 0;
  int line_ = 0;
  std::size_t depth_ = 0;
  std::size_t depth_limit_;
  // The least column of the lines a flow collection goes on with: the column
  // of the block collection it is in (yaml-cpp does not check it; this reader
  // leaves stranger layouts to it).
  std::size_t flow_indent_ = 0;
  YAML::EventHandler& out_;
  std::string value_;  // The scalar being sent.

  bool eof() const { return pos_ >= text_.size(); }
  char peek(std::size_t i) const { return i < text_.size() ? text_[i] : '\0'; }
  // The characters checked, '\r' only comes before '\n'.
  bool at_break(std::size_t i) const {
    return i >= text_.size() || text_[i] == '\n' || text_[i] == '\r';
  }
  bool blank_or_break(std::size_t i) const { return at_break(i) || text_[i] == ' '; }
  std::size_t column() const { return pos_ - line_start_; }
  bool starts_line_with(std::string_view marker) const {
    return pos_ == line_start_ && text_.substr(pos_, marker.size()) == marker;
  }
  bool is_seq_entry(std::size_t i) const { return peek(i) == '-' && blank_or_break(i + 1); }

  // The mark of pos_, which is on the current line.
  YAML::Mark mark() const { return mark_at(pos_); }
  YAML::Mark mark_at(std::size_t pos) const {
    YAML::Mark m;
    m.pos = static_cast<int>(pos);
    m.line = line_;
    m.column = static_cast<int>(pos - line_start_);
    return m;
  }

  void skip_spaces() {
    while (peek(pos_) == ' ') {
      ++pos_;
    }
  }

  // Moves to the next token past spaces, comments and line breaks (or to the
  // end). Document markers are left to yaml-cpp, except a first '---'.
  void skip_to_content(bool first) {
    for (;;) {
      skip_spaces();
      if (peek(pos_) == '#') {
        if (pos_ > line_start_ && text_[pos_ - 1] != ' ') {
          give_up();
        }
        while (!at_break(pos_)) {
          ++pos_;
        }
      }
      if (eof()) {
        return;
      }
      if (text_[pos_] == '\r') {
        ++pos_;
      }
      if (text_[pos_] == '\n') {
        ++pos_;
        ++line_;
        line_start_ = pos_;
        continue;
      }
      if ((starts_line_with("---") && !first) || starts_line_with("...")) {
        give_up();
      }
      return;
    }
  }

  // After a node on its line: only spaces and a comment may follow.
  void expect_line_end() {
    skip_spaces();
    if (peek(pos_) == '#' && pos_ > 0 && text_[pos_ - 1] == ' ') {
      return;
    }
    if (!at_break(pos_)) {
      give_up();
    }
  }

  void open() {
    if (depth_ + 1 >= depth_limit_ || depth_ + 1 >= kDepthCap) {
      give_up();
    }
    ++depth_;
  }
  void close() { --depth_; }

  void send_null(const YAML::Mark& at) { out_.OnNull(at, YAML::NullAnchor); }

  void send_plain(const YAML::Mark& at, std::string_view v) {
    if (is_null_word(v)) {
      send_null(at);
      return;
    }
    value_.assign(v);
    static const std::string kPlainTag = "?";
    out_.OnScalar(at, kPlainTag, YAML::NullAnchor, value_);
  }

  void send_quoted(const YAML::Mark& at) {
    static const std::string kQuotedTag = "!";
    out_.OnScalar(at, kQuotedTag, YAML::NullAnchor, value_);
  }

  // A node whose first character starts its line's content.
  void node_on_own_line() {
    if (is_seq_entry(pos_)) {
      block_sequence();
    } else if (is_key_line()) {
      block_mapping();
    } else {
      flow_indent_ = column();
      inline_node();
      expect_line_end();
    }
  }

  // Whether the line from pos_ is `key: ...` (a plain or quoted key on one line).
  bool is_key_line() const {
    std::size_t i = pos_;
    const char c = peek(i);
    if (c == '"' || c == '\'') {
      for (++i; !at_break(i); ++i) {
        if (c == '"' && text_[i] == '\\') {
          ++i;
          if (at_break(i)) {
            return false;
          }
        } else if (text_[i] == c) {
          if (c == '\'' && peek(i + 1) == '\'') {
            ++i;
            continue;
          }
          break;
        }
      }
      if (at_break(i)) {
        return false;
      }
      for (++i; peek(i) == ' '; ++i) {
      }
      return peek(i) == ':' && blank_or_break(i + 1);
    }
    if (c == '[' || c == '{') {
      return false;
    }
    for (; !at_break(i); ++i) {
      if (text_[i] == ':' && blank_or_break(i + 1)) {
        return true;
      }
      if (text_[i] == '#' && i > pos_ && text_[i - 1] == ' ') {
        return false;
      }
    }
    return false;
  }

  void block_sequence() {
    const std::size_t indent = column();
    open();
    out_.OnSequenceStart(mark(), "?", YAML::NullAnchor, YAML::EmitterStyle::Block);
    for (;;) {
      ++pos_;  // The '-'.
      value_after_indicator(indent, false);
      skip_to_content(false);
      if (eof() || column() < indent) {
        break;
      }
      if (column() > indent) {
        give_up();
      }
      if (!is_seq_entry(pos_)) {
        break;  // The key of a mapping at this column, which the caller checks.
      }
    }
    out_.OnSequenceEnd();
    close();
  }

  void block_mapping() {
    const std::size_t indent = column();
    open();
    out_.OnMapStart(mark(), "?", YAML::NullAnchor, YAML::EmitterStyle::Block);
    for (;;) {
      key();
      value_after_indicator(indent, true);
      skip_to_content(false);
      if (eof() || column() < indent) {
        break;
      }
      if (column() > indent || !is_key_line()) {
        give_up();
      }
    }
    out_.OnMapEnd();
    close();
  }

  // A block mapping's key up to and past its ':'.
  void key() {
    const std::size_t begin = pos_;
    const char c = peek(pos_);
    if (c == '"' || c == '\'') {
      quoted();
      skip_spaces();
    } else {
      plain_start(false);
      std::size_t i = pos_;
      while (!(text_[i] == ':' && blank_or_break(i + 1))) {
        ++i;  // is_key_line found the ':'.
      }
      std::size_t end = i;
      while (end > pos_ && text_[end - 1] == ' ') {
        --end;
      }
      send_plain(mark(), text_.substr(pos_, end - pos_));
      pos_ = i;
    }
    if (peek(pos_) != ':' || !blank_or_break(pos_ + 1) || pos_ - begin > kMaxKeyLength) {
      give_up();
    }
    ++pos_;
  }

  // What follows a block mapping's ':' or a sequence's '-' of a collection at
  // `indent`: a node on the same line, one on the lines below, or nothing.
  void value_after_indicator(std::size_t indent, bool in_map) {
    skip_spaces();
    if (peek(pos_) == '#' || at_break(pos_)) {
      skip_to_content(false);
      if (eof()) {
        if (text_.empty() || text_.back() != '\n') {
          give_up();  // yaml-cpp's mark of the end of a last line without a break differs.
        }
        send_null(mark());
      } else if (column() > indent) {
        node_on_own_line();
      } else if (in_map && column() == indent && is_seq_entry(pos_)) {
        block_sequence();
      } else {
        send_null(mark());
      }
      return;
    }
    if (peek(pos_) == '|') {
      literal(indent);
      return;
    }
    if (!in_map) {
      if (is_seq_entry(pos_)) {
        block_sequence();
        return;
      }
      if (is_key_line()) {
        block_mapping();
        return;
      }
    }
    flow_indent_ = indent;
    inline_node();
    expect_line_end();
  }

  // A literal block scalar ('|' or '|-') in a block collection at `indent`,
  // whose first line is not empty; leaves pos_ at the start of the first line
  // after it. yaml-cpp takes the lines indented as deep as the first one, and
  // at least one column deeper than the collection; folded scalars, kept final
  // breaks, indentation indicators and leading or space-only empty lines, whose
  // rules are finer, are left to it.
  void literal(std::size_t indent) {
    const YAML::Mark at = mark();
    ++pos_;
    const bool strip = peek(pos_) == '-';
    if (strip) {
      ++pos_;
    }
    skip_spaces();
    if (peek(pos_) == '#' && text_[pos_ - 1] == ' ') {
      while (!at_break(pos_)) {
        ++pos_;
      }
    }
    if (!at_break(pos_) || eof()) {
      give_up();
    }
    next_line();
    const std::size_t content = spaces_at(pos_);
    if (content <= indent || at_break(pos_ + content)) {
      give_up();
    }
    value_.clear();
    std::size_t empty_lines = 0;
    for (;;) {
      const std::size_t spaces = spaces_at(pos_);
      if (at_break(pos_ + spaces)) {
        if (pos_ + spaces >= text_.size()) {
          if (spaces > 0) {
            give_up();  // yaml-cpp keeps the spaces of a last line without a break.
          }
          break;
        }
        if (spaces > content) {
          give_up();
        }
        ++empty_lines;
        pos_ += spaces;
        next_line();
        continue;
      }
      if (spaces < content) {
        break;
      }
      if (!value_.empty() || empty_lines > 0) {
        value_.append(empty_lines + 1, '\n');
      }
      empty_lines = 0;
      std::size_t end = pos_ + content;
      while (!at_break(end)) {
        ++end;
      }
      value_.append(text_.substr(pos_ + content, end - pos_ - content));
      if (end >= text_.size()) {
        give_up();  // The last line has no break.
      }
      pos_ = end;
      next_line();
    }
    if (!strip) {
      value_ += '\n';
    }
    pos_ = line_start_;
    send_quoted(at);
  }

  std::size_t spaces_at(std::size_t i) const {
    std::size_t n = 0;
    while (peek(i + n) == ' ') {
      ++n;
    }
    return n;
  }

  // Past the line break at pos_.
  void next_line() {
    if (peek(pos_) == '\r') {
      ++pos_;
    }
    if (peek(pos_) == '\n') {
      ++pos_;
      ++line_;
      line_start_ = pos_;
    }
  }

  // A scalar on this line, or a flow collection starting on it.
  void inline_node() {
    const char c = peek(pos_);
    if (c == '[') {
      flow_sequence();
    } else if (c == '{') {
      flow_mapping();
    } else if (c == '"' || c == '\'') {
      quoted();
    } else {
      plain_start(false);
      const std::size_t begin = pos_;
      std::size_t i = pos_;
      for (; !at_break(i); ++i) {
        if (text_[i] == ':' && blank_or_break(i + 1)) {
          give_up();  // `a: b: c`, or a key where none may be.
        }
        if (text_[i] == '#' && text_[i - 1] == ' ') {
          break;
        }
      }
      std::size_t end = i;
      while (end > begin && text_[end - 1] == ' ') {
        --end;
      }
      send_plain(mark(), text_.substr(begin, end - begin));
      pos_ = end;
    }
  }

  // A plain scalar may not start with an indicator; '-' only before a non-blank.
  void plain_start(bool in_flow) const {
    const char c = peek(pos_);
    if (at_break(pos_) || c == ' ') {
      give_up();
    }
    static constexpr std::string_view kIndicators = ",[]{}#&*!|>'\"%@`?:";
    if (kIndicators.find(c) != std::string_view::npos) {
      give_up();
    }
    if (c == '-') {
      const char next = peek(pos_ + 1);
      if (blank_or_break(pos_ + 1) ||
          (in_flow && std::string_view(",[]{}").find(next) != std::string_view::npos)) {
        give_up();
      }
    }
  }

  // A single- or double-quoted scalar closed on its own line.
  void quoted() {
    const YAML::Mark at = mark();
    const char quote = text_[pos_];
    value_.clear();
    std::size_t i = pos_ + 1;
    for (;;) {
      std::size_t run = i;
      while (!at_break(run) && text_[run] != quote && !(quote == '"' && text_[run] == '\\')) {
        ++run;
      }
      value_.append(text_.substr(i, run - i));
      i = run;
      if (at_break(i)) {
        give_up();  // Closed on a later line, or never.
      }
      if (text_[i] == quote) {
        if (quote == '\'' && peek(i + 1) == '\'') {
          value_ += '\'';
          i += 2;
          continue;
        }
        break;
      }
      i = escape(i + 1);
    }
    pos_ = i + 1;
    send_quoted(at);
  }

  // Appends the escape after a backslash at `i`; returns the index after it.
  std::size_t escape(std::size_t i) {
    const char c = peek(i);
    switch (c) {
      case '0':
        value_ += '\0';
        return i + 1;
      case 'a':
        value_ += '\a';
        return i + 1;
      case 'b':
        value_ += '\b';
        return i + 1;
      case 't':
        value_ += '\t';
        return i + 1;
      case 'n':
        value_ += '\n';
        return i + 1;
      case 'v':
        value_ += '\v';
        return i + 1;
      case 'f':
        value_ += '\f';
        return i + 1;
      case 'r':
        value_ += '\r';
        return i + 1;
      case 'e':
        value_ += '\x1B';
        return i + 1;
      case ' ':
      case '"':
      case '\'':
      case '\\':
      case '/':
        value_ += c;
        return i + 1;
      case 'x':
      case 'u':
      case 'U': {
        const std::size_t digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        std::uint32_t cp = 0;
        for (std::size_t k = 1; k <= digits; ++k) {
          const int d = hex_digit(peek(i + k));
          if (d < 0) {
            give_up();
          }
          cp = (cp << 4) | static_cast<std::uint32_t>(d);
        }
        if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
          give_up();
        }
        append_utf8(value_, cp);
        return i + 1 + digits;
      }
      default:
        give_up();  // A line break, yaml-cpp's one-byte \N and \_, \L, \P, or an error.
    }
  }

  // Spaces inside a flow collection, and where `may_break`, comments and line
  // breaks too: after an opening bracket, around a ',' and before a closing one.
  void skip_flow_spaces(bool may_break) {
    skip_spaces();
    if (!at_break(pos_) && peek(pos_) != '#') {
      return;
    }
    if (!may_break) {
      give_up();  // A key and its ':', or a ':' and its value, on different lines.
    }
    const int line = line_;
    skip_to_content(false);
    if (eof() || (line_ != line && column() < flow_indent_)) {
      give_up();
    }
  }

  void flow_sequence() {
    open();
    out_.OnSequenceStart(mark(), "?", YAML::NullAnchor, YAML::EmitterStyle::Flow);
    ++pos_;
    skip_flow_spaces(true);
    if (peek(pos_) == ']') {
      ++pos_;
    } else {
      for (;;) {
        flow_node(false);
        skip_flow_spaces(true);
        if (!end_of_flow_entry(']')) {
          break;
        }
      }
    }
    out_.OnSequenceEnd();
    close();
  }

  void flow_mapping() {
    open();
    out_.OnMapStart(mark(), "?", YAML::NullAnchor, YAML::EmitterStyle::Flow);
    ++pos_;
    skip_flow_spaces(true);
    if (peek(pos_) == '}') {
      ++pos_;
    } else {
      for (;;) {
        const std::size_t begin = pos_;
        if (peek(pos_) == '[' || peek(pos_) == '{') {
          give_up();
        }
        flow_node(true);
        skip_flow_spaces(false);
        if (peek(pos_) != ':' || peek(pos_ + 1) != ' ' || pos_ - begin > kMaxKeyLength) {
          give_up();
        }
        ++pos_;
        skip_flow_spaces(false);
        if (peek(pos_) == ',' || peek(pos_) == '}') {
          give_up();  // An empty value.
        }
        flow_node(false);
        skip_flow_spaces(true);
        if (!end_of_flow_entry('}')) {
          break;
        }
      }
    }
    out_.OnMapEnd();
    close();
  }

  // After an entry: ',' and another entry (true), or the closing bracket (false).
  bool end_of_flow_entry(char closer) {
    if (peek(pos_) == closer) {
      ++pos_;
      return false;
    }
    if (peek(pos_) != ',') {
      give_up();
    }
    ++pos_;
    skip_flow_spaces(true);
    if (peek(pos_) == closer || peek(pos_) == ',') {
      give_up();
    }
    return true;
  }

  void flow_node(bool is_key) {
    const char c = peek(pos_);
    if (c == '[') {
      flow_sequence();
      return;
    }
    if (c == '{') {
      flow_mapping();
      return;
    }
    if (c == '"' || c == '\'') {
      quoted();
      return;
    }
    plain_start(true);
    std::size_t i = pos_;
    for (; !at_break(i); ++i) {
      const char ch = text_[i];
      if (ch == ',' || ch == ']' || ch == '}') {
        break;
      }
      if (ch == ':' && is_key && peek(i + 1) == ' ') {
        break;
      }
      if (ch == '#' && text_[i - 1] == ' ') {
        break;  // A comment, which skip_flow_spaces takes.
      }
      if (ch == ':' || ch == '[' || ch == '{' || ch == '?' || ch == '#') {
        give_up();
      }
    }
    std::size_t end = i;
    while (end > pos_ && text_[end - 1] == ' ') {
      --end;
    }
    send_plain(mark(), text_.substr(pos_, end - pos_));
    pos_ = end;
  }
};

}  // namespace

bool send_plain_subset(std::string_view text, std::size_t depth_limit,
                       YAML::EventHandler& handler) {
  try {
    SubsetReader(text, depth_limit, handler).read();
    return true;
  } catch (const NotMine&) {
    return false;
  }
}

}  // namespace waflow::yaml::detail
