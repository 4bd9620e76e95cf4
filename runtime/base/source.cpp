#include "runtime/base/source.h"

#include <algorithm>

#include "runtime/base/check.h"

namespace waflow {

namespace {

// Lines up to this many bytes have their columns counted from the line start.
constexpr std::uint32_t kMarkSpacing = 4096;

std::size_t sequence_length(std::string_view text, std::size_t i);

}  // namespace

FileId SourceManager::add(std::string path, std::string text) {
  SourceFile file{std::move(path), std::move(text), {0}, {}};
  std::uint32_t longest = 0;
  for (std::size_t i = 0; i < file.text.size(); ++i) {
    if (file.text[i] == '\n') {
      const auto next = static_cast<std::uint32_t>(i + 1);
      longest = std::max(longest, next - file.line_starts.back());
      file.line_starts.push_back(next);
    }
  }
  longest =
      std::max(longest, static_cast<std::uint32_t>(file.text.size()) - file.line_starts.back());
  if (longest > kMarkSpacing) {
    // The same walk utf8_length makes: a line start is always a boundary, since
    // an invalid byte advances by one and a line break is a byte of its own.
    const std::string_view text_view(file.text);
    std::uint32_t count = 0;
    std::uint32_t next_mark = 0;
    for (std::size_t i = 0; i < text_view.size();) {
      if (i >= next_mark) {
        file.marks.push_back({static_cast<std::uint32_t>(i), count});
        next_mark = static_cast<std::uint32_t>(i) + kMarkSpacing;
      }
      const std::size_t n = sequence_length(text_view, i);
      i += n == 0 ? 1 : n;
      ++count;
    }
  }
  files_.push_back(std::move(file));
  return static_cast<FileId>(files_.size() - 1);
}

const SourceFile& SourceManager::file(FileId id) const {
  WAFLOW_CHECK(id < files_.size(), "unknown file id");
  return files_[id];
}

SourceLocation SourceManager::location(FileId id, std::uint32_t offset) const {
  const SourceFile& f = file(id);
  offset = std::min<std::uint32_t>(offset, static_cast<std::uint32_t>(f.text.size()));
  auto it = std::upper_bound(f.line_starts.begin(), f.line_starts.end(), offset);
  const auto line = static_cast<std::uint32_t>(it - f.line_starts.begin());
  const std::uint32_t start = f.line_starts[line - 1];
  if (offset - start <= kMarkSpacing || f.marks.empty()) {
    const std::string_view before(f.text.data() + start, offset - start);
    return {line, static_cast<std::uint32_t>(utf8_length(before) + 1)};
  }
  // Code points before a boundary, counted from the nearest mark.
  auto before = [&](std::uint32_t at) {
    auto mark = std::upper_bound(
        f.marks.begin(), f.marks.end(), at,
        [](std::uint32_t value, const SourceFile::Mark& m) { return value < m.byte; });
    --mark;  // The first mark is at byte 0.
    const std::string_view rest(f.text.data() + mark->byte, at - mark->byte);
    return mark->code_points + static_cast<std::uint32_t>(utf8_length(rest));
  };
  return {line, before(offset) - before(start) + 1};
}

std::string_view SourceManager::line_text(FileId id, std::uint32_t line) const {
  const SourceFile& f = file(id);
  if (line == 0 || line > f.line_starts.size()) {
    return {};
  }
  const std::uint32_t start = f.line_starts[line - 1];
  std::uint32_t end = line < f.line_starts.size() ? f.line_starts[line] - 1
                                                  : static_cast<std::uint32_t>(f.text.size());
  if (end > start && f.text[end - 1] == '\r') {
    --end;
  }
  return std::string_view(f.text).substr(start, end - start);
}

namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 when invalid.
std::size_t sequence_length(std::string_view text, std::size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  std::size_t n = 0;
  unsigned min = 0;
  unsigned value = 0;
  if (c < 0x80) {
    return 1;
  }
  if ((c & 0xE0U) == 0xC0U) {
    n = 2;
    min = 0x80;
    value = c & 0x1FU;
  } else if ((c & 0xF0U) == 0xE0U) {
    n = 3;
    min = 0x800;
    value = c & 0x0FU;
  } else if ((c & 0xF8U) == 0xF0U) {
    n = 4;
    min = 0x10000;
    value = c & 0x07U;
  } else {
    return 0;
  }
  if (i + n > text.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(text[i + k]);
    if ((cc & 0xC0U) != 0x80U) {
      return 0;
    }
    value = (value << 6U) | (cc & 0x3FU);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    return 0;
  }
  return n;
}

}  // namespace

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = sequence_length(text, i);
    i += n == 0 ? 1 : n;
    ++count;
  }
  return count;
}

std::size_t utf8_invalid_offset(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = sequence_length(text, i);
    if (n == 0) {
      return i;
    }
    i += n;
  }
  return std::string_view::npos;
}

}  // namespace waflow
