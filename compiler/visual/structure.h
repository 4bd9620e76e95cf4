#pragma once

// Turning a visual flow's graph into the IR's tree of blocks.
//
// In the IR a step with several exits owns nested blocks, and control leaving a
// nested block continues after the owning step. So for every branching node the
// reader must find where its branches re-join (the "follow"): that node comes
// right after it in the same block, and each branch is a nested block that stops
// there. Nodes are placed breadth-first (the main line first, then its branches,
// then theirs), each in the first block that reaches it; any other way into an
// already placed node becomes a `goto` to it, which is how loops and edges into
// the middle of another branch are expressed.
//
// The follow of an if/match/classify node is found with dominators: a node it
// immediately dominates that several edges enter (a merge point), preferring its
// immediate post-dominator; without one, the target of its default branch (else,
// other), which gives guard clauses (`if x` ... `end`, then the rest). Nodes
// that ask, call an AI model or an HTTP API always continue at their `next` edge.
// Nodes unreachable from the start are placed after the reachable ones, so the
// checks can warn about them. Nesting deeper than kMaxNesting is flattened with
// gotos, so any graph gives a tree other passes can walk.

#include <cstddef>
#include <limits>
#include <vector>

namespace waflow::visual {

inline constexpr std::size_t kExit = std::numeric_limits<std::size_t>::max();
inline constexpr std::size_t kNoEdge = std::numeric_limits<std::size_t>::max();
inline constexpr std::size_t kMaxNesting = 24;

enum class NodeShape {
  Linear,     // One exit: `next`.
  Fixed,      // `next` plus side exits (invalid, timeout, error) that re-join at next.
  Branching,  // Only branch exits (then/elif/else, case/else, intents/other/error).
  Terminal,   // No exit: end, return, goto.
};

enum class ExitRole {
  Mandatory,  // then, elif, case: its block may not be empty.
  Default,    // else, other: taken when no other branch is; may be empty.
  Optional,   // intent, invalid, timeout, error: may be empty.
};

struct GraphExit {
  ExitRole role = ExitRole::Optional;
  std::size_t target = kExit;  // kExit: no edge, the flow finishes there.
  std::size_t edge = kNoEdge;  // The edge, for spans of synthetic steps.
};

struct GraphNode {
  NodeShape shape = NodeShape::Linear;
  std::size_t next = kExit;  // Linear and Fixed.
  std::size_t next_edge = kNoEdge;
  std::vector<GraphExit> exits;  // In the order of the step's nested blocks.
};

struct Graph {
  std::vector<GraphNode> nodes;
  std::size_t entry = kExit;  // The start node's `next` target.
};

enum class ItemKind {
  Node,  // A node of the graph, with one nested block per exit.
  Goto,  // A jump to `node`, made by the structuring.
  End,   // The flow finishes here, made by the structuring.
};

struct Item {
  ItemKind kind = ItemKind::Node;
  std::size_t node = kExit;
  std::size_t edge = kNoEdge;       // Goto: the edge it stands for, when there is one.
  std::size_t owner = kExit;        // Goto and End: the node whose exit led here.
  std::vector<std::size_t> blocks;  // Node: indexes into Structure::blocks, per exit.
};

struct Structure {
  // blocks[0] is the flow's top-level block.
  std::vector<std::vector<Item>> blocks;
};

Structure structure_graph(const Graph& graph);

}  // namespace waflow::visual
