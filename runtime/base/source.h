#pragma once

// Source text and positions shared by every front end and every diagnostic.
//
// A SourceSpan is a byte range in one file. Line and column are worked out only
// when a diagnostic is rendered, by SourceManager, in 1-based code points; so
// PEGTL's byte columns, yaml-cpp's 0-based marks and JSON byte offsets all end up
// in the same coordinates.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace waflow {

using FileId = std::uint32_t;
inline constexpr FileId kNoFile = 0xffffffffU;

struct SourceSpan {
  FileId file = kNoFile;
  std::uint32_t begin = 0;
  std::uint32_t end = 0;

  bool valid() const { return file != kNoFile; }
};

struct SourceLocation {
  std::uint32_t line = 0;    // 1-based.
  std::uint32_t column = 0;  // 1-based, in code points.
};

struct SourceFile {
  std::string path;
  std::string text;
  // Byte offset where each line starts; filled on load.
  std::vector<std::uint32_t> line_starts;
  // For files with very long lines (minified JSON): every few KiB, a byte offset
  // at a code point boundary and the number of code points before it, so a
  // column is counted from the nearest mark rather than from the line start.
  struct Mark {
    std::uint32_t byte = 0;
    std::uint32_t code_points = 0;
  };
  std::vector<Mark> marks;
};

class SourceManager {
 public:
  FileId add(std::string path, std::string text);
  const SourceFile& file(FileId id) const;
  std::size_t size() const { return files_.size(); }

  SourceLocation location(FileId id, std::uint32_t offset) const;
  SourceLocation begin_of(SourceSpan span) const { return location(span.file, span.begin); }
  SourceLocation end_of(SourceSpan span) const { return location(span.file, span.end); }
  // The text of a 1-based line, without its line break.
  std::string_view line_text(FileId id, std::uint32_t line) const;

 private:
  std::vector<SourceFile> files_;
};

// UTF-8 helpers. Invalid sequences count as one code point per byte.
std::size_t utf8_length(std::string_view text);
// Offset of the first byte of an invalid UTF-8 sequence, or npos when valid.
std::size_t utf8_invalid_offset(std::string_view text);

}  // namespace waflow
