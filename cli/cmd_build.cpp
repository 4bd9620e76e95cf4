// waflow build [FILES|DIRS...] -o app.wfb: checks the project, compiles it into
// one verified bundle and prints the bundle's content hash (its version).
// compile_project (cli/compile_project.h) is shared with `waflow deploy`.

#include <cstdio>
#include <fstream>
#include <memory>

#include "cli/commands.h"
#include "cli/compile_project.h"
#include "cli/version.h"
#include "compiler/checks/checks.h"
#include "compiler/codegen/codegen.h"
#include "compiler/frontend.h"
#include "compiler/render.h"

namespace waflow::cli {

namespace {

struct BuildOptions {
  CompileOptions compile;
  std::string output = "app.wfb";
  bool quiet = false;
};

int run_build(const BuildOptions& options) {
  const std::optional<CompiledBundle> bundle =
      compile_project(options.compile, "waflow", "no bundle written");
  if (!bundle) {
    return kExitErrors;
  }
  const std::vector<std::uint8_t>& bytes = bundle->bytes;
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
                 bytes.size(), bundle->flows, bundle->steps);
  }
  std::printf("sha256:%s\n", hash.c_str());
  return kExitOk;
}

}  // namespace

std::optional<CompiledBundle> compile_project(const CompileOptions& options, const std::string& who,
                                              const std::string& consequence) {
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
    std::fprintf(stderr, "%s: error: %s; %s\n", who.c_str(),
                 summary_line(diags.error_count(), diags.warning_count()).c_str(),
                 consequence.c_str());
    return std::nullopt;
  }
  const bytecode::Bundle bundle =
      generate_bundle(project, sources, std::string("waflow ") + kVersion);
  CompiledBundle out;
  out.bytes = bytecode::write_bundle(bundle);
  // Never hand on what a host would refuse.
  Result<bytecode::Bundle> check = bytecode::load_bundle(out.bytes);
  if (!check) {
    std::fprintf(stderr, "%s: internal error: the new bundle fails verification: %s\n", who.c_str(),
                 check.error().message.c_str());
    return std::nullopt;
  }
  out.flows = bundle.flows.size();
  out.steps = bundle.steps.size();
  return out;
}

void add_build_command(CLI::App& app, int& status) {
  auto options = std::make_shared<BuildOptions>();
  CLI::App* cmd = app.add_subcommand("build", "Compile flows into a verified bytecode bundle");
  cmd->add_option("paths", options->compile.paths, "Flow files or directories (default: .)");
  cmd->add_option("-o,--output", options->output, "Bundle to write (default: app.wfb)");
  cmd->add_option("--format", options->compile.format, "Diagnostics format")
      ->check(CLI::IsMember({"human", "json", "github"}));
  cmd->add_option("--color", options->compile.color, "Colour in human output")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  cmd->add_flag("--warnings-as-errors,-W", options->compile.warnings_as_errors,
                "Treat warnings as errors");
  cmd->add_flag("--quiet,-q", options->quiet, "Print only the bundle hash");
  cmd->callback([options, &status] { status = run_build(*options); });
}

}  // namespace waflow::cli
