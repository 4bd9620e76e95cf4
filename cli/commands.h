#pragma once

// The waflow subcommands. Each lives in its own cli/cmd_<name>.cpp and registers
// itself on the CLI11 app; its run function returns the process exit status.

#include <CLI/CLI.hpp>

namespace waflow::cli {

// Exit statuses shared by every command.
enum ExitStatus : int {
  kExitOk = 0,
  kExitErrors = 1,  // The input has errors (or a test failed).
  kExitUsage = 2,   // The command line is wrong.
};

// Each command stores its exit status into `status` when it runs.
void add_check_command(CLI::App& app, int& status);
void add_convert_command(CLI::App& app, int& status);
void add_build_command(CLI::App& app, int& status);
void add_disasm_command(CLI::App& app, int& status);
void add_test_command(CLI::App& app, int& status);
void add_sim_command(CLI::App& app, int& status);
void add_serve_command(CLI::App& app, int& status);
// The commands that operate a running server over its HTTP API (cli/remote.h).
void add_deploy_command(CLI::App& app, int& status);
void add_deployments_command(CLI::App& app, int& status);
void add_send_command(CLI::App& app, int& status);
void add_query_command(CLI::App& app, int& status);
void add_contacts_command(CLI::App& app, int& status);

// Whether colour should be used on stderr for --color=auto|always|never.
bool use_color(const std::string& when);

}  // namespace waflow::cli
