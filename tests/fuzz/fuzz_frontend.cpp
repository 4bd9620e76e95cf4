// libFuzzer target for one front end (chosen at build time by WAFLOW_FUZZ_FORMAT:
// 0 = DSL, 1 = YAML, 2 = visual JSON). Any input must come back as diagnostics:
// no crash, no sanitizer report, no exception escaping the compiler.

#include <cstddef>
#include <cstdint>
#include <string>

#include "compiler/checks/checks.h"
#include "compiler/frontend.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr auto kFormat = static_cast<waflow::SourceFormat>(WAFLOW_FUZZ_FORMAT);
  waflow::SourceManager sources;
  waflow::Diagnostics diags;
  const waflow::FileId file =
      sources.add("fuzz", std::string(reinterpret_cast<const char*>(data), size));
  waflow::ir::Project project;
  project.modules.push_back(waflow::parse_source(sources, file, kFormat, diags));
  waflow::assign_step_ids(project);
  waflow::check_project(project, sources, diags);
  return 0;
}
