// Writes a module as a visual file (docs/visual.md).
//
// Every step becomes a node whose id is the step id; the flow's start node
// comes first, then the steps in pre-order. Edges follow control: `next` to the
// step that runs after this one (the next step of the block, or where the
// enclosing block continues), each exit handle to the first step of its nested
// block, or straight to where the step continues when that block is empty. A
// handle with nowhere to go (the flow finishes) gets no edge.

#include <map>
#include <set>

#include "compiler/dsl/expr_parser.h"
#include "compiler/frontend.h"
#include "compiler/ir/walk.h"
#include "compiler/visual/json_value.h"
#include "compiler/visual/node_types.h"
#include "compiler/visual/visual.h"

namespace waflow {

namespace {

using visual::JsonValue;

constexpr double kColumnWidth = 300;
constexpr double kRowHeight = 150;

JsonValue str(const std::string& value) {
  return JsonValue::string(value);
}

void set_text(JsonValue& obj, const char* key, const ir::Text& text, bool always = false) {
  if (always || !text.empty()) {
    obj.set(key, str(text.value));
  }
}

void set_string(JsonValue& obj, const char* key, const std::string& value) {
  if (!value.empty()) {
    obj.set(key, str(value));
  }
}

JsonValue expr(const ir::Expr& e) {
  return str(dsl::print_expression(e));
}

JsonValue duration(const ir::Duration& d) {
  return str(d.text);
}

JsonValue position(const ir::Position& p) {
  JsonValue out = JsonValue::object();
  out.set("x", JsonValue::number(p.x));
  out.set("y", JsonValue::number(p.y));
  return out;
}

// Coordinates of a location: numbers as written when they are plain numbers.
JsonValue coordinate(const ir::Expr& e) {
  if (e.kind == ir::ExprKind::Number) {
    if (visual::is_json_number(e.text)) {
      return JsonValue::number_text(e.text);
    }
    return JsonValue::number(e.number);
  }
  return expr(e);
}

JsonValue reminders(const std::vector<ir::Reminder>& list) {
  JsonValue out = JsonValue::array();
  for (const ir::Reminder& r : list) {
    JsonValue& item = out.push(JsonValue::object());
    item.set("after", duration(r.after));
    item.set("text", str(r.text.value));
  }
  return out;
}

JsonValue headers(const std::vector<ir::Header>& list) {
  JsonValue out = JsonValue::array();
  for (const ir::Header& h : list) {
    JsonValue& item = out.push(JsonValue::object());
    item.set("name", str(h.name));
    item.set("value", str(h.value.value));
  }
  return out;
}

void set_options(JsonValue& data, const ir::Options& options) {
  if (!options.buttons.empty()) {
    JsonValue& buttons = data.set("buttons", JsonValue::array());
    for (const ir::Button& b : options.buttons) {
      JsonValue& item = buttons.push(JsonValue::object());
      item.set("id", str(b.id));
      item.set("title", str(b.title.value));
    }
  }
  if (options.has_list()) {
    JsonValue& list = data.set("list", JsonValue::object());
    list.set("button", str(options.list_button.value));
    JsonValue& sections = list.set("sections", JsonValue::array());
    for (const ir::ListSection& s : options.sections) {
      JsonValue& section = sections.push(JsonValue::object());
      set_text(section, "title", s.title);
      JsonValue& rows = section.set("rows", JsonValue::array());
      for (const ir::ListRow& r : s.rows) {
        JsonValue& row = rows.push(JsonValue::object());
        row.set("id", str(r.id));
        row.set("title", str(r.title.value));
        set_text(row, "description", r.description);
      }
    }
  }
}

void set_ai(JsonValue& data, const ir::AiOptions& ai) {
  set_string(data, "model", ai.model);
  if (!ai.fallbacks.empty()) {
    JsonValue& list = data.set("fallbacks", JsonValue::array());
    for (const std::string& f : ai.fallbacks) {
      list.push(str(f));
    }
  }
  set_text(data, "system", ai.system);
  set_text(data, "prompt", ai.prompt);
  if (ai.temperature) {
    data.set("temperature", JsonValue::number(*ai.temperature));
  }
  if (ai.history) {
    data.set("history", JsonValue::number(*ai.history));
  }
  if (ai.max_tokens) {
    data.set("maxTokens", JsonValue::number(*ai.max_tokens));
  }
  if (ai.buffer) {
    data.set("buffer", duration(*ai.buffer));
  }
  if (ai.timeout) {
    data.set("timeout", duration(*ai.timeout));
  }
  if (!ai.tools.empty()) {
    JsonValue& list = data.set("tools", JsonValue::array());
    for (const std::string& t : ai.tools) {
      list.push(str(t));
    }
  }
}

void set_invalid(JsonValue& data, bool has_invalid, const std::optional<int>& retries,
                 const ir::Text* reprompt) {
  if (!has_invalid) {
    return;
  }
  JsonValue& invalid = data.set("invalid", JsonValue::object());
  if (retries) {
    invalid.set("retries", JsonValue::number(*retries));
  }
  if (reprompt != nullptr) {
    set_text(invalid, "reprompt", *reprompt);
  }
}

void set_error(JsonValue& data, bool has_error) {
  if (has_error) {
    data.set("onError", JsonValue::boolean(true));
  }
}

struct DataWriter {
  JsonValue& data;

  void operator()(const ir::SayStep& s) const {
    set_text(data, "text", s.text, true);
    set_text(data, "header", s.header);
    set_text(data, "footer", s.footer);
    set_options(data, s.options);
  }
  void operator()(const ir::MediaStep& s) const {
    set_text(data, "url", s.source, true);
    set_text(data, "caption", s.caption);
    set_text(data, "filename", s.filename);
    set_string(data, "mime", s.mime);
  }
  void operator()(const ir::LocationStep& s) const {
    data.set("latitude", coordinate(s.latitude));
    data.set("longitude", coordinate(s.longitude));
    set_text(data, "name", s.name);
    set_text(data, "address", s.address);
  }
  void operator()(const ir::TemplateStep& s) const {
    data.set("name", str(s.name));
    set_string(data, "language", s.language);
    if (!s.params.empty()) {
      JsonValue& params = data.set("params", JsonValue::array());
      for (const ir::Text& p : s.params) {
        params.push(str(p.value));
      }
    }
  }
  void operator()(const ir::TypingStep& s) const { data.set("duration", duration(s.duration)); }
  void operator()(const ir::AskStep& s) const {
    data.set("variable", str(s.var.qualified()));
    const ir::CaptureType inferred =
        s.options.empty() ? ir::CaptureType::Text : ir::CaptureType::Choice;
    if (s.type != inferred) {
      data.set("type", str(ir::capture_type_name(s.type)));
    }
    set_text(data, "text", s.prompt, true);
    set_options(data, s.options);
    if (!s.pattern.empty() || s.type == ir::CaptureType::Regex) {
      set_string(data, "pattern", s.pattern);
    }
    if (!s.reminders.empty()) {
      data.set("reminders", reminders(s.reminders));
    }
    set_invalid(data, s.has_invalid, s.retries, &s.reprompt);
    if (s.timeout) {
      data.set("timeout", duration(*s.timeout));
    }
  }
  void operator()(const ir::AiReplyStep& s) const {
    if (s.into) {
      data.set("into", str(s.into->qualified()));
    }
    set_ai(data, s.ai);
    set_error(data, s.has_error);
  }
  void operator()(const ir::AiExtractStep& s) const {
    data.set("variable", str(s.var.qualified()));
    JsonValue& fields = data.set("fields", JsonValue::array());
    for (const ir::ExtractField& f : s.fields) {
      JsonValue& field = fields.push(JsonValue::object());
      field.set("name", str(f.name));
      if (f.type) {
        field.set("type", str(ir::capture_type_name(*f.type)));
      }
      set_text(field, "description", f.description);
      if (f.optional) {
        field.set("optional", JsonValue::boolean(true));
      }
    }
    set_ai(data, s.ai);
    set_invalid(data, s.has_invalid, s.retries, nullptr);
    set_error(data, s.has_error);
  }
  void operator()(const ir::AiClassifyStep& s) const {
    data.set("variable", str(s.var.qualified()));
    if (s.input) {
      data.set("input", expr(*s.input));
    }
    JsonValue& intents = data.set("intents", JsonValue::array());
    for (const ir::Intent& i : s.intents) {
      JsonValue& intent = intents.push(JsonValue::object());
      intent.set("name", str(i.name));
      set_text(intent, "description", i.description);
    }
    if (s.has_other) {
      data.set("other", JsonValue::boolean(true));
    }
    set_ai(data, s.ai);
    set_error(data, s.has_error);
  }
  void operator()(const ir::IfStep& s) const {
    JsonValue& conditions = data.set("conditions", JsonValue::array());
    for (const ir::Branch& b : s.branches) {
      conditions.push(expr(b.condition));
    }
  }
  void operator()(const ir::MatchStep& s) const {
    data.set("subject", expr(s.subject));
    JsonValue& cases = data.set("cases", JsonValue::array());
    for (const ir::Case& c : s.cases) {
      JsonValue& values = cases.push(JsonValue::object()).set("values", JsonValue::array());
      for (const ir::Expr& v : c.values) {
        values.push(expr(v));
      }
    }
  }
  void operator()(const ir::SetStep& s) const {
    data.set("variable", str(s.var.qualified()));
    data.set("value", expr(s.value));
  }
  void operator()(const ir::GotoStep& s) const { data.set("target", str(s.target)); }
  void operator()(const ir::CallStep& s) const { data.set("flow", str(s.flow)); }
  void operator()(const ir::ReturnStep&) const {}
  void operator()(const ir::EndStep&) const {}
  void operator()(const ir::StageStep& s) const { data.set("name", str(s.name)); }
  void operator()(const ir::TagStep& s) const {
    JsonValue& tags = data.set("tags", JsonValue::array());
    for (const std::string& t : s.tags) {
      tags.push(str(t));
    }
    if (!s.add) {
      data.set("remove", JsonValue::boolean(true));
    }
  }
  void operator()(const ir::HttpStep& s) const {
    if (s.var) {
      data.set("variable", str(s.var->qualified()));
    }
    data.set("method", str(s.method));
    data.set("url", str(s.url.value));
    if (!s.headers.empty()) {
      data.set("headers", headers(s.headers));
    }
    if (s.json) {
      data.set("json", expr(*s.json));
    }
    set_text(data, "body", s.body);
    if (s.timeout) {
      data.set("timeout", duration(*s.timeout));
    }
    if (s.retries) {
      data.set("retries", JsonValue::number(*s.retries));
    }
    if (!s.mappings.empty()) {
      JsonValue& mappings = data.set("mappings", JsonValue::array());
      for (const ir::Mapping& m : s.mappings) {
        JsonValue& item = mappings.push(JsonValue::object());
        item.set("name", str(m.name));
        item.set("path", str(m.path));
      }
    }
    set_error(data, s.has_error);
  }
  void operator()(const ir::StoreStep& s) const {
    if (s.var) {
      data.set("variable", str(s.var->qualified()));
    }
    data.set("collection", str(s.collection));
    data.set("record", expr(s.record));
  }
  void operator()(const ir::DelayStep& s) const { data.set("duration", duration(s.duration)); }
  void operator()(const ir::HandoffStep& s) const {
    set_text(data, "note", s.note);
    set_string(data, "queue", s.queue);
  }
};

// Canvas positions for steps that have none: each step one row below the one
// before it; the nested blocks of a step side by side below it.
class Layout {
 public:
  ir::Position of(const ir::Step& step) const {
    if (step.position) {
      return *step.position;
    }
    auto it = computed_.find(&step);
    return it == computed_.end() ? ir::Position{} : it->second;
  }

  // Returns the rows and columns the block takes.
  std::pair<std::size_t, std::size_t> place(const ir::Block& block, std::size_t column,
                                            std::size_t row) {
    std::size_t r = row;
    std::size_t width = 1;
    for (const ir::Step& step : block) {
      computed_[&step] = ir::Position{static_cast<double>(column) * kColumnWidth,
                                      static_cast<double>(r) * kRowHeight};
      std::size_t c = column;
      std::size_t rows = 0;
      for (const ir::Block* child : visual::exit_blocks(step)) {
        if (child->empty()) {
          continue;
        }
        const auto [child_rows, child_width] = place(*child, c, r + 1);
        c += child_width;
        rows = std::max(rows, child_rows);
      }
      width = std::max(width, c - column);
      r += 1 + rows;
    }
    return {r - row, width};
  }

 private:
  std::map<const ir::Step*, ir::Position> computed_;
};

class FlowWriter {
 public:
  FlowWriter(const ir::Flow& flow, JsonValue& nodes, JsonValue& edges)
      : flow_(flow), nodes_(nodes), edges_(edges) {}

  void write() {
    std::set<std::string> ids;
    ir::for_each_step(flow_.steps, [&](const ir::Step& s) { ids.insert(s.id); });
    std::string start = "start";
    for (int n = 2; ids.count(start) != 0; ++n) {
      start = "start_" + std::to_string(n);
    }
    layout_.place(flow_.steps, 0, 1);
    JsonValue& node = nodes_.push(JsonValue::object());
    node.set("id", str(start));
    node.set("type", str("start"));
    node.set("position", position(flow_.position.value_or(ir::Position{})));
    node.set("data", JsonValue::object());
    if (!flow_.steps.empty()) {
      edge(start, "next", flow_.steps.front().id);
    }
    block(flow_.steps, "");
  }

 private:
  const ir::Flow& flow_;
  JsonValue& nodes_;
  JsonValue& edges_;
  Layout layout_;

  void edge(const std::string& source, const std::string& handle, const std::string& target) {
    if (target.empty()) {
      return;
    }
    JsonValue& e = edges_.push(JsonValue::object());
    e.set("id", str(source + "." + handle));
    e.set("source", str(source));
    e.set("target", str(target));
    e.set("sourceHandle", str(handle));
  }

  // `after` is the id of the step that runs when the block is done ("" when the
  // flow finishes).
  void block(const ir::Block& steps, const std::string& after) {
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const ir::Step& step = steps[i];
      const std::string& next = i + 1 < steps.size() ? steps[i + 1].id : after;
      JsonValue& node = nodes_.push(JsonValue::object());
      node.set("id", str(step.id));
      node.set("type", str(visual::node_type_of(step.body)));
      node.set("position", position(layout_.of(step)));
      JsonValue& data = node.set("data", JsonValue::object());
      std::visit(DataWriter{data}, step.body);
      const visual::NodeShape shape = visual::shape_of(step.body);
      if (shape == visual::NodeShape::Linear || shape == visual::NodeShape::Fixed) {
        edge(step.id, "next", next);
      }
      const std::vector<visual::HandleSpec> handles = visual::exit_handles(step.body);
      const std::vector<const ir::Block*> blocks = visual::exit_blocks(step);
      for (std::size_t k = 0; k < handles.size() && k < blocks.size(); ++k) {
        edge(step.id, handles[k].name, blocks[k]->empty() ? next : blocks[k]->front().id);
      }
      for (const ir::Block* child : blocks) {
        block(*child, next);
      }
    }
  }
};

JsonValue write_flow(const ir::Flow& flow) {
  JsonValue out = JsonValue::object();
  out.set("name", str(flow.name));
  set_text(out, "title", flow.title);
  if (flow.priority) {
    out.set("priority", JsonValue::number(*flow.priority));
  }
  if (!flow.triggers.empty()) {
    JsonValue& triggers = out.set("triggers", JsonValue::array());
    for (const ir::Trigger& t : flow.triggers) {
      JsonValue& trigger = triggers.push(JsonValue::object());
      trigger.set("kind", str(ir::trigger_kind_name(t.kind)));
      if (!t.values.empty()) {
        JsonValue& values = trigger.set("values", JsonValue::array());
        for (const std::string& v : t.values) {
          values.push(str(v));
        }
      }
      set_string(trigger, "timezone", t.timezone);
      if (t.priority) {
        trigger.set("priority", JsonValue::number(*t.priority));
      }
    }
  }
  if (!flow.vars.empty()) {
    JsonValue& vars = out.set("vars", JsonValue::array());
    for (const ir::VarDecl& v : flow.vars) {
      JsonValue& var = vars.push(JsonValue::object());
      var.set("name", str(v.var.qualified()));
      if (v.type != ir::ValueType::Unknown) {
        var.set("type", str(ir::value_type_name(v.type)));
      }
      if (v.init) {
        var.set("value", expr(*v.init));
      }
    }
  }
  if (!flow.tools.empty()) {
    JsonValue& tools = out.set("tools", JsonValue::array());
    for (const ir::Tool& t : flow.tools) {
      JsonValue& tool = tools.push(JsonValue::object());
      tool.set("name", str(t.name));
      set_text(tool, "description", t.description);
      if (!t.params.empty()) {
        JsonValue& params = tool.set("params", JsonValue::array());
        for (const ir::ToolParam& p : t.params) {
          JsonValue& param = params.push(JsonValue::object());
          param.set("name", str(p.name));
          param.set("type", str(ir::capture_type_name(p.type)));
          set_text(param, "description", p.description);
          if (p.optional) {
            param.set("optional", JsonValue::boolean(true));
          }
        }
      }
      tool.set("method", str(t.method));
      tool.set("url", str(t.url.value));
      if (!t.headers.empty()) {
        tool.set("headers", headers(t.headers));
      }
      if (t.json) {
        tool.set("json", expr(*t.json));
      }
      if (t.timeout) {
        tool.set("timeout", duration(*t.timeout));
      }
    }
  }
  if (!flow.reminders.empty()) {
    out.set("reminders", reminders(flow.reminders));
  }
  JsonValue nodes = JsonValue::array();
  JsonValue edges = JsonValue::array();
  // Steps without ids (a module that did not go through load_project) get the
  // ids the compiler would derive.
  bool complete = true;
  ir::for_each_step(flow.steps, [&](const ir::Step& s) { complete = complete && !s.id.empty(); });
  if (complete) {
    FlowWriter(flow, nodes, edges).write();
  } else {
    ir::Flow copy = flow;
    assign_step_ids(copy);
    FlowWriter(copy, nodes, edges).write();
  }
  out.set("nodes", std::move(nodes));
  out.set("edges", std::move(edges));
  JsonValue& viewport = out.set("viewport", JsonValue::object());
  viewport.set("x", JsonValue::number(0));
  viewport.set("y", JsonValue::number(0));
  viewport.set("zoom", JsonValue::number(1));
  return out;
}

}  // namespace

std::string write_visual(const ir::Module& module) {
  JsonValue root = JsonValue::object();
  root.set("waflow", str("visual"));
  root.set("version", JsonValue::number(kVisualFormatVersion));
  set_string(root, "timezone", module.timezone);
  if (!module.hours.empty()) {
    JsonValue& hours = root.set("hours", JsonValue::array());
    for (const ir::HoursRange& h : module.hours) {
      hours.push(str(h.text));
    }
  }
  JsonValue& flows = root.set("flows", JsonValue::array());
  for (const ir::Flow& flow : module.flows) {
    flows.push(write_flow(flow));
  }
  return root.dump() + "\n";
}

}  // namespace waflow
