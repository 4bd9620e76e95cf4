// waflow send: sends a message or starts a flow for one contact (--to), or for
// every row of a CSV file (--to-file), through a running server's
// POST /api/v1/messages.
//
// A broadcast is paced (--rate per second) and safe to run again: row N of a
// file gets the idempotency id "<--id or the file's hash>-N", and the server
// sends nothing twice for an id it has seen, so a run cut short is finished by
// running the same command again. Every row is checked (its contact, the
// {{column}} placeholders) before the first message goes out.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/csv.h"
#include "cli/remote.h"
#include "runtime/bytecode/bundle.h"

namespace waflow::cli {

namespace {

constexpr std::size_t kMaxIdLength = 128;  // The API's limit on an idempotency id.

struct SendOptions {
  RemoteOptions remote;
  std::string to;
  std::string to_file;
  std::string device;
  std::string text;
  std::string image;
  std::string document;
  std::string caption;
  std::string filename;
  std::string template_name;
  std::string language;
  std::vector<std::string> params;
  std::string flow;
  std::vector<std::string> vars;
  std::string id;
  double rate = 10;
  bool dry_run = false;
  // Which options were given (an empty --text is still a text).
  std::map<std::string, const CLI::Option*> given;

  bool has(const std::string& name) const {
    const auto it = given.find(name);
    return it != given.end() && it->second->count() > 0;
  }
};

using Columns = std::map<std::string, std::string>;

int usage(const std::string& message) {
  std::fprintf(stderr, "waflow send: error: %s\n", message.c_str());
  return kExitUsage;
}

std::string trim(const std::string& text) {
  const std::size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) {
    return "";
  }
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

// {{column}} replaced with the row's value. `columns` null: the text is sent
// as it is (a single send has no columns). An unknown name is an error, so a
// typo never reaches thousands of contacts as "Hello {{nmae}}".
bool expand(const std::string& text, const Columns* columns, std::string& out, std::string& error) {
  if (columns == nullptr) {
    out = text;
    return true;
  }
  out.clear();
  std::size_t at = 0;
  while (true) {
    const std::size_t open = text.find("{{", at);
    if (open == std::string::npos) {
      out += text.substr(at);
      return true;
    }
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      out += text.substr(at);
      return true;
    }
    const std::string name = trim(text.substr(open + 2, close - open - 2));
    const auto it = columns->find(name);
    if (it == columns->end()) {
      std::string names;
      for (const auto& [column, value] : *columns) {
        names += (names.empty() ? "" : ", ") + column;
      }
      error = "{{" + name + "}} is not a column of the file (its columns: " + names + ")";
      return false;
    }
    out += text.substr(at, open - at) + it->second;
    at = close + 2;
  }
}

// The POST /messages body for one contact; false (with `error`) when a
// placeholder names no column.
bool message_body(const SendOptions& o, const std::string& to, const Columns* columns,
                  const Columns& row_variables, const std::string& id, nlohmann::json& body,
                  std::string& error) {
  body = nlohmann::json::object();
  if (!o.device.empty()) {
    body["device"] = o.device;
  }
  body["to"] = to;
  std::string value;
  const auto text = [&](const std::string& in) {
    if (!expand(in, columns, value, error)) {
      return false;
    }
    return true;
  };
  if (o.has("--text")) {
    if (!text(o.text)) {
      return false;
    }
    body["text"] = value;
  } else if (o.has("--image") || o.has("--document")) {
    const bool image = o.has("--image");
    nlohmann::json media{{"url", image ? o.image : o.document}};
    if (o.has("--caption")) {
      if (!text(o.caption)) {
        return false;
      }
      media["caption"] = value;
    }
    if (o.has("--filename")) {
      media["filename"] = o.filename;
    }
    body[image ? "image" : "document"] = media;
  } else if (o.has("--template")) {
    nlohmann::json params = nlohmann::json::array();
    for (const std::string& p : o.params) {
      if (!text(p)) {
        return false;
      }
      params.push_back(value);
    }
    body["template"] = {{"name", o.template_name}, {"language", o.language}};
    if (!params.empty()) {
      body["template"]["params"] = params;
    }
  } else {
    body["flow"] = o.flow;
    nlohmann::json variables = nlohmann::json::object();
    for (const auto& [name, v] : row_variables) {
      variables[name] = v;
    }
    for (const std::string& var : o.vars) {
      const std::size_t eq = var.find('=');
      if (!text(var.substr(eq + 1))) {
        return false;
      }
      variables[var.substr(0, eq)] = value;
    }
    if (!variables.empty()) {
      body["variables"] = variables;
    }
  }
  if (!id.empty()) {
    body["id"] = id;
  }
  return true;
}

// The command line's rules the parser cannot express; a message, or "".
std::string check_usage(const SendOptions& o) {
  if (o.has("--to") == o.has("--to-file")) {
    return "give the contact with --to, or a CSV file of contacts with --to-file";
  }
  int kinds = 0;
  for (const char* kind : {"--text", "--image", "--document", "--template", "--flow"}) {
    kinds += o.has(kind) ? 1 : 0;
  }
  if (kinds != 1) {
    return "give exactly one of --text, --image, --document, --template or --flow";
  }
  if (o.has("--caption") && !o.has("--image") && !o.has("--document")) {
    return "--caption goes with --image or --document";
  }
  if (o.has("--filename") && !o.has("--document")) {
    return "--filename goes with --document";
  }
  if (o.has("--template") != o.has("--language")) {
    return o.has("--template") ? "--template needs --language (e.g. --language en_US)"
                               : "--language goes with --template";
  }
  if (o.has("--param") && !o.has("--template")) {
    return "--param goes with --template";
  }
  if (o.has("--var") && !o.has("--flow")) {
    return "--var goes with --flow";
  }
  for (const std::string& var : o.vars) {
    const std::size_t eq = var.find('=');
    if (eq == std::string::npos || eq == 0) {
      return "--var '" + var + "' is not NAME=VALUE";
    }
  }
  if (o.has("--to") && trim(o.to).empty()) {
    return "--to is empty";
  }
  if (o.id.size() > kMaxIdLength) {
    return "--id is longer than " + std::to_string(kMaxIdLength) + " characters";
  }
  return "";
}

int send_one(const SendOptions& o) {
  nlohmann::json body;
  std::string error;
  if (!message_body(o, trim(o.to), nullptr, {}, o.id, body, error)) {
    return usage(error);
  }
  if (o.dry_run) {
    std::printf("%s\n", body.dump().c_str());
    return kExitOk;
  }
  Remote remote("send", o.remote);
  if (remote.usage_error()) {
    return kExitUsage;
  }
  const RemoteReply reply = remote.call("POST", "/messages", {}, body.dump(), "application/json");
  if (!reply.ok()) {
    return remote.fail(reply.message);
  }
  const auto answer = nlohmann::json::parse(reply.body, nullptr, false);
  const std::string id = answer.is_object() ? answer.value("id", "") : "";
  if (answer.is_object() && answer.value("duplicate", false)) {
    std::printf("duplicate %s: sent before, nothing sent again\n", id.c_str());
  } else {
    const std::string kind = answer.is_object() ? answer.value("queued", "message") : "message";
    std::printf("queued %s %s to %s\n", kind.c_str(), id.c_str(), trim(o.to).c_str());
  }
  return kExitOk;
}

struct Row {
  std::size_t number = 0;  // 1-based, after the header.
  std::size_t line = 0;
  std::string to;
  nlohmann::json body;
};

int send_file(const SendOptions& o) {
  std::ifstream in(o.to_file, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in && !in.eof()) {
    std::fprintf(stderr, "waflow send: error: cannot read '%s'\n", o.to_file.c_str());
    return kExitErrors;
  }
  const std::string text = content.str();
  Result<CsvTable> parsed = parse_csv(text, o.to_file);
  if (!parsed) {
    std::fprintf(stderr, "waflow send: error: %s\n", parsed.error().message.c_str());
    return kExitErrors;
  }
  const CsvTable& table = parsed.value();
  std::size_t contact = 0;
  for (const char* wanted : {"to", "phone"}) {  // "phone" wins over "to".
    for (std::size_t i = 0; i < table.header.size(); ++i) {
      std::string name = table.header[i];
      for (char& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      if (name == wanted) {
        contact = i;
      }
    }
  }
  const std::string prefix = o.id.empty() ? bytecode::sha256_hex(text).substr(0, 16) : o.id;
  std::vector<Row> rows;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const CsvRecord& record = table.rows[r];
    Row row;
    row.number = r + 1;
    row.line = record.line;
    row.to = trim(record.fields[contact]);
    const std::string where = o.to_file + ":" + std::to_string(record.line) + ": ";
    if (row.to.empty()) {
      std::fprintf(stderr, "waflow send: error: %sthe column '%s' is empty\n", where.c_str(),
                   table.header[contact].c_str());
      return kExitErrors;
    }
    Columns columns;
    Columns variables;
    for (std::size_t i = 0; i < table.header.size(); ++i) {
      columns[table.header[i]] = record.fields[i];
      if (i != contact) {
        variables[table.header[i]] = record.fields[i];
      }
    }
    const std::string id = prefix + "-" + std::to_string(row.number);
    if (id.size() > kMaxIdLength) {
      return usage("--id is too long: the ids '" + prefix + "-N' must fit in " +
                   std::to_string(kMaxIdLength) + " characters");
    }
    std::string error;
    if (!message_body(o, row.to, &columns, variables, id, row.body, error)) {
      // The same for every row: a mistake on the command line.
      return usage(error);
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty()) {
    std::fprintf(stderr, "waflow send: error: %s has a header and no rows\n", o.to_file.c_str());
    return kExitErrors;
  }
  if (o.dry_run) {
    for (const Row& row : rows) {
      std::printf("%s\n", row.body.dump().c_str());
    }
    std::fprintf(stderr, "%zu messages would be sent (dry run: nothing sent)\n", rows.size());
    return kExitOk;
  }
  Remote remote("send", o.remote);
  if (remote.usage_error()) {
    return kExitUsage;
  }
  const bool progress = isatty(STDERR_FILENO) != 0;
  std::size_t queued = 0;
  std::size_t duplicates = 0;
  std::vector<std::string> failures;
  std::size_t attempted = 0;
  std::string stop;  // Why the rest was not sent.
  const auto start = std::chrono::steady_clock::now();
  const auto interval = std::chrono::duration<double>(1.0 / o.rate);
  for (const Row& row : rows) {
    std::this_thread::sleep_until(start +
                                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      interval * static_cast<double>(attempted)));
    ++attempted;
    const RemoteReply reply =
        remote.call("POST", "/messages", {}, row.body.dump(), "application/json");
    if (reply.ok()) {
      const auto answer = nlohmann::json::parse(reply.body, nullptr, false);
      if (answer.is_object() && answer.value("duplicate", false)) {
        ++duplicates;
      } else {
        ++queued;
      }
    } else {
      failures.push_back("row " + std::to_string(row.number) + " (line " +
                         std::to_string(row.line) + ", " + row.to + "): " + reply.message);
      // What fails the same way for every row ends the run: nothing reached
      // the server, or it refuses the token.
      if (reply.status == 0 || reply.status == 401 || reply.status == 403) {
        stop = reply.message;
      }
    }
    if (progress) {
      std::fprintf(stderr, "\r[%zu/%zu] %zu queued, %zu duplicates, %zu failed", attempted,
                   rows.size(), queued, duplicates, failures.size());
      std::fflush(stderr);
    }
    if (!stop.empty()) {
      break;
    }
  }
  if (progress) {
    std::fputc('\n', stderr);
  }
  for (const std::string& failure : failures) {
    std::fprintf(stderr, "waflow send: error: %s\n", failure.c_str());
  }
  std::printf("%zu queued, %zu duplicates, %zu failed", queued, duplicates, failures.size());
  if (attempted < rows.size()) {
    std::printf(", %zu not sent", rows.size() - attempted);
  }
  std::printf("\n");
  if (!stop.empty() && attempted < rows.size()) {
    std::fprintf(stderr,
                 "waflow send: stopped after row %zu; run the same command again to send the "
                 "rest (rows already queued are not sent twice)\n",
                 attempted);
  }
  return failures.empty() ? kExitOk : kExitErrors;
}

}  // namespace

void add_send_command(CLI::App& app, int& status) {
  auto options = std::make_shared<SendOptions>();
  SendOptions& o = *options;
  CLI::App* cmd = app.add_subcommand(
      "send", "Send a message or start a flow for a contact, or for every row of a CSV file");
  const auto track = [&o](CLI::Option* option) {
    o.given[option->get_name()] = option;
  };
  track(cmd->add_option("--to", o.to, "The contact (E.164 with + for the Meta Cloud API)"));
  track(cmd->add_option("--to-file", o.to_file, "A CSV file with a header row: one message per row")
            ->check(CLI::ExistingFile));
  cmd->add_option("--device", o.device, "The device to send from (optional with one device)");
  track(cmd->add_option("--text", o.text, "A text message"));
  track(cmd->add_option("--image", o.image, "An image, by URL"));
  track(cmd->add_option("--document", o.document, "A document, by URL"));
  track(cmd->add_option("--caption", o.caption, "The caption of an image or document"));
  track(cmd->add_option("--filename", o.filename, "The file name a document is shown with"));
  track(cmd->add_option("--template", o.template_name, "An approved template, by name"));
  track(cmd->add_option("--language", o.language, "The template's language code (en_US)"));
  track(cmd->add_option("--param", o.params, "A template body parameter ({{1}}, {{2}}...)"));
  track(cmd->add_option("--flow", o.flow, "Start this flow for the contact"));
  track(cmd->add_option("--var", o.vars, "NAME=VALUE: a contact variable the flow starts with"));
  cmd->add_option("--id", o.id, "Idempotency id; with --to-file the prefix of each row's id");
  cmd->add_option("--rate", o.rate, "Messages per second with --to-file (default: 10)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--dry-run", o.dry_run, "Print what would be sent; send nothing");
  add_remote_options(*cmd, o.remote);
  cmd->callback([options, &status] {
    const std::string problem = check_usage(*options);
    if (!problem.empty()) {
      status = usage(problem);
      return;
    }
    status = options->has("--to-file") ? send_file(*options) : send_one(*options);
  });
}

}  // namespace waflow::cli
