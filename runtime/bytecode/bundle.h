#pragma once

// A compiled project in memory: what `waflow build` writes and what every host
// loads. load_bundle() parses AND verifies (bounds, operands, jumps, stack
// balance, effect kinds, checksums); a bundle that fails is refused with a
// message, never half-loaded.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/result.h"

namespace waflow::bytecode {

inline constexpr std::uint32_t kNone = 0xFFFFFFFFU;

struct HoursRange {
  std::uint8_t days = 0;   // Bit 0 = Monday.
  std::uint16_t open = 0;  // Minutes since midnight.
  std::uint16_t close = 0;
};

struct FlowInfo {
  std::uint32_t name = 0;  // String ids.
  std::uint32_t title = kNone;
  std::uint32_t timezone = kNone;
  std::uint32_t code_begin = 0;  // The flow's instructions are [code_begin, code_end).
  std::uint32_t code_end = 0;
  std::int32_t priority = 0;
  std::vector<HoursRange> hours;
};

// Trigger kinds, in the order of ir::TriggerKind.
enum class TriggerKind : std::uint8_t {
  Keyword,
  Exact,
  Regex,
  Any,
  FirstContact,
  Payload,
  Api,
  Schedule
};

struct TriggerInfo {
  TriggerKind kind = TriggerKind::Any;
  std::uint32_t flow = 0;
  std::int32_t priority = 0;
  std::uint32_t timezone = kNone;
  std::vector<std::uint32_t> values;  // String ids.
};

struct StepInfo {
  std::uint32_t id = 0;    // String id of the stable step id.
  std::uint32_t kind = 0;  // String id of the step keyword.
  std::uint32_t flow = 0;
  std::uint32_t pc = 0;
};

struct LineInfo {
  std::uint32_t line_id = 0;  // "pizza.ask_choice.prompt"
  std::uint32_t text = 0;
};

struct DebugEntry {
  std::uint32_t pc = 0;
  std::uint32_t file = 0;  // String id of the source path.
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

struct SourceInfo {
  std::uint32_t path = 0;
  std::array<std::uint8_t, 32> sha256{};
};

struct Bundle {
  std::uint16_t major = 1;
  std::uint16_t minor = 0;
  std::vector<std::string> strings;
  std::vector<double> numbers;
  std::vector<std::uint8_t> code;
  std::vector<FlowInfo> flows;
  std::vector<TriggerInfo> triggers;
  std::vector<StepInfo> steps;
  std::vector<LineInfo> lines;
  std::vector<DebugEntry> debug;  // Sorted by pc.
  std::uint32_t compiler_version = 0;
  std::vector<SourceInfo> sources;

  const std::string& str(std::uint32_t id) const { return strings[id]; }
  // The flow whose code holds `pc`, or kNone.
  std::uint32_t flow_at(std::uint32_t pc) const;
  // The source position of `pc` (the closest debug entry at or before it).
  const DebugEntry* debug_at(std::uint32_t pc) const;
  std::uint32_t find_flow(std::string_view name) const;
};

// Serializes deterministically: the same bundle gives the same bytes.
std::vector<std::uint8_t> write_bundle(const Bundle& bundle);
// Parses and verifies.
Result<Bundle> load_bundle(const std::vector<std::uint8_t>& bytes);
// Verifies code and tables of a parsed bundle (load_bundle calls it).
Result<bool> verify_bundle(const Bundle& bundle);

// SHA-256 of bytes, as 64 lower-case hex digits.
std::string sha256_hex(std::string_view bytes);
std::array<std::uint8_t, 32> sha256(std::string_view bytes);
std::uint32_t crc32(const std::uint8_t* data, std::size_t size);

}  // namespace waflow::bytecode
