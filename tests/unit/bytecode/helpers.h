#pragma once

// Helpers shared by the bytecode tests: compiling example flows into bundles,
// assembling small pieces of code by hand, and taking a bundle file apart into
// its sections and putting it back together (to drop or add a section with the
// checksums right).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/bytecode/bundle.h"
#include "runtime/bytecode/opcodes.h"

namespace waflow::bytecode::testing {

// The source tree (examples/flows/ lives there).
std::string source_dir();

// The example projects: each file of examples/flows/ alone, except that
// menu.wf calls flows of menu_info.wf and its buttons are answered by a payload
// trigger of support.wf, so those three build together.
struct ExampleProject {
  std::string name;
  std::vector<std::string> files;  // Relative to examples/flows/.
};
const std::vector<ExampleProject>& example_projects();

// Compiles files (absolute or relative paths) into a bundle; fails the running
// test when the project has errors.
Bundle compile_files(const std::vector<std::string>& paths);
// Compiles an example project, naming its files by absolute path.
Bundle compile_example(const ExampleProject& project);
// Compiles flow source text given as a string.
Bundle compile_text(const std::string& text);

struct Ins {
  Op op;
  std::uint32_t a = 0;
  std::uint32_t b = 0;
};
std::vector<std::uint8_t> assemble(const std::vector<Ins>& code);
// The pc of instruction `index` in `code`.
std::uint32_t pc_of(const std::vector<Ins>& code, std::size_t index);
// `base` with its first flow's code replaced by `code` and every other flow,
// trigger, step and debug entry dropped.
Bundle with_code(Bundle base, const std::vector<Ins>& code);

// The pc of the first instruction `op` at or after `from` (instruction
// boundaries are followed from 0), or kNone.
std::uint32_t find_op(const Bundle& bundle, Op op, std::uint32_t from = 0);
void set_u32(std::vector<std::uint8_t>& code, std::uint32_t at, std::uint32_t value);
std::uint32_t get_u32(const std::vector<std::uint8_t>& bytes, std::size_t at);

struct RawSection {
  std::uint32_t id;
  std::vector<std::uint8_t> data;
};
std::vector<RawSection> split_sections(const std::vector<std::uint8_t>& file);
std::vector<std::uint8_t> join_sections(std::uint16_t major, std::uint16_t minor,
                                        const std::vector<RawSection>& sections);

std::string message_of(const std::vector<std::uint8_t>& bytes);

}  // namespace waflow::bytecode::testing
