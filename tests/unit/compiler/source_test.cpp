// Positions and rendering on very long lines (minified JSON): columns counted
// from the marks SourceManager keeps must equal columns counted from the line
// start, and a diagnostic far into a line shows the window around its caret.

#include "runtime/base/source.h"

#include <string>

#include <catch2/catch.hpp>

#include "compiler/diagnostic.h"
#include "compiler/render.h"

namespace {

// A long line mixing ASCII, 2-, 3- and 4-byte characters and invalid bytes.
std::string long_line(std::size_t pieces) {
  std::string text;
  for (std::size_t i = 0; i < pieces; ++i) {
    switch (i % 7) {
      case 0:
        text += "\xC3\xA9";  // é
        break;
      case 1:
        text += "\xE2\x82\xAC";  // €
        break;
      case 2:
        text += "\xF0\x9F\x8D\x95";  // pizza
        break;
      case 3:
        text += "\xFF";  // Invalid: one code point.
        break;
      case 4:
        text += "\xE2\x82";  // A truncated sequence: two code points.
        break;
      default:
        text += "ab";
    }
  }
  return text;
}

}  // namespace

TEST_CASE("source: columns on long lines equal code points counted from the line start",
          "[source]") {
  const std::string first = long_line(20000);
  const std::string text = "short\n" + first + "\n" + long_line(3) + "\n" + first;
  waflow::SourceManager sources;
  const waflow::FileId id = sources.add("long.json", text);
  REQUIRE_FALSE(sources.file(id).marks.empty());
  const auto last_start = static_cast<std::uint32_t>(text.size() - first.size());
  const std::pair<std::uint32_t, std::uint32_t> lines[] = {{6, 2}, {last_start, 4}};
  for (const auto& [start, line] : lines) {
    for (std::uint32_t off = 0; off <= first.size(); off += 997) {
      const waflow::SourceLocation at = sources.location(id, start + off);
      CHECK(at.line == line);
      CHECK(at.column == waflow::utf8_length(std::string_view(text).substr(start, off)) + 1);
    }
  }
  const waflow::SourceLocation end = sources.location(id, static_cast<std::uint32_t>(text.size()));
  CHECK(end.line == 4);
  CHECK(end.column == waflow::utf8_length(std::string_view(text).substr(last_start)) + 1);
}

TEST_CASE("source: a diagnostic far into a long line shows the window around its caret",
          "[source]") {
  std::string line(300000, 'x');
  const std::size_t at = 250000;
  line.replace(at, 5, "{{zz}");
  line.replace(at - 20, 3, "\xE2\x82\xAC");  // A multi-byte character inside the window.
  waflow::SourceManager sources;
  const waflow::FileId id = sources.add("min.json", line);
  waflow::Diagnostics diags;
  diags.report(waflow::DiagnosticKind::TemplateUnknownVariable,
               waflow::SourceSpan{id, static_cast<std::uint32_t>(at + 2),
                                  static_cast<std::uint32_t>(at + 4)},
               "zz");
  const std::string out = waflow::render_diagnostics(diags.all(), sources, {});
  // Column in code points: the euro sign is one code point for three bytes.
  CHECK(out.find("min.json:1:" + std::to_string(at + 2 + 1 - 2) + ":") != std::string::npos);
  const std::size_t shown = out.find(" 1 | ...");
  REQUIRE(shown != std::string::npos);
  const std::size_t shown_end = out.find('\n', shown);
  const std::string shown_line = out.substr(shown, shown_end - shown);
  CHECK(shown_line.find("{{zz}") != std::string::npos);
  CHECK(shown_line.find("\xE2\x82\xAC") != std::string::npos);
  CHECK(shown_line.size() < 200 + 6);
  // The caret sits under "zz".
  const std::size_t caret_line = shown_end + 1;
  const std::size_t caret = out.find('^', caret_line);
  REQUIRE(caret != std::string::npos);
  const std::string shown_text = shown_line.substr(5);  // After " 1 | ".
  const std::size_t zz = shown_text.find("{{zz}") + 2;
  // Columns in cells: the euro sign before the caret takes one cell for 3 bytes.
  CHECK(caret - caret_line - 5 == zz - 2);
  CHECK(out.substr(caret, 2) == "^~");
}
