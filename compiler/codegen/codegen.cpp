#include "compiler/codegen/codegen.h"

#include <cmath>
#include <cstring>
#include <map>
#include <unordered_map>

#include "compiler/dsl/expr_parser.h"
#include "runtime/bytecode/opcodes.h"

namespace waflow {

namespace {

namespace bc = bytecode;
using bc::EffectKind;
using bc::Op;

constexpr const char* kFunctionNames[] = {
#define WAFLOW_FUNCTION(name, text) text,
#include "runtime/bytecode/functions.def"
#undef WAFLOW_FUNCTION
};

std::uint32_t scope_operand(ir::Scope scope) {
  switch (scope) {
    case ir::Scope::Flow:
      return 0;
    case ir::Scope::Conversation:
      return 1;
    case ir::Scope::Contact:
      return 2;
    case ir::Scope::Message:
      return 3;
    case ir::Scope::System:
      return 4;
  }
  return 0;
}

// A forward jump whose target is not known yet.
struct Patch {
  std::uint32_t operand_at;
};

class Codegen {
 public:
  Codegen(const SourceManager& sources, bc::Bundle& out) : sources_(sources), b_(out) {}

  void project(const ir::Project& project, const std::string& version) {
    b_.compiler_version = str(version);
    // Flow indexes are needed before code exists (calls and triggers).
    for (const ir::Module& m : project.modules) {
      for (const ir::Flow& f : m.flows) {
        flow_index_[f.name] = static_cast<std::uint32_t>(flow_index_.size());
      }
    }
    for (const ir::Module& m : project.modules) {
      const SourceFile& file = sources_.file(m.file);
      b_.sources.push_back(bc::SourceInfo{str(file.path), bc::sha256(file.text)});
      for (const ir::Flow& f : m.flows) {
        flow(m, f);
      }
    }
  }

 private:
  const SourceManager& sources_;
  bc::Bundle& b_;
  std::unordered_map<std::string, std::uint32_t> strings_;
  std::map<std::uint64_t, std::uint32_t> numbers_;
  std::map<std::string, std::uint32_t> flow_index_;
  // Per flow: step id -> pc, and gotos to patch when the flow is done.
  std::map<std::string, std::uint32_t> step_pc_;
  std::vector<std::pair<std::uint32_t, std::string>> gotos_;
  const ir::Flow* flow_ = nullptr;
  std::uint32_t flow_number_ = 0;
  std::string step_id_;

  // --- Tables ----------------------------------------------------------------

  std::uint32_t str(const std::string& s) {
    auto [it, inserted] = strings_.emplace(s, static_cast<std::uint32_t>(b_.strings.size()));
    if (inserted) {
      b_.strings.push_back(s);
    }
    return it->second;
  }

  std::uint32_t num(double v) {
    std::uint64_t bits = 0;
    static_assert(sizeof(bits) == sizeof(v));
    std::memcpy(&bits, &v, sizeof(v));
    auto [it, inserted] = numbers_.emplace(bits, static_cast<std::uint32_t>(b_.numbers.size()));
    if (inserted) {
      b_.numbers.push_back(v);
    }
    return it->second;
  }

  std::uint32_t pc() const { return static_cast<std::uint32_t>(b_.code.size()); }

  void put_u32(std::uint32_t v) {
    for (unsigned i = 0; i < 4; ++i) {
      b_.code.push_back(static_cast<std::uint8_t>((v >> (8U * i)) & 0xFFU));
    }
  }

  void set_u32(std::uint32_t at, std::uint32_t v) {
    for (unsigned i = 0; i < 4; ++i) {
      b_.code[at + i] = static_cast<std::uint8_t>((v >> (8U * i)) & 0xFFU);
    }
  }

  void op(Op o) { b_.code.push_back(static_cast<std::uint8_t>(o)); }
  void op(Op o, std::uint32_t a) {
    op(o);
    put_u32(a);
  }
  void op(Op o, std::uint32_t a, std::uint32_t b) {
    op(o);
    put_u32(a);
    put_u32(b);
  }
  // Emits a jump-like instruction with an unknown target.
  Patch jump(Op o) {
    op(o);
    const Patch p{pc()};
    put_u32(0);
    return p;
  }
  void land(Patch p) { set_u32(p.operand_at, pc()); }
  void land(Patch p, std::uint32_t target) { set_u32(p.operand_at, target); }

  void debug(SourceSpan span) {
    if (!span.valid()) {
      return;
    }
    const SourceLocation at = sources_.begin_of(span);
    const std::uint32_t file = str(sources_.file(span.file).path);
    if (!b_.debug.empty() && b_.debug.back().pc == pc()) {
      b_.debug.back() = bc::DebugEntry{pc(), file, at.line, at.column};
      return;
    }
    b_.debug.push_back(bc::DebugEntry{pc(), file, at.line, at.column});
  }

  void push_str(const std::string& s) { op(Op::PushStr, str(s)); }
  void load_hidden(const std::string& name) { op(Op::Load, 0, str(name)); }
  void store_hidden(const std::string& name) { op(Op::Store, 0, str(name)); }

  // --- Flows -------------------------------------------------------------------

  void flow(const ir::Module& m, const ir::Flow& f) {
    flow_ = &f;
    flow_number_ = static_cast<std::uint32_t>(b_.flows.size());
    step_pc_.clear();
    gotos_.clear();
    bc::FlowInfo info;
    info.name = str(f.name);
    info.title = f.title.empty() ? bc::kNone : str(f.title.value);
    info.timezone = m.timezone.empty() ? bc::kNone : str(m.timezone);
    info.priority = f.priority.value_or(0);
    for (const ir::HoursRange& h : m.hours) {
      bc::HoursRange r;
      for (int d : h.days) {
        r.days = static_cast<std::uint8_t>(r.days | (1U << static_cast<unsigned>(d)));
      }
      r.open = static_cast<std::uint16_t>(h.open);
      r.close = static_cast<std::uint16_t>(h.close);
      if (r.days != 0 && r.open < r.close) {
        info.hours.push_back(r);
      }
    }
    info.code_begin = pc();
    debug(f.span);
    for (const ir::VarDecl& v : f.vars) {
      if (v.init) {
        // Contact and conversation values keep what an earlier run stored.
        Patch keep{};
        const bool persistent = v.var.scope != ir::Scope::Flow;
        if (persistent) {
          op(Op::Load, scope_operand(v.var.scope), str(v.var.name));
          op(Op::PushNull);
          op(Op::Ne);
          keep = jump(Op::JumpIfTrue);
        }
        expr(*v.init);
        op(Op::Store, scope_operand(v.var.scope), str(v.var.name));
        if (persistent) {
          land(keep);
        }
      }
    }
    block(f.steps);
    op(Op::Return);
    for (const auto& [at, target] : gotos_) {
      auto it = step_pc_.find(target);
      set_u32(at, it != step_pc_.end() ? it->second : info.code_begin);
    }
    info.code_end = pc();
    b_.flows.push_back(std::move(info));
    for (const ir::Trigger& t : f.triggers) {
      bc::TriggerInfo ti;
      ti.kind = static_cast<bc::TriggerKind>(t.kind);
      ti.flow = flow_number_;
      ti.priority = t.priority.value_or(f.priority.value_or(0));
      ti.timezone = t.timezone.empty() ? bc::kNone : str(t.timezone);
      for (const std::string& v : t.values) {
        ti.values.push_back(str(v));
      }
      b_.triggers.push_back(std::move(ti));
    }
  }

  void block(const ir::Block& steps) {
    for (const ir::Step& s : steps) {
      step(s);
    }
  }

  void step(const ir::Step& s) {
    const std::string saved = step_id_;
    step_id_ = s.id;
    step_pc_[s.id] = pc();
    debug(s.span);
    const auto index = static_cast<std::uint32_t>(b_.steps.size());
    b_.steps.push_back(bc::StepInfo{str(s.id), str(ir::step_keyword(s.body)), flow_number_, pc()});
    op(Op::Step, index);
    std::visit([&](const auto& body) { gen(body); }, s.body);
    step_id_ = saved;
  }

  // --- Expressions and texts -----------------------------------------------------

  void expr(const ir::Expr& e) {
    switch (e.kind) {
      case ir::ExprKind::Null:
        op(Op::PushNull);
        return;
      case ir::ExprKind::Bool:
        op(e.text == "true" ? Op::PushTrue : Op::PushFalse);
        return;
      case ir::ExprKind::Number:
        op(Op::PushNum, num(e.number));
        return;
      case ir::ExprKind::Duration:
        op(Op::PushDuration, num(e.number));
        return;
      case ir::ExprKind::String:
        text_literal(e.text);
        return;
      case ir::ExprKind::Var:
        op(Op::Load, scope_operand(e.var.scope), str(e.var.name));
        return;
      case ir::ExprKind::Member:
        expr(e.args[0]);
        op(Op::GetField, str(e.text));
        return;
      case ir::ExprKind::Index:
        expr(e.args[0]);
        expr(e.args[1]);
        op(Op::GetIndex);
        return;
      case ir::ExprKind::Unary:
        expr(e.args[0]);
        op(e.text == "not" ? Op::Not : Op::Neg);
        return;
      case ir::ExprKind::Binary:
        binary(e);
        return;
      case ir::ExprKind::Call: {
        for (const ir::Expr& a : e.args) {
          expr(a);
        }
        std::uint32_t fn = 0;
        for (std::uint32_t i = 0; i < std::size(kFunctionNames); ++i) {
          if (e.text == kFunctionNames[i]) {
            fn = i;
          }
        }
        op(Op::Call, fn, static_cast<std::uint32_t>(e.args.size()));
        return;
      }
      case ir::ExprKind::List:
        for (const ir::Expr& a : e.args) {
          expr(a);
        }
        op(Op::MakeList, static_cast<std::uint32_t>(e.args.size()));
        return;
      case ir::ExprKind::Object:
        for (std::size_t i = 0; i < e.args.size(); ++i) {
          push_str(e.keys[i]);
          expr(e.args[i]);
        }
        op(Op::MakeObject, static_cast<std::uint32_t>(e.args.size()));
        return;
    }
  }

  void binary(const ir::Expr& e) {
    const std::string& o = e.text;
    if (o == "and" || o == "or") {
      // Short-circuit: the result is the deciding operand.
      expr(e.args[0]);
      op(Op::Dup);
      const Patch skip = jump(o == "and" ? Op::JumpIfFalse : Op::JumpIfTrue);
      op(Op::Pop);
      expr(e.args[1]);
      land(skip);
      return;
    }
    expr(e.args[0]);
    expr(e.args[1]);
    static const std::map<std::string, Op> kOps = {
        {"+", Op::Add},          {"-", Op::Sub}, {"*", Op::Mul}, {"/", Op::Div},
        {"%", Op::Mod},          {"==", Op::Eq}, {"!=", Op::Ne}, {"<", Op::Lt},
        {"<=", Op::Le},          {">", Op::Gt},  {">=", Op::Ge}, {"contains", Op::Contains},
        {"matches", Op::Matches}};
    op(kOps.at(o));
  }

  // A string literal in an expression: template escapes become plain braces.
  void text_literal(const std::string& value) {
    ir::Text t{value, {}};
    Diagnostics ignored;
    const auto parts = dsl::parse_template(t, ignored);
    std::string plain;
    for (const dsl::TemplatePart& p : parts) {
      plain += p.literal;
    }
    push_str(plain);
  }

  // Pushes the rendered text. Localisable texts get a stable line id.
  void text(const ir::Text& t, const std::string& field) {
    Diagnostics ignored;
    const auto parts = dsl::parse_template(t, ignored);
    std::uint32_t holes = 0;
    std::string plain;
    for (const dsl::TemplatePart& p : parts) {
      if (p.is_expr) {
        expr(p.expr);
        ++holes;
      } else {
        plain += p.literal;
      }
    }
    if (!field.empty()) {
      b_.lines.push_back(
          bc::LineInfo{str(flow_->name + "." + step_id_ + "." + field), str(t.value)});
    }
    if (holes == 0) {
      push_str(plain);
    } else {
      op(Op::Format, str(t.value), holes);
    }
  }

  // Object building: key then value, counted, then MakeObject.
  struct ObjectBuilder {
    Codegen& g;
    std::uint32_t count = 0;
    void key(const std::string& k) {
      g.push_str(k);
      ++count;
    }
    void str(const std::string& k, const std::string& v) {
      key(k);
      g.push_str(v);
    }
    void number(const std::string& k, double v) {
      key(k);
      g.op(Op::PushNum, g.num(v));
    }
    void text(const std::string& k, const ir::Text& t, const std::string& field) {
      key(k);
      g.text(t, field);
    }
    void done() { g.op(Op::MakeObject, count); }
  };

  // --- Messages ------------------------------------------------------------------

  // Pushes the options of a message; `lines` registers their texts as
  // localisable lines (once per message, not again for validation).
  void options(ObjectBuilder& o, const ir::Options& opts, bool lines = true) {
    auto field = [&](const std::string& name) {
      return lines ? name : std::string();
    };
    if (!opts.buttons.empty()) {
      o.key("buttons");
      for (const ir::Button& btn : opts.buttons) {
        ObjectBuilder item{*this};
        item.str("id", btn.id);
        item.text("title", btn.title, field("button." + btn.id));
        item.done();
      }
      op(Op::MakeList, static_cast<std::uint32_t>(opts.buttons.size()));
    }
    if (opts.has_list()) {
      o.text("button", opts.list_button, field("list"));
      o.key("sections");
      for (std::size_t i = 0; i < opts.sections.size(); ++i) {
        const ir::ListSection& sec = opts.sections[i];
        ObjectBuilder section{*this};
        section.text("title", sec.title, field("section." + std::to_string(i + 1)));
        section.key("rows");
        for (const ir::ListRow& row : sec.rows) {
          ObjectBuilder r{*this};
          r.str("id", row.id);
          r.text("title", row.title, field("row." + row.id));
          r.text("description", row.description, field("row." + row.id + ".description"));
          r.done();
        }
        op(Op::MakeList, static_cast<std::uint32_t>(sec.rows.size()));
        section.done();
      }
      op(Op::MakeList, static_cast<std::uint32_t>(opts.sections.size()));
    }
  }

  static const char* message_type(const ir::Options& opts) {
    if (!opts.buttons.empty()) {
      return "buttons";
    }
    return opts.has_list() ? "list" : "text";
  }

  void message(const ir::Text& body, const ir::Text& header, const ir::Text& footer,
               const ir::Options& opts, const std::string& field) {
    ObjectBuilder o{*this};
    o.str("type", message_type(opts));
    o.text("text", body, field);
    if (!header.empty()) {
      o.text("header", header, "header");
    }
    if (!footer.empty()) {
      o.text("footer", footer, "footer");
    }
    options(o, opts);
    o.done();
  }

  void emit(EffectKind kind) { op(Op::Emit, static_cast<std::uint32_t>(kind)); }
  void await(EffectKind kind) { op(Op::Await, static_cast<std::uint32_t>(kind)); }

  void send_text(const ir::Text& t, const std::string& field) {
    ObjectBuilder o{*this};
    o.str("type", "text");
    o.text("text", t, field);
    o.done();
    emit(EffectKind::Send);
  }

  void gen(const ir::SayStep& s) {
    message(s.text, s.header, s.footer, s.options, "text");
    emit(EffectKind::Send);
  }

  void gen(const ir::MediaStep& s) {
    ObjectBuilder o{*this};
    o.str("type", ir::media_kind_name(s.kind));
    o.text("url", s.source, "");
    if (!s.caption.empty()) {
      o.text("caption", s.caption, "caption");
    }
    if (!s.filename.empty()) {
      o.text("filename", s.filename, "");
    }
    if (!s.mime.empty()) {
      o.str("mime", s.mime);
    }
    o.done();
    emit(EffectKind::Send);
  }

  void gen(const ir::LocationStep& s) {
    ObjectBuilder o{*this};
    o.str("type", "location");
    o.key("latitude");
    expr(s.latitude);
    o.key("longitude");
    expr(s.longitude);
    if (!s.name.empty()) {
      o.text("name", s.name, "name");
    }
    if (!s.address.empty()) {
      o.text("address", s.address, "address");
    }
    o.done();
    emit(EffectKind::Send);
  }

  void gen(const ir::TemplateStep& s) {
    ObjectBuilder o{*this};
    o.str("type", "template");
    o.str("name", s.name);
    o.str("language", s.language);
    o.key("params");
    for (std::size_t i = 0; i < s.params.size(); ++i) {
      text(s.params[i], "");
    }
    op(Op::MakeList, static_cast<std::uint32_t>(s.params.size()));
    o.done();
    emit(EffectKind::Send);
  }

  void gen(const ir::TypingStep& s) {
    ObjectBuilder o{*this};
    o.number("ms", static_cast<double>(s.duration.ms));
    o.done();
    emit(EffectKind::Typing);
  }

  // --- Waiting for the user -------------------------------------------------------

  // Pushes {timeout_ms, reminders} for a wait.
  void wait_payload(const std::optional<ir::Duration>& timeout,
                    const std::vector<ir::Reminder>& reminders) {
    ObjectBuilder o{*this};
    if (timeout) {
      o.number("timeout_ms", static_cast<double>(timeout->ms));
    }
    std::vector<const ir::Reminder*> all;
    for (const ir::Reminder& r : reminders) {
      all.push_back(&r);
    }
    for (const ir::Reminder& r : flow_->reminders) {
      all.push_back(&r);
    }
    if (!all.empty()) {
      o.key("reminders");
      for (std::size_t i = 0; i < all.size(); ++i) {
        ObjectBuilder r{*this};
        r.number("after_ms", static_cast<double>(all[i]->after.ms));
        r.text("text", all[i]->text, "remind." + std::to_string(i + 1));
        r.done();
      }
      op(Op::MakeList, static_cast<std::uint32_t>(all.size()));
    }
    o.done();
  }

  // Counts a failed attempt in `counter`; jumps to the returned patch when more
  // than `limit` attempts failed.
  Patch count_failure(const std::string& counter, int limit) {
    load_hidden(counter);
    op(Op::PushNum, num(1));
    op(Op::Add);
    op(Op::Dup);
    store_hidden(counter);
    op(Op::PushNum, num(limit));
    op(Op::Gt);
    return jump(Op::JumpIfTrue);
  }

  void gen(const ir::AskStep& s) {
    const std::string counter = "@tries." + step_id_;
    op(Op::PushNum, num(0));
    store_hidden(counter);
    // The prompt is rendered again when it is re-sent, and the validation spec
    // is rebuilt after each reply, so a waiting run keeps neither in its state.
    const std::uint32_t send = pc();
    {
      ObjectBuilder o{*this};
      o.str("type", message_type(s.options));
      o.text("text", s.prompt, "prompt");
      options(o, s.options);
      o.done();
    }
    emit(EffectKind::Send);
    const std::uint32_t wait_at = pc();
    wait_payload(s.timeout, s.reminders);
    const Patch timed_out = jump(Op::Wait);
    if (s.options.empty() && s.pattern.empty()) {
      op(Op::PushNull);
    } else {
      ObjectBuilder spec{*this};
      options(spec, s.options, false);
      if (!s.pattern.empty()) {
        spec.str("pattern", s.pattern);
      }
      spec.done();
    }
    op(Op::Validate, static_cast<std::uint32_t>(s.type));
    const Patch invalid = jump(Op::JumpIfFalse);
    op(Op::Store, scope_operand(s.var.scope), str(s.var.name));
    const Patch done = jump(Op::Jump);
    land(invalid);
    op(Op::Pop);
    if (s.retries) {
      const Patch exhausted = count_failure(counter, *s.retries);
      reprompt(s, send, wait_at);
      land(exhausted);
      if (s.has_invalid && !s.on_invalid.empty()) {
        block(s.on_invalid);
      }
    } else {
      reprompt(s, send, wait_at);
    }
    const Patch after_invalid = jump(Op::Jump);
    land(timed_out);
    if (s.timeout) {
      block(s.on_timeout);
    } else {
      // Without a timeout the host never fires one; end cleanly if it does.
      op(Op::End);
    }
    land(done);
    land(after_invalid);
    forget(counter);
  }

  // Hidden variables are dropped once their step is done, to keep state small.
  void forget(const std::string& name) {
    op(Op::PushNull);
    store_hidden(name);
  }

  void reprompt(const ir::AskStep& s, std::uint32_t send, std::uint32_t wait_at) {
    if (!s.reprompt.empty()) {
      send_text(s.reprompt, "reprompt");
      const Patch back = jump(Op::Jump);
      land(back, wait_at);
    } else {
      const Patch back = jump(Op::Jump);
      land(back, send);
    }
  }

  // --- AI --------------------------------------------------------------------------

  void ai_payload(ObjectBuilder& o, const ir::AiOptions& ai) {
    if (!ai.model.empty()) {
      o.str("model", ai.model);
    }
    if (!ai.fallbacks.empty()) {
      o.key("fallbacks");
      for (const std::string& f : ai.fallbacks) {
        push_str(f);
      }
      op(Op::MakeList, static_cast<std::uint32_t>(ai.fallbacks.size()));
    }
    if (!ai.system.empty()) {
      o.text("system", ai.system, "system");
    }
    if (!ai.prompt.empty()) {
      o.text("prompt", ai.prompt, "prompt");
    }
    if (ai.temperature) {
      o.number("temperature", *ai.temperature);
    }
    if (ai.history) {
      o.number("history", *ai.history);
    }
    if (ai.max_tokens) {
      o.number("max_tokens", *ai.max_tokens);
    }
    if (ai.buffer) {
      o.number("buffer_ms", static_cast<double>(ai.buffer->ms));
    }
    if (ai.timeout) {
      o.number("timeout_ms", static_cast<double>(ai.timeout->ms));
    }
    if (!ai.tools.empty()) {
      o.key("tools");
      for (const std::string& name : ai.tools) {
        tool(name);
      }
      op(Op::MakeList, static_cast<std::uint32_t>(ai.tools.size()));
    }
  }

  // A tool's declaration, for the host to offer to the model and execute. Its
  // URL, headers and body stay templates over the tool's parameters.
  void tool(const std::string& name) {
    const ir::Tool* found = nullptr;
    for (const ir::Tool& t : flow_->tools) {
      if (t.name == name) {
        found = &t;
      }
    }
    ObjectBuilder o{*this};
    o.str("name", name);
    if (found != nullptr) {
      o.str("description", found->description.value);
      o.str("method", found->method);
      o.str("url", found->url.value);
      o.key("params");
      for (const ir::ToolParam& p : found->params) {
        ObjectBuilder po{*this};
        po.str("name", p.name);
        po.str("type", ir::capture_type_name(p.type));
        po.str("description", p.description.value);
        po.key("optional");
        op(p.optional ? Op::PushTrue : Op::PushFalse);
        po.done();
      }
      op(Op::MakeList, static_cast<std::uint32_t>(found->params.size()));
      if (!found->headers.empty()) {
        o.key("headers");
        for (const ir::Header& h : found->headers) {
          push_str(h.name);
          push_str(h.value.value);
        }
        op(Op::MakeObject, static_cast<std::uint32_t>(found->headers.size()));
      }
      if (found->json) {
        o.str("json", dsl::print_expression(*found->json));
      }
      if (found->timeout) {
        o.number("timeout_ms", static_cast<double>(found->timeout->ms));
      }
    }
    o.done();
  }

  // After an await: the answer is on the stack. Leaves it there when ok; else
  // runs the error block (or fails the run) and continues after the step.
  Patch check_ok(bool has_error, const ir::Block& on_error, const std::string& what) {
    op(Op::Dup);
    op(Op::GetField, str("ok"));
    const Patch ok = jump(Op::JumpIfTrue);
    op(Op::Pop);
    if (has_error) {
      block(on_error);
    } else {
      op(Op::Fail, str(what));
    }
    const Patch after = jump(Op::Jump);
    land(ok);
    return after;
  }

  void gen(const ir::AiReplyStep& s) {
    ObjectBuilder o{*this};
    ai_payload(o, s.ai);
    o.done();
    await(EffectKind::AiReply);
    const Patch after = check_ok(s.has_error, s.on_error, "the AI model did not answer");
    op(Op::GetField, str("text"));
    if (s.into) {
      op(Op::Store, scope_operand(s.into->scope), str(s.into->name));
    } else {
      store_hidden("@answer");
      ObjectBuilder m{*this};
      m.str("type", "text");
      m.key("text");
      load_hidden("@answer");
      m.done();
      emit(EffectKind::Send);
      forget("@answer");
    }
    land(after);
  }

  void gen(const ir::AiExtractStep& s) {
    const std::string counter = "@tries." + step_id_;
    const std::string answer = "@ai." + step_id_;
    op(Op::PushNum, num(0));
    store_hidden(counter);
    const std::uint32_t again = pc();
    {
      ObjectBuilder o{*this};
      ai_payload(o, s.ai);
      o.key("fields");
      for (const ir::ExtractField& f : s.fields) {
        ObjectBuilder fo{*this};
        fo.str("name", f.name);
        fo.str("type", f.type ? ir::capture_type_name(*f.type) : "text");
        fo.str("description", f.description.value);
        fo.key("optional");
        op(f.optional ? Op::PushTrue : Op::PushFalse);
        fo.done();
      }
      op(Op::MakeList, static_cast<std::uint32_t>(s.fields.size()));
      o.done();
    }
    await(EffectKind::AiExtract);
    const Patch after_error = check_ok(s.has_error, s.on_error, "the AI model did not answer");
    store_hidden(answer);
    load_hidden(answer);
    op(Op::GetField, str("complete"));
    const Patch incomplete = jump(Op::JumpIfFalse);
    load_hidden(answer);
    op(Op::GetField, str("value"));
    op(Op::Store, scope_operand(s.var.scope), str(s.var.name));
    const Patch done = jump(Op::Jump);
    land(incomplete);
    Patch exhausted{};
    if (s.retries) {
      exhausted = count_failure(counter, *s.retries);
    }
    // Ask the model's follow-up question and wait for the answer.
    {
      ObjectBuilder m{*this};
      m.str("type", "text");
      m.key("text");
      load_hidden(answer);
      op(Op::GetField, str("question"));
      m.done();
    }
    emit(EffectKind::Send);
    wait_payload(std::nullopt, {});
    const Patch timed_out = jump(Op::Wait);
    op(Op::Pop);
    land(jump(Op::Jump), again);
    land(timed_out);
    op(Op::End);
    if (s.retries) {
      land(exhausted);
      block(s.on_invalid);
    }
    land(done);
    land(after_error);
    forget(answer);
    forget(counter);
  }

  void gen(const ir::AiClassifyStep& s) {
    {
      ObjectBuilder o{*this};
      ai_payload(o, s.ai);
      o.key("input");
      if (s.input) {
        expr(*s.input);
      } else {
        op(Op::Load, scope_operand(ir::Scope::Message), str("text"));
      }
      o.key("intents");
      for (const ir::Intent& i : s.intents) {
        ObjectBuilder io{*this};
        io.str("name", i.name);
        io.str("description", i.description.value);
        io.done();
      }
      op(Op::MakeList, static_cast<std::uint32_t>(s.intents.size()));
      o.done();
    }
    await(EffectKind::AiClassify);
    const Patch after_error = check_ok(s.has_error, s.on_error, "the AI model did not answer");
    op(Op::GetField, str("intent"));
    op(Op::Store, scope_operand(s.var.scope), str(s.var.name));
    std::vector<Patch> ends;
    std::vector<Patch> bodies;
    for (const ir::Intent& i : s.intents) {
      op(Op::Load, scope_operand(s.var.scope), str(s.var.name));
      push_str(i.name);
      op(Op::Eq);
      bodies.push_back(jump(Op::JumpIfTrue));
    }
    block(s.other);
    ends.push_back(jump(Op::Jump));
    for (std::size_t k = 0; k < s.intents.size(); ++k) {
      land(bodies[k]);
      block(s.intents[k].body);
      ends.push_back(jump(Op::Jump));
    }
    for (Patch p : ends) {
      land(p);
    }
    land(after_error);
  }

  // --- Logic --------------------------------------------------------------------

  void gen(const ir::IfStep& s) {
    std::vector<Patch> ends;
    for (const ir::Branch& br : s.branches) {
      debug(br.span);
      expr(br.condition);
      const Patch next = jump(Op::JumpIfFalse);
      block(br.body);
      ends.push_back(jump(Op::Jump));
      land(next);
    }
    block(s.otherwise);
    for (Patch p : ends) {
      land(p);
    }
  }

  void gen(const ir::MatchStep& s) {
    const std::string subject = "@match." + step_id_;
    expr(s.subject);
    store_hidden(subject);
    std::vector<Patch> bodies;
    for (const ir::Case& c : s.cases) {
      std::vector<Patch> hits;
      for (const ir::Expr& v : c.values) {
        load_hidden(subject);
        expr(v);
        op(Op::Eq);
        hits.push_back(jump(Op::JumpIfTrue));
      }
      bodies.insert(bodies.end(), hits.begin(), hits.end());
      bodies.push_back(Patch{kNoCase});
    }
    std::vector<Patch> ends;
    block(s.otherwise);
    ends.push_back(jump(Op::Jump));
    std::size_t k = 0;
    for (const ir::Case& c : s.cases) {
      for (; bodies[k].operand_at != kNoCase; ++k) {
        land(bodies[k]);
      }
      ++k;
      debug(c.span);
      block(c.body);
      ends.push_back(jump(Op::Jump));
    }
    for (Patch p : ends) {
      land(p);
    }
    forget(subject);
  }
  static constexpr std::uint32_t kNoCase = 0xFFFFFFFFU;

  void gen(const ir::SetStep& s) {
    expr(s.value);
    op(Op::Store, scope_operand(s.var.scope), str(s.var.name));
  }

  void gen(const ir::GotoStep& s) {
    op(Op::Jump);
    gotos_.emplace_back(pc(), s.target);
    put_u32(0);
  }

  void gen(const ir::CallStep& s) {
    auto it = flow_index_.find(s.flow);
    op(Op::CallFlow, it != flow_index_.end() ? it->second : 0);
  }

  void gen(const ir::ReturnStep& /*s*/) { op(Op::Return); }
  void gen(const ir::EndStep& /*s*/) { op(Op::End); }

  void gen(const ir::StageStep& s) {
    ObjectBuilder o{*this};
    o.str("name", s.name);
    o.done();
    emit(EffectKind::Stage);
  }

  void gen(const ir::TagStep& s) {
    ObjectBuilder o{*this};
    o.key("tags");
    for (const std::string& t : s.tags) {
      push_str(t);
    }
    op(Op::MakeList, static_cast<std::uint32_t>(s.tags.size()));
    o.done();
    emit(s.add ? EffectKind::Tag : EffectKind::Untag);
  }

  // --- Integration ------------------------------------------------------------

  void gen(const ir::HttpStep& s) {
    {
      ObjectBuilder o{*this};
      o.str("method", s.method);
      o.text("url", s.url, "");
      if (!s.headers.empty()) {
        o.key("headers");
        for (const ir::Header& h : s.headers) {
          push_str(h.name);
          text(h.value, "");
        }
        op(Op::MakeObject, static_cast<std::uint32_t>(s.headers.size()));
      }
      if (s.json) {
        o.key("json");
        expr(*s.json);
      } else if (!s.body.empty()) {
        o.text("body", s.body, "");
      }
      if (s.timeout) {
        o.number("timeout_ms", static_cast<double>(s.timeout->ms));
      }
      if (s.retries) {
        o.number("retries", *s.retries);
      }
      o.done();
    }
    await(EffectKind::Http);
    const Patch after = check_ok(s.has_error, s.on_error, "the HTTP request failed");
    const std::string response = "@http." + step_id_;
    store_hidden(response);
    if (s.var) {
      ObjectBuilder o{*this};
      o.key("status");
      load_hidden(response);
      op(Op::GetField, str("status"));
      for (const ir::Mapping& m : s.mappings) {
        o.key(m.name);
        load_hidden(response);
        op(Op::GetField, str("body"));
        op(Op::JsonPath, str(m.path));
      }
      o.done();
      op(Op::Store, scope_operand(s.var->scope), str(s.var->name));
    } else {
      for (const ir::Mapping& m : s.mappings) {
        load_hidden(response);
        op(Op::GetField, str("body"));
        op(Op::JsonPath, str(m.path));
        op(Op::Store, 0, str(m.name));
      }
    }
    forget(response);
    land(after);
  }

  void gen(const ir::StoreStep& s) {
    ObjectBuilder o{*this};
    o.str("collection", s.collection);
    o.key("record");
    expr(s.record);
    o.done();
    await(EffectKind::StoreRecord);
    const Patch after = check_ok(false, {}, "storing the record failed");
    if (s.var) {
      op(Op::Store, scope_operand(s.var->scope), str(s.var->name));
    } else {
      op(Op::Pop);
    }
    land(after);
  }

  void gen(const ir::DelayStep& s) {
    ObjectBuilder o{*this};
    o.number("ms", static_cast<double>(s.duration.ms));
    o.done();
    await(EffectKind::Delay);
    op(Op::Pop);
  }

  void gen(const ir::HandoffStep& s) {
    ObjectBuilder o{*this};
    if (!s.note.empty()) {
      o.text("note", s.note, "note");
    }
    if (!s.queue.empty()) {
      o.str("queue", s.queue);
    }
    o.done();
    await(EffectKind::Handoff);
    op(Op::Pop);
  }
};

}  // namespace

bytecode::Bundle generate_bundle(const ir::Project& project, const SourceManager& sources,
                                 const std::string& compiler_version) {
  bytecode::Bundle bundle;
  Codegen(sources, bundle).project(project, compiler_version);
  return bundle;
}

}  // namespace waflow
