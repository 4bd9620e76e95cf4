// Writes the flow IR as YAML: the format's reference, since what this file
// writes is exactly what compiler/yaml/reader.cpp reads.
//
// A file is a mapping; each construct of the DSL is a key named after its
// keyword (`on invalid` is on_invalid, `ai reply` is ai_reply, a label is `id`),
// and each step is a mapping whose kind is the one key that names it:
//
//   timezone: Europe/Berlin               # optional
//   hours: ["mon-fri 09:00-17:00"]        # optional; a string or a list
//   flows:
//     - flow: pizza                       # required: the flow's name
//       title: Pizza orders
//       priority: 5
//       triggers:                         # one kind key each, + priority, tz
//         - exact: [hi]                   # keyword, exact, payload: string lists
//         - keyword: [menu, start]
//           priority: 2
//         - regex: "^order \\d+$"         # regex, schedule: one string
//         - schedule: "0 9 * * 1"
//           tz: Europe/Berlin
//         - any: true                     # any, first_contact, api: true
//       vars: [{var: contact.language, type: text, value: '"en"'}]
//       tools:
//         - tool: lookup_order            # + description, params: [{param, type,
//           method: GET                   #   description, optional}], headers,
//           url: "https://..."            #   json, timeout
//       reminders: [{after: 1h, text: "Still there?"}]
//       steps: [STEP, ...]
//
// Steps (`id:` gives any step an explicit id, i.e. a DSL label; `position:
// {x, y}` keeps its place on a visual canvas):
//
//   say: TEXT            header, footer, buttons: [{id, title}], list: LABEL,
//                        sections: [{title, rows: [{id, title, description}]}]
//   image|audio|video|document|sticker: URL     caption, filename, mime
//   location: [LAT, LON] name, address
//   template: NAME       lang, params: [TEXT]
//   typing: DURATION     delay: DURATION
//   ask: VAR             prompt (required), type, buttons, list, sections, pattern,
//                        reminders, on_invalid: {retry, reprompt, steps},
//                        on_timeout: {after, steps}
//   ai_reply: true       into: VAR, AI options, on_error: [STEP]
//   ai_extract: VAR      AI options, fields: [{field, type, description, optional}],
//                        on_invalid: {retry, steps}, on_error
//   ai_classify: VAR     from: EXPR, AI options, intents: [{intent, description,
//                        steps}], other: [STEP], on_error
//   if: EXPR             then: [STEP] (required), elif: [{if, then}], else: [STEP]
//   match: EXPR          cases: [{case: [EXPR], then: [STEP]}], else: [STEP]
//   set: VAR             value: EXPR (required)
//   goto: STEP_ID        call: FLOW        stage: NAME       tag|untag: [TAG]
//   return: true         end: true         handoff: true (note, queue)
//   http: METHOD         url (required), into, headers: [{name, value}], json: EXPR,
//                        body: TEXT, timeout, retries, map: [{name, path}], on_error
//   store: COLLECTION    record: EXPR (required), into: VAR
//
// AI options: model, fallback: [MODEL], system, prompt, temperature, history,
// max_tokens, buffer, timeout, tools: [TOOL].
//
// Values: texts are strings, with {{placeholders}} as in the DSL; expressions
// are strings in the DSL's expression syntax (`lower(x) == "yes"`, `'"en"'` for
// a string literal); durations are strings (30s, 5m, 1h30m); variables are
// `name` or `scope.name`. A block that is present but empty (`else: []`,
// `on_invalid: {}`) is kept: it is not the same IR as a missing one.
//
// The reader also takes a single string where a list of strings belongs
// (`keyword: hi`, `tag: vip`, `hours: ...`, `case: '"a"'`) and YAML numbers or
// booleans where a text or expression belongs (`value: 0`).
//
// The writer is canonical: keys in the order above (a step's `id` first, its
// `position` last), lists of plain values and small mappings in flow style when
// they fit in 100 columns, ids only where the IR says they are explicit (derived
// ids come back by themselves on reading), strings quoted only where a YAML
// reader could take them for something else (emitter.h).

#include "compiler/yaml/writer.h"

#include <charconv>

#include <fmt/format.h>

#include "compiler/dsl/expr_parser.h"
#include "compiler/yaml/yaml.h"

namespace waflow::yaml {

namespace {

Value str(const std::string& s) {
  return Value::string(s);
}
Value yes() {
  return Value::raw("true");
}
Value integer(int v) {
  return Value::raw(std::to_string(v));
}
// Shortest text that reads back as the same double; fmt does not use the locale.
Value number(double v) {
  return Value::raw(fmt::format("{}", v));
}

Value duration(const ir::Duration& d) {
  return str(d.text.empty() ? fmt::format("{}ms", d.ms) : d.text);
}

Value expression(const ir::Expr& e) {
  return str(dsl::print_expression(e));
}

Value strings(const std::vector<std::string>& values) {
  Value list = Value::sequence(true);
  for (const std::string& v : values) {
    list.push(str(v));
  }
  return list;
}

// A number literal as the DSL writes it ("52.52", "-13.4"), kept as written.
bool is_number_text(const std::string& s) {
  std::string_view digits(s);
  if (!digits.empty() && digits[0] == '-') {
    digits.remove_prefix(1);
  }
  if (digits.empty() || digits[0] < '0' || digits[0] > '9') {
    return false;
  }
  double value = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return ec == std::errc() && ptr == digits.data() + digits.size();
}

class Writer {
 public:
  explicit Writer(const WriteOptions& options) : options_(options) {}

  Value module(const ir::Module& m) {
    Value root = Value::mapping();
    if (!m.timezone.empty()) {
      root.add("timezone", str(m.timezone));
    }
    if (!m.hours.empty()) {
      Value hours = Value::sequence(true);
      for (const ir::HoursRange& h : m.hours) {
        hours.push(str(h.text));
      }
      root.add("hours", std::move(hours));
    }
    Value flows = Value::sequence();
    for (const ir::Flow& f : m.flows) {
      flows.push(flow(f));
    }
    root.add("flows", std::move(flows));
    return root;
  }

 private:
  const WriteOptions& options_;

  void position(Value& map, const std::optional<ir::Position>& p) {
    if (options_.positions && p) {
      Value v = Value::mapping(true);
      v.add("x", number(p->x));
      v.add("y", number(p->y));
      map.add("position", std::move(v));
    }
  }

  static void text(Value& map, const char* key, const ir::Text& t) {
    if (!t.empty()) {
      map.add(key, str(t.value));
    }
  }

  Value flow(const ir::Flow& f) {
    Value v = Value::mapping();
    v.add("flow", str(f.name));
    text(v, "title", f.title);
    if (f.priority) {
      v.add("priority", integer(*f.priority));
    }
    position(v, f.position);
    if (!f.triggers.empty()) {
      Value& list = v.add("triggers", Value::sequence());
      for (const ir::Trigger& t : f.triggers) {
        list.push(trigger(t));
      }
    }
    if (!f.vars.empty()) {
      Value& list = v.add("vars", Value::sequence());
      for (const ir::VarDecl& d : f.vars) {
        Value var = Value::mapping(true);
        var.add("var", str(d.var.qualified()));
        if (d.type != ir::ValueType::Unknown) {
          var.add("type", str(ir::value_type_name(d.type)));
        }
        if (d.init) {
          var.add("value", expression(*d.init));
        }
        list.push(std::move(var));
      }
    }
    if (!f.tools.empty()) {
      Value& list = v.add("tools", Value::sequence());
      for (const ir::Tool& t : f.tools) {
        list.push(tool(t));
      }
    }
    if (!f.reminders.empty()) {
      v.add("reminders", reminders(f.reminders));
    }
    if (!f.steps.empty()) {
      v.add("steps", block(f.steps));
    }
    return v;
  }

  static Value trigger(const ir::Trigger& t) {
    Value v = Value::mapping();
    const char* kind = ir::trigger_kind_name(t.kind);
    using K = ir::TriggerKind;
    if (t.kind == K::Any || t.kind == K::FirstContact || t.kind == K::Api) {
      v.add(kind, yes());
    } else if ((t.kind == K::Regex || t.kind == K::Schedule) && t.values.size() == 1) {
      v.add(kind, str(t.values[0]));
    } else {
      v.add(kind, strings(t.values));
    }
    if (t.priority) {
      v.add("priority", integer(*t.priority));
    }
    if (!t.timezone.empty()) {
      v.add("tz", str(t.timezone));
    }
    return v;
  }

  static Value tool(const ir::Tool& t) {
    Value v = Value::mapping();
    v.add("tool", str(t.name));
    text(v, "description", t.description);
    if (!t.params.empty()) {
      Value& list = v.add("params", Value::sequence());
      for (const ir::ToolParam& p : t.params) {
        Value param = Value::mapping(true);
        param.add("param", str(p.name));
        param.add("type", str(ir::capture_type_name(p.type)));
        text(param, "description", p.description);
        if (p.optional) {
          param.add("optional", yes());
        }
        list.push(std::move(param));
      }
    }
    v.add("method", str(t.method));
    v.add("url", str(t.url.value));
    if (!t.headers.empty()) {
      v.add("headers", headers(t.headers));
    }
    if (t.json) {
      v.add("json", expression(*t.json));
    }
    if (t.timeout) {
      v.add("timeout", duration(*t.timeout));
    }
    return v;
  }

  static Value headers(const std::vector<ir::Header>& headers) {
    Value list = Value::sequence();
    for (const ir::Header& h : headers) {
      Value header = Value::mapping(true);
      header.add("name", str(h.name));
      header.add("value", str(h.value.value));
      list.push(std::move(header));
    }
    return list;
  }

  static Value reminders(const std::vector<ir::Reminder>& reminders) {
    Value list = Value::sequence();
    for (const ir::Reminder& r : reminders) {
      Value reminder = Value::mapping(true);
      reminder.add("after", duration(r.after));
      reminder.add("text", str(r.text.value));
      list.push(std::move(reminder));
    }
    return list;
  }

  // --- Steps -------------------------------------------------------------------------

  Value block(const ir::Block& steps) {
    Value list = Value::sequence();
    for (const ir::Step& s : steps) {
      list.push(step(s));
    }
    return list;
  }

  Value step(const ir::Step& s) {
    Value v = Value::mapping();
    if ((s.explicit_id || options_.all_ids) && !s.id.empty()) {
      v.add("id", str(s.id));
    }
    std::visit([&](const auto& body) { write(v, body); }, s.body);
    position(v, s.position);
    return v;
  }

  static void options(Value& v, const ir::Options& o) {
    if (!o.buttons.empty()) {
      Value& list = v.add("buttons", Value::sequence());
      for (const ir::Button& b : o.buttons) {
        Value button = Value::mapping(true);
        button.add("id", str(b.id));
        button.add("title", str(b.title.value));
        list.push(std::move(button));
      }
    }
    text(v, "list", o.list_button);
    if (!o.sections.empty()) {
      Value& list = v.add("sections", Value::sequence());
      for (const ir::ListSection& s : o.sections) {
        Value section = Value::mapping();
        text(section, "title", s.title);
        Value& rows = section.add("rows", Value::sequence());
        for (const ir::ListRow& r : s.rows) {
          Value row = Value::mapping(true);
          row.add("id", str(r.id));
          row.add("title", str(r.title.value));
          text(row, "description", r.description);
          rows.push(std::move(row));
        }
        list.push(std::move(section));
      }
    }
  }

  static void ai_options(Value& v, const ir::AiOptions& ai) {
    if (!ai.model.empty()) {
      v.add("model", str(ai.model));
    }
    if (!ai.fallbacks.empty()) {
      v.add("fallback", strings(ai.fallbacks));
    }
    text(v, "system", ai.system);
    text(v, "prompt", ai.prompt);
    if (ai.temperature) {
      v.add("temperature", number(*ai.temperature));
    }
    if (ai.history) {
      v.add("history", integer(*ai.history));
    }
    if (ai.max_tokens) {
      v.add("max_tokens", integer(*ai.max_tokens));
    }
    if (ai.buffer) {
      v.add("buffer", duration(*ai.buffer));
    }
    if (ai.timeout) {
      v.add("timeout", duration(*ai.timeout));
    }
    if (!ai.tools.empty()) {
      v.add("tools", strings(ai.tools));
    }
  }

  void on_error(Value& v, bool has_error, const ir::Block& steps) {
    if (has_error) {
      v.add("on_error", block(steps));
    }
  }

  void write(Value& v, const ir::SayStep& s) {
    v.add("say", str(s.text.value));
    text(v, "header", s.header);
    text(v, "footer", s.footer);
    options(v, s.options);
  }

  void write(Value& v, const ir::MediaStep& s) {
    v.add(ir::media_kind_name(s.kind), str(s.source.value));
    text(v, "caption", s.caption);
    text(v, "filename", s.filename);
    if (!s.mime.empty()) {
      v.add("mime", str(s.mime));
    }
  }

  static Value coordinate(const ir::Expr& e) {
    if (e.kind == ir::ExprKind::Number && is_number_text(e.text)) {
      return Value::raw(e.text);
    }
    return expression(e);
  }

  void write(Value& v, const ir::LocationStep& s) {
    Value coords = Value::sequence(true);
    coords.push(coordinate(s.latitude));
    coords.push(coordinate(s.longitude));
    v.add("location", std::move(coords));
    text(v, "name", s.name);
    text(v, "address", s.address);
  }

  void write(Value& v, const ir::TemplateStep& s) {
    v.add("template", str(s.name));
    if (!s.language.empty()) {
      v.add("lang", str(s.language));
    }
    if (!s.params.empty()) {
      Value params = Value::sequence(true);
      for (const ir::Text& p : s.params) {
        params.push(str(p.value));
      }
      v.add("params", std::move(params));
    }
  }

  void write(Value& v, const ir::TypingStep& s) { v.add("typing", duration(s.duration)); }

  void write(Value& v, const ir::AskStep& s) {
    v.add("ask", str(s.var.qualified()));
    const ir::CaptureType implied =
        s.options.empty() ? ir::CaptureType::Text : ir::CaptureType::Choice;
    if (s.type != implied || options_.derived_fields) {
      v.add("type", str(ir::capture_type_name(s.type)));
    }
    v.add("prompt", str(s.prompt.value));
    options(v, s.options);
    if (!s.pattern.empty()) {
      v.add("pattern", str(s.pattern));
    }
    if (!s.reminders.empty()) {
      v.add("reminders", reminders(s.reminders));
    }
    if (s.has_invalid) {
      Value inv = Value::mapping();
      if (s.retries) {
        inv.add("retry", integer(*s.retries));
      }
      text(inv, "reprompt", s.reprompt);
      if (!s.on_invalid.empty()) {
        inv.add("steps", block(s.on_invalid));
      }
      v.add("on_invalid", std::move(inv));
    }
    if (s.timeout) {
      Value timeout = Value::mapping();
      timeout.add("after", duration(*s.timeout));
      if (!s.on_timeout.empty()) {
        timeout.add("steps", block(s.on_timeout));
      }
      v.add("on_timeout", std::move(timeout));
    }
  }

  void write(Value& v, const ir::AiReplyStep& s) {
    v.add("ai_reply", yes());
    if (s.into) {
      v.add("into", str(s.into->qualified()));
    }
    ai_options(v, s.ai);
    on_error(v, s.has_error, s.on_error);
  }

  void write(Value& v, const ir::AiExtractStep& s) {
    v.add("ai_extract", str(s.var.qualified()));
    ai_options(v, s.ai);
    if (!s.fields.empty()) {
      Value& list = v.add("fields", Value::sequence());
      for (const ir::ExtractField& f : s.fields) {
        Value field = Value::mapping(true);
        field.add("field", str(f.name));
        if (f.type) {
          field.add("type", str(ir::capture_type_name(*f.type)));
        }
        text(field, "description", f.description);
        if (f.optional) {
          field.add("optional", yes());
        }
        list.push(std::move(field));
      }
    }
    if (s.has_invalid) {
      Value inv = Value::mapping();
      if (s.retries) {
        inv.add("retry", integer(*s.retries));
      }
      if (!s.on_invalid.empty()) {
        inv.add("steps", block(s.on_invalid));
      }
      v.add("on_invalid", std::move(inv));
    }
    on_error(v, s.has_error, s.on_error);
  }

  void write(Value& v, const ir::AiClassifyStep& s) {
    v.add("ai_classify", str(s.var.qualified()));
    if (s.input) {
      v.add("from", expression(*s.input));
    }
    ai_options(v, s.ai);
    if (!s.intents.empty()) {
      Value& list = v.add("intents", Value::sequence());
      for (const ir::Intent& i : s.intents) {
        Value intent = Value::mapping();
        intent.add("intent", str(i.name));
        text(intent, "description", i.description);
        if (!i.body.empty()) {
          intent.add("steps", block(i.body));
        }
        list.push(std::move(intent));
      }
    }
    if (s.has_other) {
      v.add("other", block(s.other));
    }
    on_error(v, s.has_error, s.on_error);
  }

  void write(Value& v, const ir::IfStep& s) {
    for (std::size_t i = 0; i < s.branches.size(); ++i) {
      const ir::Branch& b = s.branches[i];
      if (i == 0) {
        v.add("if", expression(b.condition));
        v.add("then", block(b.body));
        continue;
      }
      if (i == 1) {
        v.add("elif", Value::sequence());
      }
      Value branch = Value::mapping();
      branch.add("if", expression(b.condition));
      branch.add("then", block(b.body));
      v.entries.back().value.push(std::move(branch));
    }
    if (s.has_else) {
      v.add("else", block(s.otherwise));
    }
  }

  void write(Value& v, const ir::MatchStep& s) {
    v.add("match", expression(s.subject));
    if (!s.cases.empty()) {
      Value& list = v.add("cases", Value::sequence());
      for (const ir::Case& c : s.cases) {
        Value kase = Value::mapping();
        Value values = Value::sequence(true);
        for (const ir::Expr& e : c.values) {
          values.push(expression(e));
        }
        kase.add("case", std::move(values));
        kase.add("then", block(c.body));
        list.push(std::move(kase));
      }
    }
    if (s.has_else) {
      v.add("else", block(s.otherwise));
    }
  }

  void write(Value& v, const ir::SetStep& s) {
    v.add("set", str(s.var.qualified()));
    v.add("value", expression(s.value));
  }

  void write(Value& v, const ir::GotoStep& s) { v.add("goto", str(s.target)); }
  void write(Value& v, const ir::CallStep& s) { v.add("call", str(s.flow)); }
  void write(Value& v, const ir::ReturnStep& /*s*/) { v.add("return", yes()); }
  void write(Value& v, const ir::EndStep& /*s*/) { v.add("end", yes()); }
  void write(Value& v, const ir::StageStep& s) { v.add("stage", str(s.name)); }
  void write(Value& v, const ir::TagStep& s) { v.add(s.add ? "tag" : "untag", strings(s.tags)); }
  void write(Value& v, const ir::DelayStep& s) { v.add("delay", duration(s.duration)); }

  void write(Value& v, const ir::HttpStep& s) {
    v.add("http", str(s.method));
    v.add("url", str(s.url.value));
    if (s.var) {
      v.add("into", str(s.var->qualified()));
    }
    if (!s.headers.empty()) {
      v.add("headers", headers(s.headers));
    }
    if (s.json) {
      v.add("json", expression(*s.json));
    }
    text(v, "body", s.body);
    if (s.timeout) {
      v.add("timeout", duration(*s.timeout));
    }
    if (s.retries) {
      v.add("retries", integer(*s.retries));
    }
    if (!s.mappings.empty()) {
      Value& list = v.add("map", Value::sequence());
      for (const ir::Mapping& m : s.mappings) {
        Value mapping = Value::mapping(true);
        mapping.add("name", str(m.name));
        mapping.add("path", str(m.path));
        list.push(std::move(mapping));
      }
    }
    on_error(v, s.has_error, s.on_error);
  }

  void write(Value& v, const ir::StoreStep& s) {
    v.add("store", str(s.collection));
    v.add("record", expression(s.record));
    if (s.var) {
      v.add("into", str(s.var->qualified()));
    }
  }

  void write(Value& v, const ir::HandoffStep& s) {
    v.add("handoff", yes());
    text(v, "note", s.note);
    if (!s.queue.empty()) {
      v.add("queue", str(s.queue));
    }
  }
};

}  // namespace

Value module_value(const ir::Module& module, const WriteOptions& options) {
  return Writer(options).module(module);
}

}  // namespace waflow::yaml

namespace waflow {

std::string write_yaml(const ir::Module& module) {
  return yaml::emit(yaml::module_value(module, yaml::WriteOptions{}));
}

}  // namespace waflow
