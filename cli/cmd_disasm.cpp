// waflow disasm app.wfb: loads (and so verifies) a bundle and prints its listing
// on standard output. Source lines named by the debug table are read relative to
// the current directory, as `waflow build` recorded them; a missing file only
// drops the text, never fails the command.

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "runtime/bytecode/disasm.h"

namespace waflow::cli {

namespace {

struct DisasmOptions {
  std::string bundle;
  std::string flow;
  bool no_source = false;
};

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return std::nullopt;
  }
  return text.str();
}

int run_disasm(const DisasmOptions& options) {
  const std::optional<std::string> data = read_file(options.bundle);
  if (!data) {
    std::fprintf(stderr, "waflow: error: cannot read '%s'\n", options.bundle.c_str());
    return kExitErrors;
  }
  const std::vector<std::uint8_t> bytes(data->begin(), data->end());
  Result<bytecode::Bundle> bundle = bytecode::load_bundle(bytes);
  if (!bundle) {
    std::fprintf(stderr, "waflow: error: %s: %s\n", options.bundle.c_str(),
                 bundle.error().message.c_str());
    return kExitErrors;
  }
  if (!options.flow.empty() && bundle.value().find_flow(options.flow) == bytecode::kNone) {
    std::fprintf(stderr, "waflow: error: the bundle has no flow named '%s'\n",
                 options.flow.c_str());
    return kExitUsage;
  }
  bytecode::DisasmOptions listing;
  listing.content_hash = "sha256:" + bytecode::sha256_hex(*data);
  listing.only_flow = options.flow;
  if (!options.no_source) {
    listing.read_source = read_file;
  }
  const std::string text = bytecode::disassemble(bundle.value(), listing);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (std::fflush(stdout) != 0) {
    std::fprintf(stderr, "waflow: error: cannot write the listing\n");
    return kExitErrors;
  }
  return kExitOk;
}

}  // namespace

void add_disasm_command(CLI::App& app, int& status) {
  auto options = std::make_shared<DisasmOptions>();
  CLI::App* cmd = app.add_subcommand("disasm", "Print a readable listing of a bytecode bundle");
  cmd->add_option("bundle", options->bundle, "Bundle to read (.wfb)")->required();
  cmd->add_option("--flow", options->flow, "List only this flow (and its lines)");
  cmd->add_flag("--no-source", options->no_source,
                "Show file:line only, without reading the source files");
  cmd->callback([options, &status] { status = run_disasm(*options); });
}

}  // namespace waflow::cli
