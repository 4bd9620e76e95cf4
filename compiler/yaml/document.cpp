// Builds the span-carrying YAML tree of document.h from yaml-cpp parser events.
//
// yaml-cpp marks give where a node starts (a byte offset, since the input is
// UTF-8); where it ends is found here in the source text: the closing quote of
// a quoted scalar, the end of a plain one, the closing bracket of a flow
// collection, the end of the last child of a block one. Every yaml-cpp
// exception is caught here and becomes a diagnostic.

#include "compiler/yaml/document.h"

#include <algorithm>
#include <istream>
#include <limits>
#include <map>
#include <streambuf>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

namespace waflow::yaml {

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
struct TooDeep {
  std::uint32_t at = 0;
};
struct SecondDocument {
  std::uint32_t at = 0;
};
struct UnclosedQuote {
  std::uint32_t at = 0;
};
struct CyclicAlias {
  SourceSpan span;
};

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(std::string_view text, std::uint32_t offset, FileId file)
      : text_(text), offset_(offset), file_(file) {}

  NodePtr root() const { return root_; }
  std::uint64_t created() const { return created_; }

  void OnDocumentStart(const YAML::Mark& /*mark*/) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto node = std::make_shared<Node>();
    const std::uint32_t begin = skip_properties(position(mark));
    node->span = {file_, begin, begin};
    for (std::string_view word : {"~", "null", "Null", "NULL"}) {
      if (text_.substr(begin - offset_, word.size()) == word) {
        node->value = std::string(word);
        node->span.end = begin + static_cast<std::uint32_t>(word.size());
        break;
      }
    }
    finish(node, anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto found = anchors_.find(anchor);
    if (found == anchors_.end()) {
      // An alias inside the node its anchor names would make the tree cyclic.
      const std::uint32_t at = position(mark);
      throw CyclicAlias{SourceSpan{file_, at, alias_end(at)}};
    }
    add(found->second);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                const std::string& value) override {
    auto node = std::make_shared<Node>();
    node->kind = NodeKind::Scalar;
    node->value = value;
    const std::uint32_t begin = skip_properties(position(mark));
    const char first = at(begin);
    node->style = first == '"'                   ? ScalarStyle::DoubleQuoted
                  : first == '\''                ? ScalarStyle::SingleQuoted
                  : first == '|' || first == '>' ? ScalarStyle::Block
                                                 : ScalarStyle::Plain;
    node->span = {file_, begin, scalar_end(begin, node->style, value)};
    finish(node, anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value style) override {
    open(mark, anchor, NodeKind::Sequence, style == YAML::EmitterStyle::Flow);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value style) override {
    open(mark, anchor, NodeKind::Mapping, style == YAML::EmitterStyle::Flow);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Open {
    std::shared_ptr<Node> node;
    YAML::anchor_t anchor = 0;
    NodePtr key;
  };

  std::string_view text_;  // Without a byte order mark; offset_ bytes into the file.
  std::uint32_t offset_;
  FileId file_;
  std::vector<Open> stack_;
  std::map<YAML::anchor_t, NodePtr> anchors_;
  NodePtr root_;
  std::uint64_t created_ = 0;

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

  std::uint32_t scalar_end(std::uint32_t begin, ScalarStyle style, const std::string& value) const {
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
        // yaml-cpp takes a quote left open as running to the end of the file.
        throw UnclosedQuote{begin};
      case ScalarStyle::SingleQuoted:
        for (++i; i < end; ++i) {
          if (at(i) == '\'') {
            if (at(i + 1) != '\'') {
              return i + 1;
            }
            ++i;
          }
        }
        throw UnclosedQuote{begin};
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

  void open(const YAML::Mark& mark, YAML::anchor_t anchor, NodeKind kind, bool flow) {
    const std::uint32_t begin = skip_properties(position(mark));
    if (stack_.size() >= kMaxDepth) {
      throw TooDeep{begin};
    }
    auto node = std::make_shared<Node>();
    node->kind = kind;
    node->flow = flow;
    node->span = {file_, begin, begin};
    stack_.push_back(Open{node, anchor, nullptr});
  }

  void close() {
    Open top = std::move(stack_.back());
    stack_.pop_back();
    Node& node = *top.node;
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
    finish(top.node, top.anchor);
  }

  void finish(const std::shared_ptr<Node>& node, YAML::anchor_t anchor) {
    if (anchor != 0) {
      anchors_[anchor] = node;
    }
    add(node);
  }

  void add(NodePtr node) {
    ++created_;
    if (stack_.empty()) {
      root_ = std::move(node);
      return;
    }
    Open& top = stack_.back();
    top.node->weight = saturating_add(top.node->weight, node->weight);
    if (top.node->kind == NodeKind::Sequence) {
      top.node->items.push_back(std::move(node));
    } else if (top.key == nullptr) {
      top.key = std::move(node);
    } else {
      top.node->entries.emplace_back(std::move(top.key), std::move(node));
      top.key = nullptr;
    }
  }
};

// Stops at the start of a second document, which a flow file must not have.
class SecondDocumentProbe : public YAML::EventHandler {
 public:
  SecondDocumentProbe(std::uint32_t offset, std::uint32_t size) : offset_(offset), size_(size) {}
  void OnDocumentStart(const YAML::Mark& mark) override {
    const std::uint32_t pos = mark.pos < 0 ? 0 : static_cast<std::uint32_t>(mark.pos);
    throw SecondDocument{offset_ + std::min(pos, size_)};
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
  std::uint32_t offset_;
  std::uint32_t size_;
};

// YAML allows no C0 control characters but tab and line breaks; yaml-cpp would
// take NUL bytes as a hint that the text is UTF-16 or UTF-32.
std::size_t control_character(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      return i;
    }
  }
  return std::string_view::npos;
}

std::uint32_t mark_offset(const YAML::Mark& mark, std::uint32_t offset, std::size_t size) {
  const std::size_t pos = mark.pos < 0 ? 0 : static_cast<std::size_t>(mark.pos);
  return offset + static_cast<std::uint32_t>(std::min(pos, size));
}

// yaml-cpp's messages name the grammar rule; say what usually causes them.
void add_help(Diagnostic& d, const std::string& message, std::string_view text, std::size_t at) {
  const std::size_t line_start = text.rfind('\n', at == 0 ? 0 : at - 1);
  const std::size_t from = line_start == std::string_view::npos ? 0 : line_start + 1;
  const std::size_t indent_end = text.find_first_not_of(" \t", from);
  const std::string_view indent =
      text.substr(from, (indent_end == std::string_view::npos ? text.size() : indent_end) - from);
  if (indent.find('\t') != std::string_view::npos) {
    d.notes.push_back(
        Note{true, "YAML indents with spaces; this line's indentation holds a tab", {}});
  } else if (message == "illegal map value") {
    d.notes.push_back(
        Note{true, "a ': ' inside a text starts a new key; put the text in quotes", {}});
  } else if (message == "end of sequence not found" || message == "end of map not found") {
    d.notes.push_back(
        Note{true,
             "the items of one list or mapping start in the same column; check the indentation",
             {}});
  } else if (message == "end of sequence flow not found") {
    d.notes.push_back(Note{true, "a list opened with '[' must be closed with ']'", {}});
  } else if (message == "end of map flow not found") {
    d.notes.push_back(Note{true, "a mapping opened with '{' must be closed with '}'", {}});
  }
}

}  // namespace

NodePtr load_document(const SourceManager& sources, FileId file, Diagnostics& diags) {
  std::string_view text = sources.file(file).text;
  std::uint32_t offset = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    // yaml-cpp skips a byte order mark without counting it in its marks.
    text.remove_prefix(3);
    offset = 3;
  }
  if (const std::size_t bad = control_character(text); bad != std::string_view::npos) {
    const auto at = offset + static_cast<std::uint32_t>(bad);
    diags.report(DiagnosticKind::YamlSyntax, SourceSpan{file, at, at + 1},
                 fmt::format("control character U+{:04X} is not allowed",
                             static_cast<unsigned>(static_cast<unsigned char>(text[bad]))));
    return nullptr;
  }
  const auto size = static_cast<std::uint32_t>(text.size());
  MemoryBuffer buffer(text);
  std::istream in(&buffer);
  TreeBuilder builder(text, offset, file);
  try {
    YAML::Parser parser(in);
    if (!parser.HandleNextDocument(builder)) {
      return nullptr;
    }
    SecondDocumentProbe probe(offset, size);
    parser.HandleNextDocument(probe);
  } catch (const SecondDocument& second) {
    diags.report(DiagnosticKind::YamlSyntax, SourceSpan{file, second.at, second.at},
                 "a flow file holds one YAML document; this starts a second one");
  } catch (const UnclosedQuote& quote) {
    diags.report(DiagnosticKind::YamlSyntax, SourceSpan{file, quote.at, quote.at + 1},
                 "this quoted string is not closed");
    return nullptr;
  } catch (const CyclicAlias& alias) {
    diags.report(DiagnosticKind::YamlSyntax, alias.span,
                 "an alias cannot refer to the node that contains it");
    return nullptr;
  } catch (const TooDeep& deep) {
    diags.report(DiagnosticKind::NestingTooDeep, SourceSpan{file, deep.at, deep.at}, kMaxDepth);
    return nullptr;
  } catch (const YAML::DeepRecursion& e) {
    const std::uint32_t at = mark_offset(e.mark, offset, text.size());
    diags.report(DiagnosticKind::NestingTooDeep, SourceSpan{file, at, at}, kMaxDepth);
    return nullptr;
  } catch (const YAML::Exception& e) {
    const std::uint32_t at = mark_offset(e.mark, offset, text.size());
    Diagnostic& d = diags.report(DiagnosticKind::YamlSyntax, SourceSpan{file, at, at}, e.msg);
    add_help(d, e.msg, text, at - offset);
    return nullptr;
  } catch (const std::exception& e) {
    diags.report(DiagnosticKind::YamlSyntax, SourceSpan{file, 0, 0}, e.what());
    return nullptr;
  }
  NodePtr root = builder.root();
  // Aliases share subtrees; reading them repeats the work. Refuse documents that
  // use them to blow up far beyond their size.
  const std::uint64_t limit = 1'000'000 + 2 * builder.created();
  if (root != nullptr && root->weight > limit) {
    diags.report(DiagnosticKind::YamlSyntax, SourceSpan{file, offset, offset},
                 fmt::format("aliases expand this document to more than {} nodes", limit));
    return nullptr;
  }
  return root;
}

}  // namespace waflow::yaml
