// Loads a flow file into the YAML tree of runtime/base/yaml_tree.h and turns
// the builder's errors into diagnostics, with help for yaml-cpp's terse
// messages.

#include "compiler/yaml/document.h"

#include <string>
#include <string_view>

namespace waflow::yaml {

namespace {

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
  TreeOptions options;
  options.file = file;
  options.offset = offset;
  const Tree tree = build_tree(text, options);
  if (tree.error) {
    const TreeError& e = *tree.error;
    switch (e.kind) {
      case TreeError::Kind::SecondDocument:
        diags.report(DiagnosticKind::YamlSyntax, e.span,
                     "a flow file holds one YAML document; this starts a second one");
        break;
      case TreeError::Kind::UnclosedQuote:
        diags.report(DiagnosticKind::YamlSyntax, e.span, "this quoted string is not closed");
        return nullptr;
      case TreeError::Kind::CyclicAlias:
        diags.report(DiagnosticKind::YamlSyntax, e.span,
                     "an alias cannot refer to the node that contains it");
        return nullptr;
      case TreeError::Kind::TooDeep:
        diags.report(DiagnosticKind::NestingTooDeep, e.span, kMaxDepth);
        return nullptr;
      case TreeError::Kind::Syntax: {
        Diagnostic& d = diags.report(DiagnosticKind::YamlSyntax, e.span, e.message);
        add_help(d, e.message, text, e.span.begin - offset);
        return nullptr;
      }
      case TreeError::Kind::Other:
        diags.report(DiagnosticKind::YamlSyntax, e.span, e.message);
        return nullptr;
    }
  }
  NodePtr root = tree.root;
  // Aliases share subtrees; reading them repeats the work. Refuse documents that
  // use them to blow up far beyond their size.
  const std::uint64_t limit = tree.weight_limit();
  if (root != nullptr && root->weight > limit) {
    diags.report(DiagnosticKind::YamlSyntax, SourceSpan{file, offset, offset},
                 fmt::format("aliases expand this document to more than {} nodes", limit));
    return nullptr;
  }
  return root;
}

}  // namespace waflow::yaml
