// The JSON source map: one linear scan, no recursion (so nesting depth costs
// nothing but memory), tolerant of text it does not understand.

#include "compiler/visual/json_locator.h"

#include <charconv>

namespace waflow::visual {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_delimiter(char c) {
  return is_space(c) || c == ',' || c == ':' || c == ']' || c == '}';
}

int hex_value(char c) {
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

// Reads 4 hex digits at body[i]; -1 when they are not there.
long read_hex4(std::string_view body, std::size_t i) {
  if (i + 4 > body.size()) {
    return -1;
  }
  long value = 0;
  for (std::size_t k = 0; k < 4; ++k) {
    const int digit = hex_value(body[i + k]);
    if (digit < 0) {
      return -1;
    }
    value = value * 16 + digit;
  }
  return value;
}

void append_utf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
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

}  // namespace

std::string decode_json_string(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  std::size_t i = 0;
  while (i < body.size()) {
    const char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out += c;
      ++i;
      continue;
    }
    const char e = body[i + 1];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        i += 2;
        continue;
      case 'b':
        out += '\b';
        i += 2;
        continue;
      case 'f':
        out += '\f';
        i += 2;
        continue;
      case 'n':
        out += '\n';
        i += 2;
        continue;
      case 'r':
        out += '\r';
        i += 2;
        continue;
      case 't':
        out += '\t';
        i += 2;
        continue;
      case 'u': {
        const long high = read_hex4(body, i + 2);
        if (high < 0) {
          break;
        }
        unsigned long cp = static_cast<unsigned long>(high);
        std::size_t used = 6;
        if (high >= 0xD800 && high <= 0xDBFF && i + 7 < body.size() && body[i + 6] == '\\' &&
            body[i + 7] == 'u') {
          const long low = read_hex4(body, i + 8);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((static_cast<unsigned long>(high) - 0xD800) << 10) +
                 (static_cast<unsigned long>(low) - 0xDC00);
            used = 12;
          }
        }
        append_utf8(out, cp);
        i += used;
        continue;
      }
      default:
        break;
    }
    out += c;
    ++i;
  }
  return out;
}

std::string escape_pointer_token(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

JsonLocator::JsonLocator(std::string_view text) : text_(text) {
  if (text.size() < kNone) {
    scan();
  }
}

void JsonLocator::scan() {
  struct Open {
    Ref value;
    std::size_t pending_start;
  };
  std::vector<Open> open;
  std::vector<Ref> pending;
  const std::size_t n = text_.size();
  std::size_t i = 0;
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") {
    i = 3;
  }
  std::uint32_t key_begin = 0;
  std::uint32_t key_end = 0;

  auto add_value = [&](std::size_t begin, std::size_t end, bool object) -> bool {
    if (open.empty() && !values_.empty()) {
      return false;  // Text after the top-level value.
    }
    Value v;
    v.begin = static_cast<std::uint32_t>(begin);
    v.end = static_cast<std::uint32_t>(end);
    v.key_begin = key_begin;
    v.key_end = key_end;
    v.object = object;
    key_begin = key_end = 0;
    values_.push_back(v);
    if (!open.empty()) {
      pending.push_back(static_cast<Ref>(values_.size() - 1));
    }
    return true;
  };
  auto close = [&](std::size_t end) {
    Value& v = values_[open.back().value];
    v.end = static_cast<std::uint32_t>(end);
    v.first_child = static_cast<std::uint32_t>(children_.size());
    v.child_count = static_cast<std::uint32_t>(pending.size() - open.back().pending_start);
    children_.insert(children_.end(),
                     pending.begin() + static_cast<std::ptrdiff_t>(open.back().pending_start),
                     pending.end());
    pending.resize(open.back().pending_start);
    open.pop_back();
  };
  auto string_end = [&](std::size_t from) {
    std::size_t j = from + 1;
    while (j < n && text_[j] != '"') {
      j += text_[j] == '\\' ? 2U : 1U;
    }
    return j < n ? j + 1 : n;
  };

  while (i < n) {
    const char c = text_[i];
    if (is_space(c) || c == ',' || c == ':') {
      ++i;
      continue;
    }
    if (c == '{' || c == '[') {
      if (!add_value(i, n, c == '{')) {
        break;
      }
      open.push_back(Open{static_cast<Ref>(values_.size() - 1), pending.size()});
      ++i;
      continue;
    }
    if (c == '}' || c == ']') {
      if (open.empty()) {
        break;
      }
      close(i + 1);
      ++i;
      if (open.empty()) {
        break;
      }
      continue;
    }
    if (c == '"') {
      const std::size_t end = string_end(i);
      // In an object, a string followed by ':' is a key.
      std::size_t k = end;
      while (k < n && is_space(text_[k])) {
        ++k;
      }
      if (!open.empty() && values_[open.back().value].object && k < n && text_[k] == ':') {
        key_begin = static_cast<std::uint32_t>(i);
        key_end = static_cast<std::uint32_t>(end);
        i = k + 1;
        continue;
      }
      if (!add_value(i, end, false)) {
        break;
      }
      i = end;
      if (open.empty()) {
        break;
      }
      continue;
    }
    std::size_t end = i + 1;
    while (end < n && !is_delimiter(text_[end]) && text_[end] != '"' && text_[end] != '{' &&
           text_[end] != '[') {
      ++end;
    }
    if (!add_value(i, end, false)) {
      break;
    }
    i = end;
    if (open.empty()) {
      break;
    }
  }
  while (!open.empty()) {
    close(n);
  }
}

bool JsonLocator::key_equals(const Value& value, std::string_view key) const {
  if (value.key_end < value.key_begin + 2) {
    return false;
  }
  const std::string_view raw =
      text_.substr(value.key_begin + 1, value.key_end - value.key_begin - 2);
  if (raw.find('\\') == std::string_view::npos) {
    return raw == key;
  }
  return decode_json_string(raw) == key;
}

JsonLocator::Ref JsonLocator::member(Ref object, std::string_view key) const {
  if (object >= values_.size() || !values_[object].object) {
    return kNone;
  }
  // JSON parsers keep the last of repeated keys, so the locator does too.
  const Value& v = values_[object];
  for (std::uint32_t k = v.child_count; k > 0; --k) {
    const Ref child = children_[v.first_child + k - 1];
    if (key_equals(values_[child], key)) {
      return child;
    }
  }
  return kNone;
}

JsonLocator::Ref JsonLocator::element(Ref array, std::size_t index) const {
  if (array >= values_.size() || values_[array].object) {
    return kNone;
  }
  return child(array, index);
}

std::size_t JsonLocator::child_count(Ref container) const {
  return container < values_.size() ? values_[container].child_count : 0;
}

JsonLocator::Ref JsonLocator::child(Ref container, std::size_t index) const {
  if (container >= values_.size() || index >= values_[container].child_count) {
    return kNone;
  }
  return children_[values_[container].first_child + index];
}

std::string JsonLocator::key_of(Ref value) const {
  if (value >= values_.size()) {
    return {};
  }
  const Value& v = values_[value];
  if (v.key_end < v.key_begin + 2) {
    return {};
  }
  return decode_json_string(text_.substr(v.key_begin + 1, v.key_end - v.key_begin - 2));
}

ByteRange JsonLocator::range(Ref value) const {
  if (value >= values_.size()) {
    return {};
  }
  return ByteRange{values_[value].begin, values_[value].end};
}

ByteRange JsonLocator::key_range(Ref value) const {
  if (value >= values_.size()) {
    return {};
  }
  const Value& v = values_[value];
  if (v.key_end > v.key_begin) {
    return ByteRange{v.key_begin, v.key_end};
  }
  return range(value);
}

ByteRange JsonLocator::locate(std::string_view pointer) const {
  Ref at = root();
  if (at == kNone) {
    return {};
  }
  std::size_t i = 0;
  while (i < pointer.size() && pointer[i] == '/') {
    std::size_t next = pointer.find('/', i + 1);
    if (next == std::string_view::npos) {
      next = pointer.size();
    }
    std::string token;
    for (std::size_t k = i + 1; k < next; ++k) {
      if (pointer[k] == '~' && k + 1 < next && (pointer[k + 1] == '0' || pointer[k + 1] == '1')) {
        token += pointer[k + 1] == '0' ? '~' : '/';
        ++k;
      } else {
        token += pointer[k];
      }
    }
    Ref found = kNone;
    if (values_[at].object) {
      found = member(at, token);
    } else {
      std::size_t index = 0;
      const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
      if (ec == std::errc() && ptr == token.data() + token.size() && !token.empty()) {
        found = element(at, index);
      }
    }
    if (found == kNone) {
      break;
    }
    at = found;
    i = next;
  }
  return range(at);
}

}  // namespace waflow::visual
