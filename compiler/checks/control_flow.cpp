// Control-flow checks: unreachable steps (WF0401), dead ends after options
// (WF0402), loops that never wait (WF0403), waits without a timeout (WF0404),
// re-asks without a retry limit (WF0405, WF0406), flows nothing starts (WF0408),
// `return` where nobody calls (WF0410) and empty branches (WF0411). Triggers and
// the 24-hour window live in triggers.cpp and window.cpp.
//
// Every check reads the control-flow graph of cfg.h. "Waiting" means an edge that
// waits for the user or the clock, an ai extract (it may re-ask), a handoff (the
// bot is paused until someone resumes it) or a call to a flow that always waits
// before it returns. Choices that trade completeness for fewer false alarms are
// noted where they are made.

#include "compiler/checks/control_flow.h"

#include <algorithm>
#include <set>

#include "compiler/checks/passes.h"
#include "compiler/ir/walk.h"

namespace waflow::checks {

namespace {

using Adjacency = std::vector<std::vector<std::size_t>>;

bool is_end(const ir::Step* step) {
  return step != nullptr && std::holds_alternative<ir::EndStep>(step->body);
}

// Strongly connected components (iterative Tarjan); returns a component id per node.
std::vector<std::size_t> components(const Adjacency& adj) {
  const std::size_t n = adj.size();
  constexpr std::size_t kUnseen = Cfg::kNone;
  std::vector<std::size_t> index(n, kUnseen);
  std::vector<std::size_t> low(n, 0);
  std::vector<std::size_t> comp(n, kUnseen);
  std::vector<bool> on_stack(n, false);
  std::vector<std::size_t> stack;
  std::vector<std::pair<std::size_t, std::size_t>> frames;  // Node, next successor.
  std::size_t counter = 0;
  std::size_t count = 0;
  auto open = [&](std::size_t v) {
    index[v] = low[v] = counter++;
    stack.push_back(v);
    on_stack[v] = true;
    frames.emplace_back(v, 0);
  };
  for (std::size_t root = 0; root < n; ++root) {
    if (index[root] != kUnseen) {
      continue;
    }
    open(root);
    while (!frames.empty()) {
      const std::size_t v = frames.back().first;
      const std::size_t i = frames.back().second;
      if (i < adj[v].size()) {
        frames.back().second = i + 1;
        const std::size_t w = adj[v][i];
        if (index[w] == kUnseen) {
          open(w);
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      if (low[v] == index[v]) {
        std::size_t w = kUnseen;
        do {
          w = stack.back();
          stack.pop_back();
          on_stack[w] = false;
          comp[w] = count;
        } while (w != v);
        ++count;
      }
      frames.pop_back();
      if (!frames.empty()) {
        const std::size_t parent = frames.back().first;
        low[parent] = std::min(low[parent], low[v]);
      }
    }
  }
  return comp;
}

class ControlFlowChecks {
 public:
  ControlFlowChecks(const ProjectGraph& graph, Diagnostics& diags)
      : graph_(graph), diags_(diags), returns_free_(graph.flows.size(), false) {}

  void run() {
    compute_returns_free();
    collect_payloads();
    for (const FlowGraph& f : graph_.flows) {
      unreachable(f);
      dead_ends(f);
      loops(f);
      waits(f);
      usage(f);
      empty_blocks(f);
    }
    recursion();
  }

 private:
  const ProjectGraph& graph_;
  Diagnostics& diags_;
  // Flows that can return to their caller without waiting.
  std::vector<bool> returns_free_;
  std::set<std::string> payloads_;

  // --- Waiting -------------------------------------------------------------------

  // Whether a run can go along `edge` out of `node` without waiting.
  bool passes(const FlowGraph& f, std::size_t node, const CfgEdge& edge) const {
    if (edge.wait != Wait::None) {
      return false;
    }
    const CfgNode& n = f.cfg.nodes[node];
    if (n.may_wait_for_user) {
      return false;
    }
    if (n.step == nullptr) {
      return true;
    }
    if (std::holds_alternative<ir::HandoffStep>(n.step->body)) {
      return false;
    }
    if (std::holds_alternative<ir::CallStep>(n.step->body)) {
      // An unknown callee is reported elsewhere; treating it as a wait keeps quiet.
      const std::size_t callee = graph_.callee_of(n.step);
      return callee != Cfg::kNone && returns_free_[callee];
    }
    return true;
  }

  Adjacency passable(const FlowGraph& f) const {
    Adjacency adj(f.cfg.nodes.size());
    for (std::size_t n = 0; n < f.cfg.nodes.size(); ++n) {
      for (const CfgEdge& edge : f.cfg.nodes[n].successors) {
        if (passes(f, n, edge)) {
          adj[n].push_back(edge.to);
        }
      }
    }
    return adj;
  }

  // Nodes reachable from the entry without waiting.
  std::vector<bool> reached_without_wait(const FlowGraph& f) const {
    std::vector<bool> seen(f.cfg.nodes.size(), false);
    std::vector<std::size_t> stack{Cfg::kEntry};
    seen[Cfg::kEntry] = true;
    while (!stack.empty()) {
      const std::size_t at = stack.back();
      stack.pop_back();
      for (const CfgEdge& edge : f.cfg.nodes[at].successors) {
        if (!seen[edge.to] && passes(f, at, edge)) {
          seen[edge.to] = true;
          stack.push_back(edge.to);
        }
      }
    }
    return seen;
  }

  // Whether flow `f` can return without waiting, as far as returns_free_ knows.
  bool can_return_free(const FlowGraph& f) const {
    const std::vector<bool> seen = reached_without_wait(f);
    for (std::size_t n = 0; n < f.cfg.nodes.size(); ++n) {
      if (!seen[n] || is_end(f.cfg.nodes[n].step)) {
        continue;
      }
      for (const CfgEdge& edge : f.cfg.nodes[n].successors) {
        if (edge.to == Cfg::kExit && passes(f, n, edge)) {
          return true;
        }
      }
    }
    return false;
  }

  // A flow returns without waiting when some path from its start leaves it by
  // `return` or by falling off its end (not by `end`) and never waits on the way.
  // A flow can only come to return freely when one it calls does, so after a
  // first look at every flow, only the callers of flows found free are looked at
  // again (the least fixed point, as looking at every flow until nothing changes).
  void compute_returns_free() {
    const std::size_t flows = graph_.flows.size();
    std::vector<std::vector<std::size_t>> calling(flows);  // The flows that call each flow.
    for (std::size_t f = 0; f < flows; ++f) {
      for (std::size_t node = 2; node < graph_.flows[f].cfg.nodes.size(); ++node) {
        const std::size_t callee = graph_.callee_of(graph_.flows[f].cfg.nodes[node].step);
        if (callee != Cfg::kNone) {
          calling[callee].push_back(f);
        }
      }
    }
    std::vector<std::size_t> work(flows);
    for (std::size_t f = 0; f < flows; ++f) {
      work[f] = flows - 1 - f;  // Popped in project order.
    }
    std::vector<bool> queued(flows, true);
    while (!work.empty()) {
      const std::size_t f = work.back();
      work.pop_back();
      queued[f] = false;
      if (returns_free_[f] || !can_return_free(graph_.flows[f])) {
        continue;
      }
      returns_free_[f] = true;
      for (std::size_t caller : calling[f]) {
        if (!returns_free_[caller] && !queued[caller]) {
          queued[caller] = true;
          work.push_back(caller);
        }
      }
    }
  }

  // --- WF0401 ----------------------------------------------------------------------

  void unreachable(const FlowGraph& f) {
    const std::vector<bool> seen = reachable_from(f.cfg);
    unreachable_in(f.flow->steps, f.cfg, seen);
  }

  // One diagnostic per run of unreachable steps; nested blocks of an unreachable
  // step are not visited (they are part of its region).
  void unreachable_in(const ir::Block& block, const Cfg& cfg, const std::vector<bool>& seen) {
    bool in_region = false;
    for (std::size_t i = 0; i < block.size(); ++i) {
      const ir::Step& step = block[i];
      if (!seen[cfg.node_of(&step)]) {
        if (!in_region) {
          Diagnostic& d = diags_.report(DiagnosticKind::UnreachableStep, step.span);
          if (i > 0) {
            d.notes.push_back(Note{false, why_no_fall_through(block[i - 1]), block[i - 1].span});
          }
        }
        in_region = true;
        continue;
      }
      in_region = false;
      for (const ir::Block* child : ir::child_blocks(step)) {
        // An invalid exit without a retry limit is unreachable by design and
        // reported as WF0406, once.
        if (!dead_invalid_block(step, child)) {
          unreachable_in(*child, cfg, seen);
        }
      }
    }
  }

  static std::string why_no_fall_through(const ir::Step& step) {
    if (std::holds_alternative<ir::GotoStep>(step.body)) {
      return "this 'goto' jumps away";
    }
    if (std::holds_alternative<ir::EndStep>(step.body)) {
      return "the conversation ends here";
    }
    if (std::holds_alternative<ir::ReturnStep>(step.body)) {
      return "the flow returns here";
    }
    return "no path through this step carries on to the next one";
  }

  static bool dead_invalid_block(const ir::Step& step, const ir::Block* block) {
    if (const auto* ask = std::get_if<ir::AskStep>(&step.body)) {
      return block == &ask->on_invalid && !ask->retries;
    }
    if (const auto* ai = std::get_if<ir::AiExtractStep>(&step.body)) {
      return block == &ai->on_invalid && !ai->retries;
    }
    return false;
  }

  // --- WF0402 ----------------------------------------------------------------------

  void collect_payloads() {
    for (const FlowGraph& f : graph_.flows) {
      for (const ir::Trigger& trigger : f.flow->triggers) {
        if (trigger.kind == ir::TriggerKind::Payload) {
          payloads_.insert(trigger.values.begin(), trigger.values.end());
        }
      }
    }
  }

  // A `say` with buttons or a list, from which some path reaches the end of the
  // conversation without waiting (sends on the way do not help: the options are
  // still on the screen), while no `trigger payload` handles some of its ids. A
  // flow that is called returns to its caller, which may still wait, so only
  // `end` counts there. A call or a handoff on the way is given the benefit of
  // the doubt.
  void dead_ends(const FlowGraph& f) {
    std::vector<std::size_t> ending;  // Computed when a flow has a `say` to judge.
    for (std::size_t n = 2; n < f.cfg.nodes.size(); ++n) {
      const auto* say = std::get_if<ir::SayStep>(&f.cfg.nodes[n].step->body);
      if (say == nullptr || say->options.empty()) {
        continue;
      }
      std::vector<std::string> unhandled;
      for (const ir::Button& button : say->options.buttons) {
        if (payloads_.count(button.id) == 0) {
          unhandled.push_back(button.id);
        }
      }
      for (const ir::ListSection& section : say->options.sections) {
        for (const ir::ListRow& row : section.rows) {
          if (payloads_.count(row.id) == 0) {
            unhandled.push_back(row.id);
          }
        }
      }
      if (unhandled.empty()) {
        continue;
      }
      if (ending.empty()) {
        ending = endings(f);
      }
      const std::size_t last_step = ending[n];
      if (last_step == Cfg::kNone) {
        continue;
      }
      std::string ids;
      for (std::size_t i = 0; i < unhandled.size(); ++i) {
        ids += fmt::format("{}'{}'", i == 0 ? "" : ", ", unhandled[i]);
      }
      Diagnostic& d = diags_.report(
          DiagnosticKind::DeadEnd, f.cfg.nodes[n].step->span,
          fmt::format("the conversation can end right after these {}, and no 'trigger payload' "
                      "handles {}",
                      say->options.buttons.empty() ? "list rows" : "buttons", ids));
      const ir::Step* last = f.cfg.nodes[last_step].step;
      d.notes.push_back(Note{
          false,
          is_end(last) ? "the conversation ends here" : "the conversation ends after this step",
          last->span});
      d.notes.push_back(Note{true,
                             "use 'ask' to wait for the answer, or handle the ids with "
                             "'trigger payload' in a flow",
                             {}});
    }
  }

  // For each node, a step after which the conversation ends when the run goes on
  // from that node without waiting, or kNone when every path waits first. One
  // backward sweep from the ending steps serves every `say` of the flow.
  std::vector<std::size_t> endings(const FlowGraph& f) const {
    const bool called = !f.callers.empty();
    const std::size_t n = f.cfg.nodes.size();
    auto stops = [&](std::size_t node) {
      const CfgNode& c = f.cfg.nodes[node];
      return c.may_wait_for_user ||
             (c.step != nullptr && (std::holds_alternative<ir::HandoffStep>(c.step->body) ||
                                    std::holds_alternative<ir::CallStep>(c.step->body)));
    };
    std::vector<std::size_t> ending(n, Cfg::kNone);
    Adjacency back(n);
    std::vector<std::size_t> queue;
    for (std::size_t node = 2; node < n; ++node) {
      if (stops(node)) {
        continue;
      }
      for (const CfgEdge& edge : f.cfg.nodes[node].successors) {
        if (edge.wait != Wait::None) {
          continue;
        }
        if (edge.to != Cfg::kExit) {
          back[edge.to].push_back(node);
        } else if (ending[node] == Cfg::kNone && (is_end(f.cfg.nodes[node].step) || !called)) {
          ending[node] = node;
          queue.push_back(node);
        }
      }
    }
    for (std::size_t i = 0; i < queue.size(); ++i) {
      for (std::size_t from : back[queue[i]]) {
        if (ending[from] == Cfg::kNone) {
          ending[from] = ending[queue[i]];
          queue.push_back(from);
        }
      }
    }
    return ending;
  }

  // --- WF0403 ----------------------------------------------------------------------

  // A cycle of the graph whose every edge passes without waiting. Reported once
  // per strongly connected component, at its first goto back into it.
  void loops(const FlowGraph& f) {
    const Adjacency adj = passable(f);
    const std::vector<std::size_t> comp = components(adj);
    std::set<std::size_t> reported;
    for (std::size_t n = 2; n < adj.size(); ++n) {
      if (!std::holds_alternative<ir::GotoStep>(f.cfg.nodes[n].step->body)) {
        continue;
      }
      for (std::size_t to : adj[n]) {
        if (comp[to] != comp[n] || reported.count(comp[n]) != 0) {
          continue;
        }
        reported.insert(comp[n]);
        Diagnostic& d = diags_.report(DiagnosticKind::LoopWithoutWait, f.cfg.nodes[n].step->span);
        d.notes.push_back(Note{false, "the loop goes back to here", f.cfg.nodes[to].step->span});
        d.notes.push_back(
            Note{true, "wait inside the loop (an 'ask' or a 'delay'), or leave it with 'end'", {}});
      }
    }
  }

  // Flows that call each other before any wait recurse forever.
  void recursion() {
    const std::size_t n = graph_.flows.size();
    Adjacency adj(n);
    // For each edge of the call graph, the call step that makes it.
    std::map<std::pair<std::size_t, std::size_t>, const ir::Step*> sites;
    for (std::size_t i = 0; i < n; ++i) {
      const FlowGraph& f = graph_.flows[i];
      const std::vector<bool> seen = reached_without_wait(f);
      for (std::size_t node = 2; node < f.cfg.nodes.size(); ++node) {
        const std::size_t callee = graph_.callee_of(f.cfg.nodes[node].step);
        if (!seen[node] || callee == Cfg::kNone) {
          continue;
        }
        if (sites.emplace(std::make_pair(i, callee), f.cfg.nodes[node].step).second) {
          adj[i].push_back(callee);
        }
      }
    }
    const std::vector<std::size_t> comp = components(adj);
    std::set<std::size_t> reported;
    for (const auto& [edge, step] : sites) {
      const auto [from, to] = edge;
      if (comp[from] != comp[to] || reported.count(comp[from]) != 0) {
        continue;
      }
      reported.insert(comp[from]);
      Diagnostic& d = diags_.report(DiagnosticKind::LoopWithoutWait, step->span);
      if (from == to) {
        d.notes.push_back(Note{
            false,
            fmt::format("flow '{}' calls itself before it waits", graph_.flows[from].flow->name),
            graph_.flows[from].flow->name_span});
      } else {
        // Point at the call that closes the cycle, back into `from`.
        for (const auto& [back, back_step] : sites) {
          if (back.second == from && comp[back.first] == comp[from]) {
            d.notes.push_back(Note{
                false,
                fmt::format("flow '{}' calls '{}' back before it waits",
                            graph_.flows[back.first].flow->name, graph_.flows[from].flow->name),
                back_step->span});
            break;
          }
        }
      }
    }
  }

  // --- WF0404, WF0405, WF0406 ---------------------------------------------------------

  static bool validates(ir::CaptureType type) { return type != ir::CaptureType::Text; }

  void waits(const FlowGraph& f) {
    ir::for_each_step(f.flow->steps, [&](const ir::Step& step) {
      if (const auto* ask = std::get_if<ir::AskStep>(&step.body)) {
        if (!ask->timeout) {
          diags_.report(DiagnosticKind::WaitWithoutTimeout, step.span)
              .notes.push_back(Note{true, "add 'on timeout DURATION' with what to do then", {}});
        }
        retry_limits(step, validates(ask->type), ask->has_invalid, ask->retries, ask->on_invalid,
                     ask->invalid_span);
      } else if (const auto* ai = std::get_if<ir::AiExtractStep>(&step.body)) {
        // An extract re-asks while a required field is missing; `timeout` bounds
        // how long it waits for each answer.
        const bool asks = std::any_of(ai->fields.begin(), ai->fields.end(),
                                      [](const ir::ExtractField& fl) { return !fl.optional; });
        if (asks && !ai->ai.timeout) {
          diags_.report(DiagnosticKind::WaitWithoutTimeout, step.span)
              .notes.push_back(
                  Note{true, "add 'timeout DURATION' to bound how long a re-ask waits", {}});
        }
        retry_limits(step, asks, ai->has_invalid, ai->retries, ai->on_invalid, ai->invalid_span);
      }
    });
  }

  void retry_limits(const ir::Step& step, bool validated, bool has_invalid,
                    const std::optional<int>& retries, const ir::Block& on_invalid,
                    SourceSpan invalid_span) {
    // A retry count that did not parse was reported already; do not pile on.
    if (retries || (has_invalid && reported_within(invalid_span))) {
      return;
    }
    if (has_invalid && !on_invalid.empty()) {
      diags_.report(DiagnosticKind::InvalidExitWithoutLimit, invalid_span)
          .notes.push_back(Note{true, "write 'on invalid retry N' to take it after N answers", {}});
    } else if (validated) {
      diags_.report(DiagnosticKind::NoRetryLimit, has_invalid ? invalid_span : step.span);
    }
  }

  // --- WF0408, WF0410 ----------------------------------------------------------------

  void usage(const FlowGraph& f) {
    if (!f.callers.empty()) {
      return;
    }
    if (f.flow->triggers.empty()) {
      diags_.report(DiagnosticKind::UnusedFlow, f.flow->name_span, f.flow->name)
          .notes.push_back(Note{true, "add a 'trigger', or 'call' it from another flow", {}});
    }
    ir::for_each_step(f.flow->steps, [&](const ir::Step& step) {
      if (std::holds_alternative<ir::ReturnStep>(step.body)) {
        diags_.report(DiagnosticKind::ReturnOutsideCall, step.span, f.flow->name)
            .notes.push_back(Note{true, "write 'end' to end the conversation", {}});
      }
    });
  }

  // --- WF0411 ----------------------------------------------------------------------

  // Branches that have no steps. The DSL refuses them with a syntax error, so
  // this mostly speaks to YAML and visual flows (a condition handle connected to
  // nothing); where an error was already reported inside the step, it stays quiet.
  void empty_blocks(const FlowGraph& f) {
    ir::for_each_step(f.flow->steps, [&](const ir::Step& step) {
      if (!has_empty_branch(step) || reported_within(step.span)) {
        return;
      }
      if (const auto* branch = std::get_if<ir::IfStep>(&step.body)) {
        for (std::size_t i = 0; i < branch->branches.size(); ++i) {
          if (branch->branches[i].body.empty()) {
            diags_.report(DiagnosticKind::EmptyBlock, branch->branches[i].span,
                          i == 0 ? "this 'if' branch" : "this 'elif' branch");
          }
        }
        if (branch->has_else && branch->otherwise.empty()) {
          diags_.report(DiagnosticKind::EmptyBlock, step.span, "the 'else' branch of this 'if'");
        }
      } else if (const auto* match = std::get_if<ir::MatchStep>(&step.body)) {
        for (const ir::Case& kase : match->cases) {
          if (kase.body.empty()) {
            diags_.report(DiagnosticKind::EmptyBlock, kase.span, "this 'case'");
          }
        }
        if (match->has_else && match->otherwise.empty()) {
          diags_.report(DiagnosticKind::EmptyBlock, step.span, "the 'else' branch of this 'match'");
        }
      }
    });
  }

  static bool has_empty_branch(const ir::Step& step) {
    auto empty = [](const auto& items) {
      return std::any_of(items.begin(), items.end(),
                         [](const auto& item) { return item.body.empty(); });
    };
    if (const auto* branch = std::get_if<ir::IfStep>(&step.body)) {
      return empty(branch->branches) || (branch->has_else && branch->otherwise.empty());
    }
    if (const auto* match = std::get_if<ir::MatchStep>(&step.body)) {
      return empty(match->cases) || (match->has_else && match->otherwise.empty());
    }
    return false;
  }

  bool reported_within(SourceSpan span) const {
    return std::any_of(diags_.all().begin(), diags_.all().end(), [&](const Diagnostic& d) {
      return d.severity == Severity::Error && d.span.file == span.file &&
             d.span.begin >= span.begin && d.span.begin <= span.end;
    });
  }
};

}  // namespace

std::size_t ProjectGraph::callee_of(const ir::Step* step) const {
  const auto* call = step == nullptr ? nullptr : std::get_if<ir::CallStep>(&step->body);
  if (call == nullptr) {
    return Cfg::kNone;
  }
  auto it = by_name.find(call->flow);
  return it == by_name.end() ? Cfg::kNone : it->second;
}

ProjectGraph build_project_graph(const ir::Project& project) {
  ProjectGraph graph;
  for (const ir::Module& module : project.modules) {
    for (const ir::Flow& flow : module.flows) {
      graph.by_name.emplace(flow.name, graph.flows.size());
      graph.flows.push_back(FlowGraph{&flow, build_cfg(flow), {}});
    }
  }
  for (FlowGraph& f : graph.flows) {
    ir::for_each_step(f.flow->steps, [&](const ir::Step& step) {
      const std::size_t callee = graph.callee_of(&step);
      if (callee != Cfg::kNone) {
        graph.flows[callee].callers.push_back(&step);
      }
    });
  }
  return graph;
}

std::string format_duration(std::int64_t ms) {
  static constexpr std::pair<std::int64_t, const char*> kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}};
  std::string out;
  for (const auto& [size, unit] : kUnits) {
    if (ms >= size) {
      out += fmt::format("{}{}", ms / size, unit);
      ms %= size;
    }
  }
  if (ms > 0 || out.empty()) {
    out += fmt::format("{}ms", ms);
  }
  return out;
}

void check_control_flow(const ir::Project& project, Diagnostics& diags) {
  check_control_flow(project, build_project_graph(project), diags);
}

void check_control_flow(const ir::Project& /*project*/, const ProjectGraph& graph,
                        Diagnostics& diags) {
  ControlFlowChecks(graph, diags).run();
  check_triggers(graph, diags);
  check_window(graph, diags);
}

}  // namespace waflow::checks
