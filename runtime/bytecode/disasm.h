#pragma once

// The disassembler: a verified bundle as a listing people can read (what
// `waflow disasm` prints and what the golden tests in tests/golden/disasm/ hold).
//
// Mnemonics and operand kinds come from opcodes.def through kOpInfo, so a new
// opcode shows up here without an edit. The listing interleaves the source lines
// named by the debug table; reading those files is the caller's business (a
// callback), so this layer does no I/O and a test can hand it any text.
//
// The bundle should have passed load_bundle(); an index out of range anyway is
// printed as `#n?` rather than trusted.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/bytecode/bundle.h"

namespace waflow::bytecode {

struct DisasmOptions {
  // "sha256:<hex>" of the bundle file; computed from write_bundle() when empty.
  std::string content_hash;
  // Returns the text of a source file named in the bundle, or nullopt when it
  // cannot be read (then only file:line is shown, as for a file whose SHA-256
  // is not the one recorded at build time). Null: never show source text.
  std::function<std::optional<std::string>(const std::string& path)> read_source;
  // Only this flow (by name); empty: every flow.
  std::string only_flow;
};

// The whole listing: header, flows with their code, the line table.
std::string disassemble(const Bundle& bundle, const DisasmOptions& options);

// One instruction, "mnemonic operands", without pc or comments. `pc` must be an
// instruction boundary inside the code.
std::string disassemble_instruction(const Bundle& bundle, std::uint32_t pc);

// A string as a double-quoted literal: quotes, backslashes and control
// characters escaped; other UTF-8 kept as is.
std::string quote(std::string_view text);

// A number as the shortest text that reads back to the same double ("0.5",
// "86400000", "-3.7038"); independent of the locale.
std::string format_number(double value);

// Names of operand values, in the order of their encodings. Out of range: "#n?".
std::string scope_operand_name(std::uint32_t scope);
std::string capture_type_operand_name(std::uint32_t capture);
std::string function_operand_name(std::uint32_t function);
std::string effect_operand_name(std::uint32_t kind);
std::string trigger_kind_name(TriggerKind kind);

}  // namespace waflow::bytecode
