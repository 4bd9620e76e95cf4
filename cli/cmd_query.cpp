// waflow query conversations|messages|records|stats: reads a running server's
// history (GET /api/v1/conversations, /messages, /records, /stats) as tables for people or as
// JSON lines for scripts, following the cursor to the end with --all.

#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/remote.h"
#include "cli/table.h"

namespace waflow::cli {

namespace {

struct QueryOptions {
  RemoteOptions remote;
  std::string what;
  std::string device;
  std::string contact;
  std::string flow;
  std::string since;
  std::string until;
  std::string direction;
  std::string collection;
  int limit = 0;  // 0: the server's default.
  bool all = false;
  bool json = false;
};

int usage(const std::string& message) {
  std::fprintf(stderr, "waflow query: error: %s\n", message.c_str());
  return kExitUsage;
}

std::vector<TableRow> conversation_rows(const nlohmann::json& items) {
  std::vector<TableRow> rows;
  for (const auto& item : items) {
    rows.push_back({cell(item, "started_at"), cell(item, "device"), cell(item, "contact"),
                    cell(item, "flow"), cell(item, "status"), cell(item, "last_step"),
                    cell(item, "run")});
  }
  return rows;
}

std::vector<TableRow> message_rows(const nlohmann::json& items) {
  std::vector<TableRow> rows;
  for (const auto& item : items) {
    std::string text = cell(item, "text");
    if (text.empty() && item.is_object() && item.contains("payload") &&
        !item["payload"].is_null() && !item["payload"].empty()) {
      text = item["payload"].dump();
    }
    rows.push_back({cell(item, "at"), cell(item, "device"), cell(item, "contact"),
                    cell(item, "direction"), cell(item, "flow"), cell(item, "step"),
                    cell(item, "kind"), shorten(text, 60)});
  }
  return rows;
}

void print_stats(const nlohmann::json& stats) {
  const auto list = [&](const char* key) {
    return stats.is_object() && stats.contains(key) && stats[key].is_array()
               ? stats[key]
               : nlohmann::json::array();
  };
  std::vector<TableRow> days;
  for (const auto& d : list("messages_per_day")) {
    days.push_back({cell(d, "day"), cell(d, "in"), cell(d, "out")});
  }
  std::printf("Messages per day\n%s\n", render_table({"DAY", "IN", "OUT"}, days).c_str());
  std::vector<TableRow> flows;
  for (const auto& f : list("flows")) {
    flows.push_back({cell(f, "flow"), cell(f, "started"), cell(f, "completed"), cell(f, "active")});
  }
  std::printf("Flows\n%s\n",
              render_table({"FLOW", "STARTED", "COMPLETED", "ACTIVE"}, flows).c_str());
  std::vector<TableRow> steps;
  for (const auto& s : list("steps")) {
    steps.push_back({cell(s, "flow"), cell(s, "step"), cell(s, "dropped"), cell(s, "active")});
  }
  std::printf("Steps\n%s\n", render_table({"FLOW", "STEP", "DROPPED", "ACTIVE"}, steps).c_str());
  std::vector<TableRow> ai;
  for (const auto& u : list("ai_usage")) {
    ai.push_back({cell(u, "day"), cell(u, "provider"), cell(u, "model"), cell(u, "calls"),
                  cell(u, "errors"), cell(u, "input_tokens"), cell(u, "output_tokens"),
                  cell(u, "latency_p50_ms"), cell(u, "latency_mean_ms")});
  }
  const TableRow ai_header = {"DAY",       "PROVIDER",   "MODEL",  "CALLS",  "ERRORS",
                              "TOKENS IN", "TOKENS OUT", "P50 MS", "MEAN MS"};
  std::printf("AI usage\n%s", render_table(ai_header, ai).c_str());
}

std::vector<TableRow> record_rows(const nlohmann::json& items) {
  std::vector<TableRow> rows;
  for (const auto& item : items) {
    const std::string data =
        item.is_object() && item.contains("data") ? item["data"].dump() : std::string();
    rows.push_back({cell(item, "created_at"), cell(item, "collection"), cell(item, "id"),
                    cell(item, "device"), cell(item, "contact"), cell(item, "flow"),
                    shorten(data, 60)});
  }
  return rows;
}

int run_query(const QueryOptions& o) {
  const bool stats = o.what == "stats";
  if (stats && (!o.contact.empty() || o.limit != 0 || o.all || !o.direction.empty() ||
                !o.collection.empty())) {
    return usage("stats takes --device, --flow, --since and --until only");
  }
  if (o.what != "messages" && !o.direction.empty()) {
    return usage("--direction goes with messages");
  }
  if (o.what != "records" && !o.collection.empty()) {
    return usage("--collection goes with records");
  }
  Remote remote("query", o.remote);
  if (remote.usage_error()) {
    return kExitUsage;
  }
  QueryParams query;
  const auto add = [&](const char* name, const std::string& value) {
    if (!value.empty()) {
      query.emplace_back(name, value);
    }
  };
  add("device", o.device);
  add("contact", o.contact);
  add("flow", o.flow);
  add("since", o.since.empty() ? "" : api_time(o.since));
  add("until", o.until.empty() ? "" : api_time(o.until));
  add("direction", o.direction);
  add("collection", o.collection);
  add("limit", o.limit == 0 ? "" : std::to_string(o.limit));
  const std::string path = "/" + o.what;
  if (stats) {
    const RemoteReply reply = remote.call("GET", path, query);
    if (!reply.ok()) {
      return remote.fail(reply.message);
    }
    const auto json = nlohmann::json::parse(reply.body, nullptr, false);
    if (!json.is_object()) {
      return remote.fail("the server's answer is not a JSON object");
    }
    if (o.json) {
      std::printf("%s\n", json.dump().c_str());
    } else {
      print_stats(json);
    }
    return kExitOk;
  }
  nlohmann::json items = nlohmann::json::array();
  std::string cursor;
  bool more = false;
  while (true) {
    QueryParams page = query;
    if (!cursor.empty()) {
      page.emplace_back("cursor", cursor);
    }
    const RemoteReply reply = remote.call("GET", path, page);
    if (!reply.ok()) {
      return remote.fail(reply.message);
    }
    const auto json = nlohmann::json::parse(reply.body, nullptr, false);
    if (!json.is_object() || !json.contains("items") || !json["items"].is_array()) {
      return remote.fail("the server's answer has no list of items");
    }
    for (const auto& item : json["items"]) {
      // JSON lines go out page by page: --all over a long history starts
      // printing at once and holds one page at a time.
      if (o.json) {
        std::printf("%s\n", item.dump().c_str());
      } else {
        items.push_back(item);
      }
    }
    const std::string next = cell(json, "next_cursor");
    more = !next.empty();
    if (!more || !o.all) {
      break;
    }
    if (next == cursor) {
      return remote.fail("the server returned the same cursor twice");
    }
    cursor = next;
  }
  if (!o.json) {
    if (o.what == "conversations") {
      std::fputs(render_table({"STARTED", "DEVICE", "CONTACT", "FLOW", "STATUS", "STEP", "RUN"},
                              conversation_rows(items))
                     .c_str(),
                 stdout);
    } else if (o.what == "records") {
      std::fputs(render_table({"CREATED", "COLLECTION", "ID", "DEVICE", "CONTACT", "FLOW", "DATA"},
                              record_rows(items))
                     .c_str(),
                 stdout);
    } else {
      std::fputs(render_table({"AT", "DEVICE", "CONTACT", "DIR", "FLOW", "STEP", "KIND", "TEXT"},
                              message_rows(items))
                     .c_str(),
                 stdout);
    }
  }
  if (more) {
    std::fprintf(stderr, "(more %s: --all for every page, or narrow with --since)\n",
                 o.what.c_str());
  }
  return kExitOk;
}

}  // namespace

void add_query_command(CLI::App& app, int& status) {
  auto o = std::make_shared<QueryOptions>();
  CLI::App* cmd = app.add_subcommand(
      "query", "Read a server's conversations, messages, records and statistics");
  cmd->add_option("what", o->what, "conversations, messages, records or stats")
      ->required()
      ->check(CLI::IsMember({"conversations", "messages", "records", "stats"}));
  cmd->add_option("--device", o->device, "Only this device");
  cmd->add_option("--contact", o->contact, "Only this contact");
  cmd->add_option("--flow", o->flow, "Only this flow");
  cmd->add_option("--since", o->since,
                  "From this time: RFC 3339, Unix milliseconds, or 1h, 7d... ago");
  cmd->add_option("--until", o->until, "Up to this time (as --since)");
  cmd->add_option("--direction", o->direction, "Messages in or out")
      ->check(CLI::IsMember({"in", "out"}));
  cmd->add_option("--collection", o->collection, "Records of this collection only");
  cmd->add_option("--limit", o->limit, "Items per page, 1 to 1000 (default: 50)")
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("--all", o->all, "Follow the cursor to the last page");
  cmd->add_flag("--json", o->json, "One JSON object per line (stats: one object)");
  add_remote_options(*cmd, o->remote);
  cmd->callback([o, &status] { status = run_query(*o); });
}

}  // namespace waflow::cli
