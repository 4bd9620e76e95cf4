// Reading and writing bundles. The reader trusts nothing: every count, length
// and offset is checked against what is left before it is used, so a truncated
// or hostile file becomes an error message.

#include "runtime/bytecode/bundle.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include <openssl/evp.h>

#include "runtime/bytecode/format.h"

namespace waflow::bytecode {

namespace {

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v & 0xFFU));
    u8(static_cast<std::uint8_t>(v >> 8U));
  }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      u8(static_cast<std::uint8_t>((v >> (8U * static_cast<unsigned>(i))) & 0xFFU));
    }
  }
  void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
  void f64(double v) {
    const auto bits = std::bit_cast<std::uint64_t>(v);
    u32(static_cast<std::uint32_t>(bits & 0xFFFFFFFFU));
    u32(static_cast<std::uint32_t>(bits >> 32U));
  }
  void bytes(const void* data, std::size_t size) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    out_.insert(out_.end(), p, p + size);
  }
  void str(const std::string& s) {
    u32(static_cast<std::uint32_t>(s.size()));
    bytes(s.data(), s.size());
  }
  std::vector<std::uint8_t>& data() { return out_; }

 private:
  std::vector<std::uint8_t> out_;
};

class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == size_; }
  std::size_t left() const { return size_ - pos_; }

  std::uint8_t u8() {
    if (!need(1)) {
      return 0;
    }
    return data_[pos_++];
  }
  std::uint16_t u16() {
    const auto lo = u8();
    const auto hi = u8();
    return static_cast<std::uint16_t>(lo | (hi << 8U));
  }
  std::uint32_t u32() {
    if (!need(4)) {
      return 0;
    }
    std::uint32_t v = 0;
    for (unsigned i = 0; i < 4; ++i) {
      v |= static_cast<std::uint32_t>(data_[pos_ + i]) << (8U * i);
    }
    pos_ += 4;
    return v;
  }
  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  double f64() {
    const std::uint64_t lo = u32();
    const std::uint64_t hi = u32();
    return std::bit_cast<double>(lo | (hi << 32U));
  }
  std::string str() {
    const std::uint32_t n = u32();
    if (!need(n)) {
      return {};
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  // A count of items each at least `min_item` bytes long, checked against what is left.
  std::uint32_t count(std::size_t min_item) {
    const std::uint32_t n = u32();
    if (ok_ && static_cast<std::size_t>(n) * std::max<std::size_t>(min_item, 1) > left()) {
      ok_ = false;
      return 0;
    }
    return n;
  }

 private:
  bool need(std::size_t n) {
    if (!ok_ || n > size_ - pos_) {
      ok_ = false;
      return false;
    }
    return true;
  }
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

void write_section(const Bundle& b, SectionId id, Writer& w) {
  switch (id) {
    case SectionId::Strings:
      w.u32(static_cast<std::uint32_t>(b.strings.size()));
      for (const std::string& s : b.strings) {
        w.str(s);
      }
      break;
    case SectionId::Numbers:
      w.u32(static_cast<std::uint32_t>(b.numbers.size()));
      for (double n : b.numbers) {
        w.f64(n);
      }
      break;
    case SectionId::Code:
      w.bytes(b.code.data(), b.code.size());
      break;
    case SectionId::Flows:
      w.u32(static_cast<std::uint32_t>(b.flows.size()));
      for (const FlowInfo& f : b.flows) {
        w.u32(f.name);
        w.u32(f.title);
        w.u32(f.timezone);
        w.u32(f.code_begin);
        w.u32(f.code_end);
        w.i32(f.priority);
        w.u32(static_cast<std::uint32_t>(f.hours.size()));
        for (const HoursRange& h : f.hours) {
          w.u8(h.days);
          w.u16(h.open);
          w.u16(h.close);
        }
      }
      break;
    case SectionId::Triggers:
      w.u32(static_cast<std::uint32_t>(b.triggers.size()));
      for (const TriggerInfo& t : b.triggers) {
        w.u8(static_cast<std::uint8_t>(t.kind));
        w.u32(t.flow);
        w.i32(t.priority);
        w.u32(t.timezone);
        w.u32(static_cast<std::uint32_t>(t.values.size()));
        for (std::uint32_t v : t.values) {
          w.u32(v);
        }
      }
      break;
    case SectionId::Steps:
      w.u32(static_cast<std::uint32_t>(b.steps.size()));
      for (const StepInfo& s : b.steps) {
        w.u32(s.id);
        w.u32(s.kind);
        w.u32(s.flow);
        w.u32(s.pc);
      }
      break;
    case SectionId::Lines:
      w.u32(static_cast<std::uint32_t>(b.lines.size()));
      for (const LineInfo& l : b.lines) {
        w.u32(l.line_id);
        w.u32(l.text);
      }
      break;
    case SectionId::Debug:
      w.u32(static_cast<std::uint32_t>(b.debug.size()));
      for (const DebugEntry& d : b.debug) {
        w.u32(d.pc);
        w.u32(d.file);
        w.u32(d.line);
        w.u32(d.column);
      }
      break;
    case SectionId::Meta:
      w.u32(b.compiler_version);
      w.u32(static_cast<std::uint32_t>(b.sources.size()));
      for (const SourceInfo& s : b.sources) {
        w.u32(s.path);
        w.bytes(s.sha256.data(), s.sha256.size());
      }
      break;
  }
}

Error invalid(const std::string& what) {
  return Error{ErrorCode::InvalidInput, "malformed bundle: " + what};
}

bool read_section(Bundle& b, SectionId id, Reader& r) {
  switch (id) {
    case SectionId::Strings: {
      const std::uint32_t n = r.count(4);
      b.strings.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        b.strings.push_back(r.str());
      }
      break;
    }
    case SectionId::Numbers: {
      const std::uint32_t n = r.count(8);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        b.numbers.push_back(r.f64());
      }
      break;
    }
    case SectionId::Code:
      while (!r.at_end() && r.ok()) {
        b.code.push_back(r.u8());
      }
      break;
    case SectionId::Flows: {
      const std::uint32_t n = r.count(28);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        FlowInfo f;
        f.name = r.u32();
        f.title = r.u32();
        f.timezone = r.u32();
        f.code_begin = r.u32();
        f.code_end = r.u32();
        f.priority = r.i32();
        const std::uint32_t hours = r.count(5);
        for (std::uint32_t k = 0; k < hours && r.ok(); ++k) {
          HoursRange h;
          h.days = r.u8();
          h.open = r.u16();
          h.close = r.u16();
          f.hours.push_back(h);
        }
        b.flows.push_back(std::move(f));
      }
      break;
    }
    case SectionId::Triggers: {
      const std::uint32_t n = r.count(17);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        TriggerInfo t;
        const std::uint8_t kind = r.u8();
        if (kind > static_cast<std::uint8_t>(TriggerKind::Schedule)) {
          return false;
        }
        t.kind = static_cast<TriggerKind>(kind);
        t.flow = r.u32();
        t.priority = r.i32();
        t.timezone = r.u32();
        const std::uint32_t values = r.count(4);
        for (std::uint32_t k = 0; k < values && r.ok(); ++k) {
          t.values.push_back(r.u32());
        }
        b.triggers.push_back(std::move(t));
      }
      break;
    }
    case SectionId::Steps: {
      const std::uint32_t n = r.count(16);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        StepInfo s;
        s.id = r.u32();
        s.kind = r.u32();
        s.flow = r.u32();
        s.pc = r.u32();
        b.steps.push_back(s);
      }
      break;
    }
    case SectionId::Lines: {
      const std::uint32_t n = r.count(8);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        LineInfo l;
        l.line_id = r.u32();
        l.text = r.u32();
        b.lines.push_back(l);
      }
      break;
    }
    case SectionId::Debug: {
      const std::uint32_t n = r.count(16);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        DebugEntry d;
        d.pc = r.u32();
        d.file = r.u32();
        d.line = r.u32();
        d.column = r.u32();
        b.debug.push_back(d);
      }
      break;
    }
    case SectionId::Meta: {
      b.compiler_version = r.u32();
      const std::uint32_t n = r.count(36);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        SourceInfo s;
        s.path = r.u32();
        for (std::uint8_t& byte : s.sha256) {
          byte = r.u8();
        }
        b.sources.push_back(s);
      }
      break;
    }
  }
  return r.ok() && r.at_end();
}

const char* section_name(SectionId id) {
  static constexpr const char* kNames[] = {"",         "strings", "numbers", "code",  "flows",
                                           "triggers", "steps",   "lines",   "debug", "meta"};
  return kNames[static_cast<std::uint32_t>(id)];
}

}  // namespace

std::uint32_t crc32(const std::uint8_t* data, std::size_t size) {
  std::uint32_t crc = 0xFFFFFFFFU;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) {
      crc = (crc >> 1U) ^ (0xEDB88320U & (0U - (crc & 1U)));
    }
  }
  return ~crc;
}

std::array<std::uint8_t, 32> sha256(std::string_view bytes) {
  std::array<std::uint8_t, 32> out{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t byte : sha256(bytes)) {
    out += kHex[byte >> 4U];
    out += kHex[byte & 0xFU];
  }
  return out;
}

std::vector<std::uint8_t> write_bundle(const Bundle& bundle) {
  std::vector<std::vector<std::uint8_t>> sections;
  for (std::uint32_t id = 1; id <= kSectionCount; ++id) {
    Writer w;
    write_section(bundle, static_cast<SectionId>(id), w);
    sections.push_back(std::move(w.data()));
  }
  Writer out;
  out.bytes(kMagic, 4);
  out.u16(bundle.major);
  out.u16(bundle.minor);
  out.u32(kByteOrderMark);
  out.bytes(kCheckBytes, 4);
  out.u32(kSectionCount);
  std::uint32_t offset = kHeaderSize + kSectionEntrySize * kSectionCount;
  std::uint32_t total = offset;
  for (const auto& s : sections) {
    total += static_cast<std::uint32_t>(s.size());
  }
  out.u32(total);
  for (std::uint32_t id = 1; id <= kSectionCount; ++id) {
    const auto& s = sections[id - 1];
    out.u32(id);
    out.u32(offset);
    out.u32(static_cast<std::uint32_t>(s.size()));
    out.u32(crc32(s.data(), s.size()));
    offset += static_cast<std::uint32_t>(s.size());
  }
  for (const auto& s : sections) {
    out.bytes(s.data(), s.size());
  }
  return std::move(out.data());
}

Result<Bundle> load_bundle(const std::vector<std::uint8_t>& bytes) {
  if (bytes.size() < 4 || std::memcmp(bytes.data(), kMagic, 4) != 0) {
    return Error{ErrorCode::InvalidInput, "not a waflow bundle (bad magic)"};
  }
  if (bytes.size() < kHeaderSize) {
    return invalid("truncated: " + std::to_string(bytes.size()) +
                   " bytes, shorter than the header");
  }
  if (bytes.size() > kMaxBundleSize) {
    return invalid("larger than 256 MiB");
  }
  Reader r(bytes.data(), bytes.size());
  r.u32();
  Bundle b;
  b.major = r.u16();
  b.minor = r.u16();
  if (b.major > kFormatMajor) {
    return Error{ErrorCode::Unsupported, "bundle format " + std::to_string(b.major) + "." +
                                             std::to_string(b.minor) +
                                             " needs a newer waflow (this one reads format " +
                                             std::to_string(kFormatMajor) + ".x)"};
  }
  if (b.major < kFormatMajor) {
    return Error{ErrorCode::Unsupported,
                 "bundle format " + std::to_string(b.major) + " is no longer supported"};
  }
  if (r.u32() != kByteOrderMark) {
    return invalid("wrong byte order mark");
  }
  if (std::memcmp(bytes.data() + 12, kCheckBytes, 4) != 0) {
    return invalid("check bytes damaged (was the file transferred as text?)");
  }
  r.u32();
  const std::uint32_t count = r.u32();
  const std::uint32_t total = r.u32();
  if (total != bytes.size()) {
    return invalid((total > bytes.size() ? "truncated: " : "trailing bytes: ") +
                   std::to_string(bytes.size()) + " bytes, the header says " +
                   std::to_string(total));
  }
  if (count > 64 ||
      kHeaderSize + kSectionEntrySize * static_cast<std::size_t>(count) > bytes.size()) {
    return invalid("section table out of bounds");
  }
  std::vector<bool> seen(kSectionCount + 1, false);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t id = r.u32();
    const std::uint32_t offset = r.u32();
    const std::uint32_t size = r.u32();
    const std::uint32_t crc = r.u32();
    if (static_cast<std::uint64_t>(offset) + size > bytes.size() ||
        offset < kHeaderSize + kSectionEntrySize * count) {
      return invalid("section " + std::to_string(id) + " out of bounds");
    }
    if (crc32(bytes.data() + offset, size) != crc) {
      const bool known = id >= 1 && id <= kSectionCount;
      return invalid("checksum mismatch in section " + std::to_string(id) +
                     (known ? std::string(" (") + section_name(static_cast<SectionId>(id)) + ")"
                            : std::string()));
    }
    if (id == 0 || id > kSectionCount) {
      // A section from a newer minor version: skip it.
      continue;
    }
    if (seen[id]) {
      return invalid(std::string("duplicate ") + section_name(static_cast<SectionId>(id)) +
                     " section");
    }
    seen[id] = true;
    Reader section(bytes.data() + offset, size);
    if (!read_section(b, static_cast<SectionId>(id), section)) {
      return invalid(std::string("damaged ") + section_name(static_cast<SectionId>(id)) +
                     " section");
    }
  }
  for (std::uint32_t id = 1; id <= kSectionCount; ++id) {
    if (!seen[id]) {
      return invalid(std::string("missing ") + section_name(static_cast<SectionId>(id)) +
                     " section");
    }
  }
  Result<bool> verified = verify_bundle(b);
  if (!verified) {
    return verified.error();
  }
  return b;
}

std::uint32_t Bundle::flow_at(std::uint32_t pc) const {
  for (std::uint32_t i = 0; i < flows.size(); ++i) {
    if (pc >= flows[i].code_begin && pc < flows[i].code_end) {
      return i;
    }
  }
  return kNone;
}

const DebugEntry* Bundle::debug_at(std::uint32_t pc) const {
  auto it = std::upper_bound(debug.begin(), debug.end(), pc,
                             [](std::uint32_t p, const DebugEntry& d) { return p < d.pc; });
  if (it == debug.begin()) {
    return nullptr;
  }
  return &*(it - 1);
}

std::uint32_t Bundle::find_flow(std::string_view name) const {
  for (std::uint32_t i = 0; i < flows.size(); ++i) {
    if (strings[flows[i].name] == name) {
      return i;
    }
  }
  return kNone;
}

}  // namespace waflow::bytecode
