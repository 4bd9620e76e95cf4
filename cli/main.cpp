// The waflow executable: registers the subcommands and maps outcomes to exit
// statuses. Every command runs under a last-resort catch, so an unexpected
// failure prints a clean message instead of a crash.

#include <clocale>
#include <cstdio>
#include <exception>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/version.h"

namespace waflow::cli {

bool use_color(const std::string& when) {
  if (when == "always") {
    return true;
  }
  if (when == "never") {
    return false;
  }
  return isatty(STDERR_FILENO) != 0 && std::getenv("NO_COLOR") == nullptr;
}

}  // namespace waflow::cli

int main(int argc, char** argv) {
  // Parsing and output never depend on the user's locale.
  std::setlocale(LC_ALL, "C");
  CLI::App app{"waflow: chatbot flows for WhatsApp, treated as code", "waflow"};
  app.set_version_flag("--version", std::string("waflow ") + waflow::kVersion);
  app.require_subcommand(1);
  app.fallthrough(false);
  int status = waflow::cli::kExitOk;
  waflow::cli::add_check_command(app, status);
  waflow::cli::add_convert_command(app, status);
  waflow::cli::add_build_command(app, status);
  waflow::cli::add_disasm_command(app, status);
  waflow::cli::add_test_command(app, status);
  waflow::cli::add_sim_command(app, status);
  waflow::cli::add_serve_command(app, status);
  waflow::cli::add_deploy_command(app, status);
  waflow::cli::add_deployments_command(app, status);
  waflow::cli::add_send_command(app, status);
  waflow::cli::add_query_command(app, status);
  waflow::cli::add_contacts_command(app, status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return waflow::cli::kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "waflow: error: %s\n", e.what());
    return waflow::cli::kExitErrors;
  }
  return status;
}
