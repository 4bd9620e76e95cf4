// Builds the span-carrying YAML tree of yaml_tree.h from yaml-cpp parser events.
//
// yaml-cpp marks give where a node starts (a byte offset, since the input is
// UTF-8); where it ends is found here in the source text: the closing quote of
// a quoted scalar, the end of a plain one, the closing bracket of a flow
// collection, the end of the last child of a block one. Every yaml-cpp
// exception is caught here and becomes a TreeError.

#include "runtime/base/yaml_tree.h"

#include <algorithm>
#include <cstddef>
#include <istream>
#include <limits>
#include <map>
#include <memory>
#include <streambuf>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include "runtime/base/yaml_fast.h"

namespace waflow::yaml {

std::size_t Node::size() const {
  return kind == NodeKind::Sequence ? items.size() : kind == NodeKind::Mapping ? entries.size() : 0;
}

const Node* Node::find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k->kind == NodeKind::Scalar && k->value == key) {
      return v.get();
    }
  }
  return nullptr;
}

namespace {

// Reads a string without copying it into a stringstream.
class MemoryBuffer : public std::streambuf {
 public:
  explicit MemoryBuffer(std::string_view text) {
    char* begin = const_cast<char*>(text.data());  // NOLINT: read-only use.
    setg(begin, begin, begin + text.size());
  }
};

// Thrown from inside the event handler to stop yaml-cpp's parser.
struct Stop {
  TreeError error;
};

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// The nodes of one tree come from one arena: a document has many small nodes,
// and allocating and freeing each one took as long as building the tree. Each
// node's control block holds the arena through its allocator, so the arena
// lives as long as any node of the tree does, and goes with the last one.
class Arena {
 public:
  void* allocate(std::size_t size, std::size_t align) {
    std::size_t at = (used_ + align - 1) & ~(align - 1);
    if (blocks_.empty() || at + size > kBlockSize) {
      blocks_.push_back(std::make_unique<std::byte[]>(std::max(kBlockSize, size)));
      at = 0;
    }
    used_ = at + size;
    return blocks_.back().get() + at;
  }

 private:
  static constexpr std::size_t kBlockSize = 64 * 1024;
  std::vector<std::unique_ptr<std::byte[]>> blocks_;
  std::size_t used_ = 0;
};

template <class T>
struct ArenaAllocator {
  using value_type = T;
  std::shared_ptr<Arena> arena;

  explicit ArenaAllocator(std::shared_ptr<Arena> a) : arena(std::move(a)) {}
  template <class U>
  ArenaAllocator(const ArenaAllocator<U>& other) : arena(other.arena) {}  // NOLINT: rebinding.
  T* allocate(std::size_t n) {
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    return static_cast<T*>(arena->allocate(n * sizeof(T), alignof(T)));
  }
  void deallocate(T* /*p*/, std::size_t /*n*/) {}  // The arena frees all at once.
  template <class U>
  bool operator==(const ArenaAllocator<U>& other) const {
    return arena == other.arena;
  }
};

class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(std::string_view text, const TreeOptions& options)
      : text_(text), offset_(options.offset), file_(options.file), options_(options) {}

  NodePtr root() const { return root_; }
  std::uint64_t created() const { return created_; }

  void OnDocumentStart(const YAML::Mark& /*mark*/) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto node = make(mark);
    const std::uint32_t begin = skip_properties(position(mark));
    node->span = {file_, begin, begin};
    for (std::string_view word : {"~", "null", "Null", "NULL"}) {
      if (text_.substr(begin - offset_, word.size()) == word) {
        node->value = std::string(word);
        node->span.end = begin + static_cast<std::uint32_t>(word.size());
        break;
      }
    }
    finish(std::move(node), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto found = anchors_.find(anchor);
    if (found == anchors_.end()) {
      // An alias inside the node its anchor names would make the tree cyclic.
      const std::uint32_t at = position(mark);
      throw Stop{TreeError{TreeError::Kind::CyclicAlias, SourceSpan{file_, at, alias_end(at)},
                           "an alias cannot refer to the node that contains it", mark.line,
                           mark.column}};
    }
    add(found->second);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    auto node = make(mark);
    node->kind = NodeKind::Scalar;
    node->value = value;
    node->tag = tag;
    const std::uint32_t begin = skip_properties(position(mark));
    const char first = at(begin);
    node->style = first == '"'                   ? ScalarStyle::DoubleQuoted
                  : first == '\''                ? ScalarStyle::SingleQuoted
                  : first == '|' || first == '>' ? ScalarStyle::Block
                                                 : ScalarStyle::Plain;
    node->span = {file_, begin, scalar_end(begin, mark, node->style, value)};
    finish(std::move(node), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value style) override {
    open(mark, tag, anchor, NodeKind::Sequence, style == YAML::EmitterStyle::Flow);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value style) override {
    open(mark, tag, anchor, NodeKind::Mapping, style == YAML::EmitterStyle::Flow);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Open {
    std::shared_ptr<Node> node;
    YAML::anchor_t anchor = 0;
    std::size_t first = 0;  // Where its children start in children_.
  };

  std::string_view text_;  // Without a byte order mark; offset_ bytes into the file.
  std::uint32_t offset_;
  FileId file_;
  const TreeOptions& options_;
  std::vector<Open> stack_;
  // The children of the open collections, innermost last: a collection's items
  // (or keys and values) go into its node in one allocation when it closes.
  std::vector<NodePtr> children_;
  std::map<YAML::anchor_t, NodePtr> anchors_;
  std::shared_ptr<Arena> arena_ = std::make_shared<Arena>();
  NodePtr root_;
  std::uint64_t created_ = 0;

  std::shared_ptr<Node> make(const YAML::Mark& mark) {
    auto node = std::allocate_shared<Node>(ArenaAllocator<Node>(arena_));
    node->line = mark.line;
    node->column = mark.column;
    return node;
  }

  char at(std::uint32_t file_offset) const {
    const std::size_t i = file_offset - offset_;
    return i < text_.size() ? text_[i] : '\0';
  }
  std::uint32_t file_end() const { return offset_ + static_cast<std::uint32_t>(text_.size()); }

  std::uint32_t position(const YAML::Mark& mark) const {
    const std::size_t pos = mark.pos < 0 ? 0 : static_cast<std::size_t>(mark.pos);
    return offset_ + static_cast<std::uint32_t>(std::min(pos, text_.size()));
  }

  // Anchors (&a) and tags (!t) come before the node they annotate; the node's
  // span starts after them.
  std::uint32_t skip_properties(std::uint32_t i) const {
    while (at(i) == '&' || at(i) == '!') {
      while (i < file_end() && !is_space(at(i))) {
        ++i;
      }
      while (i < file_end() && is_space(at(i))) {
        ++i;
      }
    }
    return i;
  }

  std::uint32_t alias_end(std::uint32_t i) const {
    ++i;
    while (i < file_end() && !is_space(at(i)) && at(i) != ',' && at(i) != ']' && at(i) != '}') {
      ++i;
    }
    return i;
  }

  // yaml-cpp takes a quote left open as running to the end of the file.
  std::uint32_t unclosed(std::uint32_t begin, const YAML::Mark& mark) const {
    if (options_.unclosed_quote_is_error) {
      throw Stop{TreeError{TreeError::Kind::UnclosedQuote, SourceSpan{file_, begin, begin + 1},
                           "this quoted string is not closed", mark.line, mark.column}};
    }
    return file_end();
  }

  std::uint32_t scalar_end(std::uint32_t begin, const YAML::Mark& mark, ScalarStyle style,
                           const std::string& value) const {
    std::uint32_t i = begin;
    const std::uint32_t end = file_end();
    switch (style) {
      case ScalarStyle::DoubleQuoted:
        for (++i; i < end; ++i) {
          if (at(i) == '\\') {
            ++i;
          } else if (at(i) == '"') {
            return i + 1;
          }
        }
        return unclosed(begin, mark);
      case ScalarStyle::SingleQuoted:
        for (++i; i < end; ++i) {
          if (at(i) == '\'') {
            if (at(i + 1) != '\'') {
              return i + 1;
            }
            ++i;
          }
        }
        return unclosed(begin, mark);
      case ScalarStyle::Block:
      case ScalarStyle::Plain:
        break;
    }
    if (style == ScalarStyle::Plain && begin - offset_ + value.size() <= text_.size() &&
        text_.substr(begin - offset_, value.size()) == value) {
      return begin + static_cast<std::uint32_t>(value.size());
    }
    // A folded plain scalar, or a block scalar: the rest of the first line.
    const bool in_flow = !stack_.empty() && stack_.back().node->flow;
    while (i < end && at(i) != '\n' && !(at(i) == '#' && i > begin && is_space(at(i - 1))) &&
           !(in_flow && (at(i) == ',' || at(i) == ']' || at(i) == '}'))) {
      ++i;
    }
    while (i > begin && is_space(at(i - 1))) {
      --i;
    }
    return i;
  }

  void open(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, NodeKind kind,
            bool flow) {
    const std::uint32_t begin = skip_properties(position(mark));
    if (options_.max_depth != 0 && stack_.size() >= options_.max_depth) {
      throw Stop{TreeError{TreeError::Kind::TooDeep, SourceSpan{file_, begin, begin},
                           "nested too deep", mark.line, mark.column}};
    }
    auto node = make(mark);
    node->kind = kind;
    node->tag = tag;
    node->flow = flow;
    node->span = {file_, begin, begin};
    stack_.push_back(Open{std::move(node), anchor, children_.size()});
  }

  void close() {
    Open top = std::move(stack_.back());
    stack_.pop_back();
    Node& node = *top.node;
    const auto first = children_.begin() + static_cast<std::ptrdiff_t>(top.first);
    if (node.kind == NodeKind::Sequence) {
      node.items.assign(std::make_move_iterator(first), std::make_move_iterator(children_.end()));
    } else {
      node.entries.reserve((children_.size() - top.first) / 2);
      for (auto it = first; it + 1 < children_.end(); it += 2) {
        node.entries.emplace_back(std::move(*it), std::move(*(it + 1)));
      }
    }
    children_.erase(first, children_.end());
    std::uint32_t end = node.span.begin;
    if (!node.items.empty()) {
      end = node.items.back()->span.end;
    } else if (!node.entries.empty()) {
      end = node.entries.back().second->span.end;
    } else if (node.flow) {
      end = node.span.begin + 1;
    }
    // An alias's span lies elsewhere in the file; never let it shrink this one.
    end = std::max(end, node.span.begin);
    if (node.flow) {
      const char closer = node.kind == NodeKind::Sequence ? ']' : '}';
      std::uint32_t i = end;
      while (i < file_end() && (is_space(at(i)) || at(i) == ',')) {
        ++i;
      }
      if (at(i) == closer) {
        end = i + 1;
      }
    }
    node.span.end = end;
    finish(std::move(top.node), top.anchor);
  }

  void finish(std::shared_ptr<Node> node, YAML::anchor_t anchor) {
    if (anchor != 0) {
      anchors_[anchor] = node;
    }
    add(std::move(node));
  }

  void add(NodePtr node) {
    ++created_;
    if (stack_.empty()) {
      root_ = std::move(node);
      return;
    }
    Node& top = *stack_.back().node;
    top.weight = saturating_add(top.weight, node->weight);
    children_.push_back(std::move(node));
  }
};

// Stops at the start of a second document.
class SecondDocumentProbe : public YAML::EventHandler {
 public:
  SecondDocumentProbe(FileId file, std::uint32_t offset, std::uint32_t size)
      : file_(file), offset_(offset), size_(size) {}
  void OnDocumentStart(const YAML::Mark& mark) override {
    const std::uint32_t pos = mark.pos < 0 ? 0 : static_cast<std::uint32_t>(mark.pos);
    const std::uint32_t at = offset_ + std::min(pos, size_);
    throw Stop{TreeError{TreeError::Kind::SecondDocument, SourceSpan{file_, at, at},
                         "a second document", mark.line, mark.column}};
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& /*m*/, YAML::anchor_t /*a*/) override {}
  void OnAlias(const YAML::Mark& /*m*/, YAML::anchor_t /*a*/) override {}
  void OnScalar(const YAML::Mark& /*m*/, const std::string& /*t*/, YAML::anchor_t /*a*/,
                const std::string& /*v*/) override {}
  void OnSequenceStart(const YAML::Mark& /*m*/, const std::string& /*t*/, YAML::anchor_t /*a*/,
                       YAML::EmitterStyle::value /*s*/) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& /*m*/, const std::string& /*t*/, YAML::anchor_t /*a*/,
                  YAML::EmitterStyle::value /*s*/) override {}
  void OnMapEnd() override {}

 private:
  FileId file_;
  std::uint32_t offset_;
  std::uint32_t size_;
};

TreeError from_mark(TreeError::Kind kind, const YAML::Mark& mark, std::string message,
                    const TreeOptions& options, std::size_t size) {
  const std::size_t pos = mark.pos < 0 ? 0 : static_cast<std::size_t>(mark.pos);
  const auto at = options.offset + static_cast<std::uint32_t>(std::min(pos, size));
  return TreeError{kind, SourceSpan{options.file, at, at}, std::move(message), mark.line,
                   mark.column};
}

}  // namespace

std::optional<Tree> read_plain_subset(std::string_view text, const TreeOptions& options) {
  TreeBuilder builder(text, options);
  const std::size_t depth_limit =
      options.max_depth == 0 ? std::numeric_limits<std::size_t>::max() : options.max_depth;
  try {
    if (!detail::send_plain_subset(text, depth_limit, builder)) {
      return std::nullopt;
    }
  } catch (const Stop&) {
    return std::nullopt;  // The subset reader stays under the builder's limits; never mind.
  }
  Tree tree;
  tree.root = builder.root();
  tree.created = builder.created();
  return tree;
}

Tree build_tree(std::string_view text, const TreeOptions& options) {
  if (options.fast) {
    if (std::optional<Tree> tree = read_plain_subset(text, options)) {
      return std::move(*tree);
    }
  }
  Tree tree;
  MemoryBuffer buffer(text);
  std::istream in(&buffer);
  TreeBuilder builder(text, options);
  try {
    YAML::Parser parser(in);
    if (!parser.HandleNextDocument(builder)) {
      return tree;
    }
    tree.root = builder.root();
    tree.created = builder.created();
    if (options.one_document) {
      SecondDocumentProbe probe(options.file, options.offset,
                                static_cast<std::uint32_t>(text.size()));
      parser.HandleNextDocument(probe);
    }
  } catch (const Stop& stop) {
    tree.error = stop.error;
  } catch (const YAML::DeepRecursion& e) {
    tree.error = from_mark(TreeError::Kind::TooDeep, e.mark, e.msg, options, text.size());
  } catch (const YAML::Exception& e) {
    tree.error = from_mark(TreeError::Kind::Syntax, e.mark, e.msg, options, text.size());
  } catch (const std::exception& e) {
    tree.error = TreeError{TreeError::Kind::Other, SourceSpan{options.file, 0, 0}, e.what()};
  }
  if (tree.error && tree.error->kind != TreeError::Kind::SecondDocument) {
    tree.root = nullptr;
  }
  return tree;
}

}  // namespace waflow::yaml
