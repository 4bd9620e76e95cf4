// Structuring a visual graph into blocks (see structure.h for the approach).
//
// Dominators and post-dominators use the iterative algorithm of Cooper, Harvey
// and Kennedy ("A Simple, Fast Dominance Algorithm") over an explicit
// post-order, so nothing here recurses on the graph's shape.

#include "compiler/visual/structure.h"

#include <algorithm>
#include <deque>

namespace waflow::visual {

namespace {

constexpr std::size_t kUndefined = std::numeric_limits<std::size_t>::max();

using Adjacency = std::vector<std::vector<std::size_t>>;

// Post-order numbers of the nodes reachable from `start` (kUndefined elsewhere),
// and the nodes in reverse post-order.
void number_nodes(const Adjacency& succ, std::size_t start, std::vector<std::size_t>& number,
                  std::vector<std::size_t>& rpo) {
  number.assign(succ.size(), kUndefined);
  std::vector<char> seen(succ.size(), 0);
  std::vector<std::pair<std::size_t, std::size_t>> stack;  // Node, next successor.
  std::vector<std::size_t> post;
  stack.emplace_back(start, 0);
  seen[start] = 1;
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < succ[node].size()) {
      const std::size_t s = succ[node][next++];
      if (seen[s] == 0) {
        seen[s] = 1;
        stack.emplace_back(s, 0);
      }
      continue;
    }
    number[node] = post.size();
    post.push_back(node);
    stack.pop_back();
  }
  rpo.assign(post.rbegin(), post.rend());
}

// Immediate dominators from `start` over `succ`/`pred`; kUndefined where unreached.
std::vector<std::size_t> dominators(const Adjacency& succ, const Adjacency& pred, std::size_t start,
                                    std::vector<std::size_t>& number) {
  std::vector<std::size_t> rpo;
  number_nodes(succ, start, number, rpo);
  std::vector<std::size_t> idom(succ.size(), kUndefined);
  idom[start] = start;
  auto intersect = [&](std::size_t a, std::size_t b) {
    while (a != b) {
      while (number[a] < number[b]) {
        a = idom[a];
      }
      while (number[b] < number[a]) {
        b = idom[b];
      }
    }
    return a;
  };
  bool changed = true;
  while (changed) {
    changed = false;
    for (std::size_t node : rpo) {
      if (node == start) {
        continue;
      }
      std::size_t best = kUndefined;
      for (std::size_t p : pred[node]) {
        if (idom[p] == kUndefined) {
          continue;
        }
        best = best == kUndefined ? p : intersect(p, best);
      }
      if (best != kUndefined && idom[node] != best) {
        idom[node] = best;
        changed = true;
      }
    }
  }
  return idom;
}

class Structurer {
 public:
  explicit Structurer(const Graph& graph)
      : graph_(graph), n_(graph.nodes.size()), root_(n_), exit_(n_ + 1) {}

  Structure run() {
    build_adjacency();
    find_roots();
    analyse();
    claimed_.assign(n_, 0);
    out_.blocks.emplace_back();  // The top level, assembled from segments below.
    ended_at_stop_.push_back(0);
    std::vector<std::size_t> segments;
    for (std::size_t i = 0; i < roots_.size(); ++i) {
      const std::size_t root = roots_[i];
      if (i > 0 && claimed_[root] != 0) {
        continue;
      }
      const std::size_t block = new_block();
      queue_.push_back(Pending{block, root, kExit, 0, kExit, kNoEdge});
      while (!queue_.empty()) {
        const Pending p = queue_.front();
        queue_.pop_front();
        fill(p);
      }
      segments.push_back(block);
    }
    // Segments after the first are only reached by goto, or not at all: the one
    // before must not run into them.
    std::vector<Item> top;
    bool falls_off = false;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      const std::size_t block = segments[i];
      if (i > 0 && out_.blocks[block].empty()) {
        continue;
      }
      if (falls_off) {
        top.push_back(Item{ItemKind::End, kExit, kNoEdge, kExit, {}});
      }
      falls_off = can_fall_off(block);
      for (Item& item : out_.blocks[block]) {
        top.push_back(std::move(item));
      }
      out_.blocks[block].clear();
    }
    out_.blocks[0] = std::move(top);
    return std::move(out_);
  }

 private:
  struct Pending {
    std::size_t block;
    std::size_t entry;
    std::size_t stop;
    std::size_t depth;
    std::size_t owner;
    std::size_t edge;
  };

  const Graph& graph_;
  std::size_t n_;
  std::size_t root_;  // Virtual: leads to every root.
  std::size_t exit_;  // Virtual: where the flow finishes.
  Adjacency succ_;
  Adjacency pred_;
  std::vector<std::size_t> incoming_;  // Edges into each node from real nodes.
  std::vector<std::size_t> roots_;
  std::vector<std::size_t> idom_;
  std::vector<std::size_t> dom_number_;  // Post-order numbers from the root.
  Adjacency dom_children_;
  std::vector<std::size_t> ipdom_;      // Post-dominators; end, return and goto lead to the exit.
  std::vector<std::size_t> ipdom_nat_;  // Post-dominators of the paths that fall off the flow.
  std::vector<char> claimed_;
  Structure out_;
  std::vector<char> ended_at_stop_;
  std::deque<Pending> queue_;

  std::size_t node_or_exit(std::size_t target) const { return target == kExit ? exit_ : target; }

  void build_adjacency() {
    succ_.assign(n_ + 2, {});
    pred_.assign(n_ + 2, {});
    incoming_.assign(n_, 0);
    for (std::size_t v = 0; v < n_; ++v) {
      const GraphNode& node = graph_.nodes[v];
      auto add = [&](std::size_t target) {
        const std::size_t to = node_or_exit(target < n_ ? target : kExit);
        succ_[v].push_back(to);
        pred_[to].push_back(v);
        if (to < n_) {
          ++incoming_[to];
        }
      };
      if (node.shape == NodeShape::Terminal) {
        add(kExit);
        continue;
      }
      if (node.shape != NodeShape::Branching) {
        add(node.next);
      }
      for (const GraphExit& e : node.exits) {
        add(e.target);
      }
    }
  }

  void find_roots() {
    std::vector<char> reached(n_, 0);
    auto mark = [&](std::size_t from) {
      std::vector<std::size_t> stack{from};
      reached[from] = 1;
      while (!stack.empty()) {
        const std::size_t v = stack.back();
        stack.pop_back();
        for (std::size_t s : succ_[v]) {
          if (s < n_ && reached[s] == 0) {
            reached[s] = 1;
            stack.push_back(s);
          }
        }
      }
    };
    // The main line comes first even when the start has no edge (an empty segment).
    roots_.push_back(graph_.entry < n_ ? graph_.entry : kExit);
    if (graph_.entry < n_) {
      mark(graph_.entry);
    }
    for (std::size_t v = 0; v < n_; ++v) {
      if (reached[v] == 0 && pred_[v].empty()) {
        roots_.push_back(v);
        mark(v);
      }
    }
    for (std::size_t v = 0; v < n_; ++v) {
      if (reached[v] == 0) {
        roots_.push_back(v);
        mark(v);
      }
    }
    for (std::size_t r : roots_) {
      if (r < n_) {
        succ_[root_].push_back(r);
        pred_[r].push_back(root_);
      }
    }
  }

  void analyse() {
    idom_ = dominators(succ_, pred_, root_, dom_number_);
    dom_children_.assign(n_ + 2, {});
    for (std::size_t v = 0; v < n_; ++v) {
      if (idom_[v] != kUndefined && idom_[v] != v) {
        dom_children_[idom_[v]].push_back(v);
      }
    }
    std::vector<std::size_t> post_number;
    ipdom_ = dominators(pred_, succ_, exit_, post_number);
    // Without the edges from end, return and goto to the exit, only paths that
    // run off the end of the flow count.
    Adjacency succ = succ_;
    Adjacency pred = pred_;
    for (std::size_t v = 0; v < n_; ++v) {
      if (graph_.nodes[v].shape == NodeShape::Terminal) {
        succ[v].clear();
      }
    }
    auto& into_exit = pred[exit_];
    into_exit.erase(std::remove_if(into_exit.begin(), into_exit.end(),
                                   [&](std::size_t v) {
                                     return v < n_ && graph_.nodes[v].shape == NodeShape::Terminal;
                                   }),
                    into_exit.end());
    ipdom_nat_ = dominators(pred, succ, exit_, post_number);
  }

  std::size_t new_block() {
    out_.blocks.emplace_back();
    ended_at_stop_.push_back(0);
    return out_.blocks.size() - 1;
  }

  bool mandatory_target(const GraphNode& node, std::size_t target) const {
    return std::any_of(node.exits.begin(), node.exits.end(), [&](const GraphExit& e) {
      return e.role == ExitRole::Mandatory && e.target == target;
    });
  }

  // Whether `node` lies inside one of v's mandatory branches (is dominated by
  // its target).
  bool inside_mandatory_branch(std::size_t v, std::size_t node) const {
    const GraphNode& owner = graph_.nodes[v];
    for (std::size_t at = node; at < n_ && at != v; at = idom_[at]) {
      if (mandatory_target(owner, at)) {
        return true;
      }
      if (idom_[at] == kUndefined || idom_[at] == at) {
        break;
      }
    }
    return false;
  }

  // Where the branches of a Branching node re-join.
  std::size_t follow_of(std::size_t v, std::size_t stop) const {
    const GraphNode& node = graph_.nodes[v];
    // A merge point v dominates, preferring the post-dominators.
    std::size_t best = kUndefined;
    for (std::size_t c : dom_children_[v]) {
      if (incoming_[c] < 2 || mandatory_target(node, c)) {
        continue;
      }
      if (c == ipdom_nat_[v] || c == ipdom_[v]) {
        return c;
      }
      if (best == kUndefined || dom_number_[c] > dom_number_[best]) {
        best = c;
      }
    }
    if (best != kUndefined) {
      return best;
    }
    // No merge point: where the paths that carry on meet, unless that is the
    // end of the flow or inside a branch.
    const std::size_t meet = ipdom_nat_[v];
    if (meet < n_) {
      return inside_mandatory_branch(v, meet) ? stop : meet;
    }
    if (meet == exit_) {
      return stop;
    }
    // Every branch ends (end, goto, return): the default branch carries on
    // after the step, as a guard clause does.
    for (const GraphExit& e : node.exits) {
      if (e.role == ExitRole::Default && e.target < n_ && idom_[e.target] == v &&
          !mandatory_target(node, e.target)) {
        return e.target;
      }
    }
    return stop;
  }

  void fill(const Pending& p) {
    std::vector<Item> items;
    std::size_t cur = p.entry;
    std::size_t via = p.edge;
    std::size_t owner = p.owner;
    while (true) {
      if (cur == p.stop) {
        ended_at_stop_[p.block] = 1;
        break;
      }
      if (cur >= n_) {
        items.push_back(Item{ItemKind::End, kExit, via, owner, {}});
        break;
      }
      if (claimed_[cur] != 0) {
        items.push_back(Item{ItemKind::Goto, cur, via, owner, {}});
        break;
      }
      claimed_[cur] = 1;
      const GraphNode& node = graph_.nodes[cur];
      Item item{ItemKind::Node, cur, kNoEdge, kExit, {}};
      if (node.shape == NodeShape::Terminal) {
        items.push_back(std::move(item));
        break;
      }
      std::size_t follow = node.shape == NodeShape::Branching ? follow_of(cur, p.stop) : node.next;
      if (follow != kExit && follow >= n_) {
        follow = kExit;
      }
      for (const GraphExit& e : node.exits) {
        const std::size_t block = new_block();
        item.blocks.push_back(block);
        const std::size_t entry = e.target < n_ ? e.target : kExit;
        if (p.depth + 1 > kMaxNesting && entry != follow && entry != kExit) {
          // Too deep to nest: jump, and place the target at the top level.
          out_.blocks[block].push_back(Item{ItemKind::Goto, entry, e.edge, cur, {}});
          roots_.push_back(entry);
          continue;
        }
        queue_.push_back(Pending{block, entry, follow, p.depth + 1, cur, e.edge});
      }
      items.push_back(std::move(item));
      via = node.shape == NodeShape::Branching ? kNoEdge : node.next_edge;
      owner = cur;
      cur = follow;
    }
    out_.blocks[p.block] = std::move(items);
  }

  // Whether control can leave the end of a block (nesting is bounded, so the
  // recursion is too).
  bool can_fall_off(std::size_t block) const {
    if (ended_at_stop_[block] == 0) {
      return false;
    }
    const std::vector<Item>& items = out_.blocks[block];
    if (items.empty()) {
      return true;
    }
    const Item& last = items.back();
    if (last.kind != ItemKind::Node) {
      return false;
    }
    const GraphNode& node = graph_.nodes[last.node];
    if (node.shape != NodeShape::Branching) {
      return node.shape != NodeShape::Terminal;
    }
    return std::any_of(last.blocks.begin(), last.blocks.end(),
                       [&](std::size_t child) { return can_fall_off(child); });
  }
};

}  // namespace

Structure structure_graph(const Graph& graph) {
  return Structurer(graph).run();
}

}  // namespace waflow::visual
