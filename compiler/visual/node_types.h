#pragma once

// The visual node types and their handles, shared by the reader and the writer
// (docs/visual.md is the reference).
//
// A node's type follows from its step (an ask with buttons is a `buttons` node,
// with a list a `list` node, otherwise `user_reply`; see node_type_of). Its
// handles follow from the step too: `next` for every step that carries on, then
// one handle per exit in the order of the step's nested blocks. Optional exits
// (invalid, timeout, error) exist only when the step declares them.

#include <string>
#include <type_traits>
#include <vector>

#include "compiler/ir/flow.h"
#include "compiler/visual/structure.h"

namespace waflow::visual {

// Every node type, start included, in documentation order.
const std::vector<std::string>& node_type_names();

// The type of the node a step is written as.
std::string node_type_of(const ir::StepBody& body);

NodeShape shape_of(const ir::StepBody& body);

struct HandleSpec {
  std::string name;
  ExitRole role = ExitRole::Optional;
};

// The exit handles of a step's node, in the order of its nested blocks ("next"
// not included).
std::vector<HandleSpec> exit_handles(const ir::StepBody& body);

// The nested blocks behind exit_handles, in the same order.
template <typename StepT>
auto exit_blocks(StepT& step) {
  using BlockPtr = std::conditional_t<std::is_const_v<StepT>, const ir::Block*, ir::Block*>;
  std::vector<BlockPtr> out;
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, ir::AskStep>) {
          if (body.has_invalid) {
            out.push_back(&body.on_invalid);
          }
          if (body.timeout) {
            out.push_back(&body.on_timeout);
          }
        } else if constexpr (std::is_same_v<T, ir::AiReplyStep> ||
                             std::is_same_v<T, ir::HttpStep>) {
          if (body.has_error) {
            out.push_back(&body.on_error);
          }
        } else if constexpr (std::is_same_v<T, ir::AiExtractStep>) {
          if (body.has_invalid) {
            out.push_back(&body.on_invalid);
          }
          if (body.has_error) {
            out.push_back(&body.on_error);
          }
        } else if constexpr (std::is_same_v<T, ir::AiClassifyStep>) {
          for (auto& intent : body.intents) {
            out.push_back(&intent.body);
          }
          out.push_back(&body.other);
          if (body.has_error) {
            out.push_back(&body.on_error);
          }
        } else if constexpr (std::is_same_v<T, ir::IfStep>) {
          for (auto& branch : body.branches) {
            out.push_back(&branch.body);
          }
          out.push_back(&body.otherwise);
        } else if constexpr (std::is_same_v<T, ir::MatchStep>) {
          for (auto& kase : body.cases) {
            out.push_back(&kase.body);
          }
          out.push_back(&body.otherwise);
        }
      },
      step.body);
  return out;
}

}  // namespace waflow::visual
