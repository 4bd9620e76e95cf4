// Helpers shared by the bytecode tests (see helpers.h).

#include "tests/unit/bytecode/helpers.h"

#include <catch2/catch.hpp>

#include "compiler/checks/checks.h"
#include "compiler/codegen/codegen.h"
#include "compiler/frontend.h"
#include "compiler/render.h"
#include "runtime/bytecode/format.h"

namespace waflow::bytecode::testing {

std::string source_dir() {
  return WAFLOW_SOURCE_DIR;
}

const std::vector<ExampleProject>& example_projects() {
  static const std::vector<ExampleProject> kProjects = {
      {"booking", {"booking.wf"}},
      {"leads", {"leads.wf"}},
      {"menu", {"menu.wf", "menu_info.wf", "support.wf"}},
      {"pizza", {"pizza.wf"}},
      {"support", {"support.wf"}},
  };
  return kProjects;
}

namespace {

Bundle compile(SourceManager& sources, const ir::Project& project, Diagnostics& diags) {
  check_project(project, sources, diags);
  diags.sort(sources);
  if (diags.has_errors()) {
    RenderOptions render;
    FAIL(render_diagnostics(diags.all(), sources, render));
  }
  return generate_bundle(project, sources, "waflow test");
}

}  // namespace

Bundle compile_files(const std::vector<std::string>& paths) {
  SourceManager sources;
  Diagnostics diags;
  const ir::Project project = load_project(paths, sources, diags);
  return compile(sources, project, diags);
}

Bundle compile_example(const ExampleProject& project) {
  std::vector<std::string> paths;
  for (const std::string& file : project.files) {
    paths.push_back(source_dir() + "/examples/flows/" + file);
  }
  return compile_files(paths);
}

Bundle compile_text(const std::string& text) {
  SourceManager sources;
  Diagnostics diags;
  const FileId file = sources.add("test.wf", text);
  ir::Project project;
  project.modules.push_back(parse_dsl(sources, file, diags));
  assign_step_ids(project);
  return compile(sources, project, diags);
}

void set_u32(std::vector<std::uint8_t>& code, std::uint32_t at, std::uint32_t value) {
  for (unsigned i = 0; i < 4; ++i) {
    code[at + i] = static_cast<std::uint8_t>((value >> (8U * i)) & 0xFFU);
  }
}

std::uint32_t get_u32(const std::vector<std::uint8_t>& bytes, std::size_t at) {
  std::uint32_t v = 0;
  for (unsigned i = 0; i < 4; ++i) {
    v |= static_cast<std::uint32_t>(bytes[at + i]) << (8U * i);
  }
  return v;
}

std::vector<std::uint8_t> assemble(const std::vector<Ins>& code) {
  std::vector<std::uint8_t> out;
  for (const Ins& ins : code) {
    out.push_back(static_cast<std::uint8_t>(ins.op));
    const int operands = operand_count(ins.op);
    for (int i = 0; i < operands; ++i) {
      out.resize(out.size() + 4);
      set_u32(out, static_cast<std::uint32_t>(out.size() - 4), i == 0 ? ins.a : ins.b);
    }
  }
  return out;
}

std::uint32_t pc_of(const std::vector<Ins>& code, std::size_t index) {
  std::uint32_t pc = 0;
  for (std::size_t i = 0; i < index; ++i) {
    pc += instruction_size(code[i].op);
  }
  return pc;
}

Bundle with_code(Bundle base, const std::vector<Ins>& code) {
  base.code = assemble(code);
  base.flows.resize(1);
  base.flows[0].code_begin = 0;
  base.flows[0].code_end = static_cast<std::uint32_t>(base.code.size());
  std::erase_if(base.triggers, [](const TriggerInfo& t) { return t.flow != 0; });
  base.steps.clear();
  base.debug.clear();
  return base;
}

std::uint32_t find_op(const Bundle& bundle, Op op, std::uint32_t from) {
  for (std::uint32_t pc = 0; pc < bundle.code.size();) {
    const auto here = static_cast<Op>(bundle.code[pc]);
    if (pc >= from && here == op) {
      return pc;
    }
    pc += instruction_size(here);
  }
  return kNone;
}

std::vector<RawSection> split_sections(const std::vector<std::uint8_t>& file) {
  std::vector<RawSection> out;
  const std::uint32_t count = get_u32(file, 16);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::size_t entry = kHeaderSize + kSectionEntrySize * i;
    const std::uint32_t offset = get_u32(file, entry + 4);
    const std::uint32_t size = get_u32(file, entry + 8);
    out.push_back(
        RawSection{get_u32(file, entry), {file.begin() + offset, file.begin() + offset + size}});
  }
  return out;
}

std::vector<std::uint8_t> join_sections(std::uint16_t major, std::uint16_t minor,
                                        const std::vector<RawSection>& sections) {
  std::vector<std::uint8_t> out(kHeaderSize + kSectionEntrySize * sections.size());
  std::copy(std::begin(kMagic), std::end(kMagic), out.begin());
  out[4] = static_cast<std::uint8_t>(major & 0xFFU);
  out[5] = static_cast<std::uint8_t>(major >> 8U);
  out[6] = static_cast<std::uint8_t>(minor & 0xFFU);
  out[7] = static_cast<std::uint8_t>(minor >> 8U);
  set_u32(out, 8, kByteOrderMark);
  std::copy(std::begin(kCheckBytes), std::end(kCheckBytes), out.begin() + 12);
  set_u32(out, 16, static_cast<std::uint32_t>(sections.size()));
  auto offset = static_cast<std::uint32_t>(out.size());
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const auto entry = static_cast<std::uint32_t>(kHeaderSize + kSectionEntrySize * i);
    const auto size = static_cast<std::uint32_t>(sections[i].data.size());
    set_u32(out, entry, sections[i].id);
    set_u32(out, entry + 4, offset);
    set_u32(out, entry + 8, size);
    set_u32(out, entry + 12, crc32(sections[i].data.data(), sections[i].data.size()));
    offset += size;
  }
  for (const RawSection& s : sections) {
    out.insert(out.end(), s.data.begin(), s.data.end());
  }
  set_u32(out, 20, static_cast<std::uint32_t>(out.size()));
  return out;
}

std::string message_of(const std::vector<std::uint8_t>& bytes) {
  Result<Bundle> loaded = load_bundle(bytes);
  if (loaded) {
    return "(loaded)";
  }
  return loaded.error().message;
}

}  // namespace waflow::bytecode::testing
