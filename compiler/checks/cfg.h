#pragma once

// The control-flow graph of one flow: which step can run right after which.
//
// build_cfg turns a flow's step tree into a graph whose nodes are its steps (nested
// ones included) plus a virtual entry and exit. Edges follow execution:
//   - a step falls through to the next step of its block; the end of a nested block
//     continues after the step that owns it; the end of the flow goes to the exit;
//   - branching steps have an edge into each nested block (if/elif/else branches,
//     match cases, ai classify intents and `other`), and an if/match without `else`
//     or a classify without `other` also falls through (EdgeKind::NoMatch);
//   - an ask continues after a valid reply (Reply), into `on invalid` once its retries
//     run out (Invalid: only when a retry limit is given, since without one the run
//     re-asks forever), and into `on timeout` (Timeout); an ai extract likewise;
//   - http and ai steps with `on error` have an Error edge into it;
//   - goto jumps to its target (the first step carrying that id); end and return go
//     to the exit; call falls through (the callee runs in between).
// Edges wait for the user after an ask (Reply, Invalid) and after an ai extract's
// re-asks (Invalid); for the clock out of a delay, a Timeout, and every edge out of
// an AI step with a `buffer` (it collects messages that long first).
// An edge into an empty nested block goes straight to where that block would
// continue, keeping its kind. Edges of kind Invalid, Timeout and Error leave the
// step's result variable unset; every other edge out of a step that sets one has set it.
//
// The graph points into the flow: the flow must outlive it and stay unchanged.

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "compiler/ir/flow.h"

namespace waflow::checks {

enum class EdgeKind {
  Next,     // Fall-through: to the next step, or out of a nested block, or off the flow.
  Branch,   // Into an if/elif/else branch, a match case, a classify intent or `other`.
  NoMatch,  // No branch taken: an if or match without `else`, a classify without `other`.
  Reply,    // An ask got a valid reply.
  Invalid,  // An ask's or ai extract's retries ran out: into `on invalid`.
  Timeout,  // An ask's timeout fired: into `on timeout`.
  Error,    // An http or ai step failed: into `on error`.
  Goto,     // A goto to its target.
  End,      // `end` or `return`, to the exit.
};

// What the run waits for before it goes along an edge.
enum class Wait {
  None,
  User,   // A message from the user (an ask's reply or invalid answers).
  Clock,  // Time passing (a delay, an ask's timeout).
};

struct CfgEdge {
  std::size_t to = 0;
  EdgeKind kind = EdgeKind::Next;
  Wait wait = Wait::None;
  std::int64_t wait_ms = 0;  // For Wait::Clock: how long.
};

struct CfgNode {
  const ir::Step* step = nullptr;  // Null for the entry and the exit.
  std::vector<CfgEdge> successors;
  // An ai extract re-asks (waits for the user) while the answer is incomplete, but
  // need not wait at all, so its normal edge carries Wait::None.
  bool may_wait_for_user = false;
};

struct Cfg {
  static constexpr std::size_t kEntry = 0;
  static constexpr std::size_t kExit = 1;
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  // nodes[kEntry], nodes[kExit], then every step in pre-order (as ir::for_each_step).
  std::vector<CfgNode> nodes;
  std::unordered_map<const ir::Step*, std::size_t> index;

  // The node of a step of this flow, or kNone.
  std::size_t node_of(const ir::Step* step) const;
  // For each node, the nodes with an edge to it (each listed once).
  std::vector<std::vector<std::size_t>> predecessors() const;
};

Cfg build_cfg(const ir::Flow& flow);

// Nodes reachable from `from` (itself included).
std::vector<bool> reachable_from(const Cfg& cfg, std::size_t from = Cfg::kEntry);

// Every node once: those the entry reaches in reverse postorder of a depth-first
// walk (each before its successors, but for edges that close a loop), then the
// others in index order. Data-flow worklists visit nodes in this order.
std::vector<std::size_t> reverse_postorder(const Cfg& cfg);

// Whether the step always stops to wait for the user or the clock when it runs
// (an ask, a delay). An ai extract only may wait, so it does not count.
bool step_always_waits(const ir::Step& step);

}  // namespace waflow::checks
