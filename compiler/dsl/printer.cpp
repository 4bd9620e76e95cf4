#include "compiler/dsl/printer.h"

#include <fmt/format.h>

#include "compiler/dsl/expr_parser.h"

namespace waflow::dsl {

namespace {

class Printer {
 public:
  std::string take() { return std::move(out_); }

  void module(const ir::Module& m) {
    bool any = false;
    if (!m.timezone.empty()) {
      line(0, "timezone " + quote_string(m.timezone));
      any = true;
    }
    for (const ir::HoursRange& h : m.hours) {
      line(0, "hours " + h.text);
      any = true;
    }
    for (const ir::Flow& f : m.flows) {
      if (any) {
        out_ += '\n';
      }
      flow(f);
      any = true;
    }
  }

 private:
  std::string out_;

  void line(int depth, const std::string& text) {
    out_.append(static_cast<std::size_t>(depth) * 2, ' ');
    out_ += text;
    out_ += '\n';
  }

  static std::string q(const ir::Text& t) { return quote_string(t.value); }
  static std::string q(const std::string& s) { return quote_string(s); }

  // An id as the grammar's Name accepts it, or quoted.
  static std::string id(const std::string& s) {
    bool plain = !s.empty() && (std::isalpha(static_cast<unsigned char>(s[0])) != 0 || s[0] == '_');
    for (char c : s) {
      plain = plain && (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-');
    }
    return plain ? s : quote_string(s);
  }

  void flow(const ir::Flow& f) {
    line(0, "flow " + f.name + (f.title.empty() ? "" : " " + q(f.title)));
    for (const ir::Trigger& t : f.triggers) {
      std::string s = std::string("trigger ") + ir::trigger_kind_name(t.kind);
      for (const std::string& v : t.values) {
        s += " " + q(v);
      }
      if (t.priority) {
        s += fmt::format(" priority {}", *t.priority);
      }
      if (!t.timezone.empty()) {
        s += " tz " + q(t.timezone);
      }
      line(1, s);
    }
    if (f.priority) {
      line(1, fmt::format("priority {}", *f.priority));
    }
    for (const ir::VarDecl& v : f.vars) {
      std::string s = "var " + v.var.qualified();
      if (v.type != ir::ValueType::Unknown) {
        s += std::string(": ") + ir::value_type_name(v.type);
      }
      if (v.init) {
        s += " = " + print_expression(*v.init);
      }
      line(1, s);
    }
    for (const ir::Tool& t : f.tools) {
      tool(t);
    }
    for (const ir::Reminder& r : f.reminders) {
      line(1, "remind after " + r.after.text + " " + q(r.text));
    }
    if (!f.triggers.empty() || f.priority || !f.vars.empty() || !f.tools.empty() ||
        !f.reminders.empty()) {
      out_ += '\n';
    }
    block(f.steps, 1);
  }

  void tool(const ir::Tool& t) {
    line(1, "tool " + t.name + (t.description.empty() ? "" : " " + q(t.description)));
    for (const ir::ToolParam& p : t.params) {
      std::string s = "param " + p.name + ": " + ir::capture_type_name(p.type);
      if (!p.description.empty()) {
        s += " " + q(p.description);
      }
      if (p.optional) {
        s += " optional";
      }
      line(2, s);
    }
    line(2, "request " + t.method + " " + q(t.url));
    headers(t.headers, 2);
    if (t.json) {
      line(2, "json " + print_expression(*t.json));
    }
    if (t.timeout) {
      line(2, "timeout " + t.timeout->text);
    }
  }

  void headers(const std::vector<ir::Header>& hs, int depth) {
    for (const ir::Header& h : hs) {
      line(depth, "header " + q(h.name) + " " + q(h.value));
    }
  }

  void block(const ir::Block& steps, int depth) {
    for (const ir::Step& s : steps) {
      step(s, depth);
    }
  }

  void options(const ir::Options& o, int depth) {
    for (const ir::Button& b : o.buttons) {
      line(depth, "button " + id(b.id) + " " + q(b.title));
    }
    if (!o.list_button.empty()) {
      line(depth, "list " + q(o.list_button));
    }
    for (const ir::ListSection& sec : o.sections) {
      line(depth, "section" + (sec.title.empty() ? "" : " " + q(sec.title)));
      for (const ir::ListRow& r : sec.rows) {
        line(depth + 1, "row " + id(r.id) + " " + q(r.title) +
                            (r.description.empty() ? "" : " " + q(r.description)));
      }
    }
  }

  void ai_options(const ir::AiOptions& ai, int depth) {
    if (!ai.model.empty()) {
      line(depth, "model " + q(ai.model));
    }
    if (!ai.fallbacks.empty()) {
      std::string s = "fallback";
      for (const std::string& f : ai.fallbacks) {
        s += " " + q(f);
      }
      line(depth, s);
    }
    if (!ai.system.empty()) {
      line(depth, "system " + q(ai.system));
    }
    if (!ai.prompt.empty()) {
      line(depth, "prompt " + q(ai.prompt));
    }
    if (ai.temperature) {
      line(depth, fmt::format("temperature {}", *ai.temperature));
    }
    if (ai.history) {
      line(depth, fmt::format("history {}", *ai.history));
    }
    if (ai.max_tokens) {
      line(depth, fmt::format("max_tokens {}", *ai.max_tokens));
    }
    if (ai.buffer) {
      line(depth, "buffer " + ai.buffer->text);
    }
    if (ai.timeout) {
      line(depth, "timeout " + ai.timeout->text);
    }
    if (!ai.tools.empty()) {
      std::string s = "tools";
      for (const std::string& t : ai.tools) {
        s += " " + t;
      }
      line(depth, s);
    }
  }

  void on_error(bool has, const ir::Block& b, int depth) {
    if (has) {
      line(depth, "on error");
      block(b, depth + 1);
    }
  }

  void step(const ir::Step& st, int depth) {
    if (st.explicit_id) {
      line(depth, "label " + st.id);
    }
    std::visit([&](const auto& body) { print(body, depth); }, st.body);
  }

  void print(const ir::SayStep& s, int d) {
    line(d, "say " + q(s.text));
    if (!s.header.empty()) {
      line(d + 1, "header " + q(s.header));
    }
    if (!s.footer.empty()) {
      line(d + 1, "footer " + q(s.footer));
    }
    options(s.options, d + 1);
  }
  void print(const ir::MediaStep& s, int d) {
    std::string t = std::string(ir::media_kind_name(s.kind)) + " " + q(s.source);
    if (!s.caption.empty()) {
      t += " caption " + q(s.caption);
    }
    if (!s.filename.empty()) {
      t += " filename " + q(s.filename);
    }
    if (!s.mime.empty()) {
      t += " mime " + q(s.mime);
    }
    line(d, t);
  }
  void print(const ir::LocationStep& s, int d) {
    std::string t = "location " + s.latitude.text + " " + s.longitude.text;
    if (!s.name.empty()) {
      t += " name " + q(s.name);
    }
    if (!s.address.empty()) {
      t += " address " + q(s.address);
    }
    line(d, t);
  }
  void print(const ir::TemplateStep& s, int d) {
    line(d, "template " + s.name + (s.language.empty() ? "" : " lang " + q(s.language)));
    for (const ir::Text& p : s.params) {
      line(d + 1, "param " + q(p));
    }
  }
  void print(const ir::TypingStep& s, int d) { line(d, "typing " + s.duration.text); }
  void print(const ir::AskStep& s, int d) {
    // Write the type unless the compiler would infer the same one.
    const ir::CaptureType implied =
        s.options.empty() ? ir::CaptureType::Text : ir::CaptureType::Choice;
    std::string t = "ask " + s.var.qualified();
    if (s.type != implied) {
      t += std::string(": ") + ir::capture_type_name(s.type);
    }
    line(d, t + " " + q(s.prompt));
    options(s.options, d + 1);
    if (!s.pattern.empty()) {
      line(d + 1, "pattern " + q(s.pattern));
    }
    for (const ir::Reminder& r : s.reminders) {
      line(d + 1, "remind after " + r.after.text + " " + q(r.text));
    }
    if (s.has_invalid) {
      std::string inv = "on invalid";
      if (s.retries) {
        inv += fmt::format(" retry {}", *s.retries);
      }
      if (!s.reprompt.empty()) {
        inv += " " + q(s.reprompt);
      }
      line(d + 1, inv);
      block(s.on_invalid, d + 2);
    }
    if (s.timeout) {
      line(d + 1, "on timeout " + s.timeout->text);
      block(s.on_timeout, d + 2);
    }
  }
  void print(const ir::AiReplyStep& s, int d) {
    line(d, "ai reply" + (s.into ? " into " + s.into->qualified() : std::string()));
    ai_options(s.ai, d + 1);
    on_error(s.has_error, s.on_error, d + 1);
  }
  void print(const ir::AiExtractStep& s, int d) {
    line(d, "ai extract " + s.var.qualified());
    ai_options(s.ai, d + 1);
    for (const ir::ExtractField& f : s.fields) {
      std::string t = "field " + f.name;
      if (f.type) {
        t += std::string(": ") + ir::capture_type_name(*f.type);
      }
      if (!f.description.empty()) {
        t += " " + q(f.description);
      }
      if (f.optional) {
        t += " optional";
      }
      line(d + 1, t);
    }
    if (s.has_invalid) {
      line(d + 1, "on invalid" + (s.retries ? fmt::format(" retry {}", *s.retries) : ""));
      block(s.on_invalid, d + 2);
    }
    on_error(s.has_error, s.on_error, d + 1);
  }
  void print(const ir::AiClassifyStep& s, int d) {
    line(d, "ai classify " + s.var.qualified() +
                (s.input ? " from " + print_expression(*s.input) : std::string()));
    ai_options(s.ai, d + 1);
    for (const ir::Intent& i : s.intents) {
      line(d + 1, "intent " + i.name + (i.description.empty() ? "" : " " + q(i.description)));
      block(i.body, d + 2);
    }
    if (s.has_other) {
      line(d + 1, "other");
      block(s.other, d + 2);
    }
    on_error(s.has_error, s.on_error, d + 1);
  }
  void print(const ir::IfStep& s, int d) {
    for (std::size_t i = 0; i < s.branches.size(); ++i) {
      line(d, (i == 0 ? "if " : "elif ") + print_expression(s.branches[i].condition));
      block(s.branches[i].body, d + 1);
    }
    if (s.has_else) {
      line(d, "else");
      block(s.otherwise, d + 1);
    }
  }
  void print(const ir::MatchStep& s, int d) {
    line(d, "match " + print_expression(s.subject));
    for (const ir::Case& c : s.cases) {
      std::string t = "case ";
      for (std::size_t i = 0; i < c.values.size(); ++i) {
        t += (i > 0 ? ", " : "") + print_expression(c.values[i]);
      }
      line(d + 1, t);
      block(c.body, d + 2);
    }
    if (s.has_else) {
      line(d + 1, "else");
      block(s.otherwise, d + 2);
    }
  }
  void print(const ir::SetStep& s, int d) {
    line(d, "set " + s.var.qualified() + " = " + print_expression(s.value));
  }
  void print(const ir::GotoStep& s, int d) { line(d, "goto " + s.target); }
  void print(const ir::CallStep& s, int d) { line(d, "call " + s.flow); }
  void print(const ir::ReturnStep& /*s*/, int d) { line(d, "return"); }
  void print(const ir::EndStep& /*s*/, int d) { line(d, "end"); }
  void print(const ir::StageStep& s, int d) { line(d, "stage " + id(s.name)); }
  void print(const ir::TagStep& s, int d) {
    std::string t = s.add ? "tag" : "untag";
    for (const std::string& tag : s.tags) {
      t += " " + id(tag);
    }
    line(d, t);
  }
  void print(const ir::HttpStep& s, int d) {
    line(d, "http " + (s.var ? s.var->qualified() + " = " : std::string()) + s.method + " " +
                q(s.url));
    headers(s.headers, d + 1);
    if (s.json) {
      line(d + 1, "json " + print_expression(*s.json));
    }
    if (!s.body.empty()) {
      line(d + 1, "body " + q(s.body));
    }
    if (s.timeout) {
      line(d + 1, "timeout " + s.timeout->text);
    }
    if (s.retries) {
      line(d + 1, fmt::format("retries {}", *s.retries));
    }
    for (const ir::Mapping& m : s.mappings) {
      line(d + 1, "map " + m.name + " = " + q(m.path));
    }
    on_error(s.has_error, s.on_error, d + 1);
  }
  void print(const ir::StoreStep& s, int d) {
    line(d, "store " + (s.var ? s.var->qualified() + " = " : std::string()) + s.collection + " " +
                print_expression(s.record));
  }
  void print(const ir::DelayStep& s, int d) { line(d, "delay " + s.duration.text); }
  void print(const ir::HandoffStep& s, int d) {
    std::string t = "handoff";
    if (!s.note.empty()) {
      t += " " + q(s.note);
    }
    if (!s.queue.empty()) {
      t += " queue " + q(s.queue);
    }
    line(d, t);
  }
};

}  // namespace

std::string write_dsl(const ir::Module& module) {
  Printer p;
  p.module(module);
  return p.take();
}

}  // namespace waflow::dsl
