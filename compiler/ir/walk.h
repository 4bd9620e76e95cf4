#pragma once

// Walking the step tree: the nested blocks a step owns, and a pre-order visit of
// every step in a block. Works on const and mutable IR alike.
//
// Every check walks the whole tree several times, so the walk allocates nothing:
// for_each_child_block hands each nested block to a callback, and child_blocks
// (a vector of them) is built on top of it for callers that want a list.

#include <type_traits>
#include <vector>

#include "compiler/ir/flow.h"

namespace waflow::ir {

// Calls fn(block) for each nested block of a step, in source order.
template <typename StepT, typename Fn>
void for_each_child_block(StepT& step, const Fn& fn) {
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, AskStep>) {
          fn(body.on_invalid);
          fn(body.on_timeout);
        } else if constexpr (std::is_same_v<T, AiReplyStep> || std::is_same_v<T, HttpStep>) {
          fn(body.on_error);
        } else if constexpr (std::is_same_v<T, AiExtractStep>) {
          fn(body.on_invalid);
          fn(body.on_error);
        } else if constexpr (std::is_same_v<T, AiClassifyStep>) {
          for (auto& intent : body.intents) {
            fn(intent.body);
          }
          fn(body.other);
          fn(body.on_error);
        } else if constexpr (std::is_same_v<T, IfStep>) {
          for (auto& branch : body.branches) {
            fn(branch.body);
          }
          fn(body.otherwise);
        } else if constexpr (std::is_same_v<T, MatchStep>) {
          for (auto& kase : body.cases) {
            fn(kase.body);
          }
          fn(body.otherwise);
        }
      },
      step.body);
}

// The nested blocks of a step, in source order.
template <typename StepT>
auto child_blocks(StepT& step) {
  using BlockPtr = std::conditional_t<std::is_const_v<StepT>, const Block*, Block*>;
  std::vector<BlockPtr> out;
  for_each_child_block(step, [&](auto& block) { out.push_back(&block); });
  return out;
}

// Calls fn(step) for every step of `block` and of its nested blocks, pre-order.
template <typename BlockT, typename Fn>
void for_each_step(BlockT& block, const Fn& fn) {
  for (auto& step : block) {
    fn(step);
    for_each_child_block(step, [&](auto& child) { for_each_step(child, fn); });
  }
}

}  // namespace waflow::ir
