#pragma once

// A YAML document as a small tree with source spans: what the flow reader
// (compiler/yaml) and the transcript reader (runtime/host) read YAML into.
//
// yaml-cpp's own Node hides which scalars were quoted, where a value ends and
// whether a node came from an alias (aliases can even make it cyclic), and
// building it costs an allocation per node and per link. So the builder listens
// to yaml-cpp's parser events and builds this tree instead: every node knows its
// byte span in the file and the mark yaml-cpp gave it, aliases are shared
// subtrees that can never contain themselves, and the tree is bounded in depth
// and in the size aliases may expand it to. yaml-cpp stays inside
// yaml_tree.cpp, and no yaml-cpp exception leaves it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/base/source.h"

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
  // yaml-cpp's tag: "?" for a plain scalar or a collection, "!" for a quoted or
  // block scalar, or the one written (!t, or tag:yaml.org,2002:str for !!str).
  std::string tag;
  ScalarStyle style = ScalarStyle::Plain;
  bool flow = false;  // A [..] or {..} collection.
  // Where yaml-cpp's parser put the node, 0-based, before any anchor or tag
  // (-1 when unknown): readers that report yaml-cpp's lines and columns use it.
  std::int32_t line = -1;
  std::int32_t column = -1;
  // The scalar including its quotes; a collection from its first to its last
  // character.
  SourceSpan span;
  std::vector<NodePtr> items;                        // Sequence.
  std::vector<std::pair<NodePtr, NodePtr>> entries;  // Mapping: key, value.
  // Nodes in this subtree counting aliases expanded (saturating).
  std::uint64_t weight = 1;

  bool is_scalar() const { return kind == NodeKind::Scalar; }
  bool is_map() const { return kind == NodeKind::Mapping; }
  bool is_sequence() const { return kind == NodeKind::Sequence; }
  // Items of a sequence or entries of a mapping; 0 for anything else.
  std::size_t size() const;
  // The value of the first entry whose key is the scalar `key`, or null (also
  // when this is no mapping).
  const Node* find(std::string_view key) const;
};

// Containers nested deeper than this are refused by the flow reader (WF0107).
inline constexpr std::size_t kMaxDepth = 200;

struct TreeOptions {
  FileId file = kNoFile;
  // Where `text` starts in the file: 3 after a byte order mark the caller took
  // off, so spans are offsets into the whole file.
  std::uint32_t offset = 0;
  // Deeper containers are an error (TooDeep); 0 leaves only yaml-cpp's own limit.
  std::size_t max_depth = kMaxDepth;
  // yaml-cpp takes a quote left open as running to the end of the file; with
  // this set it is an error (UnclosedQuote) instead.
  bool unclosed_quote_is_error = true;
  // Read on after the first document and report a second one (SecondDocument).
  bool one_document = true;
  // Read the plain subset of YAML that flows and transcripts are nearly always
  // written in with a reader of its own, and only the rest with yaml-cpp: the
  // tree, and every error, are the same either way (yaml_fast.h). Off, every
  // text goes to yaml-cpp.
  bool fast = true;
};

struct TreeError {
  enum class Kind {
    Syntax,          // yaml-cpp refused the text: `message` is its message.
    TooDeep,         // Nested deeper than max_depth or than yaml-cpp allows.
    SecondDocument,  // A second document starts at `span` (the tree is kept).
    UnclosedQuote,   // The quote at `span` is never closed.
    CyclicAlias,     // The alias at `span` refers to the node that contains it.
    Other,           // Anything else yaml-cpp threw: `message` says what.
  };
  Kind kind = Kind::Syntax;
  SourceSpan span;
  std::string message;
  // yaml-cpp's mark of the error, 0-based (-1 when unknown).
  std::int32_t line = -1;
  std::int32_t column = -1;
};

struct Tree {
  // The first document; null when there is none (an empty or comment-only text)
  // or when an error other than SecondDocument stopped the reading.
  NodePtr root;
  // Nodes the events created, aliases counted once each.
  std::uint64_t created = 0;
  std::optional<TreeError> error;

  // Documents whose aliases expand them far beyond their size make every walk
  // over them slow; readers refuse a root heavier than this.
  std::uint64_t weight_limit() const { return 1'000'000 + 2 * created; }
};

// Reads the first YAML document of `text` (UTF-8, without a byte order mark).
Tree build_tree(std::string_view text, const TreeOptions& options);

}  // namespace waflow::yaml
