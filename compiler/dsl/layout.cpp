#include "compiler/dsl/layout.h"

#include <string>

namespace waflow::dsl {

namespace {

constexpr std::size_t kMaxIndentDepth = 64;

struct LogicalLine {
  std::uint32_t begin = 0;  // First non-blank byte.
  std::uint32_t end = 0;    // End of content (before the line break).
  std::uint32_t indent = 0;
  bool has_tab = false;
};

// Splits text into logical lines, skipping blank and comment-only lines.
std::vector<LogicalLine> split_lines(const std::string& text, FileId file, Diagnostics& diags) {
  std::vector<LogicalLine> lines;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    // Indentation.
    LogicalLine line;
    const std::size_t line_start = i;
    while (i < n && (text[i] == ' ' || text[i] == '\t')) {
      line.has_tab = line.has_tab || text[i] == '\t';
      ++i;
    }
    line.indent = static_cast<std::uint32_t>(i - line_start);
    line.begin = static_cast<std::uint32_t>(i);
    int depth = 0;
    std::size_t content_end = i;
    bool done = false;
    while (i < n && !done) {
      const char c = text[i];
      if (c == '\n') {
        if (depth > 0) {
          ++i;
          continue;
        }
        done = true;
        break;
      }
      if (c == '#') {
        while (i < n && text[i] != '\n') {
          ++i;
        }
        continue;
      }
      if (c == '"' && text.compare(i, 3, "\"\"\"") == 0) {
        const std::size_t close = text.find("\"\"\"", i + 3);
        if (close == std::string::npos) {
          diags.report(DiagnosticKind::UnterminatedString,
                       SourceSpan{file, static_cast<std::uint32_t>(i),
                                  static_cast<std::uint32_t>(i + 3)});
          i = n;
          content_end = n;
          break;
        }
        i = close + 3;
        content_end = i;
        continue;
      }
      if (c == '"' || c == '\'') {
        std::size_t j = i + 1;
        while (j < n && text[j] != c && text[j] != '\n') {
          j += (text[j] == '\\' && j + 1 < n && text[j + 1] != '\n') ? 2U : 1U;
        }
        if (j >= n || text[j] != c) {
          diags.report(DiagnosticKind::UnterminatedString,
                       SourceSpan{file, static_cast<std::uint32_t>(i),
                                  static_cast<std::uint32_t>(j)});
          // Skip the rest of the physical line; the statement is dropped.
          while (j < n && text[j] != '\n') {
            ++j;
          }
          i = j;
          content_end = line.begin;  // Mark the line as broken.
          line.end = line.begin;
          done = true;
          depth = -1;
          break;
        }
        i = j + 1;
        content_end = i;
        continue;
      }
      if (c == '(' || c == '[' || c == '{') {
        ++depth;
      } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
        --depth;
      }
      ++i;
      if (c != ' ' && c != '\t' && c != '\r') {
        content_end = i;
      }
    }
    if (depth == -1) {
      // Broken line: skip it.
      if (i < n) {
        ++i;
      }
      continue;
    }
    line.end = static_cast<std::uint32_t>(content_end);
    if (i < n) {
      ++i;  // The line break.
    }
    if (line.end > line.begin) {
      lines.push_back(line);
    }
  }
  return lines;
}

struct Level {
  std::uint32_t indent;
  std::vector<Node>* nodes;
};

}  // namespace

std::vector<Node> parse_layout(const SourceManager& sources, FileId file, Diagnostics& diags) {
  const std::string& text = sources.file(file).text;
  std::vector<Node> roots;
  std::vector<Level> stack{{0, &roots}};
  bool first = true;
  for (const LogicalLine& line : split_lines(text, file, diags)) {
    const SourceSpan indent_span{file, line.begin - line.indent, line.begin};
    if (line.has_tab) {
      diags.report(DiagnosticKind::BadIndentation, indent_span,
                   "tabs are not allowed in indentation; use spaces");
    }
    if (first && line.indent > 0) {
      diags.report(DiagnosticKind::BadIndentation, indent_span, "the first line is indented");
      stack.front().indent = line.indent;
    }
    first = false;
    if (line.indent > stack.back().indent) {
      std::vector<Node>& current = *stack.back().nodes;
      if (current.empty()) {
        diags.report(DiagnosticKind::BadIndentation, indent_span, "unexpected indentation");
      } else if (stack.size() >= kMaxIndentDepth) {
        diags.report(DiagnosticKind::NestingTooDeep, indent_span, kMaxIndentDepth);
        continue;
      } else {
        stack.push_back(Level{line.indent, &current.back().children});
      }
    } else {
      while (stack.size() > 1 && line.indent < stack.back().indent) {
        stack.pop_back();
      }
      if (line.indent != stack.back().indent) {
        diags.report(DiagnosticKind::BadIndentation, indent_span,
                     "this line's indentation does not match any enclosing block");
      }
    }
    auto statement = parse_statement(text, file, line.begin, line.end, diags);
    if (!statement) {
      // Keep a placeholder so the children of a broken line still nest under it.
      Node broken;
      broken.statement.keyword = "";
      broken.statement.span = SourceSpan{file, line.begin, line.end};
      stack.back().nodes->push_back(std::move(broken));
      continue;
    }
    stack.back().nodes->push_back(Node{std::move(*statement), {}});
  }
  return roots;
}

}  // namespace waflow::dsl
