#pragma once

// A project compiled the way `waflow build` does it, for the commands that need
// a bundle: build writes it to a file, deploy uploads it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace waflow::cli {

struct CompileOptions {
  std::vector<std::string> paths;  // Flow files or directories; empty: ".".
  std::string format = "human";    // Of the diagnostics: human, json (stdout) or github.
  std::string color = "auto";
  bool warnings_as_errors = false;
};

struct CompiledBundle {
  std::vector<std::uint8_t> bytes;  // Verified: loads as the runtime loads it.
  std::size_t flows = 0;
  std::size_t steps = 0;
};

// Loads, checks and compiles the project, printing its diagnostics. On errors
// prints "<who>: error: 2 errors; <consequence>" and returns nothing.
std::optional<CompiledBundle> compile_project(const CompileOptions& options, const std::string& who,
                                              const std::string& consequence);

}  // namespace waflow::cli
