// Variable checks: where each variable is set and read, across the project.
//
// Bare names are flow variables: they live while one flow runs, so a read must be
// set by a step of the same flow (or declared with `var`). contact.x and
// conversation.x outlive the flow: they may be set by any flow of the project
// (or declared, which says the host or an earlier conversation provides them).
// message.x, now and today, and the built-ins of builtins.h are read-only.
//
// "Used before set" (WF0206) is a must-be-set data-flow analysis over the
// control-flow graph (cfg.h), for flow variables only: what another flow, an
// earlier conversation or the host has put into a contact or conversation
// variable cannot be known. A `var` declaration without a value starts the
// variable empty (null), so declared variables are always set.
//
// Placeholders of every text are parsed here, which also reports malformed ones
// (WF0119). Names starting with '_' are exempt from "set but never used".

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "compiler/checks/builtins.h"
#include "compiler/checks/cfg.h"
#include "compiler/checks/control_flow.h"
#include "compiler/checks/passes.h"
#include "compiler/checks/step_values.h"
#include "compiler/dsl/expr_parser.h"
#include "compiler/ir/walk.h"

namespace waflow::checks {

namespace {

using ir::Scope;

bool is_shared(Scope scope) {
  return scope == Scope::Contact || scope == Scope::Conversation;
}

bool is_read_only(const ir::VarRef& var) {
  if (var.scope == Scope::Message || var.scope == Scope::System) {
    return true;
  }
  if (var.scope == Scope::Flow && (var.name == "now" || var.name == "today")) {
    return true;
  }
  return builtins::find_variable(var.scope, var.name) != nullptr;
}

// One expression that reads variables: a step's value, a placeholder, a
// variable's initial value or a tool's request.
struct ExprUse {
  const ir::Expr* expr = nullptr;
  bool in_template = false;
  const ir::Step* step = nullptr;  // Null outside steps.
  const ir::Tool* tool = nullptr;  // Inside a tool's request: its parameters are in scope.
};

struct FlowInfo {
  const ir::Flow* flow = nullptr;
  std::vector<ExprUse> uses;
  // Flow variables: where each is first set by a step, and which are declared.
  std::map<std::string, SourceSpan> writes;
  std::set<std::string> classify_only;  // Set only by ai classify (routing is their use).
  std::map<std::string, const ir::VarDecl*> declared;
  std::set<std::string> reads;
};

struct SharedInfo {
  std::map<std::string, SourceSpan> writes;  // Qualified name to first write.
  std::set<std::string> classify_only;
  std::map<std::string, std::pair<const ir::VarDecl*, const ir::Flow*>> declared;
  std::set<std::string> reads;
};

void collect_reads(const ir::Expr& e, std::vector<const ir::Expr*>& out) {
  if (e.kind == ir::ExprKind::Var) {
    out.push_back(&e);
  }
  for (const ir::Expr& a : e.args) {
    collect_reads(a, out);
  }
}

class VariableChecker {
 public:
  VariableChecker(const ir::Project& project, const ProjectGraph& graph, Diagnostics& diags)
      : project_(project), graph_(graph), diags_(diags) {}

  void run() {
    for (const ir::Module& module : project_.modules) {
      for (const ir::Flow& flow : module.flows) {
        flows_.push_back(FlowInfo{});
        collect(flow, flows_.back());
      }
    }
    // The graph lists the flows in the same order as flows_.
    for (std::size_t f = 0; f < flows_.size(); ++f) {
      FlowInfo& info = flows_[f];
      check_declarations(info);
      check_writes(info);
      check_reads(info);
      check_option_ids(*info.flow);
      check_tools(*info.flow);
      check_used_before_set(info, graph_.flows[f].cfg);
    }
    check_shared_declarations();
    report_unused();
  }

 private:
  const ir::Project& project_;
  const ProjectGraph& graph_;
  Diagnostics& diags_;
  std::deque<FlowInfo> flows_;
  SharedInfo shared_;
  std::deque<ir::Expr> placeholders_;  // Owns the parsed {{...}} expressions.

  // --- Collection --------------------------------------------------------------

  void add_text(FlowInfo& info, const ir::Text& text, const ir::Step* step, const ir::Tool* tool) {
    if (text.value.find("{{") == std::string::npos) {
      return;
    }
    for (dsl::TemplatePart& part : dsl::parse_template(text, diags_)) {
      if (part.is_expr) {
        placeholders_.push_back(std::move(part.expr));
        info.uses.push_back(ExprUse{&placeholders_.back(), true, step, tool});
      }
    }
  }

  void collect(const ir::Flow& flow, FlowInfo& info) {
    info.flow = &flow;
    for (const ir::VarDecl& decl : flow.vars) {
      if (is_read_only(decl.var)) {
        continue;  // Reported by check_declarations.
      }
      if (is_shared(decl.var.scope)) {
        shared_.declared.emplace(decl.var.qualified(), std::make_pair(&decl, &flow));
      } else if (decl.var.scope == Scope::Flow) {
        info.declared.emplace(decl.var.name, &decl);
      }
    }
    for_each_flow_value(
        flow, [&](const ir::Text& t) { add_text(info, t, nullptr, nullptr); },
        [&](const ir::Expr& e) {
          info.uses.push_back(ExprUse{&e, false, nullptr, nullptr});
        });
    for (const ir::Tool& tool : flow.tools) {
      for_each_tool_value(
          tool, [&](const ir::Text& t) { add_text(info, t, nullptr, &tool); },
          [&](const ir::Expr& e) {
            info.uses.push_back(ExprUse{&e, false, nullptr, &tool});
          });
    }
    ir::for_each_step(flow.steps, [&](const ir::Step& step) {
      for_each_step_value(
          step, [&](const ir::Text& t) { add_text(info, t, &step, nullptr); },
          [&](const ir::Expr& e) {
            info.uses.push_back(ExprUse{&e, false, &step, nullptr});
          });
      for (const StepWrite& w : step_writes(step)) {
        record_write(info, w);
      }
    });
    for (const ExprUse& use : info.uses) {
      std::vector<const ir::Expr*> reads;
      collect_reads(*use.expr, reads);
      for (const ir::Expr* r : reads) {
        if (is_shared(r->var.scope)) {
          shared_.reads.insert(r->var.qualified());
        } else if (r->var.scope == Scope::Flow) {
          info.reads.insert(r->var.name);
        }
      }
    }
  }

  void record_write(FlowInfo& info, const StepWrite& w) {
    if (is_read_only(w.var)) {
      return;  // Reported by check_writes.
    }
    const bool classify = w.kind == WriteKind::AiClassify;
    auto note = [&](std::map<std::string, SourceSpan>& writes, std::set<std::string>& only,
                    const std::string& name) {
      const bool first = writes.emplace(name, w.var.span).second;
      if (first && classify) {
        only.insert(name);
      } else if (!classify) {
        only.erase(name);
      }
    };
    if (is_shared(w.var.scope)) {
      note(shared_.writes, shared_.classify_only, w.var.qualified());
    } else if (w.var.scope == Scope::Flow) {
      note(info.writes, info.classify_only, w.var.name);
    }
  }

  // --- Declarations and writes -------------------------------------------------

  void check_scope_in_name(const ir::VarRef& var) {
    // The DSL splits `scope.name` itself; other front ends may hand over a dotted
    // name whose prefix is not a scope.
    const std::size_t dot = var.name.find('.');
    if (dot == std::string::npos) {
      return;
    }
    const std::string scope = var.name.substr(0, dot);
    Diagnostic& d = diags_.report(DiagnosticKind::UnknownScope, var.span, scope);
    suggest(d, scope, {"contact", "conversation", "flow"});
  }

  void check_declarations(const FlowInfo& info) {
    std::map<std::string, const ir::VarDecl*> seen;
    for (const ir::VarDecl& decl : info.flow->vars) {
      check_scope_in_name(decl.var);
      const std::string name = decl.var.qualified();
      if (is_read_only(decl.var)) {
        if (decl.init) {
          report_read_only(decl.var);
        } else {
          Diagnostic& d = diags_.report(DiagnosticKind::DuplicateVariable, decl.var.span, name, "");
          d.notes.push_back(
              Note{true, fmt::format("'{}' is built in; it needs no declaration", name), {}});
        }
        continue;
      }
      auto [it, inserted] = seen.emplace(name, &decl);
      if (!inserted) {
        Diagnostic& d = diags_.report(DiagnosticKind::DuplicateVariable, decl.var.span, name,
                                      type_conflict(*it->second, decl));
        d.notes.push_back(Note{false, "first declared here", it->second->var.span});
      }
    }
  }

  static std::string type_conflict(const ir::VarDecl& a, const ir::VarDecl& b) {
    if (a.type == b.type) {
      return "";
    }
    return fmt::format(" (as {} and as {})", ir::value_type_name(a.type),
                       ir::value_type_name(b.type));
  }

  // contact and conversation variables may be declared by every flow that uses
  // them, as long as the declarations agree on the type.
  void check_shared_declarations() {
    std::map<std::string, const ir::VarDecl*> first;
    for (const FlowInfo& info : flows_) {
      std::set<std::string> in_this_flow;
      for (const ir::VarDecl& decl : info.flow->vars) {
        if (!is_shared(decl.var.scope) || is_read_only(decl.var)) {
          continue;
        }
        const std::string name = decl.var.qualified();
        auto [it, inserted] = first.emplace(name, &decl);
        if (!inserted && in_this_flow.count(name) == 0 && it->second->type != decl.type) {
          Diagnostic& d = diags_.report(DiagnosticKind::DuplicateVariable, decl.var.span, name,
                                        type_conflict(*it->second, decl));
          d.notes.push_back(Note{false, "first declared here", it->second->var.span});
        }
        in_this_flow.insert(name);
      }
    }
  }

  void report_read_only(const ir::VarRef& var) {
    Diagnostic& d = diags_.report(DiagnosticKind::ReadOnlyVariable, var.span, var.qualified());
    d.notes.push_back(
        Note{true,
             "built-in variables are provided by waflow; keep your value in a variable of your own",
             {}});
  }

  void check_writes(const FlowInfo& info) {
    ir::for_each_step(info.flow->steps, [&](const ir::Step& step) {
      for (const StepWrite& w : step_writes(step)) {
        check_scope_in_name(w.var);
        if (is_read_only(w.var)) {
          report_read_only(w.var);
        }
      }
    });
  }

  // --- Reads -------------------------------------------------------------------

  bool is_known(const FlowInfo& info, const ir::VarRef& var, const ir::Tool* tool) const {
    switch (var.scope) {
      case Scope::System:
        return true;
      case Scope::Message:
        return builtins::find_variable(var.scope, var.name) != nullptr;
      case Scope::Contact:
      case Scope::Conversation: {
        const std::string name = var.qualified();
        return builtins::find_variable(var.scope, var.name) != nullptr ||
               shared_.writes.count(name) != 0 || shared_.declared.count(name) != 0;
      }
      case Scope::Flow:
        if (tool != nullptr) {
          for (const ir::ToolParam& p : tool->params) {
            if (p.name == var.name) {
              return true;
            }
          }
        }
        return info.writes.count(var.name) != 0 || info.declared.count(var.name) != 0;
    }
    return false;
  }

  std::vector<std::string> candidates(const FlowInfo& info, const ir::Tool* tool) const {
    std::vector<std::string> out;
    for (const builtins::Variable& v : builtins::variables()) {
      out.push_back(ir::VarRef{v.scope, std::string(v.name), {}}.qualified());
    }
    for (const auto& [name, span] : info.writes) {
      out.push_back(name);
    }
    for (const auto& [name, decl] : info.declared) {
      out.push_back(name);
    }
    for (const auto& [name, span] : shared_.writes) {
      out.push_back(name);
    }
    for (const auto& [name, decl] : shared_.declared) {
      out.push_back(name);
    }
    if (tool != nullptr) {
      for (const ir::ToolParam& p : tool->params) {
        out.push_back(p.name);
      }
    }
    return out;
  }

  // Suggests a known name of the same scope close to var's name, or else the same
  // name in another scope (`language` for `contact.language`). Comparing names
  // within a scope keeps the scope prefix from making unrelated names look close.
  static void suggest_variable(Diagnostic& d, const ir::VarRef& var,
                               const std::vector<std::string>& known) {
    const std::string qualified = var.qualified();
    const std::string prefix = qualified.substr(0, qualified.size() - var.name.size());
    std::vector<std::string> same_scope;
    std::string elsewhere;
    for (const std::string& candidate : known) {
      const std::size_t dot = candidate.find('.');
      const std::string candidate_prefix =
          dot == std::string::npos ? "" : candidate.substr(0, dot + 1);
      const std::string candidate_name = candidate.substr(candidate_prefix.size());
      if (candidate_prefix == prefix) {
        same_scope.push_back(candidate_name);
      } else if (candidate_name == var.name && (elsewhere.empty() || candidate < elsewhere)) {
        elsewhere = candidate;
      }
    }
    const std::string best = closest_match(var.name, same_scope);
    if (!best.empty() && best != var.name) {
      d.notes.push_back(Note{true, fmt::format("did you mean '{}{}'?", prefix, best), {}});
    } else if (!elsewhere.empty()) {
      d.notes.push_back(Note{true, fmt::format("did you mean '{}'?", elsewhere), {}});
    }
  }

  // The flow, other than `info`'s, that sets flow variable `name`, if any.
  const ir::Flow* other_flow_setting(const FlowInfo& info, const std::string& name) const {
    for (const FlowInfo& other : flows_) {
      if (&other != &info && other.writes.count(name) != 0) {
        return other.flow;
      }
    }
    return nullptr;
  }

  void check_reads(const FlowInfo& info) {
    for (const ExprUse& use : info.uses) {
      check_expr(info, use, *use.expr, false);
    }
  }

  void check_expr(const FlowInfo& info, const ExprUse& use, const ir::Expr& e, bool member_base) {
    if (e.kind == ir::ExprKind::Var) {
      check_var(info, use, e.var, member_base);
      return;
    }
    if (e.kind == ir::ExprKind::Call) {
      check_call(e);
    }
    for (std::size_t i = 0; i < e.args.size(); ++i) {
      const bool base = i == 0 && e.kind == ir::ExprKind::Member;
      check_expr(info, use, e.args[i], base);
    }
  }

  void check_var(const FlowInfo& info, const ExprUse& use, const ir::VarRef& var,
                 bool member_base) {
    if (is_known(info, var, use.tool)) {
      return;
    }
    static const std::vector<std::string> kScopes = {"contact", "conversation", "flow", "message"};
    if (member_base && var.scope == Scope::Flow) {
      const std::string scope = closest_match(var.name, kScopes);
      if (!scope.empty()) {
        Diagnostic& d = diags_.report(DiagnosticKind::UnknownScope, var.span, var.name);
        suggest(d, var.name, kScopes);
        return;
      }
    }
    const std::string name = var.qualified();
    Diagnostic& d = diags_.report(use.in_template ? DiagnosticKind::TemplateUnknownVariable
                                                  : DiagnosticKind::UndefinedVariable,
                                  var.span, name);
    suggest_variable(d, var, candidates(info, use.tool));
    if (var.scope == Scope::Flow) {
      if (const ir::Flow* other = other_flow_setting(info, var.name)) {
        d.notes.push_back(Note{
            true,
            fmt::format("'{}' is set in flow '{}', but flow variables belong to one flow; share "
                        "it as conversation.{}",
                        var.name, other->name, var.name),
            {}});
      }
    } else if (is_shared(var.scope) && d.notes.empty()) {
      // Without a likely typo, the variable may come from outside the project.
      d.notes.push_back(Note{
          true,
          fmt::format("if something outside this project sets it, declare it: var {}: TYPE", name),
          {}});
    }
  }

  void check_call(const ir::Expr& call) {
    const SourceSpan name_span{call.span.file, call.span.begin,
                               call.span.begin + static_cast<std::uint32_t>(call.text.size())};
    const builtins::Function* fn = builtins::find_function(call.text);
    if (fn == nullptr) {
      Diagnostic& d = diags_.report(DiagnosticKind::UnknownFunction, name_span, call.text);
      std::vector<std::string> names;
      for (const builtins::Function& f : builtins::functions()) {
        names.emplace_back(f.name);
      }
      suggest(d, call.text, names);
      return;
    }
    if (!builtins::accepts_arity(*fn, call.args.size())) {
      Diagnostic& d = diags_.report(DiagnosticKind::WrongArgumentCount, name_span, call.text,
                                    builtins::arity_text(*fn), call.args.size());
      d.notes.push_back(Note{true, fmt::format("use {}", fn->signature), {}});
    }
  }

  // --- Messages and tools --------------------------------------------------------

  void check_options(const ir::Options& options) {
    std::map<std::string, SourceSpan> ids;
    auto add = [&](const std::string& id, SourceSpan span) {
      auto [it, inserted] = ids.emplace(id, span);
      if (!inserted) {
        Diagnostic& d = diags_.report(DiagnosticKind::DuplicateOptionId, span, id);
        d.notes.push_back(Note{false, "first used here", it->second});
      }
    };
    for (const ir::Button& b : options.buttons) {
      add(b.id, b.span);
    }
    for (const ir::ListSection& s : options.sections) {
      for (const ir::ListRow& r : s.rows) {
        add(r.id, r.span);
      }
    }
  }

  void check_option_ids(const ir::Flow& flow) {
    ir::for_each_step(flow.steps, [&](const ir::Step& step) {
      if (const auto* say = std::get_if<ir::SayStep>(&step.body)) {
        check_options(say->options);
      } else if (const auto* ask = std::get_if<ir::AskStep>(&step.body)) {
        check_options(ask->options);
      }
    });
  }

  void check_tools(const ir::Flow& flow) {
    std::map<std::string, const ir::Tool*> seen;
    for (const ir::Tool& tool : flow.tools) {
      auto [it, inserted] = seen.emplace(tool.name, &tool);
      if (!inserted) {
        Diagnostic& d = diags_.report(DiagnosticKind::DuplicateTool, tool.span, tool.name);
        d.notes.push_back(Note{false, "first declared here", it->second->span});
      }
    }
  }

  // --- Used before set -----------------------------------------------------------

  void check_used_before_set(const FlowInfo& info, const Cfg& cfg) {
    // The variables to track: set by a step, not declared (a declaration sets them).
    std::vector<std::string> names;
    for (const auto& [name, span] : info.writes) {
      if (info.declared.count(name) == 0) {
        names.push_back(name);
      }
    }
    if (names.empty()) {
      return;
    }
    auto index_of = [&](const std::string& name) -> std::size_t {
      auto it = std::lower_bound(names.begin(), names.end(), name);
      return it != names.end() && *it == name ? static_cast<std::size_t>(it - names.begin())
                                              : names.size();
    };
    const std::size_t n = cfg.nodes.size();
    // Sets of variables as bit sets, 64 to a word, one row of `words` per node in a
    // flat array: flows can have thousands of variables and steps.
    const std::size_t words = (names.size() + 63) / 64;
    auto bit = [](std::size_t k) {
      return std::uint64_t{1} << (k % 64);
    };
    // defs: what each node sets on its normal exits.
    std::vector<std::uint64_t> defs(n * words, 0);
    for (std::size_t i = 0; i < n; ++i) {
      if (cfg.nodes[i].step == nullptr) {
        continue;
      }
      for (const StepWrite& w : step_writes(*cfg.nodes[i].step)) {
        if (w.var.scope == Scope::Flow) {
          const std::size_t k = index_of(w.var.name);
          if (k < names.size()) {
            defs[i * words + k / 64] |= bit(k);
          }
        }
      }
    }
    // Incoming edges: (from, whether the edge leaves from's variable set).
    std::vector<std::vector<std::pair<std::size_t, bool>>> incoming(n);
    for (std::size_t from = 0; from < n; ++from) {
      for (const CfgEdge& edge : cfg.nodes[from].successors) {
        const bool sets = edge.kind != EdgeKind::Invalid && edge.kind != EdgeKind::Timeout &&
                          edge.kind != EdgeKind::Error;
        incoming[edge.to].emplace_back(from, sets);
      }
    }
    // in: variables set on every path to each node. Start from "all" everywhere but
    // the entry and narrow until nothing changes (a greatest fixed point, which does
    // not depend on the order nodes are visited in).
    std::vector<std::uint64_t> in(n * words, ~std::uint64_t{0});
    std::fill_n(in.begin() + static_cast<std::ptrdiff_t>(Cfg::kEntry * words), words, 0);
    // The worklist always takes the queued node first in reverse postorder, so a
    // node is visited after its forward predecessors and each change travels down
    // the graph once per loop around it. (Visiting successors depth-first instead
    // re-walked the rest of a long flow for every change: quadratic.)
    const std::vector<std::size_t> order = reverse_postorder(cfg);
    std::vector<std::size_t> rank(n);
    for (std::size_t r = 0; r < n; ++r) {
      rank[order[r]] = r;
    }
    std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> work;
    for (std::size_t r = 0; r < n; ++r) {
      work.push(r);
    }
    std::vector<bool> queued(n, true);
    std::vector<std::uint64_t> meet(words);
    while (!work.empty()) {
      const std::size_t i = order[work.top()];
      work.pop();
      queued[i] = false;
      if (i == Cfg::kEntry || incoming[i].empty()) {
        continue;
      }
      std::fill(meet.begin(), meet.end(), ~std::uint64_t{0});
      for (const auto& [from, sets] : incoming[i]) {
        const std::uint64_t* from_in = &in[from * words];
        const std::uint64_t* from_defs = &defs[from * words];
        for (std::size_t w = 0; w < words; ++w) {
          meet[w] &= from_in[w] | (sets ? from_defs[w] : 0);
        }
      }
      const auto row = in.begin() + static_cast<std::ptrdiff_t>(i * words);
      if (!std::equal(meet.begin(), meet.end(), row)) {
        std::copy(meet.begin(), meet.end(), row);
        for (const CfgEdge& edge : cfg.nodes[i].successors) {
          if (!queued[edge.to]) {
            queued[edge.to] = true;
            work.push(rank[edge.to]);
          }
        }
      }
    }
    for (const ExprUse& use : info.uses) {
      if (use.step == nullptr) {
        continue;
      }
      const std::size_t node = cfg.node_of(use.step);
      if (node == Cfg::kNone) {
        continue;
      }
      std::vector<const ir::Expr*> reads;
      collect_reads(*use.expr, reads);
      for (const ir::Expr* r : reads) {
        if (r->var.scope != Scope::Flow) {
          continue;
        }
        const std::size_t k = index_of(r->var.name);
        if (k < names.size() && (in[node * words + k / 64] & bit(k)) == 0) {
          Diagnostic& d = diags_.report(DiagnosticKind::UsedBeforeSet, r->var.span, r->var.name);
          d.notes.push_back(Note{false, "it is set here, but not on every path to this step",
                                 info.writes.at(r->var.name)});
        }
      }
    }
  }

  // --- Unused --------------------------------------------------------------------

  void report_unused() {
    for (const FlowInfo& info : flows_) {
      for (const auto& [name, decl] : info.declared) {
        if (info.reads.count(name) == 0 && !exempt(name) && !is_read_only(decl->var)) {
          diags_.report(DiagnosticKind::UnusedVariable, decl->var.span, name);
        }
      }
      for (const auto& [name, span] : info.writes) {
        if (info.reads.count(name) == 0 && info.declared.count(name) == 0 && !exempt(name) &&
            info.classify_only.count(name) == 0 &&
            !is_read_only(ir::VarRef{Scope::Flow, name, {}})) {
          diags_.report(DiagnosticKind::UnusedVariable, span, name);
        }
      }
    }
    for (const auto& [name, span] : shared_.writes) {
      const std::size_t dot = name.find('.');
      if (shared_.reads.count(name) == 0 && shared_.declared.count(name) == 0 &&
          shared_.classify_only.count(name) == 0 && !exempt(name.substr(dot + 1))) {
        Diagnostic& d = diags_.report(DiagnosticKind::UnusedVariable, span, name);
        d.notes.push_back(
            Note{true,
                 fmt::format("if people or other systems read it, declare it: var {}: TYPE", name),
                 {}});
      }
    }
  }

  static bool exempt(const std::string& name) { return !name.empty() && name[0] == '_'; }
};

}  // namespace

void check_variables(const ir::Project& project, Diagnostics& diags) {
  check_variables(project, build_project_graph(project), diags);
}

void check_variables(const ir::Project& project, const ProjectGraph& graph, Diagnostics& diags) {
  VariableChecker(project, graph, diags).run();
}

}  // namespace waflow::checks
