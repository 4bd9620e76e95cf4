#pragma once

// A YAML document as a small tree with source spans: what the YAML front end
// reads flows from.
//
// yaml-cpp's own Node hides which scalars were quoted, where a value ends and
// whether a node came from an alias (aliases can even make it cyclic). So the
// loader listens to yaml-cpp's parser events and builds this tree instead:
// every node knows its byte span in the file, aliases are shared subtrees that
// can never contain themselves, and the tree is bounded in depth and in the
// size aliases may expand it to. yaml-cpp stays inside document.cpp.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "compiler/diagnostic.h"

namespace waflow::yaml {

struct Node;
using NodePtr = std::shared_ptr<const Node>;

enum class NodeKind { Null, Scalar, Sequence, Mapping };

enum class ScalarStyle { Plain, SingleQuoted, DoubleQuoted, Block };

struct Node {
  NodeKind kind = NodeKind::Null;
  // Scalar: the value after YAML's quoting and folding rules. Null: the text as
  // written ("~", "null", or "" for an empty value).
  std::string value;
  ScalarStyle style = ScalarStyle::Plain;
  bool flow = false;  // A [..] or {..} collection.
  // The scalar including its quotes; a collection from its first to its last
  // character.
  SourceSpan span;
  std::vector<NodePtr> items;                        // Sequence.
  std::vector<std::pair<NodePtr, NodePtr>> entries;  // Mapping: key, value.
  // Nodes in this subtree counting aliases expanded (saturating).
  std::uint64_t weight = 1;
};

// Containers nested deeper than this are refused (WF0107).
inline constexpr std::size_t kMaxDepth = 200;

// Parses the first YAML document of `file`. Reports malformed YAML (WF0108) and
// too deep nesting (WF0107); returns null when there is no usable document (an
// empty or comment-only file also gives null, without a diagnostic).
NodePtr load_document(const SourceManager& sources, FileId file, Diagnostics& diags);

}  // namespace waflow::yaml
