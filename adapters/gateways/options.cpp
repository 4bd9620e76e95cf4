#include "adapters/gateways/options.h"

#include <vector>

#include "adapters/gateways/wire.h"

namespace waflow::gateways {

namespace {

using vm::Value;

struct Option {
  std::string id;
  std::string title;
};

const Value::List& list_of(const Value& value, std::string_view key) {
  static const Value::List kEmpty;
  const Value* f = value.field(key);
  return f != nullptr && f->type() == Value::Type::List ? f->as_list() : kEmpty;
}

// In the VM's order: buttons, then the rows of each section.
std::vector<Option> options_of(const Value& payload) {
  std::vector<Option> out;
  for (const Value& b : list_of(payload, "buttons")) {
    out.push_back({wire::value_text(b, "id"), wire::value_text(b, "title")});
  }
  for (const Value& s : list_of(payload, "sections")) {
    for (const Value& r : list_of(s, "rows")) {
      out.push_back({wire::value_text(r, "id"), wire::value_text(r, "title")});
    }
  }
  return out;
}

void add_block(std::string& out, const std::string& block) {
  if (block.empty()) {
    return;
  }
  out += out.empty() ? "" : "\n\n";
  out += block;
}

}  // namespace

std::string numbered_text(const Value& payload) {
  std::string out;
  if (const std::string header = wire::value_text(payload, "header"); !header.empty()) {
    add_block(out, "*" + header + "*");
  }
  add_block(out, wire::value_text(payload, "text"));
  std::string lines;
  std::size_t n = 0;
  const Value::List& sections = list_of(payload, "sections");
  auto add_line = [&lines](const std::string& line) {
    lines += lines.empty() ? "" : "\n";
    lines += line;
  };
  for (const Value& b : list_of(payload, "buttons")) {
    add_line(std::to_string(++n) + ". " + wire::value_text(b, "title"));
  }
  for (const Value& s : sections) {
    if (const std::string title = wire::value_text(s, "title");
        !title.empty() && sections.size() > 1) {
      add_line(title);
    }
    for (const Value& r : list_of(s, "rows")) {
      std::string line = std::to_string(++n) + ". " + wire::value_text(r, "title");
      if (const std::string d = wire::value_text(r, "description"); !d.empty()) {
        line += " - " + d;
      }
      add_line(line);
    }
  }
  add_block(out, lines);
  if (const std::string footer = wire::value_text(payload, "footer"); !footer.empty()) {
    add_block(out, "_" + footer + "_");
  }
  return out;
}

std::optional<Value> numbered_reply(const Value& last_sent, std::string_view reply) {
  while (!reply.empty() && (reply.front() == ' ' || reply.front() == '\t' ||
                            reply.front() == '\n' || reply.front() == '\r')) {
    reply.remove_prefix(1);
  }
  while (!reply.empty() && (reply.back() == ' ' || reply.back() == '\t' || reply.back() == '\n' ||
                            reply.back() == '\r')) {
    reply.remove_suffix(1);
  }
  if (!reply.empty() && (reply.back() == '.' || reply.back() == ')')) {
    reply.remove_suffix(1);
  }
  if (reply.empty() || reply.size() > 3) {
    return std::nullopt;
  }
  std::size_t n = 0;
  for (char c : reply) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  const std::string type = wire::value_text(last_sent, "type");
  if (type != "buttons" && type != "list") {
    return std::nullopt;
  }
  const std::vector<Option> options = options_of(last_sent);
  if (n < 1 || n > options.size()) {
    return std::nullopt;
  }
  const Option& o = options[n - 1];
  return Value::object({{"type", Value::text(type == "list" ? "list" : "button")},
                        {"payload", Value::text(o.id)},
                        {"text", Value::text(o.title)},
                        {"title", Value::text(o.title)}},
                       vm::Tag::Message);
}

}  // namespace waflow::gateways
