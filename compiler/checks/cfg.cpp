// Builds the control-flow graph of a flow (see cfg.h for the edge rules).
//
// Two passes: the first numbers every step in pre-order, the second walks each
// block knowing where control goes when the block ends (its continuation) and adds
// the edges of each step. The first step of each id (goto targets) is looked up in
// a table built at the first goto.

#include "compiler/checks/cfg.h"

#include <string>
#include <string_view>
#include <unordered_map>

#include "compiler/ir/walk.h"

namespace waflow::checks {

namespace {

class Builder {
 public:
  explicit Builder(Cfg& cfg) : cfg_(cfg) {}

  void build(const ir::Flow& flow) {
    cfg_.nodes.resize(2);
    ir::for_each_step(flow.steps, [&](const ir::Step& step) {
      cfg_.nodes.push_back(CfgNode{&step, {}, false});
    });
    cfg_.index.reserve(cfg_.nodes.size());
    for (std::size_t id = 2; id < cfg_.nodes.size(); ++id) {
      cfg_.index.emplace(cfg_.nodes[id].step, id);
    }
    add(Cfg::kEntry, first_of(flow.steps, Cfg::kExit), EdgeKind::Next);
    block(flow.steps, Cfg::kExit);
  }

 private:
  Cfg& cfg_;
  // The first step of each id, for goto targets; filled at the first goto, since
  // most flows have few gotos or none. The ids live in the flow's steps.
  std::unordered_map<std::string_view, std::size_t> ids_;
  bool ids_ready_ = false;

  std::size_t target_of(const std::string& id) {
    if (!ids_ready_) {
      ids_ready_ = true;
      ids_.reserve(cfg_.nodes.size());
      for (std::size_t node = 2; node < cfg_.nodes.size(); ++node) {
        ids_.emplace(cfg_.nodes[node].step->id, node);
      }
    }
    auto it = ids_.find(id);
    return it == ids_.end() ? Cfg::kNone : it->second;
  }

  std::size_t first_of(const ir::Block& b, std::size_t continuation) const {
    return b.empty() ? continuation : cfg_.node_of(&b.front());
  }

  void add(std::size_t from, std::size_t to, EdgeKind kind, Wait wait = Wait::None,
           std::int64_t wait_ms = 0) {
    cfg_.nodes[from].successors.push_back(CfgEdge{to, kind, wait, wait_ms});
  }

  // Adds an edge of `kind` into `nested` and the nested block's own edges.
  void enter(std::size_t from, const ir::Block& nested, std::size_t next, EdgeKind kind,
             Wait wait = Wait::None, std::int64_t wait_ms = 0) {
    add(from, first_of(nested, next), kind, wait, wait_ms);
    block(nested, next);
  }

  void block(const ir::Block& b, std::size_t continuation) {
    for (std::size_t i = 0; i < b.size(); ++i) {
      const std::size_t next = i + 1 < b.size() ? cfg_.node_of(&b[i + 1]) : continuation;
      step(b[i], next);
    }
  }

  void step(const ir::Step& s, std::size_t next) {
    const std::size_t self = cfg_.node_of(&s);
    std::visit(
        [&](const auto& body) {
          using T = std::decay_t<decltype(body)>;
          if constexpr (std::is_same_v<T, ir::AskStep>) {
            add(self, next, EdgeKind::Reply, Wait::User);
            if (body.has_invalid && body.retries) {
              enter(self, body.on_invalid, next, EdgeKind::Invalid, Wait::User);
            } else {
              block(body.on_invalid, next);
            }
            if (body.timeout) {
              enter(self, body.on_timeout, next, EdgeKind::Timeout, Wait::Clock, body.timeout->ms);
            } else {
              block(body.on_timeout, next);
            }
          } else if constexpr (std::is_same_v<T, ir::AiExtractStep>) {
            cfg_.nodes[self].may_wait_for_user = true;
            add(self, next, EdgeKind::Next);
            if (body.has_invalid && body.retries) {
              enter(self, body.on_invalid, next, EdgeKind::Invalid, Wait::User);
            } else {
              block(body.on_invalid, next);
            }
            error_exit(self, body.has_error, body.on_error, next);
          } else if constexpr (std::is_same_v<T, ir::AiReplyStep> ||
                               std::is_same_v<T, ir::HttpStep>) {
            add(self, next, EdgeKind::Next);
            error_exit(self, body.has_error, body.on_error, next);
          } else if constexpr (std::is_same_v<T, ir::AiClassifyStep>) {
            for (const ir::Intent& intent : body.intents) {
              enter(self, intent.body, next, EdgeKind::Branch);
            }
            if (body.has_other) {
              enter(self, body.other, next, EdgeKind::Branch);
            } else {
              add(self, next, EdgeKind::NoMatch);
            }
            error_exit(self, body.has_error, body.on_error, next);
          } else if constexpr (std::is_same_v<T, ir::IfStep>) {
            for (const ir::Branch& branch : body.branches) {
              enter(self, branch.body, next, EdgeKind::Branch);
            }
            if (body.has_else) {
              enter(self, body.otherwise, next, EdgeKind::Branch);
            } else {
              add(self, next, EdgeKind::NoMatch);
            }
          } else if constexpr (std::is_same_v<T, ir::MatchStep>) {
            for (const ir::Case& kase : body.cases) {
              enter(self, kase.body, next, EdgeKind::Branch);
            }
            if (body.has_else) {
              enter(self, body.otherwise, next, EdgeKind::Branch);
            } else {
              add(self, next, EdgeKind::NoMatch);
            }
          } else if constexpr (std::is_same_v<T, ir::GotoStep>) {
            // A missing target is reported by the name checks; the goto then leads nowhere.
            if (const std::size_t target = target_of(body.target); target != Cfg::kNone) {
              add(self, target, EdgeKind::Goto);
            }
          } else if constexpr (std::is_same_v<T, ir::EndStep> ||
                               std::is_same_v<T, ir::ReturnStep>) {
            add(self, Cfg::kExit, EdgeKind::End);
          } else if constexpr (std::is_same_v<T, ir::DelayStep>) {
            add(self, next, EdgeKind::Next, Wait::Clock, body.duration.ms);
          } else {
            add(self, next, EdgeKind::Next);
          }
        },
        s.body);
    // An AI step with a `buffer` first collects the contact's messages for that long.
    if (const ir::AiOptions* ai = ai_options(s.body); ai != nullptr && ai->buffer) {
      for (CfgEdge& edge : cfg_.nodes[self].successors) {
        if (edge.wait == Wait::None) {
          edge.wait = Wait::Clock;
          edge.wait_ms = ai->buffer->ms;
        }
      }
    }
  }

  static const ir::AiOptions* ai_options(const ir::StepBody& body) {
    if (const auto* reply = std::get_if<ir::AiReplyStep>(&body)) {
      return &reply->ai;
    }
    if (const auto* extract = std::get_if<ir::AiExtractStep>(&body)) {
      return &extract->ai;
    }
    if (const auto* classify = std::get_if<ir::AiClassifyStep>(&body)) {
      return &classify->ai;
    }
    return nullptr;
  }

  void error_exit(std::size_t self, bool has_error, const ir::Block& on_error, std::size_t next) {
    if (has_error) {
      enter(self, on_error, next, EdgeKind::Error);
    } else {
      block(on_error, next);
    }
  }
};

}  // namespace

std::size_t Cfg::node_of(const ir::Step* step) const {
  auto it = index.find(step);
  return it == index.end() ? kNone : it->second;
}

std::vector<std::vector<std::size_t>> Cfg::predecessors() const {
  std::vector<std::vector<std::size_t>> out(nodes.size());
  for (std::size_t from = 0; from < nodes.size(); ++from) {
    for (const CfgEdge& edge : nodes[from].successors) {
      std::vector<std::size_t>& preds = out[edge.to];
      if (preds.empty() || preds.back() != from) {
        preds.push_back(from);
      }
    }
  }
  return out;
}

Cfg build_cfg(const ir::Flow& flow) {
  Cfg cfg;
  Builder(cfg).build(flow);
  return cfg;
}

std::vector<bool> reachable_from(const Cfg& cfg, std::size_t from) {
  std::vector<bool> seen(cfg.nodes.size(), false);
  std::vector<std::size_t> stack{from};
  seen[from] = true;
  while (!stack.empty()) {
    const std::size_t at = stack.back();
    stack.pop_back();
    for (const CfgEdge& edge : cfg.nodes[at].successors) {
      if (!seen[edge.to]) {
        seen[edge.to] = true;
        stack.push_back(edge.to);
      }
    }
  }
  return seen;
}

std::vector<std::size_t> reverse_postorder(const Cfg& cfg) {
  const std::size_t n = cfg.nodes.size();
  std::vector<std::size_t> post;
  post.reserve(n);
  std::vector<bool> seen(n, false);
  std::vector<std::pair<std::size_t, std::size_t>> frames{{Cfg::kEntry, 0}};  // Node, next edge.
  seen[Cfg::kEntry] = true;
  while (!frames.empty()) {
    auto& [node, next] = frames.back();
    const std::vector<CfgEdge>& out = cfg.nodes[node].successors;
    if (next < out.size()) {
      const std::size_t to = out[next++].to;
      if (!seen[to]) {
        seen[to] = true;
        frames.emplace_back(to, 0);
      }
      continue;
    }
    post.push_back(node);
    frames.pop_back();
  }
  std::vector<std::size_t> order(post.rbegin(), post.rend());
  for (std::size_t node = 0; node < n; ++node) {
    if (!seen[node]) {
      order.push_back(node);
    }
  }
  return order;
}

bool step_always_waits(const ir::Step& step) {
  return std::holds_alternative<ir::AskStep>(step.body) ||
         std::holds_alternative<ir::DelayStep>(step.body);
}

}  // namespace waflow::checks
