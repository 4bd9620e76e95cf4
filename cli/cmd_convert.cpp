// waflow convert FILE --to dsl|yaml|visual [-o OUT]: rewrites a flow file in
// another format, through the IR. Nothing is written when the input has errors.

#include <cstdio>
#include <fstream>
#include <memory>

#include "cli/commands.h"
#include "compiler/dsl/printer.h"
#include "compiler/frontend.h"
#include "compiler/render.h"
#include "compiler/visual/visual.h"
#include "compiler/yaml/yaml.h"

namespace waflow::cli {

namespace {

struct ConvertOptions {
  std::string input;
  std::string to;
  std::string output;
  std::string color = "auto";
};

int run_convert(const ConvertOptions& options) {
  SourceManager sources;
  Diagnostics diags;
  ir::Project project = load_project({options.input}, sources, diags);
  diags.sort(sources);
  RenderOptions render;
  render.color = use_color(options.color);
  std::fputs(render_diagnostics(diags.all(), sources, render).c_str(), stderr);
  if (diags.has_errors() || project.modules.size() != 1) {
    return kExitErrors;
  }
  const ir::Module& module = project.modules.front();
  std::string text;
  if (options.to == "dsl") {
    text = dsl::write_dsl(module);
  } else if (options.to == "yaml") {
    text = write_yaml(module);
  } else {
    text = write_visual(module);
  }
  if (options.output.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return kExitOk;
  }
  std::ofstream out(options.output, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) {
    std::fprintf(stderr, "waflow: error: cannot write '%s'\n", options.output.c_str());
    return kExitErrors;
  }
  return kExitOk;
}

}  // namespace

void add_convert_command(CLI::App& app, int& status) {
  auto options = std::make_shared<ConvertOptions>();
  CLI::App* cmd =
      app.add_subcommand("convert", "Convert a flow file between the DSL, YAML and visual JSON");
  cmd->add_option("file", options->input, "The flow file to convert")->required();
  cmd->add_option("--to", options->to, "Target format")
      ->required()
      ->check(CLI::IsMember({"dsl", "yaml", "visual"}));
  cmd->add_option("-o,--output", options->output, "Write here instead of standard output");
  cmd->add_option("--color", options->color, "Colour in diagnostics")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  cmd->callback([options, &status] { status = run_convert(*options); });
}

}  // namespace waflow::cli
