// Lowers the block tree of a .wf file into the flow IR.
//
// Each statement's tokens come in the order the grammar fixed, so lowering reads
// them positionally. Options of a step (buttons, model, on invalid...) are its
// children; anything else among the children is a nested block of steps.

#include <set>
#include <string>

#include "compiler/dsl/expr_parser.h"
#include "compiler/dsl/layout.h"
#include "compiler/frontend.h"

namespace waflow::dsl {

namespace {

using ir::Block;
using ir::Step;

const Token* find_token(const Statement& s, TokenKind kind, std::size_t from = 0) {
  for (std::size_t i = from; i < s.tokens.size(); ++i) {
    if (s.tokens[i].kind == kind) {
      return &s.tokens[i];
    }
  }
  return nullptr;
}

// The token after the Word `word`, if present.
const Token* option(const Statement& s, std::string_view word) {
  for (std::size_t i = 0; i + 1 < s.tokens.size(); ++i) {
    if (s.tokens[i].kind == TokenKind::Word && s.tokens[i].text == word) {
      return &s.tokens[i + 1];
    }
  }
  return nullptr;
}

bool has_word(const Statement& s, std::string_view word) {
  for (const Token& t : s.tokens) {
    if (t.kind == TokenKind::Word && t.text == word) {
      return true;
    }
  }
  return false;
}

ir::Text text_of(const Token* t) {
  if (t == nullptr) {
    return {};
  }
  return ir::Text{t->text, t->span};
}

class Lowerer {
 public:
  Lowerer(FileId file, Diagnostics& diags) : file_(file), diags_(diags) {}

  ir::Module lower_module(const std::vector<Node>& nodes) {
    ir::Module module;
    module.file = file_;
    for (const Node& node : nodes) {
      const Statement& s = node.statement;
      if (s.keyword.empty()) {
        continue;
      }
      if (s.keyword == "flow") {
        module.flows.push_back(lower_flow(node));
      } else if (s.keyword == "timezone") {
        no_children(node);
        module.timezone = s.tokens[0].text;
        module.timezone_span = s.tokens[0].span;
      } else if (s.keyword == "hours") {
        no_children(node);
        module.hours.push_back(parse_hours(s.tokens[0]));
      } else {
        misplaced(s, "at the top of a file (start a flow with 'flow NAME')");
      }
    }
    return module;
  }

 private:
  FileId file_;
  Diagnostics& diags_;

  void misplaced(const Statement& s, std::string_view where) {
    diags_.report(DiagnosticKind::MisplacedStatement, s.keyword_span,
                  fmt::format("'{}' is not allowed {}", s.keyword, where));
  }

  void no_children(const Node& node) {
    if (!node.children.empty()) {
      const Statement& child = node.children.front().statement;
      diags_.report(DiagnosticKind::BadIndentation, child.span,
                    fmt::format("'{}' takes no indented block", node.statement.keyword));
    }
  }

  // Guards an option that may appear once; returns false (and reports) on repeats.
  bool once(std::set<std::string>& seen, const Statement& s, const std::string& key) {
    if (!seen.insert(key).second) {
      diags_.report(DiagnosticKind::DuplicateOption, s.keyword_span, key);
      return false;
    }
    return true;
  }

  std::optional<int> integer(const Token& t) {
    const double v = t.number;
    if (v != static_cast<double>(static_cast<long long>(v)) || v > 1e9 || v < -1e9) {
      diags_.report(DiagnosticKind::InvalidNumber, t.span, t.text);
      return std::nullopt;
    }
    return static_cast<int>(v);
  }

  ir::Duration duration(const Token& t) {
    ir::Duration d;
    d.text = t.text;
    d.span = t.span;
    if (!ir::parse_duration(t.text, d.ms)) {
      diags_.report(DiagnosticKind::InvalidDuration, t.span, t.text);
    }
    return d;
  }

  ir::VarRef var_ref(const Token& t) {
    ir::VarRef ref;
    ref.span = t.span;
    const std::size_t dot = t.text.find('.');
    if (dot == std::string::npos) {
      ref.name = t.text;
      return ref;
    }
    const std::string scope = t.text.substr(0, dot);
    ref.name = t.text.substr(dot + 1);
    if (scope == "contact") {
      ref.scope = ir::Scope::Contact;
    } else if (scope == "conversation" || scope == "conv") {
      ref.scope = ir::Scope::Conversation;
    } else if (scope == "flow") {
      ref.scope = ir::Scope::Flow;
    } else if (scope == "message") {
      ref.scope = ir::Scope::Message;
    } else {
      Diagnostic& d = diags_.report(DiagnosticKind::UnknownScope,
                                    SourceSpan{t.span.file, t.span.begin,
                                               t.span.begin + static_cast<std::uint32_t>(dot)},
                                    scope);
      suggest(d, scope, {"contact", "conversation", "flow"});
    }
    return ref;
  }

  std::optional<ir::CaptureType> capture_type(const Token& t) {
    ir::CaptureType type{};
    if (ir::parse_capture_type(t.text, type)) {
      return type;
    }
    Diagnostic& d = diags_.report(DiagnosticKind::UnknownType, t.span, t.text);
    suggest(d, t.text,
            {"text", "number", "email", "phone", "date", "url", "choice", "yesno", "regex",
             "media", "location"});
    return std::nullopt;
  }

  ir::HoursRange parse_hours(const Token& t) {
    ir::HoursRange range;
    range.text = t.text;
    range.span = t.span;
    if (!ir::parse_hours_text(t.text, range)) {
      diags_.report(DiagnosticKind::InvalidHours, t.span,
                    fmt::format("'{}' (use e.g. mon-fri 09:00-17:00)", t.text));
    }
    return range;
  }

  ir::Flow lower_flow(const Node& node) {
    const Statement& s = node.statement;
    ir::Flow flow;
    flow.name = s.tokens[0].text;
    flow.name_span = s.tokens[0].span;
    flow.span = s.span;
    flow.title = text_of(find_token(s, TokenKind::Str));
    std::vector<const Node*> steps;
    bool seen_step = false;
    for (const Node& child : node.children) {
      const Statement& c = child.statement;
      if (c.keyword.empty()) {
        continue;
      }
      if (c.keyword == "trigger") {
        no_children(child);
        flow.triggers.push_back(lower_trigger(c));
      } else if (c.keyword == "priority") {
        no_children(child);
        if (flow.priority) {
          diags_.report(DiagnosticKind::DuplicateOption, c.keyword_span, "priority");
        }
        flow.priority = integer(c.tokens[0]);
      } else if (c.keyword == "var") {
        no_children(child);
        flow.vars.push_back(lower_var(c));
      } else if (c.keyword == "tool") {
        flow.tools.push_back(lower_tool(child));
      } else if (c.keyword == "remind") {
        no_children(child);
        flow.reminders.push_back(lower_reminder(c));
      } else {
        seen_step = true;
        steps.push_back(&child);
      }
      (void)seen_step;
    }
    flow.steps = lower_block(steps);
    return flow;
  }

  ir::Trigger lower_trigger(const Statement& s) {
    ir::Trigger trigger;
    trigger.span = s.span;
    const Token& kind = s.tokens[0];
    if (!ir::parse_trigger_kind(kind.text, trigger.kind)) {
      Diagnostic& d = diags_.report(DiagnosticKind::SyntaxError, kind.span,
                                    fmt::format("unknown trigger '{}'", kind.text));
      suggest(d, kind.text,
              {"keyword", "exact", "regex", "any", "first_contact", "payload", "api", "schedule"});
    }
    for (std::size_t i = 1; i < s.tokens.size(); ++i) {
      const Token& t = s.tokens[i];
      if (t.kind == TokenKind::Str) {
        trigger.values.push_back(t.text);
      } else if (t.kind == TokenKind::Word && t.text == "priority" && i + 1 < s.tokens.size()) {
        trigger.priority = integer(s.tokens[++i]);
      } else if (t.kind == TokenKind::Word && t.text == "tz" && i + 1 < s.tokens.size()) {
        trigger.timezone = s.tokens[++i].text;
      }
    }
    using K = ir::TriggerKind;
    const bool wants_values = trigger.kind == K::Keyword || trigger.kind == K::Exact ||
                              trigger.kind == K::Regex || trigger.kind == K::Payload ||
                              trigger.kind == K::Schedule;
    if (wants_values && trigger.values.empty()) {
      diags_.report(DiagnosticKind::SyntaxError, s.span,
                    fmt::format("expected a quoted string after 'trigger {}'", kind.text));
    } else if (!wants_values && !trigger.values.empty()) {
      diags_.report(DiagnosticKind::SyntaxError, s.span,
                    fmt::format("'trigger {}' takes no strings", kind.text));
    } else if ((trigger.kind == K::Regex || trigger.kind == K::Schedule) &&
               trigger.values.size() > 1) {
      diags_.report(DiagnosticKind::SyntaxError, s.span,
                    fmt::format("'trigger {}' takes one string", kind.text));
    }
    return trigger;
  }

  ir::VarDecl lower_var(const Statement& s) {
    ir::VarDecl decl;
    decl.span = s.span;
    decl.var = var_ref(s.tokens[0]);
    if (const Token* colon = find_token(s, TokenKind::Colon)) {
      const Token& type = *(colon + 1);
      if (!ir::parse_value_type(type.text, decl.type)) {
        Diagnostic& d = diags_.report(DiagnosticKind::UnknownType, type.span, type.text);
        suggest(d, type.text, {"text", "number", "bool", "date", "datetime", "duration",
                               "choice", "media", "location", "object", "list"});
      }
    }
    if (const Token* e = find_token(s, TokenKind::Expr)) {
      decl.init = e->expr;
    }
    return decl;
  }

  ir::Tool lower_tool(const Node& node) {
    const Statement& s = node.statement;
    ir::Tool tool;
    tool.name = s.tokens[0].text;
    tool.span = s.span;
    tool.description = text_of(find_token(s, TokenKind::Str));
    std::set<std::string> seen;
    bool has_request = false;
    for (const Node& child : node.children) {
      const Statement& c = child.statement;
      no_children(child);
      if (c.keyword.empty()) {
        continue;
      }
      if (c.keyword == "param") {
        if (c.tokens[0].kind == TokenKind::Str) {
          misplaced(c, "with a string in a tool (declare 'param NAME: TYPE \"description\"')");
          continue;
        }
        ir::ToolParam param;
        param.name = c.tokens[0].text;
        param.span = c.span;
        if (const Token* colon = find_token(c, TokenKind::Colon)) {
          if (auto type = capture_type(*(colon + 1))) {
            param.type = *type;
          }
        }
        param.description = text_of(find_token(c, TokenKind::Str));
        param.optional = has_word(c, "optional");
        tool.params.push_back(std::move(param));
      } else if (c.keyword == "request") {
        if (once(seen, c, "request")) {
          has_request = true;
          tool.method = c.tokens[0].text;
          tool.url = text_of(&c.tokens[1]);
        }
      } else if (c.keyword == "header") {
        tool.headers.push_back(lower_header(c));
      } else if (c.keyword == "json") {
        if (once(seen, c, "json")) {
          tool.json = c.tokens[0].expr;
        }
      } else if (c.keyword == "timeout") {
        if (once(seen, c, "timeout")) {
          tool.timeout = duration(c.tokens[0]);
        }
      } else {
        misplaced(c, "in a tool");
      }
    }
    if (!has_request) {
      diags_.report(DiagnosticKind::MissingKey, s.span, "request", fmt::format("tool '{}'", tool.name));
    }
    return tool;
  }

  ir::Header lower_header(const Statement& c) {
    ir::Header h;
    h.name = c.tokens[0].text;
    h.span = c.span;
    if (c.tokens.size() > 1) {
      h.value = text_of(&c.tokens[1]);
    } else {
      diags_.report(DiagnosticKind::SyntaxError, c.span, "an HTTP header needs a name and a value");
    }
    return h;
  }

  ir::Reminder lower_reminder(const Statement& s) {
    ir::Reminder r;
    r.span = s.span;
    r.after = duration(*find_token(s, TokenKind::Dur));
    r.text = text_of(find_token(s, TokenKind::Str));
    return r;
  }

  // --- Blocks ---------------------------------------------------------------------

  Block lower_children(const Node& node) {
    std::vector<const Node*> nodes;
    for (const Node& child : node.children) {
      nodes.push_back(&child);
    }
    return lower_block(nodes);
  }

  Block lower_block(const std::vector<const Node*>& nodes) {
    Block block;
    const Statement* label = nullptr;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const Node& node = *nodes[i];
      const Statement& s = node.statement;
      if (s.keyword.empty()) {
        label = nullptr;
        continue;
      }
      if (s.keyword == "label") {
        no_children(node);
        if (label != nullptr) {
          diags_.report(DiagnosticKind::MisplacedStatement, s.keyword_span,
                        "two labels in a row; a step has one id");
        }
        label = &s;
        continue;
      }
      if (s.keyword == "elif" || s.keyword == "else") {
        misplaced(s, "without an 'if' just above");
        continue;
      }
      std::optional<Step> step;
      if (s.keyword == "if") {
        // Gather the elif/else chain that follows.
        std::vector<const Node*> chain{&node};
        while (i + 1 < nodes.size() && (nodes[i + 1]->statement.keyword == "elif" ||
                                        nodes[i + 1]->statement.keyword == "else")) {
          chain.push_back(nodes[++i]);
          if (chain.back()->statement.keyword == "else") {
            break;
          }
        }
        step = lower_if(chain);
      } else {
        step = lower_step(node);
      }
      if (!step) {
        label = nullptr;
        continue;
      }
      if (label != nullptr) {
        step->id = label->tokens[0].text;
        step->explicit_id = true;
        step->id_span = label->tokens[0].span;
        label = nullptr;
      }
      block.push_back(std::move(*step));
    }
    if (label != nullptr) {
      diags_.report(DiagnosticKind::MisplacedStatement, label->keyword_span,
                    "a label must be followed by the step it names");
    }
    return block;
  }

  Step make_step(const Statement& s, ir::StepBody body) {
    Step step;
    step.body = std::move(body);
    step.span = s.span;
    return step;
  }

  std::optional<Step> lower_if(const std::vector<const Node*>& chain) {
    ir::IfStep body;
    for (const Node* node : chain) {
      const Statement& s = node->statement;
      if (s.keyword == "else") {
        body.has_else = true;
        body.otherwise = lower_children(*node);
        require_block(*node);
        continue;
      }
      ir::Branch branch;
      branch.condition = s.tokens[0].expr;
      branch.span = s.span;
      branch.body = lower_children(*node);
      require_block(*node);
      body.branches.push_back(std::move(branch));
    }
    Step step = make_step(chain.front()->statement, std::move(body));
    step.span.end = chain.back()->statement.span.end;
    return step;
  }

  void require_block(const Node& node) {
    if (node.children.empty()) {
      diags_.report(DiagnosticKind::SyntaxError, node.statement.span,
                    fmt::format("expected an indented block after '{}'", node.statement.keyword));
    }
  }

  // Reads an option child common to messages with buttons or lists.
  bool option_child(const Node& child, ir::Options& options, ir::ListSection*& section) {
    const Statement& c = child.statement;
    if (c.keyword == "button") {
      no_children(child);
      options.buttons.push_back(ir::Button{c.tokens[0].text, text_of(&c.tokens[1]), c.span});
      return true;
    }
    if (c.keyword == "list") {
      no_children(child);
      if (!options.list_button.empty()) {
        diags_.report(DiagnosticKind::DuplicateOption, c.keyword_span, "list");
      }
      options.list_button = text_of(&c.tokens[0]);
      return true;
    }
    if (c.keyword == "section") {
      ir::ListSection sec;
      sec.title = text_of(find_token(c, TokenKind::Str));
      sec.span = c.span;
      for (const Node& row_node : child.children) {
        const Statement& r = row_node.statement;
        no_children(row_node);
        if (r.keyword.empty()) {
          continue;
        }
        if (r.keyword != "row") {
          misplaced(r, "in a list section (use 'row ID \"Title\" \"Description\"')");
          continue;
        }
        sec.rows.push_back(row(r));
      }
      options.sections.push_back(std::move(sec));
      section = nullptr;
      return true;
    }
    if (c.keyword == "row") {
      no_children(child);
      // Rows outside a section go into one untitled section.
      if (section == nullptr) {
        options.sections.emplace_back();
        options.sections.back().span = c.span;
        section = &options.sections.back();
      }
      section->rows.push_back(row(c));
      return true;
    }
    return false;
  }

  ir::ListRow row(const Statement& r) {
    ir::ListRow out;
    out.id = r.tokens[0].text;
    out.title = text_of(&r.tokens[1]);
    if (r.tokens.size() > 2) {
      out.description = text_of(&r.tokens[2]);
    }
    out.span = r.span;
    return out;
  }

  std::optional<Step> lower_step(const Node& node) {
    const Statement& s = node.statement;
    const std::string& k = s.keyword;
    if (k == "say") {
      return lower_say(node);
    }
    if (k == "image" || k == "audio" || k == "video" || k == "document" || k == "sticker") {
      no_children(node);
      ir::MediaStep m;
      m.kind = k == "image"   ? ir::MediaKind::Image
               : k == "audio" ? ir::MediaKind::Audio
               : k == "video" ? ir::MediaKind::Video
               : k == "document" ? ir::MediaKind::Document
                                 : ir::MediaKind::Sticker;
      m.source = text_of(&s.tokens[0]);
      m.caption = text_of(option(s, "caption"));
      m.filename = text_of(option(s, "filename"));
      if (const Token* mime = option(s, "mime")) {
        m.mime = mime->text;
        m.mime_span = mime->span;
      }
      return make_step(s, std::move(m));
    }
    if (k == "location") {
      no_children(node);
      ir::LocationStep l;
      l.latitude = number_expr(s.tokens[0]);
      l.longitude = number_expr(s.tokens[1]);
      l.name = text_of(option(s, "name"));
      l.address = text_of(option(s, "address"));
      return make_step(s, std::move(l));
    }
    if (k == "template") {
      ir::TemplateStep t;
      t.name = s.tokens[0].text;
      t.name_span = s.tokens[0].span;
      if (const Token* lang = option(s, "lang")) {
        t.language = lang->text;
      }
      for (const Node& child : node.children) {
        const Statement& c = child.statement;
        no_children(child);
        if (c.keyword == "param" && c.tokens[0].kind == TokenKind::Str) {
          t.params.push_back(text_of(&c.tokens[0]));
        } else if (!c.keyword.empty()) {
          misplaced(c, "in a template (use 'param \"{{value}}\"')");
        }
      }
      return make_step(s, std::move(t));
    }
    if (k == "typing") {
      no_children(node);
      return make_step(s, ir::TypingStep{duration(s.tokens[0])});
    }
    if (k == "ask") {
      return lower_ask(node);
    }
    if (k == "ai") {
      const std::string& what = s.tokens[0].text;
      if (what == "reply") {
        return lower_ai_reply(node);
      }
      if (what == "extract") {
        return lower_ai_extract(node);
      }
      return lower_ai_classify(node);
    }
    if (k == "match") {
      return lower_match(node);
    }
    if (k == "set") {
      no_children(node);
      return make_step(s, ir::SetStep{var_ref(s.tokens[0]), s.tokens[1].expr});
    }
    if (k == "goto") {
      no_children(node);
      return make_step(s, ir::GotoStep{s.tokens[0].text, s.tokens[0].span});
    }
    if (k == "call") {
      no_children(node);
      return make_step(s, ir::CallStep{s.tokens[0].text, s.tokens[0].span});
    }
    if (k == "return") {
      no_children(node);
      return make_step(s, ir::ReturnStep{});
    }
    if (k == "end") {
      no_children(node);
      return make_step(s, ir::EndStep{});
    }
    if (k == "stage") {
      no_children(node);
      return make_step(s, ir::StageStep{s.tokens[0].text});
    }
    if (k == "tag" || k == "untag") {
      no_children(node);
      ir::TagStep t;
      t.add = k == "tag";
      for (const Token& tok : s.tokens) {
        t.tags.push_back(tok.text);
      }
      return make_step(s, std::move(t));
    }
    if (k == "http") {
      return lower_http(node);
    }
    if (k == "store") {
      no_children(node);
      ir::StoreStep st;
      std::size_t i = 0;
      if (s.tokens[0].kind == TokenKind::Var) {
        st.var = var_ref(s.tokens[0]);
        i = 1;
      }
      st.collection = s.tokens[i].text;
      st.record = s.tokens[i + 1].expr;
      return make_step(s, std::move(st));
    }
    if (k == "delay") {
      no_children(node);
      return make_step(s, ir::DelayStep{duration(s.tokens[0])});
    }
    if (k == "handoff") {
      no_children(node);
      ir::HandoffStep h;
      for (std::size_t i = 0; i < s.tokens.size(); ++i) {
        if (s.tokens[i].kind == TokenKind::Word) {
          h.queue = s.tokens[++i].text;
        } else {
          h.note = text_of(&s.tokens[i]);
        }
      }
      return make_step(s, std::move(h));
    }
    misplaced(s, "as a step here");
    return std::nullopt;
  }

  ir::Expr number_expr(const Token& t) {
    ir::Expr e;
    e.kind = ir::ExprKind::Number;
    e.text = t.text;
    e.number = t.number;
    if (!t.text.empty() && t.text[0] == '-') {
      e.number = -std::abs(t.number);
    }
    e.span = t.span;
    return e;
  }

  std::optional<Step> lower_say(const Node& node) {
    const Statement& s = node.statement;
    ir::SayStep say;
    say.text = text_of(&s.tokens[0]);
    ir::ListSection* section = nullptr;
    std::set<std::string> seen;
    for (const Node& child : node.children) {
      const Statement& c = child.statement;
      if (c.keyword.empty() || option_child(child, say.options, section)) {
        continue;
      }
      no_children(child);
      if (c.keyword == "header") {
        if (once(seen, c, "header")) {
          say.header = text_of(&c.tokens[0]);
        }
      } else if (c.keyword == "footer") {
        if (once(seen, c, "footer")) {
          say.footer = text_of(&c.tokens[0]);
        }
      } else {
        misplaced(c, "under 'say' (a message takes button, list, section, row, header, footer)");
      }
    }
    return make_step(s, std::move(say));
  }

  std::optional<Step> lower_ask(const Node& node) {
    const Statement& s = node.statement;
    ir::AskStep ask;
    ask.var = var_ref(s.tokens[0]);
    bool type_explicit = false;
    if (const Token* colon = find_token(s, TokenKind::Colon)) {
      type_explicit = true;
      if (auto type = capture_type(*(colon + 1))) {
        ask.type = *type;
      }
    }
    ask.prompt = text_of(find_token(s, TokenKind::Str));
    ir::ListSection* section = nullptr;
    std::set<std::string> seen;
    for (const Node& child : node.children) {
      const Statement& c = child.statement;
      if (c.keyword.empty() || option_child(child, ask.options, section)) {
        continue;
      }
      if (c.keyword == "pattern") {
        no_children(child);
        if (once(seen, c, "pattern")) {
          ask.pattern = c.tokens[0].text;
          ask.pattern_span = c.tokens[0].span;
        }
      } else if (c.keyword == "remind") {
        no_children(child);
        ask.reminders.push_back(lower_reminder(c));
      } else if (c.keyword == "on" && c.tokens[0].text == "invalid") {
        if (once(seen, c, "on invalid")) {
          ask.has_invalid = true;
          ask.invalid_span = c.span;
          if (const Token* retry = option(c, "retry")) {
            ask.retries = integer(*retry);
          }
          ask.reprompt = text_of(find_token(c, TokenKind::Str));
          ask.on_invalid = lower_children(child);
        }
      } else if (c.keyword == "on" && c.tokens[0].text == "timeout") {
        if (once(seen, c, "on timeout")) {
          ask.timeout = duration(c.tokens[1]);
          ask.on_timeout = lower_children(child);
        }
      } else {
        misplaced(c, "under 'ask'");
      }
    }
    if (!type_explicit && !ask.options.empty()) {
      ask.type = ir::CaptureType::Choice;
    }
    return make_step(s, std::move(ask));
  }

  // Reads AI options shared by the three AI steps; returns false when `c` is not one.
  bool ai_option(const Statement& c, ir::AiOptions& ai, std::set<std::string>& seen) {
    const std::string& k = c.keyword;
    if (k == "model") {
      if (once(seen, c, k)) {
        ai.model = c.tokens[0].text;
      }
    } else if (k == "fallback") {
      for (const Token& t : c.tokens) {
        ai.fallbacks.push_back(t.text);
      }
    } else if (k == "system") {
      if (once(seen, c, k)) {
        ai.system = text_of(&c.tokens[0]);
      }
    } else if (k == "prompt") {
      if (once(seen, c, k)) {
        ai.prompt = text_of(&c.tokens[0]);
      }
    } else if (k == "temperature") {
      if (once(seen, c, k)) {
        ai.temperature = c.tokens[0].text[0] == '-' ? -std::abs(c.tokens[0].number)
                                                    : c.tokens[0].number;
        ai.temperature_span = c.tokens[0].span;
      }
    } else if (k == "history") {
      if (once(seen, c, k)) {
        ai.history = signed_integer(c.tokens[0]);
        ai.history_span = c.tokens[0].span;
      }
    } else if (k == "max_tokens") {
      if (once(seen, c, k)) {
        ai.max_tokens = signed_integer(c.tokens[0]);
        ai.max_tokens_span = c.tokens[0].span;
      }
    } else if (k == "buffer") {
      if (once(seen, c, k)) {
        ai.buffer = duration(c.tokens[0]);
      }
    } else if (k == "timeout") {
      if (once(seen, c, k)) {
        ai.timeout = duration(c.tokens[0]);
      }
    } else if (k == "tools") {
      for (const Token& t : c.tokens) {
        ai.tools.push_back(t.text);
        ai.tool_spans.push_back(t.span);
      }
    } else {
      return false;
    }
    return true;
  }

  std::optional<int> signed_integer(const Token& t) {
    std::optional<int> v = integer(t);
    if (v && !t.text.empty() && t.text[0] == '-') {
      *v = -std::abs(*v);
    }
    return v;
  }

  bool on_error(const Node& child, bool& has_error, Block& block, std::set<std::string>& seen) {
    const Statement& c = child.statement;
    if (c.keyword == "on" && c.tokens[0].text == "error") {
      if (once(seen, c, "on error")) {
        has_error = true;
        block = lower_children(child);
      }
      return true;
    }
    return false;
  }

  std::optional<Step> lower_ai_reply(const Node& node) {
    const Statement& s = node.statement;
    ir::AiReplyStep ai;
    if (option(s, "into") != nullptr) {
      ai.into = var_ref(*option(s, "into"));
    }
    std::set<std::string> seen;
    for (const Node& child : node.children) {
      const Statement& c = child.statement;
      if (c.keyword.empty() || on_error(child, ai.has_error, ai.on_error, seen)) {
        continue;
      }
      no_children(child);
      if (!ai_option(c, ai.ai, seen)) {
        misplaced(c, "under 'ai reply'");
      }
    }
    return make_step(s, std::move(ai));
  }

  std::optional<Step> lower_ai_extract(const Node& node) {
    const Statement& s = node.statement;
    ir::AiExtractStep ai;
    ai.var = var_ref(s.tokens[1]);
    std::set<std::string> seen;
    for (const Node& child : node.children) {
      const Statement& c = child.statement;
      if (c.keyword.empty() || on_error(child, ai.has_error, ai.on_error, seen)) {
        continue;
      }
      if (c.keyword == "on" && c.tokens[0].text == "invalid") {
        if (once(seen, c, "on invalid")) {
          ai.has_invalid = true;
          ai.invalid_span = c.span;
          if (const Token* retry = option(c, "retry")) {
            ai.retries = integer(*retry);
          }
          ai.on_invalid = lower_children(child);
        }
        continue;
      }
      no_children(child);
      if (c.keyword == "field") {
        ir::ExtractField field;
        field.name = c.tokens[0].text;
        field.span = c.span;
        if (const Token* colon = find_token(c, TokenKind::Colon)) {
          field.type = capture_type(*(colon + 1));
          if (!field.type) {
            field.type = ir::CaptureType::Text;
          }
        }
        field.description = text_of(find_token(c, TokenKind::Str));
        field.optional = has_word(c, "optional");
        ai.fields.push_back(std::move(field));
      } else if (!ai_option(c, ai.ai, seen)) {
        misplaced(c, "under 'ai extract'");
      }
    }
    return make_step(s, std::move(ai));
  }

  std::optional<Step> lower_ai_classify(const Node& node) {
    const Statement& s = node.statement;
    ir::AiClassifyStep ai;
    ai.var = var_ref(s.tokens[1]);
    if (const Token* from = find_token(s, TokenKind::Expr)) {
      ai.input = from->expr;
    }
    std::set<std::string> seen;
    for (const Node& child : node.children) {
      const Statement& c = child.statement;
      if (c.keyword.empty() || on_error(child, ai.has_error, ai.on_error, seen)) {
        continue;
      }
      if (c.keyword == "intent") {
        ir::Intent intent;
        intent.name = c.tokens[0].text;
        intent.description = text_of(find_token(c, TokenKind::Str));
        intent.span = c.span;
        intent.body = lower_children(child);
        ai.intents.push_back(std::move(intent));
        continue;
      }
      if (c.keyword == "other") {
        if (once(seen, c, "other")) {
          ai.has_other = true;
          ai.other = lower_children(child);
        }
        continue;
      }
      no_children(child);
      if (!ai_option(c, ai.ai, seen)) {
        misplaced(c, "under 'ai classify'");
      }
    }
    return make_step(s, std::move(ai));
  }

  std::optional<Step> lower_match(const Node& node) {
    const Statement& s = node.statement;
    ir::MatchStep m;
    m.subject = s.tokens[0].expr;
    for (const Node& child : node.children) {
      const Statement& c = child.statement;
      if (c.keyword.empty()) {
        continue;
      }
      if (c.keyword == "case") {
        ir::Case kase;
        for (const Token& t : c.tokens) {
          kase.values.push_back(t.expr);
        }
        kase.span = c.span;
        kase.body = lower_children(child);
        require_block(child);
        m.cases.push_back(std::move(kase));
      } else if (c.keyword == "else") {
        if (m.has_else) {
          diags_.report(DiagnosticKind::DuplicateOption, c.keyword_span, "else");
        }
        m.has_else = true;
        m.otherwise = lower_children(child);
        require_block(child);
      } else {
        misplaced(c, "under 'match' (use 'case VALUE' and 'else')");
      }
    }
    return make_step(s, std::move(m));
  }

  std::optional<Step> lower_http(const Node& node) {
    const Statement& s = node.statement;
    ir::HttpStep h;
    std::size_t i = 0;
    if (s.tokens[0].kind == TokenKind::Var) {
      h.var = var_ref(s.tokens[0]);
      i = 1;
    }
    h.method = s.tokens[i].text;
    h.method_span = s.tokens[i].span;
    h.url = text_of(&s.tokens[i + 1]);
    std::set<std::string> seen;
    for (const Node& child : node.children) {
      const Statement& c = child.statement;
      if (c.keyword.empty() || on_error(child, h.has_error, h.on_error, seen)) {
        continue;
      }
      no_children(child);
      if (c.keyword == "header") {
        h.headers.push_back(lower_header(c));
      } else if (c.keyword == "json") {
        if (once(seen, c, "body")) {
          h.json = c.tokens[0].expr;
        }
      } else if (c.keyword == "body") {
        if (once(seen, c, "body")) {
          h.body = text_of(&c.tokens[0]);
        }
      } else if (c.keyword == "timeout") {
        if (once(seen, c, "timeout")) {
          h.timeout = duration(c.tokens[0]);
        }
      } else if (c.keyword == "retries") {
        if (once(seen, c, "retries")) {
          h.retries = signed_integer(c.tokens[0]);
        }
      } else if (c.keyword == "map") {
        h.mappings.push_back(ir::Mapping{c.tokens[0].text, c.tokens[1].text, c.span});
      } else {
        misplaced(c, "under 'http'");
      }
    }
    return make_step(s, std::move(h));
  }
};

}  // namespace

}  // namespace waflow::dsl

namespace waflow {

ir::Module parse_dsl(const SourceManager& sources, FileId file, Diagnostics& diags) {
  const std::vector<dsl::Node> nodes = dsl::parse_layout(sources, file, diags);
  return dsl::Lowerer(file, diags).lower_module(nodes);
}

}  // namespace waflow
