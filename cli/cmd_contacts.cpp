// waflow contacts pause|resume|show CONTACT: hands a contact to a person and
// back, and shows what the server knows of one (/api/v1/contacts/{contact}).
// While a contact is paused the bot stays silent and only logs what comes in;
// resuming lets a flow that waits at a handoff step go on.

#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/remote.h"
#include "cli/table.h"

namespace waflow::cli {

namespace {

struct ContactsOptions {
  RemoteOptions remote;
  std::string contact;
  std::string device;
  bool json = false;
};

int run_contacts(const std::string& action, const ContactsOptions& o) {
  Remote remote("contacts " + action, o.remote);
  if (remote.usage_error()) {
    return kExitUsage;
  }
  QueryParams query;
  if (!o.device.empty()) {
    query.emplace_back("device", o.device);
  }
  const std::string path = "/contacts/" + path_segment(o.contact);
  const RemoteReply reply = action == "show" ? remote.call("GET", path, query)
                                             : remote.call("POST", path + "/" + action, query);
  if (!reply.ok()) {
    return remote.fail(reply.message);
  }
  const auto json = nlohmann::json::parse(reply.body, nullptr, false);
  if (!json.is_object()) {
    return remote.fail("the server's answer is not a JSON object");
  }
  if (o.json) {
    std::printf("%s\n", json.dump().c_str());
    return kExitOk;
  }
  const std::string who = cell(json, "contact") + " on " + cell(json, "device");
  if (action == "pause") {
    std::printf("paused %s: the bot stays silent until it is resumed\n", who.c_str());
  } else if (action == "resume") {
    std::printf("resumed %s: the bot answers again\n", who.c_str());
  } else {
    for (const char* key : {"device", "contact", "name", "paused", "bundle_hash"}) {
      std::printf("%-12s %s\n", (std::string(key) + ":").c_str(), cell(json, key).c_str());
    }
  }
  return kExitOk;
}

}  // namespace

void add_contacts_command(CLI::App& app, int& status) {
  CLI::App* cmd = app.add_subcommand("contacts", "Hand a contact to a person and back; show one");
  cmd->require_subcommand(1);
  const struct {
    const char* name;
    const char* help;
  } actions[] = {
      {"pause", "A person takes over: the bot stays silent for the contact"},
      {"resume", "The bot answers the contact again"},
      {"show", "What the server knows of the contact"},
  };
  for (const auto& action : actions) {
    auto o = std::make_shared<ContactsOptions>();
    CLI::App* sub = cmd->add_subcommand(action.name, action.help);
    sub->add_option("contact", o->contact, "The contact, as the gateway names it (+E.164)")
        ->required();
    sub->add_option("--device", o->device, "The device (optional with one device)");
    sub->add_flag("--json", o->json, "Print the server's answer as one JSON object");
    add_remote_options(*sub, o->remote);
    const std::string name = action.name;
    sub->callback([o, name, &status] { status = run_contacts(name, *o); });
  }
}

}  // namespace waflow::cli
