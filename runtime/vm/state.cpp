// Compact binary encoding of run states: varints, length-prefixed strings and a
// one-byte type per value. Decoding checks every length and the nesting depth.

#include "runtime/vm/state.h"

#include <bit>
#include <cstring>

namespace waflow::vm {

namespace {

constexpr char kMagic[2] = {'W', 'S'};
constexpr int kMaxDepth = 64;

class Out {
 public:
  void byte(std::uint8_t b) { s_ += static_cast<char>(b); }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      byte(static_cast<std::uint8_t>(v | 0x80U));
      v >>= 7U;
    }
    byte(static_cast<std::uint8_t>(v));
  }
  void str(std::string_view v) {
    varint(v.size());
    s_.append(v);
  }
  void f64(double v) {
    const auto bits = std::bit_cast<std::uint64_t>(v);
    for (unsigned i = 0; i < 8; ++i) {
      byte(static_cast<std::uint8_t>((bits >> (8U * i)) & 0xFFU));
    }
  }
  void value(const Value& v) {
    byte(static_cast<std::uint8_t>(static_cast<unsigned>(v.type()) |
                                   (static_cast<unsigned>(v.tag()) << 4U)));
    switch (v.type()) {
      case Value::Type::Null:
        break;
      case Value::Type::Bool:
        byte(v.as_bool() ? 1 : 0);
        break;
      case Value::Type::Number: {
        const double d = v.as_number();
        // Small whole numbers (counters, ids) take one or two bytes.
        if (d >= 0 && d < 1e15 && d == static_cast<double>(static_cast<std::uint64_t>(d))) {
          byte(0);
          varint(static_cast<std::uint64_t>(d));
        } else {
          byte(1);
          f64(d);
        }
        break;
      }
      case Value::Type::Text:
        str(v.as_text());
        break;
      case Value::Type::List:
        varint(v.as_list().size());
        for (const Value& item : v.as_list()) {
          value(item);
        }
        break;
      case Value::Type::Object:
        varint(v.as_object().size());
        for (const auto& [key, item] : v.as_object()) {
          str(key);
          value(item);
        }
        break;
    }
  }
  void vars(const VarMap& m) {
    varint(m.size());
    for (const auto& [name, v] : m.items()) {
      str(name);
      value(v);
    }
  }
  std::string take() { return std::move(s_); }
  void reserve(std::size_t n) { s_.reserve(n); }

 private:
  std::string s_;
};

class In {
 public:
  explicit In(std::string_view s) : s_(s) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == s_.size(); }
  std::uint8_t byte() {
    if (pos_ >= s_.size()) {
      ok_ = false;
      return 0;
    }
    return static_cast<std::uint8_t>(s_[pos_++]);
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      const std::uint8_t b = byte();
      v |= static_cast<std::uint64_t>(b & 0x7FU) << shift;
      if ((b & 0x80U) == 0) {
        return v;
      }
    }
    ok_ = false;
    return 0;
  }
  std::string str() {
    const std::uint64_t n = varint();
    if (!ok_ || n > s_.size() - pos_) {
      ok_ = false;
      return {};
    }
    std::string out(s_.substr(pos_, n));
    pos_ += n;
    return out;
  }
  double f64() {
    std::uint64_t bits = 0;
    for (unsigned i = 0; i < 8; ++i) {
      bits |= static_cast<std::uint64_t>(byte()) << (8U * i);
    }
    return std::bit_cast<double>(bits);
  }
  // A count whose items take at least one byte each.
  std::uint64_t count() {
    const std::uint64_t n = varint();
    if (n > s_.size() - pos_) {
      ok_ = false;
      return 0;
    }
    return n;
  }
  Value value(int depth) {
    if (depth > kMaxDepth) {
      ok_ = false;
      return {};
    }
    const std::uint8_t head = byte();
    const auto type = static_cast<Value::Type>(head & 0x0FU);
    const auto tag = static_cast<Tag>(head >> 4U);
    if (static_cast<unsigned>(tag) > static_cast<unsigned>(Tag::Message)) {
      ok_ = false;
      return {};
    }
    switch (type) {
      case Value::Type::Null:
        return {};
      case Value::Type::Bool:
        return Value::boolean(byte() != 0);
      case Value::Type::Number: {
        const std::uint8_t form = byte();
        if (form == 0) {
          return Value::number(static_cast<double>(varint()), tag);
        }
        return Value::number(f64(), tag);
      }
      case Value::Type::Text:
        return Value::text(str(), tag);
      case Value::Type::List: {
        const std::uint64_t n = count();
        Value::List items;
        items.reserve(n);
        for (std::uint64_t i = 0; i < n && ok_; ++i) {
          items.push_back(value(depth + 1));
        }
        return Value::list(std::move(items));
      }
      case Value::Type::Object: {
        const std::uint64_t n = count();
        Value::Object fields;
        fields.reserve(n);
        for (std::uint64_t i = 0; i < n && ok_; ++i) {
          std::string key = str();
          fields.emplace_back(std::move(key), value(depth + 1));
        }
        return Value::object(std::move(fields), tag);
      }
    }
    ok_ = false;
    return {};
  }
  VarMap vars() {
    VarMap m;
    const std::uint64_t n = count();
    m.reserve(n);
    for (std::uint64_t i = 0; i < n && ok_; ++i) {
      std::string name = str();
      Value v = value(0);
      m.append(std::move(name), std::move(v));
    }
    return m;
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

Error bad_state(const char* why) {
  return Error{ErrorCode::InvalidInput, std::string("unreadable run state: ") + why};
}

}  // namespace

std::string serialize_state(const RunState& state) {
  Out out;
  out.reserve(256);
  out.byte(static_cast<std::uint8_t>(kMagic[0]));
  out.byte(static_cast<std::uint8_t>(kMagic[1]));
  out.byte(kStateVersion);
  for (std::uint8_t b : state.bundle_hash) {
    out.byte(b);
  }
  out.byte(static_cast<std::uint8_t>(state.status));
  out.varint(state.pc);
  out.varint(state.step);
  out.varint(state.frames.size());
  for (const Frame& f : state.frames) {
    out.varint(f.flow);
    out.varint(f.return_pc);
    out.vars(f.vars);
  }
  out.vars(state.conversation);
  return out.take();
}

Result<RunState> deserialize_state(std::string_view blob) {
  In in(blob);
  if (in.byte() != kMagic[0] || in.byte() != kMagic[1]) {
    return bad_state("bad magic");
  }
  const std::uint8_t version = in.byte();
  if (version != kStateVersion) {
    return Error{ErrorCode::Unsupported,
                 "run state version " + std::to_string(version) + " is not supported"};
  }
  RunState state;
  for (std::uint8_t& b : state.bundle_hash) {
    b = in.byte();
  }
  const std::uint8_t status = in.byte();
  if (status > static_cast<std::uint8_t>(RunStatus::Failed)) {
    return bad_state("bad status");
  }
  state.status = static_cast<RunStatus>(status);
  state.pc = static_cast<std::uint32_t>(in.varint());
  state.step = static_cast<std::uint32_t>(in.varint());
  const std::uint64_t frames = in.count();
  state.frames.reserve(frames);
  for (std::uint64_t i = 0; i < frames && in.ok(); ++i) {
    Frame f;
    f.flow = static_cast<std::uint32_t>(in.varint());
    f.return_pc = static_cast<std::uint32_t>(in.varint());
    f.vars = in.vars();
    state.frames.push_back(std::move(f));
  }
  state.conversation = in.vars();
  if (!in.ok() || !in.done()) {
    return bad_state("truncated or trailing bytes");
  }
  return state;
}

std::string serialize_vars(const VarMap& vars) {
  Out out;
  out.byte(kStateVersion);
  out.vars(vars);
  return out.take();
}

Result<VarMap> deserialize_vars(std::string_view blob) {
  In in(blob);
  if (in.byte() != kStateVersion) {
    return bad_state("unknown contact variables version");
  }
  VarMap vars = in.vars();
  if (!in.ok() || !in.done()) {
    return bad_state("truncated contact variables");
  }
  return vars;
}

}  // namespace waflow::vm
