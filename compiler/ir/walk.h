#pragma once

// Walking the step tree: the nested blocks a step owns, and a pre-order visit of
// every step in a block. Works on const and mutable IR alike.

#include <type_traits>
#include <vector>

#include "compiler/ir/flow.h"

namespace waflow::ir {

// The nested blocks of a step, in source order.
template <typename StepT>
auto child_blocks(StepT& step) {
  using BlockPtr = std::conditional_t<std::is_const_v<StepT>, const Block*, Block*>;
  std::vector<BlockPtr> out;
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, AskStep>) {
          out.push_back(&body.on_invalid);
          out.push_back(&body.on_timeout);
        } else if constexpr (std::is_same_v<T, AiReplyStep> || std::is_same_v<T, HttpStep>) {
          out.push_back(&body.on_error);
        } else if constexpr (std::is_same_v<T, AiExtractStep>) {
          out.push_back(&body.on_invalid);
          out.push_back(&body.on_error);
        } else if constexpr (std::is_same_v<T, AiClassifyStep>) {
          for (auto& intent : body.intents) {
            out.push_back(&intent.body);
          }
          out.push_back(&body.other);
          out.push_back(&body.on_error);
        } else if constexpr (std::is_same_v<T, IfStep>) {
          for (auto& branch : body.branches) {
            out.push_back(&branch.body);
          }
          out.push_back(&body.otherwise);
        } else if constexpr (std::is_same_v<T, MatchStep>) {
          for (auto& kase : body.cases) {
            out.push_back(&kase.body);
          }
          out.push_back(&body.otherwise);
        }
      },
      step.body);
  return out;
}

// Calls fn(step) for every step of `block` and of its nested blocks, pre-order.
template <typename BlockT, typename Fn>
void for_each_step(BlockT& block, const Fn& fn) {
  for (auto& step : block) {
    fn(step);
    for (auto* child : child_blocks(step)) {
      for_each_step(*child, fn);
    }
  }
}

}  // namespace waflow::ir
