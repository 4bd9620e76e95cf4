// waflow check [FILES|DIRS...]: parse and validate flows, print diagnostics.

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "compiler/checks/checks.h"
#include "compiler/frontend.h"
#include "compiler/render.h"

namespace waflow::cli {

namespace {

struct CheckOptions {
  std::vector<std::string> paths;
  std::string format = "human";
  std::string color = "auto";
  bool warnings_as_errors = false;
  bool quiet = false;
};

int run_check(const CheckOptions& options) {
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
  if (render.format == RenderFormat::Json) {
    std::fputs(text.c_str(), stdout);
  } else {
    std::fputs(text.c_str(), stderr);
    const std::string summary = summary_line(diags.error_count(), diags.warning_count());
    if (render.format == RenderFormat::Human && !options.quiet) {
      std::size_t flows = 0;
      for (const ir::Module& m : project.modules) {
        flows += m.flows.size();
      }
      std::fprintf(stderr, "%s%zu file%s, %zu flow%s checked%s%s\n",
                   summary.empty() ? "" : "\n", sources.size(), sources.size() == 1 ? "" : "s",
                   flows, flows == 1 ? "" : "s", summary.empty() ? "" : ": ", summary.c_str());
    }
  }
  return diags.has_errors() ? kExitErrors : kExitOk;
}

}  // namespace

void add_check_command(CLI::App& app, int& status) {
  auto options = std::make_shared<CheckOptions>();
  CLI::App* cmd = app.add_subcommand("check", "Parse and validate flows; print coded diagnostics");
  cmd->add_option("paths", options->paths, "Flow files or directories (default: .)");
  cmd->add_option("--format", options->format, "Output format")
      ->check(CLI::IsMember({"human", "json", "github"}));
  cmd->add_option("--color", options->color, "Colour in human output")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  cmd->add_flag("--warnings-as-errors,-W", options->warnings_as_errors,
                "Treat warnings as errors");
  cmd->add_flag("--quiet,-q", options->quiet, "Do not print the closing summary line");
  cmd->callback([options, &status] { status = run_check(*options); });
}

}  // namespace waflow::cli
