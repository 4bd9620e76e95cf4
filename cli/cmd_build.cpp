// waflow build [FILES|DIRS...] -o app.wfb: checks the project, compiles it into
// one verified bundle and prints the bundle's content hash (its version).

#include <cstdio>
#include <fstream>
#include <memory>

#include "cli/commands.h"
#include "cli/version.h"
#include "compiler/checks/checks.h"
#include "compiler/codegen/codegen.h"
#include "compiler/frontend.h"
#include "compiler/render.h"

namespace waflow::cli {

namespace {

struct BuildOptions {
  std::vector<std::string> paths;
  std::string output = "app.wfb";
  std::string format = "human";
  std::string color = "auto";
  bool warnings_as_errors = false;
  bool quiet = false;
};

int run_build(const BuildOptions& options) {
  SourceManager sources;
  Diagnostics diags;
  const std::vector<std::string> paths =
      options.paths.empty() ? std::vector<std::string>{"."} : options.paths;
  const ir::Project project = load_project(paths, sources, diags);
  check_project(project, sources, diags);
  diags.sort(sources);
  if (options.warnings_as_errors) {
    for (Diagnostic& d : diags.all()) {
      if (d.severity == Severity::Warning) {
        d.severity = Severity::Error;
      }
    }
  }
  RenderOptions render;
  render.format = options.format == "json"     ? RenderFormat::Json
                  : options.format == "github" ? RenderFormat::Github
                                               : RenderFormat::Human;
  render.color = render.format == RenderFormat::Human && use_color(options.color);
  const std::string text = render_diagnostics(diags.all(), sources, render);
  std::fputs(text.c_str(), render.format == RenderFormat::Json ? stdout : stderr);
  if (diags.has_errors()) {
    std::fprintf(stderr, "waflow: error: %s; no bundle written\n",
                 summary_line(diags.error_count(), diags.warning_count()).c_str());
    return kExitErrors;
  }
  const bytecode::Bundle bundle =
      generate_bundle(project, sources, std::string("waflow ") + kVersion);
  const std::vector<std::uint8_t> bytes = bytecode::write_bundle(bundle);
  // Never write what a host would refuse.
  Result<bytecode::Bundle> check = bytecode::load_bundle(bytes);
  if (!check) {
    std::fprintf(stderr, "waflow: internal error: the new bundle fails verification: %s\n",
                 check.error().message.c_str());
    return kExitErrors;
  }
  std::ofstream out(options.output, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "waflow: error: cannot write '%s'\n", options.output.c_str());
    return kExitErrors;
  }
  const std::string hash = bytecode::sha256_hex(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  if (!options.quiet) {
    std::fprintf(stderr, "wrote %s: %zu bytes, %zu flows, %zu steps\n", options.output.c_str(),
                 bytes.size(), bundle.flows.size(), bundle.steps.size());
  }
  std::printf("sha256:%s\n", hash.c_str());
  return kExitOk;
}

}  // namespace

void add_build_command(CLI::App& app, int& status) {
  auto options = std::make_shared<BuildOptions>();
  CLI::App* cmd = app.add_subcommand("build", "Compile flows into a verified bytecode bundle");
  cmd->add_option("paths", options->paths, "Flow files or directories (default: .)");
  cmd->add_option("-o,--output", options->output, "Bundle to write (default: app.wfb)");
  cmd->add_option("--format", options->format, "Diagnostics format")
      ->check(CLI::IsMember({"human", "json", "github"}));
  cmd->add_option("--color", options->color, "Colour in human output")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  cmd->add_flag("--warnings-as-errors,-W", options->warnings_as_errors, "Treat warnings as errors");
  cmd->add_flag("--quiet,-q", options->quiet, "Print only the bundle hash");
  cmd->callback([options, &status] { status = run_build(*options); });
}

}  // namespace waflow::cli
