#pragma once

// The instruction set (expanded from opcodes.def) and the tables that describe
// it: operand kinds and stack effects, used by the verifier, the disassembler and
// the compiler's stack tracking.

#include <array>
#include <cstdint>
#include <string_view>

namespace waflow::bytecode {

enum class Op : std::uint8_t {
#define WAFLOW_OPCODE(name, mnemonic, a, b, pops, pushes) name,
#include "runtime/bytecode/opcodes.def"
#undef WAFLOW_OPCODE
};

enum class Operand : std::uint8_t {
  None,
  Str,
  Num,
  Target,
  Count,
  Scope,
  Step,
  Flow,
  Fn,
  Kind,
  Capture
};

struct OpInfo {
  std::string_view mnemonic;
  std::array<Operand, 2> operands;
  int pops;  // -1: depends on the Count operand.
  int pushes;
};

inline constexpr std::array kOpInfo = {
#define WAFLOW_OPCODE(name, mnemonic, a, b, pops, pushes) \
  OpInfo{mnemonic, {Operand::a, Operand::b}, pops, pushes},
#include "runtime/bytecode/opcodes.def"
#undef WAFLOW_OPCODE
};

inline constexpr std::size_t kOpCount = kOpInfo.size();
static_assert(kOpCount <= 256, "opcodes must fit in one byte");

inline const OpInfo& op_info(Op op) {
  return kOpInfo[static_cast<std::size_t>(op)];
}

inline int operand_count(Op op) {
  const OpInfo& i = op_info(op);
  return (i.operands[0] != Operand::None ? 1 : 0) + (i.operands[1] != Operand::None ? 1 : 0);
}

// Bytes an instruction takes: the opcode and 4 bytes per operand.
inline std::uint32_t instruction_size(Op op) {
  return 1U + 4U * static_cast<std::uint32_t>(operand_count(op));
}

// How many values the instruction pops, given its operands.
inline int stack_pops(Op op, std::uint32_t a, std::uint32_t b) {
  switch (op) {
    case Op::Format:
      return static_cast<int>(b);
    case Op::MakeList:
      return static_cast<int>(a);
    case Op::MakeObject:
      return static_cast<int>(2 * a);
    case Op::Call:
      return static_cast<int>(b);
    default:
      return op_info(op).pops;
  }
}

// The effects a run can ask of its host.
enum class EffectKind : std::uint8_t {
  Send,         // A message to the contact (emit).
  Typing,       // Show "typing..." for a while (emit).
  Stage,        // The conversation entered a named stage (emit).
  Tag,          // Add tags to the contact (emit).
  Untag,        // Remove tags from the contact (emit).
  Log,          // A line for the operator's log (emit).
  Handoff,      // Pause the bot for a person; resumes when they hand back (await).
  AiReply,      // Answer with a model (await).
  AiExtract,    // Fill typed fields from the conversation (await).
  AiClassify,   // Pick an intent (await).
  Http,         // Call an HTTP API (await).
  StoreRecord,  // Store a record; answers with its id (await).
  Delay,        // Sleep (await).
};

inline constexpr std::array<std::string_view, 13> kEffectNames = {
    "send",     "typing",     "stage",       "tag",  "untag", "log",  "handoff",
    "ai_reply", "ai_extract", "ai_classify", "http", "store", "delay"};

inline bool is_await_effect(EffectKind kind) {
  return kind >= EffectKind::Handoff;
}

}  // namespace waflow::bytecode
