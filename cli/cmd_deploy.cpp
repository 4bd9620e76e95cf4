// waflow deploy BUNDLE.wfb | FLOWS... [--activate] [--comment TEXT]: uploads a
// bundle to a running server (POST /api/v1/deployments). Flow files and
// directories are compiled first, exactly as `waflow build` compiles them; a
// project with errors is not uploaded.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/compile_project.h"
#include "cli/remote.h"

namespace waflow::cli {

namespace {

struct DeployOptions {
  RemoteOptions remote;
  std::vector<std::string> paths;
  bool activate = false;
  std::string comment;
  std::string author;
  std::string color = "auto";
  bool warnings_as_errors = false;
};

// A single file that is a bundle already: it starts with the bundle magic, or
// is named *.wfb (then the server's verifier says what is wrong with it).
bool is_bundle_file(const std::vector<std::string>& paths, std::string& bytes) {
  if (paths.size() != 1) {
    return false;
  }
  const std::filesystem::path path(paths[0]);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in && !in.eof()) {
    return false;
  }
  bytes = content.str();
  return bytes.rfind("WAFB", 0) == 0 || path.extension() == ".wfb";
}

// Header values must not carry line breaks.
std::string header_safe(std::string text) {
  for (char& c : text) {
    if (c == '\r' || c == '\n') {
      c = ' ';
    }
  }
  return text;
}

int run_deploy(const DeployOptions& options) {
  Remote remote("deploy", options.remote);
  if (remote.usage_error()) {
    return kExitUsage;
  }
  std::string bytes;
  if (!is_bundle_file(options.paths, bytes)) {
    CompileOptions compile;
    compile.paths = options.paths;
    compile.color = options.color;
    compile.warnings_as_errors = options.warnings_as_errors;
    const std::optional<CompiledBundle> bundle =
        compile_project(compile, "waflow deploy", "nothing uploaded");
    if (!bundle) {
      return kExitErrors;
    }
    bytes.assign(bundle->bytes.begin(), bundle->bytes.end());
  }
  QueryParams query{{"activate", options.activate ? "true" : "false"}};
  if (!options.comment.empty()) {
    query.emplace_back("comment", options.comment);
  }
  // The author is the one from --author, else the login name (shown by
  // `waflow deployments list`); the header is only sent when there is one.
  std::string author = options.author;
  if (author.empty() && std::getenv("USER") != nullptr) {
    author = std::getenv("USER");
  }
  const RemoteReply reply = remote.call(
      "POST", "/deployments", query, bytes, "application/octet-stream",
      author.empty() ? QueryParams{} : QueryParams{{"X-Waflow-Author", header_safe(author)}});
  if (!reply.ok()) {
    return remote.fail(reply.message);
  }
  const auto json = nlohmann::json::parse(reply.body, nullptr, false);
  if (!json.is_object() || !json.contains("hash") || !json["hash"].is_string()) {
    return remote.fail("the server's answer has no bundle hash: " + reply.body);
  }
  const bool active = json.value("active", false);
  std::printf("deployed %s (%s)\n", json["hash"].get<std::string>().c_str(),
              active ? "active" : "inactive");
  if (options.activate && !active) {
    return remote.fail("the bundle was stored but is not active");
  }
  return kExitOk;
}

}  // namespace

void add_deploy_command(CLI::App& app, int& status) {
  auto options = std::make_shared<DeployOptions>();
  CLI::App* cmd = app.add_subcommand(
      "deploy", "Upload a bundle (or compile flows and upload them) to a running server");
  cmd->add_option("paths", options->paths, "A bundle (.wfb), or flow files or directories")
      ->required();
  cmd->add_flag("--activate", options->activate,
                "Make it the active bundle: new conversations start on it");
  cmd->add_option("--comment", options->comment, "A note shown by `waflow deployments list`");
  cmd->add_option("--author", options->author, "Who deploys (default: $USER)");
  cmd->add_option("--color", options->color, "Colour in diagnostics")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  cmd->add_flag("--warnings-as-errors,-W", options->warnings_as_errors,
                "Do not deploy flows that have warnings");
  add_remote_options(*cmd, options->remote);
  cmd->callback([options, &status] { status = run_deploy(*options); });
}

}  // namespace waflow::cli
