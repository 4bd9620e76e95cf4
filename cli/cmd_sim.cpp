// waflow sim FLOW|BUNDLE: chat with flows in the terminal, as a contact.
//
// Lines read from standard input are the contact's messages; lines starting
// with '/' are commands (/help lists them). Bot messages print as they would
// read on a phone, with options numbered: typing a number taps that option.
// Time is virtual: /advance moves it, firing reminders, timeouts and delays.
// AI, HTTP and store steps are answered from a mocks file in the transcript
// syntax (--mocks), or with placeholders and a note saying so. Input need not be
// a terminal: piped into the simulator, each line is echoed, so the output reads
// as a transcript.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/serve_ai.h"
#include "cli/version.h"
#include "compiler/checks/checks.h"
#include "compiler/codegen/codegen.h"
#include "compiler/frontend.h"
#include "compiler/render.h"
#include "runtime/host/format.h"
#include "runtime/host/mocks.h"
#include "runtime/host/transcript.h"

namespace waflow::cli {

namespace {

using vm::Value;

struct SimOptions {
  std::vector<std::string> paths;
  std::string mocks;
  std::string ai_config;
  std::string phone = "+15550000001";
  std::string name = "User";
  std::string now;
  bool returning = false;
};

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

// Loads a .wfb bundle, or compiles flow files and folders in-process.
bool load(const std::vector<std::string>& paths, bytecode::Bundle& bundle) {
  if (paths.size() == 1 && paths[0].ends_with(".wfb")) {
    std::string bytes;
    if (!read_file(paths[0], bytes)) {
      std::fprintf(stderr, "waflow: error: cannot read '%s'\n", paths[0].c_str());
      return false;
    }
    Result<bytecode::Bundle> loaded =
        bytecode::load_bundle(std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
    if (!loaded) {
      std::fprintf(stderr, "waflow: error: %s: %s\n", paths[0].c_str(),
                   loaded.error().message.c_str());
      return false;
    }
    bundle = std::move(loaded).value();
    return true;
  }
  SourceManager sources;
  Diagnostics diags;
  const ir::Project project = load_project(paths, sources, diags);
  check_project(project, sources, diags);
  diags.sort(sources);
  if (diags.has_errors()) {
    std::vector<Diagnostic> errors;
    for (const Diagnostic& d : diags.all()) {
      if (d.severity == Severity::Error) {
        errors.push_back(d);
      }
    }
    RenderOptions render;
    render.color = use_color("auto");
    std::fputs(render_diagnostics(errors, sources, render).c_str(), stderr);
    std::fprintf(stderr, "waflow: error: %s; cannot simulate\n",
                 summary_line(diags.error_count(), 0).c_str());
    return false;
  }
  Result<bytecode::Bundle> loaded = bytecode::load_bundle(
      bytecode::write_bundle(generate_bundle(project, sources, std::string("waflow ") + kVersion)));
  if (!loaded) {
    std::fprintf(stderr, "waflow: internal error: %s\n", loaded.error().message.c_str());
    return false;
  }
  bundle = std::move(loaded).value();
  return true;
}

std::string trim(const std::string& s) {
  const std::size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) {
    return {};
  }
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) {
    out.push_back(w);
  }
  return out;
}

class Simulator {
 public:
  // `models`: answers AI steps with real models (--ai-config), the mocks the rest.
  Simulator(const bytecode::Bundle& bundle, const SimOptions& options, std::int64_t start_ms,
            bool echo, ModelResponder* models = nullptr)
      : bundle_(bundle), options_(options), echo_(echo), models_(models) {
    if (models_ != nullptr) {
      models_->set_other(&mocks_);
    }
    style_.bot = "bot: ";
    style_.more = "     ";
    style_.note = "  · ";
    style_.numbered = true;
    style_.show_user = false;
    switch_to(options.phone, options.name, start_ms);
  }

  host::MockResponder& mocks() { return mocks_; }

  void banner() const {
    std::string flows;
    for (std::size_t i = 0; i < bundle_.flows.size() && i < 8; ++i) {
      flows += (flows.empty() ? "" : ", ") + bundle_.str(bundle_.flows[i].name);
    }
    if (bundle_.flows.size() > 8) {
      flows += ", ...";
    }
    std::printf("waflow sim: %zu flow%s (%s). You are %s (%s); it is %s.\n", bundle_.flows.size(),
                bundle_.flows.size() == 1 ? "" : "s", flows.c_str(),
                session().contact().name.c_str(), session().contact().phone.c_str(),
                host::format_utc(session().now_ms()).c_str());
    std::printf("Type messages; a number taps an option; /help lists commands.\n");
  }

  // Handles one input line; false to quit.
  bool line(const std::string& raw) {
    const std::string text = trim(raw);
    if (text.empty()) {
      return true;
    }
    if (echo_) {
      std::printf("> %s\n", text.c_str());
    }
    if (text[0] == '/') {
      return command(text);
    }
    if (const host::Option* option = numbered_option(text)) {
      send(tap_message(*option));
    } else {
      send(host::text_message(text));
    }
    return true;
  }

 private:
  struct Contact {
    std::unique_ptr<host::Session> session;
    std::size_t shown = 0;
  };

  const bytecode::Bundle& bundle_;
  const SimOptions& options_;
  bool echo_;
  host::MockResponder mocks_;
  ModelResponder* models_;
  host::RenderStyle style_;
  std::map<std::string, Contact> contacts_;
  std::string current_;
  Value last_options_;  // The last message with options the current contact got.

  host::Session& session() const { return *contacts_.at(current_).session; }

  void switch_to(const std::string& phone, const std::string& name, std::int64_t now) {
    auto it = contacts_.find(phone);
    if (it == contacts_.end()) {
      host::SessionOptions o;
      o.contact.phone = phone;
      o.contact.name = name;
      o.contact.first_contact = !options_.returning;
      o.start_ms = now;
      it =
          contacts_
              .emplace(
                  phone,
                  Contact{
                      std::make_unique<host::Session>(
                          bundle_,
                          models_ != nullptr ? static_cast<host::Responder&>(*models_) : mocks_, o),
                      0})
              .first;
    }
    current_ = phone;
    last_options_ = {};
    const auto& events = session().events();
    for (auto e = events.rbegin(); e != events.rend(); ++e) {
      if (e->kind == host::EventKind::Effect && !host::message_options(e->payload).empty()) {
        last_options_ = e->payload;
        break;
      }
    }
  }

  const host::Option* numbered_option(const std::string& text) const {
    static thread_local std::vector<host::Option> options;
    if (last_options_.is_null() || text.find_first_not_of("0123456789") != std::string::npos ||
        text.size() > 3) {
      return nullptr;
    }
    options = host::message_options(last_options_);
    const std::size_t n = static_cast<std::size_t>(std::stoul(text));
    return n >= 1 && n <= options.size() ? &options[n - 1] : nullptr;
  }

  Value tap_message(const host::Option& option) const {
    const bool list =
        last_options_.field("type") != nullptr && last_options_.field("type")->to_text() == "list";
    return Value::object({{"type", Value::text(list ? "list" : "button")},
                          {"payload", Value::text(option.id)},
                          {"text", Value::text(option.title)}},
                         vm::Tag::Message);
  }

  void send(const Value& message) {
    session().receive(message);
    show_all();
  }

  // Prints what happened since last time, for every contact (others prefixed).
  void show_all() {
    for (auto& [phone, c] : contacts_) {
      const auto& events = c.session->events();
      const std::string prefix =
          phone == current_ ? "" : "[" + c.session->contact().name + " " + phone + "] ";
      for (std::size_t i = c.shown; i < events.size(); ++i) {
        if (phone == current_ && events[i].kind == host::EventKind::Effect &&
            !host::message_options(events[i].payload).empty()) {
          last_options_ = events[i].payload;
        }
        for (const std::string& l : host::render_event(*c.session, events[i], style_)) {
          std::printf("%s%s\n", prefix.c_str(), l.c_str());
        }
      }
      c.shown = events.size();
    }
    for (const std::string& p : mocks_.take_problems()) {
      std::printf("%s%s\n", style_.note.c_str(), p.c_str());
    }
    std::fflush(stdout);
  }

  void help() const {
    std::printf(
        "  text            send a message; a number taps that option of the last message\n"
        "  /tap OPTION     tap a button or list row by id or title\n"
        "  /media TYPE URL [caption]   send an image, audio, video, document or sticker\n"
        "  /location LAT LON [name]    share a location\n"
        "  /advance 2h     move the clock forward (reminders, timeouts, delays fire)\n"
        "  /state          the run, its timers, stage, tags and the clock\n"
        "  /vars           the contact's, the conversation's and the flows' variables\n"
        "  /start FLOW     start a flow as an api or schedule trigger does\n"
        "  /handback       an operator hands the conversation back after a handoff\n"
        "  /restart        forget this contact: a new contact with the same number\n"
        "  /as PHONE [NAME]  talk as another contact (each keeps its own run)\n"
        "  /quit           leave (so does end of input)\n");
  }

  void state() const {
    const host::Session& s = session();
    std::printf("  contact: %s (%s)\n  clock: %s\n", s.contact().name.c_str(),
                s.contact().phone.c_str(), host::format_utc(s.now_ms()).c_str());
    const vm::RunState& run = s.run();
    std::string status;
    switch (run.status) {
      case vm::RunStatus::WaitingInput:
        status = "waits for the user";
        break;
      case vm::RunStatus::Awaiting:
        status = s.paused() ? "waits for a person (handoff)" : "waits for the clock";
        break;
      case vm::RunStatus::Failed:
        status = "failed";
        break;
      default:
        status = "no run";
        break;
    }
    if (!run.frames.empty() && (s.active() || run.status == vm::RunStatus::Failed)) {
      std::string flows;
      for (const vm::Frame& f : run.frames) {
        flows += (flows.empty() ? "" : " > ") + s.flow_name(f.flow);
      }
      std::printf("  run: %s at step %s (%s)\n", flows.c_str(), s.step_id(run.step).c_str(),
                  status.c_str());
    } else {
      std::printf("  run: none (the next message goes to the triggers)\n");
    }
    for (const host::TimerInfo& t : s.timers()) {
      std::printf("  timer: %s at %s (in %s)\n", t.kind.c_str(), host::format_utc(t.at_ms).c_str(),
                  host::format_duration(t.at_ms - s.now_ms()).c_str());
    }
    if (!s.stage().empty()) {
      std::printf("  stage: %s\n", s.stage().c_str());
    }
    if (!s.tags().empty()) {
      std::string tags;
      for (const std::string& t : s.tags()) {
        tags += (tags.empty() ? "" : ", ") + t;
      }
      std::printf("  tags: %s\n", tags.c_str());
    }
  }

  void vars() {
    host::Session& s = session();
    bool any = false;
    auto print = [&any](const std::string& scope, const vm::VarMap& vars) {
      for (const auto& [name, value] : vars.items()) {
        if (name.empty() || name[0] == '@') {
          continue;  // Bookkeeping of the generated code.
        }
        std::printf("  %s%s = %s\n", scope.c_str(), name.c_str(), vm::to_json(value).c_str());
        any = true;
      }
    };
    print("contact.", s.contact_vars());
    print("conversation.", s.run().conversation);
    for (const vm::Frame& f : s.run().frames) {
      print(s.flow_name(f.flow) + ": ", f.vars);
    }
    if (!any) {
      std::printf("  (no variables yet)\n");
    }
  }

  bool command(const std::string& text) {
    const std::vector<std::string> w = words(text);
    const std::string& cmd = w[0];
    const std::string rest = trim(text.substr(cmd.size()));
    if (cmd == "/quit" || cmd == "/exit") {
      return false;
    }
    if (cmd == "/help") {
      help();
    } else if (cmd == "/advance" && w.size() == 2) {
      std::int64_t ms = 0;
      if (!host::parse_duration(w[1], ms)) {
        std::printf("  · not a duration: %s (write 30s, 5m, 2h, 1d, 1h30m)\n", w[1].c_str());
        return true;
      }
      for (auto& [phone, c] : contacts_) {
        c.session->advance(ms);
      }
      std::printf("  ~ %s later: %s\n", host::format_duration(ms).c_str(),
                  host::format_utc(session().now_ms()).c_str());
      show_all();
    } else if (cmd == "/state") {
      state();
    } else if (cmd == "/vars") {
      vars();
    } else if (cmd == "/tap" && !rest.empty()) {
      for (const host::Option& o : host::message_options(last_options_)) {
        if (o.id == rest || o.title == rest) {
          send(tap_message(o));
          return true;
        }
      }
      // Not an option on screen: send it as a payload (payload triggers).
      send(Value::object({{"type", Value::text("button")},
                          {"payload", Value::text(rest)},
                          {"text", Value::text(rest)}},
                         vm::Tag::Message));
    } else if (cmd == "/media" && w.size() >= 3) {
      Value::Object fields = {{"type", Value::text(w[1])}, {"url", Value::text(w[2])}};
      const std::size_t at = text.find(w[2]) + w[2].size();
      if (const std::string caption = trim(text.substr(at)); !caption.empty()) {
        fields.emplace_back("caption", Value::text(caption));
      }
      send(Value::object(std::move(fields), vm::Tag::Message));
    } else if (cmd == "/location" && w.size() >= 3) {
      char* end1 = nullptr;
      char* end2 = nullptr;
      const double lat = std::strtod(w[1].c_str(), &end1);
      const double lon = std::strtod(w[2].c_str(), &end2);
      if (*end1 != '\0' || *end2 != '\0') {
        std::printf("  · /location needs two numbers: /location 40.4168 -3.7038\n");
        return true;
      }
      Value::Object fields = {{"type", Value::text("location")},
                              {"latitude", Value::number(lat)},
                              {"longitude", Value::number(lon)}};
      const std::size_t at = text.find(w[2], text.find(w[1]) + w[1].size()) + w[2].size();
      if (const std::string name = trim(text.substr(at)); !name.empty()) {
        fields.emplace_back("name", Value::text(name));
      }
      send(Value::object(std::move(fields), vm::Tag::Message));
    } else if (cmd == "/start" && w.size() == 2) {
      if (!session().start_flow(w[1])) {
        std::printf("  · no flow named %s\n", w[1].c_str());
      }
      show_all();
    } else if (cmd == "/handback") {
      if (!session().hand_back()) {
        std::printf("  · the bot is not paused: nothing to hand back\n");
      }
      show_all();
    } else if (cmd == "/restart") {
      const host::ContactProfile p = session().contact();
      const std::int64_t now = session().now_ms();
      contacts_.erase(current_);
      switch_to(p.phone, p.name, now);
      std::printf("  · %s starts afresh: no run, no variables\n", p.name.c_str());
    } else if (cmd == "/as" && w.size() >= 2) {
      const std::size_t at = text.find(w[1]) + w[1].size();
      const std::string name = trim(text.substr(at));
      const std::int64_t now = session().now_ms();
      switch_to(w[1], name.empty() ? "User" : name, now);
      std::printf("  · you are %s (%s)\n", session().contact().name.c_str(), w[1].c_str());
    } else {
      std::printf("  · unknown command %s; /help lists the commands\n", text.c_str());
    }
    return true;
  }
};

int run_sim(const SimOptions& options) {
  bytecode::Bundle bundle;
  if (!load(options.paths, bundle)) {
    return kExitErrors;
  }
  std::int64_t start = 0;
  if (options.now.empty()) {
    start = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  } else if (!host::parse_timestamp(options.now, start)) {
    std::fprintf(stderr, "waflow: error: --now %s is not a time (write 2025-01-06T09:00:00Z)\n",
                 options.now.c_str());
    return kExitUsage;
  }
  const bool interactive = isatty(STDIN_FILENO) != 0;
  // --ai-config: AI steps call the models of an `ai:` section, as waflow serve does.
  http::HttpClient client;
  AiRuntime ai;
  std::unique_ptr<ModelResponder> models;
  if (!options.ai_config.empty()) {
    Result<server::AiConfig> config = server::load_ai_config(options.ai_config);
    Result<AiRuntime> made =
        config ? make_ai_runtime(config.value(), client) : Result<AiRuntime>(config.error());
    if (!made) {
      std::fprintf(stderr, "waflow: error: %s\n", made.error().message.c_str());
      return kExitErrors;
    }
    ai = std::move(made).value();
    if (ai.runner) {
      models = std::make_unique<ModelResponder>(*ai.runner);
    }
  }
  Simulator sim(bundle, options, start, !interactive, models.get());
  if (!options.mocks.empty()) {
    std::string text;
    if (!read_file(options.mocks, text)) {
      std::fprintf(stderr, "waflow: error: cannot read '%s'\n", options.mocks.c_str());
      return kExitErrors;
    }
    std::vector<host::TranscriptError> errors;
    for (host::Mock& m : host::parse_mocks(text, errors)) {
      sim.mocks().add(std::move(m));
    }
    for (const host::TranscriptError& e : errors) {
      std::fprintf(stderr, "%s:%d:%d: error: %s\n", options.mocks.c_str(), e.line, e.column,
                   e.message.c_str());
    }
    if (!errors.empty()) {
      return kExitErrors;
    }
  }
  sim.banner();
  std::string line;
  for (;;) {
    if (interactive) {
      std::printf("you> ");
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line) || !sim.line(line)) {
      break;
    }
  }
  if (interactive) {
    std::printf("\n");
  }
  return kExitOk;
}

}  // namespace

void add_sim_command(CLI::App& app, int& status) {
  auto options = std::make_shared<SimOptions>();
  CLI::App* cmd = app.add_subcommand("sim", "Chat with flows in the terminal, on a virtual clock");
  cmd->add_option("paths", options->paths, "Flow files, directories or one .wfb bundle")
      ->required();
  cmd->add_option("--mocks", options->mocks, "Answers for AI, HTTP and store steps (YAML)");
  cmd->add_option("--ai-config", options->ai_config,
                  "Answer AI steps with the models of this file's ai: section (YAML)");
  cmd->add_option("--as", options->phone, "The contact's phone number (default: +15550000001)");
  cmd->add_option("--name", options->name, "The contact's profile name (default: User)");
  cmd->add_option("--now", options->now, "Start the clock here (default: the current time)");
  cmd->add_flag("--returning", options->returning,
                "The contact has written before: first_contact triggers do not fire");
  cmd->callback([options, &status] { status = run_sim(*options); });
}

}  // namespace waflow::cli
