// The disassembler. The listing is line-oriented and stable (golden tests
// compare it byte for byte), so it prints no addresses of memory, no timings
// and nothing the locale could change: numbers go through std::to_chars.
//
// Layout of the listing:
//   header      format, compiler, content hash, sources with their SHA-256
//               (and whether each is missing or changed since the build), counts
//   per flow    name, title, priority, time zone, hours, triggers, code range,
//               then one instruction per line: pc, mnemonic, decoded operands;
//               before the instruction, `; step <id> (<kind>)` where a step
//               begins and `; file:line  source text` where the debug table says
//               the source line changes
//   lines       the localisable line table: line id = text
//
// Source text is shown only from files whose SHA-256 matches the one the bundle
// recorded: lines of an edited file would point at the wrong statements.

#include "runtime/bytecode/disasm.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <vector>

#include "runtime/bytecode/opcodes.h"

namespace waflow::bytecode {

namespace {

constexpr std::array<std::string_view, 5> kScopeNames = {"flow", "conversation", "contact",
                                                         "message", "system"};
// In the order of ir::CaptureType (the compiler encodes the enum's value); a unit
// test compares the two.
constexpr std::array<std::string_view, 11> kCaptureNames = {"text",  "number", "email",   "phone",
                                                            "date",  "url",    "choice",  "yesno",
                                                            "regex", "media",  "location"};
constexpr std::array<std::string_view, 8> kTriggerNames = {
    "keyword", "exact", "regex", "any", "first_contact", "payload", "api", "schedule"};
constexpr std::string_view kFunctionNames[] = {
#define WAFLOW_FUNCTION(name, text) text,
#include "runtime/bytecode/functions.def"
#undef WAFLOW_FUNCTION
};
constexpr std::array<std::string_view, 7> kDayNames = {"mon", "tue", "wed", "thu",
                                                       "fri", "sat", "sun"};

// Column where mnemonics start; comments line up with them. Operands start
// after the longest mnemonic and two spaces.
constexpr std::string_view kCommentIndent = "          ";
constexpr std::size_t longest_mnemonic() {
  std::size_t longest = 0;
  for (const OpInfo& info : kOpInfo) {
    longest = std::max(longest, info.mnemonic.size());
  }
  return longest;
}
constexpr std::size_t kMnemonicWidth = longest_mnemonic() + 2;

std::string out_of_range(std::uint32_t v) {
  return "#" + std::to_string(v) + "?";
}

template <typename Names>
std::string name_of(const Names& names, std::uint32_t v) {
  if (v < std::size(names)) {
    return std::string(names[v]);
  }
  return out_of_range(v);
}

std::uint32_t read_u32(const std::vector<std::uint8_t>& code, std::uint32_t at) {
  std::uint32_t v = 0;
  for (unsigned i = 0; i < 4; ++i) {
    v |= static_cast<std::uint32_t>(code[at + i]) << (8U * i);
  }
  return v;
}

std::string two_digits(unsigned v) {
  return std::string(1, static_cast<char>('0' + v / 10)) + static_cast<char>('0' + v % 10);
}

std::string clock_time(std::uint16_t minutes) {
  return two_digits(minutes / 60U) + ":" + two_digits(minutes % 60U);
}

// 90061000 -> "1d1h1m1s"; what the author could have written.
std::string human_duration(double ms) {
  if (!(ms >= 0) || ms > 1e15 || ms != static_cast<double>(static_cast<std::uint64_t>(ms))) {
    return {};
  }
  auto left = static_cast<std::uint64_t>(ms);
  if (left == 0) {
    return "0s";
  }
  static constexpr std::pair<std::uint64_t, const char*> kUnits[] = {
      {86400000U, "d"}, {3600000U, "h"}, {60000U, "m"}, {1000U, "s"}, {1U, "ms"}};
  std::string out;
  for (const auto& [size, unit] : kUnits) {
    if (left >= size) {
      out += std::to_string(left / size) + unit;
      left %= size;
    }
  }
  return out;
}

std::string string_operand(const Bundle& b, std::uint32_t id) {
  return id < b.strings.size() ? quote(b.strings[id]) : out_of_range(id);
}

std::string step_name(const Bundle& b, std::uint32_t index) {
  if (index < b.steps.size() && b.steps[index].id < b.strings.size()) {
    return b.strings[b.steps[index].id];
  }
  return out_of_range(index);
}

std::string flow_name(const Bundle& b, std::uint32_t index) {
  if (index < b.flows.size() && b.flows[index].name < b.strings.size()) {
    return b.strings[b.flows[index].name];
  }
  return out_of_range(index);
}

std::string operand_text(const Bundle& b, Op op, Operand kind, std::uint32_t v) {
  switch (kind) {
    case Operand::None:
      return {};
    case Operand::Str:
      return string_operand(b, v);
    case Operand::Num: {
      if (v >= b.numbers.size()) {
        return out_of_range(v);
      }
      std::string text = format_number(b.numbers[v]);
      if (op == Op::PushDuration) {
        const std::string human = human_duration(b.numbers[v]);
        if (!human.empty()) {
          text += "  ; " + human;
        }
      }
      return text;
    }
    case Operand::Target:
    case Operand::Count:
      return std::to_string(v);
    case Operand::Scope:
      return scope_operand_name(v);
    case Operand::Step:
      return step_name(b, v);
    case Operand::Flow:
      return flow_name(b, v);
    case Operand::Fn:
      return function_operand_name(v);
    case Operand::Kind:
      return effect_operand_name(v);
    case Operand::Capture:
      return capture_type_operand_name(v);
  }
  return out_of_range(v);
}

// Source files named in the debug table, read once each and split into lines.
// A file whose SHA-256 is not the one the bundle recorded has changed since the
// build, so its lines would be the wrong ones: it is treated as unreadable.
class SourceLines {
 public:
  enum class Status { Unread, Ok, Missing, Changed };

  SourceLines(const Bundle& b, const DisasmOptions& options) : b_(b), options_(options) {}

  Status status(const std::string& path) {
    if (!options_.read_source) {
      return Status::Unread;
    }
    return load(path).status;
  }

  // The trimmed text of a 1-based line, or nullopt when it cannot be had.
  std::optional<std::string> line(const std::string& path, std::uint32_t number) {
    if (!options_.read_source) {
      return std::nullopt;
    }
    const File& file = load(path);
    if (number == 0 || number > file.lines.size()) {
      return std::nullopt;
    }
    const std::string& raw = file.lines[number - 1];
    const std::size_t first = raw.find_first_not_of(" \t");
    const std::size_t last = raw.find_last_not_of(" \t\r");
    if (first == std::string::npos) {
      return std::string();
    }
    return raw.substr(first, last - first + 1);
  }

 private:
  struct File {
    Status status = Status::Missing;
    std::vector<std::string> lines;
  };

  const Bundle& b_;
  const DisasmOptions& options_;
  std::map<std::string, File> files_;

  const File& load(const std::string& path) {
    auto it = files_.find(path);
    if (it != files_.end()) {
      return it->second;
    }
    File file;
    if (const std::optional<std::string> text = options_.read_source(path)) {
      file.status = Status::Changed;
      for (const SourceInfo& s : b_.sources) {
        if (s.path < b_.strings.size() && b_.strings[s.path] == path && s.sha256 == sha256(*text)) {
          file.status = Status::Ok;
        }
      }
      if (file.status == Status::Ok) {
        std::size_t start = 0;
        while (start <= text->size()) {
          std::size_t end = text->find('\n', start);
          if (end == std::string::npos) {
            end = text->size();
          }
          file.lines.push_back(text->substr(start, end - start));
          start = end + 1;
        }
      }
    }
    return files_.emplace(path, std::move(file)).first->second;
  }
};

class Listing {
 public:
  Listing(const Bundle& b, const DisasmOptions& options)
      : b_(b), options_(options), sources_(b, options) {}

  std::string run() {
    // Who belongs to which flow, gathered once: a listing is linear in the
    // bundle's size however many flows it has.
    triggers_of_.resize(b_.flows.size());
    for (const TriggerInfo& t : b_.triggers) {
      if (t.flow < b_.flows.size()) {
        triggers_of_[t.flow].push_back(&t);
      }
    }
    steps_of_.resize(b_.flows.size());
    for (std::uint32_t s = 0; s < b_.steps.size(); ++s) {
      if (b_.steps[s].flow < b_.flows.size()) {
        steps_of_[b_.steps[s].flow].emplace(b_.steps[s].pc, s);
      }
    }
    header();
    for (std::uint32_t f = 0; f < b_.flows.size(); ++f) {
      if (options_.only_flow.empty() || flow_name(b_, f) == options_.only_flow) {
        flow(f);
      }
    }
    lines();
    return std::move(out_);
  }

 private:
  const Bundle& b_;
  const DisasmOptions& options_;
  SourceLines sources_;
  std::string out_;
  std::vector<std::vector<const TriggerInfo*>> triggers_of_;
  // Per flow: pc -> step index.
  std::vector<std::multimap<std::uint32_t, std::uint32_t>> steps_of_;
  // The source line printed last, so a run of instructions shows it once.
  std::uint32_t shown_file_ = kNone;
  std::uint32_t shown_line_ = 0;

  void line(const std::string& text) {
    out_ += text;
    out_ += '\n';
  }

  static std::string plural(std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  }

  void header() {
    line("waflow bundle, format " + std::to_string(b_.major) + "." + std::to_string(b_.minor));
    line("compiler  " + (b_.compiler_version < b_.strings.size()
                             ? b_.strings[b_.compiler_version]
                             : out_of_range(b_.compiler_version)));
    std::string hash = options_.content_hash;
    if (hash.empty()) {
      const std::vector<std::uint8_t> bytes = write_bundle(b_);
      hash = "sha256:" + sha256_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()),
                                                     bytes.size()));
    }
    line("content   " + hash);
    line("sources   " + std::to_string(b_.sources.size()));
    for (const SourceInfo& s : b_.sources) {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string digest;
      for (std::uint8_t byte : s.sha256) {
        digest += kHex[byte >> 4U];
        digest += kHex[byte & 0xFU];
      }
      const std::string path =
          s.path < b_.strings.size() ? b_.strings[s.path] : out_of_range(s.path);
      std::string note;
      switch (sources_.status(path)) {
        case SourceLines::Status::Missing:
          note = "  (not found: source lines not shown)";
          break;
        case SourceLines::Status::Changed:
          note = "  (changed since the build: source lines not shown)";
          break;
        case SourceLines::Status::Unread:
        case SourceLines::Status::Ok:
          break;
      }
      line("  " + path + "  sha256:" + digest + note);
    }
    line("tables    " + plural(b_.flows.size(), "flow", "flows") + ", " +
         plural(b_.triggers.size(), "trigger", "triggers") + ", " +
         plural(b_.steps.size(), "step", "steps") + ", " +
         plural(b_.strings.size(), "string", "strings") + ", " +
         plural(b_.numbers.size(), "number", "numbers") + ", " +
         plural(b_.code.size(), "byte of code", "bytes of code") + ", " +
         plural(b_.lines.size(), "line", "lines") + ", " +
         plural(b_.debug.size(), "debug entry", "debug entries"));
  }

  std::string hours_text(const HoursRange& h) const {
    // Runs of days as the language writes them: "mon-fri,sun".
    std::string days;
    for (std::size_t d = 0; d < kDayNames.size(); ++d) {
      if (((h.days >> d) & 1U) == 0) {
        continue;
      }
      std::size_t last = d;
      while (last + 1 < kDayNames.size() && ((h.days >> (last + 1)) & 1U) != 0) {
        ++last;
      }
      days += (days.empty() ? "" : ",") + std::string(kDayNames[d]);
      if (last > d) {
        days += "-" + std::string(kDayNames[last]);
      }
      d = last;
    }
    return days + " " + clock_time(h.open) + "-" + clock_time(h.close);
  }

  void flow(std::uint32_t index) {
    const FlowInfo& f = b_.flows[index];
    line("");
    std::string title = "flow " + flow_name(b_, index);
    if (f.title != kNone) {
      title += " " + string_operand(b_, f.title);
    }
    line(title);
    line("  priority  " + std::to_string(f.priority));
    if (f.timezone != kNone) {
      line("  timezone  " + string_operand(b_, f.timezone));
    }
    for (const HoursRange& h : f.hours) {
      line("  hours     " + hours_text(h));
    }
    for (const TriggerInfo* trigger : triggers_of_[index]) {
      const TriggerInfo& t = *trigger;
      std::string text = "  trigger   " + trigger_kind_name(t.kind);
      for (std::uint32_t v : t.values) {
        text += " " + string_operand(b_, v);
      }
      if (t.priority != f.priority) {
        text += "  priority " + std::to_string(t.priority);
      }
      if (t.timezone != kNone) {
        text += "  timezone " + string_operand(b_, t.timezone);
      }
      line(text);
    }
    line("  code      " + std::to_string(f.code_begin) + ".." + std::to_string(f.code_end) + " (" +
         plural(f.code_end - f.code_begin, "byte", "bytes") + ")");
    code(index);
  }

  void code(std::uint32_t index) {
    const FlowInfo& f = b_.flows[index];
    const std::multimap<std::uint32_t, std::uint32_t>& steps_at = steps_of_[index];
    shown_file_ = kNone;
    shown_line_ = 0;
    if (steps_at.count(f.code_begin) == 0) {
      line("");
    }
    const std::uint32_t end =
        std::min<std::uint32_t>(f.code_end, static_cast<std::uint32_t>(b_.code.size()));
    for (std::uint32_t pc = f.code_begin; pc < end;) {
      // An unknown or cut-off instruction (only in a bundle that skipped the
      // verifier) is shown as a raw byte, and the listing goes on after it.
      std::uint32_t size = 1;
      std::string text = ".byte " + std::to_string(b_.code[pc]);
      const std::uint8_t byte = b_.code[pc];
      if (byte < kOpCount && pc + instruction_size(static_cast<Op>(byte)) <= end) {
        size = instruction_size(static_cast<Op>(byte));
        text = disassemble_instruction(b_, pc);
      }
      const auto [first, last] = steps_at.equal_range(pc);
      for (auto it = first; it != last; ++it) {
        const StepInfo& s = b_.steps[it->second];
        line("");
        line(std::string(kCommentIndent) + "; step " + step_name(b_, it->second) + " (" +
             (s.kind < b_.strings.size() ? b_.strings[s.kind] : out_of_range(s.kind)) + ")");
      }
      source_lines(pc, pc + size);
      std::string pc_text = std::to_string(pc);
      line(std::string(pc_text.size() < 8 ? 8 - pc_text.size() : 0, ' ') + pc_text + "  " + text);
      pc += size;
    }
  }

  // Prints the source lines the debug table places in [begin, end).
  void source_lines(std::uint32_t begin, std::uint32_t end) {
    auto it = std::lower_bound(b_.debug.begin(), b_.debug.end(), begin,
                               [](const DebugEntry& d, std::uint32_t pc) { return d.pc < pc; });
    for (; it != b_.debug.end() && it->pc < end; ++it) {
      if (it->file == shown_file_ && it->line == shown_line_) {
        continue;
      }
      shown_file_ = it->file;
      shown_line_ = it->line;
      if (it->file >= b_.strings.size()) {
        line(std::string(kCommentIndent) + "; " + out_of_range(it->file) + ":" +
             std::to_string(it->line));
        continue;
      }
      const std::string& path = b_.strings[it->file];
      std::string text = std::string(kCommentIndent) + "; " + path + ":" + std::to_string(it->line);
      if (const std::optional<std::string> source = sources_.line(path, it->line)) {
        if (!source->empty()) {
          text += "  " + *source;
        }
      }
      line(text);
    }
  }

  void lines() {
    std::vector<const LineInfo*> shown;
    const std::string prefix = options_.only_flow + ".";
    for (const LineInfo& l : b_.lines) {
      if (options_.only_flow.empty() ||
          (l.line_id < b_.strings.size() && b_.strings[l.line_id].starts_with(prefix))) {
        shown.push_back(&l);
      }
    }
    line("");
    line("lines  " + std::to_string(shown.size()));
    for (const LineInfo* l : shown) {
      line("  " +
           (l->line_id < b_.strings.size() ? b_.strings[l->line_id] : out_of_range(l->line_id)) +
           " = " + string_operand(b_, l->text));
    }
  }
};

}  // namespace

std::string quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20U || byte == 0x7FU) {
          out += "\\x";
          out += kHex[byte >> 4U];
          out += kHex[byte & 0xFU];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string format_number(double value) {
  std::array<char, 32> buffer{};
  const auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  if (error != std::errc()) {
    return "?";
  }
  return std::string(buffer.data(), end);
}

std::string scope_operand_name(std::uint32_t scope) {
  return name_of(kScopeNames, scope);
}

std::string capture_type_operand_name(std::uint32_t capture) {
  return name_of(kCaptureNames, capture);
}

std::string function_operand_name(std::uint32_t function) {
  return name_of(kFunctionNames, function);
}

std::string effect_operand_name(std::uint32_t kind) {
  return name_of(kEffectNames, kind);
}

std::string trigger_kind_name(TriggerKind kind) {
  return name_of(kTriggerNames, static_cast<std::uint32_t>(kind));
}

std::string disassemble_instruction(const Bundle& bundle, std::uint32_t pc) {
  if (pc >= bundle.code.size()) {
    return "; pc " + std::to_string(pc) + " is past the end of the code";
  }
  const std::uint8_t byte = bundle.code[pc];
  if (byte >= kOpCount || pc + instruction_size(static_cast<Op>(byte)) > bundle.code.size()) {
    return ".byte " + std::to_string(byte);
  }
  const auto op = static_cast<Op>(byte);
  const OpInfo& info = op_info(op);
  std::string text(info.mnemonic);
  std::uint32_t at = pc + 1;
  for (Operand kind : info.operands) {
    if (kind == Operand::None) {
      continue;
    }
    if (text.size() < kMnemonicWidth) {
      text.resize(kMnemonicWidth, ' ');
    } else {
      text += ' ';
    }
    text += operand_text(bundle, op, kind, read_u32(bundle.code, at));
    at += 4;
  }
  return text;
}

std::string disassemble(const Bundle& bundle, const DisasmOptions& options) {
  return Listing(bundle, options).run();
}

}  // namespace waflow::bytecode
