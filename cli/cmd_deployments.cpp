// waflow deployments list|activate|rollback: the bundles a running server has
// stored, and which one new conversations start on (/api/v1/deployments).

#include <cctype>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/remote.h"
#include "cli/table.h"

namespace waflow::cli {

namespace {

struct DeploymentsOptions {
  RemoteOptions remote;
  bool json = false;
  std::string hash;
};

// Hashes are shown and matched without a "sha256:" prefix, in lower case.
std::string bare_hash(std::string hash) {
  if (hash.rfind("sha256:", 0) == 0) {
    hash.erase(0, 7);
  }
  for (char& c : hash) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return hash;
}

bool is_hex(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// GET /deployments as its items; false (printed) when the call fails.
bool list_items(Remote& remote, nlohmann::json& items) {
  const RemoteReply reply = remote.call("GET", "/deployments");
  if (!reply.ok()) {
    remote.fail(reply.message);
    return false;
  }
  const auto json = nlohmann::json::parse(reply.body, nullptr, false);
  if (!json.is_object() || !json.contains("items") || !json["items"].is_array()) {
    remote.fail("the server's answer has no list of deployments");
    return false;
  }
  items = json["items"];
  return true;
}

int run_list(const DeploymentsOptions& options) {
  Remote remote("deployments list", options.remote);
  if (remote.usage_error()) {
    return kExitUsage;
  }
  nlohmann::json items;
  if (!list_items(remote, items)) {
    return kExitErrors;
  }
  if (options.json) {
    for (const auto& item : items) {
      std::printf("%s\n", item.dump().c_str());
    }
    return kExitOk;
  }
  if (items.empty()) {
    std::fprintf(stderr, "no deployments yet (waflow deploy uploads one)\n");
    return kExitOk;
  }
  std::vector<TableRow> rows;
  for (const auto& item : items) {
    const bool active = item.is_object() && item.value("active", false);
    rows.push_back({bare_hash(cell(item, "hash")).substr(0, 12), cell(item, "created_at"),
                    cell(item, "author"), shorten(cell(item, "comment"), 60), active ? "*" : ""});
  }
  std::fputs(render_table({"HASH", "CREATED", "AUTHOR", "COMMENT", "ACTIVE"}, rows).c_str(),
             stdout);
  return kExitOk;
}

int run_activate(const DeploymentsOptions& options) {
  Remote remote("deployments activate", options.remote);
  if (remote.usage_error()) {
    return kExitUsage;
  }
  const std::string wanted = bare_hash(options.hash);
  if (!is_hex(wanted) || wanted.size() < 8 || wanted.size() > 64) {
    std::fprintf(stderr,
                 "waflow deployments activate: error: '%s' is not a bundle hash (expected at "
                 "least 8 hex digits of one, as `waflow deployments list` shows)\n",
                 options.hash.c_str());
    return kExitUsage;
  }
  // A prefix is resolved against the list, so a typo never activates a
  // different bundle than the one meant.
  std::string hash = wanted;
  if (wanted.size() < 64) {
    nlohmann::json items;
    if (!list_items(remote, items)) {
      return kExitErrors;
    }
    std::vector<std::string> matches;
    for (const auto& item : items) {
      const std::string candidate = bare_hash(cell(item, "hash"));
      if (candidate.rfind(wanted, 0) == 0) {
        matches.push_back(candidate);
      }
    }
    if (matches.empty()) {
      return remote.fail("no deployment's hash starts with " + wanted);
    }
    if (matches.size() > 1) {
      std::string list;
      for (const std::string& m : matches) {
        list += (list.empty() ? "" : ", ") + m.substr(0, 16);
      }
      return remote.fail(wanted + " is ambiguous: it begins " + std::to_string(matches.size()) +
                         " hashes (" + list + "); give more digits");
    }
    hash = matches[0];
  }
  const RemoteReply reply = remote.call("POST", "/deployments/" + path_segment(hash) + "/activate");
  if (!reply.ok()) {
    return remote.fail(reply.message);
  }
  std::printf("activated %s\n", hash.c_str());
  return kExitOk;
}

int run_rollback(const DeploymentsOptions& options) {
  Remote remote("deployments rollback", options.remote);
  if (remote.usage_error()) {
    return kExitUsage;
  }
  const RemoteReply reply = remote.call("POST", "/deployments/rollback");
  if (!reply.ok()) {
    return remote.fail(reply.message);
  }
  const auto json = nlohmann::json::parse(reply.body, nullptr, false);
  std::printf("rolled back: %s is active\n", bare_hash(cell(json, "hash")).c_str());
  return kExitOk;
}

}  // namespace

void add_deployments_command(CLI::App& app, int& status) {
  auto options = std::make_shared<DeploymentsOptions>();
  CLI::App* cmd =
      app.add_subcommand("deployments", "List, activate and roll back a server's bundles");
  cmd->require_subcommand(1);

  CLI::App* list = cmd->add_subcommand("list", "The stored bundles, newest first");
  list->add_flag("--json", options->json, "One JSON object per line");
  add_remote_options(*list, options->remote);
  list->callback([options, &status] { status = run_list(*options); });

  CLI::App* activate =
      cmd->add_subcommand("activate", "Make a stored bundle the one new conversations start on");
  activate->add_option("hash", options->hash, "The bundle's hash, or 8 or more of its first digits")
      ->required();
  add_remote_options(*activate, options->remote);
  activate->callback([options, &status] { status = run_activate(*options); });

  CLI::App* rollback =
      cmd->add_subcommand("rollback", "Activate the bundle that was active before the current one");
  add_remote_options(*rollback, options->remote);
  rollback->callback([options, &status] { status = run_rollback(*options); });
}

}  // namespace waflow::cli
