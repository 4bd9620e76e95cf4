#include "compiler/render.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace waflow {

namespace {

constexpr const char* kBold = "\x1b[1m";
constexpr const char* kRed = "\x1b[1;31m";
constexpr const char* kYellow = "\x1b[1;33m";
constexpr const char* kBlue = "\x1b[1;34m";
constexpr const char* kCyan = "\x1b[1;36m";
constexpr const char* kReset = "\x1b[0m";

std::string paint(bool color, const char* code, std::string_view text) {
  if (!color) {
    return std::string(text);
  }
  return fmt::format("{}{}{}", code, text, kReset);
}

// One displayed character: a code point as UTF-8, an invalid byte as U+FFFD,
// a tab as spaces.
struct Cell {
  std::string text;
  std::size_t byte = 0;  // Offset of its first byte in the line.
};

// `base` is the offset of `line` in the whole line, for Cell::byte.
std::vector<Cell> display_cells(std::string_view line, std::size_t base) {
  std::vector<Cell> cells;
  for (std::size_t i = 0; i < line.size();) {
    std::size_t n = 1;
    const auto c = static_cast<unsigned char>(line[i]);
    if (c >= 0xF0) {
      n = 4;
    } else if (c >= 0xE0) {
      n = 3;
    } else if (c >= 0xC0) {
      n = 2;
    }
    const bool valid =
        i + n <= line.size() && utf8_invalid_offset(line.substr(i, n)) == std::string_view::npos;
    if (line[i] == '\t') {
      for (int k = 0; k < 4; ++k) {
        cells.push_back(Cell{" ", base + i});
      }
      i += 1;
    } else if (valid) {
      cells.push_back(Cell{std::string(line.substr(i, n)), base + i});
      i += n;
    } else {
      cells.push_back(Cell{"\xEF\xBF\xBD", base + i});
      i += 1;
    }
  }
  return cells;
}

// Index of the first cell at or after byte offset `byte`.
std::size_t cell_at(const std::vector<Cell>& cells, std::size_t byte) {
  std::size_t k = 0;
  while (k < cells.size() && cells[k].byte < byte) {
    ++k;
  }
  return k;
}

// Lines wider than this are shown as a window around the caret.
constexpr std::size_t kMaxShownWidth = 100;

// The byte range of a line worth decoding for a caret at `at`: every byte of the
// line when it is short, else enough bytes on each side to fill the window (a
// cell is at most 4 bytes), starting on a character boundary.
std::pair<std::size_t, std::size_t> window_bytes(std::string_view line, std::size_t at) {
  constexpr std::size_t kBefore = 4 * (kMaxShownWidth / 3) + 8;
  constexpr std::size_t kAfter = 4 * kMaxShownWidth + 8;
  if (line.size() <= kBefore + kAfter) {
    return {0, line.size()};
  }
  std::size_t begin = at > kBefore ? at - kBefore : 0;
  for (int k = 0; k < 3 && begin > 0 && (static_cast<unsigned char>(line[begin]) & 0xC0U) == 0x80U;
       ++k) {
    --begin;
  }
  return {begin, std::min(line.size(), at + kAfter)};
}

void render_human(const Diagnostic& d, const SourceManager& sources, bool color, std::string& out) {
  const char* severity_color = d.severity == Severity::Error     ? kRed
                               : d.severity == Severity::Warning ? kYellow
                                                                 : kCyan;
  const std::string head = fmt::format("{}[{}]", severity_name(d.severity), info(d.kind).code);
  if (!d.span.valid()) {
    out += fmt::format("waflow: {}: {}\n", paint(color, severity_color, head),
                       paint(color, kBold, d.message));
  } else {
    const SourceFile& file = sources.file(d.span.file);
    const SourceLocation begin = sources.begin_of(d.span);
    out += fmt::format(
        "{}: {}: {}\n",
        paint(color, kBold, fmt::format("{}:{}:{}", file.path, begin.line, begin.column)),
        paint(color, severity_color, head), paint(color, kBold, d.message));
    const std::string_view line = sources.line_text(d.span.file, begin.line);
    if (!line.empty() || !file.text.empty()) {
      const std::string number = std::to_string(begin.line);
      const std::string gutter(number.size(), ' ');
      const std::uint32_t line_start = file.line_starts[begin.line - 1];
      const std::size_t start_byte = d.span.begin - line_start;
      // The caret covers the span up to the end of its first line.
      std::size_t end_byte = d.span.end > d.span.begin ? d.span.end - line_start : start_byte + 1;
      end_byte = std::min(end_byte, std::max(line.size(), start_byte + 1));
      // Only the bytes that can reach the shown window are decoded, so a
      // diagnostic on a megabyte-long line costs no more than one on a short one.
      const auto [slice_begin, slice_end] = window_bytes(line, start_byte);
      const std::vector<Cell> cells =
          display_cells(line.substr(slice_begin, slice_end - slice_begin), slice_begin);
      std::size_t col = cell_at(cells, start_byte);
      std::size_t width = std::max<std::size_t>(cell_at(cells, end_byte) - col, 1);
      std::size_t first = 0;
      std::size_t last = cells.size();
      if (cells.size() > kMaxShownWidth) {
        first = col > kMaxShownWidth / 3 ? col - kMaxShownWidth / 3 : 0;
        last = std::min(cells.size(), first + kMaxShownWidth);
      }
      const bool cut_before = first > 0 || slice_begin > 0;
      std::string shown = cut_before ? "..." : "";
      for (std::size_t k = first; k < last; ++k) {
        shown += cells[k].text;
      }
      if (last < cells.size() || slice_end < line.size()) {
        shown += "...";
      }
      col = col - first + (cut_before ? 3 : 0);
      const std::size_t shown_cells = last - first + (cut_before ? 3 : 0);
      width = std::min(width, shown_cells > col ? shown_cells - col : 1);
      std::string caret = "^";
      if (width > 1) {
        caret += std::string(width - 1, '~');
      }
      out += fmt::format(" {} {}\n", paint(color, kBlue, number + " |"), shown);
      out += fmt::format(" {} {}{}\n", paint(color, kBlue, gutter + " |"), std::string(col, ' '),
                         paint(color, severity_color, caret));
    }
  }
  for (const Note& note : d.notes) {
    const char* label = note.help ? "help" : "note";
    if (note.span.valid()) {
      const SourceLocation at = sources.begin_of(note.span);
      out += fmt::format("   = {}: {}:{}:{}: {}\n", paint(color, kBold, label),
                         sources.file(note.span.file).path, at.line, at.column, note.message);
    } else {
      out += fmt::format("   = {}: {}\n", paint(color, kBold, label), note.message);
    }
  }
}

// GitHub workflow commands escape %, CR and LF in messages, and also : and , in
// properties.
std::string github_escape(std::string_view text, bool property) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '%':
        out += "%25";
        break;
      case '\r':
        out += "%0D";
        break;
      case '\n':
        out += "%0A";
        break;
      case ':':
        out += property ? "%3A" : ":";
        break;
      case ',':
        out += property ? "%2C" : ",";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::string render_diagnostics(const std::vector<Diagnostic>& diagnostics,
                               const SourceManager& sources, const RenderOptions& options) {
  std::string out;
  if (options.format == RenderFormat::Json) {
    nlohmann::ordered_json array = nlohmann::ordered_json::array();
    for (const Diagnostic& d : diagnostics) {
      nlohmann::ordered_json j;
      j["code"] = info(d.kind).code;
      j["name"] = info(d.kind).name;
      j["severity"] = severity_name(d.severity);
      j["message"] = d.message;
      if (d.span.valid()) {
        const SourceLocation b = sources.begin_of(d.span);
        const SourceLocation e = sources.end_of(d.span);
        j["file"] = sources.file(d.span.file).path;
        j["line"] = b.line;
        j["column"] = b.column;
        j["end_line"] = e.line;
        j["end_column"] = e.column;
      } else {
        j["file"] = nullptr;
      }
      if (!d.pointer.empty()) {
        j["pointer"] = d.pointer;
      }
      nlohmann::ordered_json notes = nlohmann::ordered_json::array();
      for (const Note& n : d.notes) {
        nlohmann::ordered_json note;
        note["kind"] = n.help ? "help" : "note";
        note["message"] = n.message;
        if (n.span.valid()) {
          const SourceLocation at = sources.begin_of(n.span);
          note["file"] = sources.file(n.span.file).path;
          note["line"] = at.line;
          note["column"] = at.column;
        }
        notes.push_back(std::move(note));
      }
      j["notes"] = std::move(notes);
      array.push_back(std::move(j));
    }
    return array.dump(2) + "\n";
  }
  for (const Diagnostic& d : diagnostics) {
    if (options.format == RenderFormat::Github) {
      const char* level = d.severity == Severity::Error     ? "error"
                          : d.severity == Severity::Warning ? "warning"
                                                            : "notice";
      std::string message = fmt::format("{} [{}]", d.message, info(d.kind).code);
      for (const Note& n : d.notes) {
        message += fmt::format("\n{}: {}", n.help ? "help" : "note", n.message);
      }
      if (d.span.valid()) {
        const SourceLocation b = sources.begin_of(d.span);
        const SourceLocation e = sources.end_of(d.span);
        out +=
            fmt::format("::{} file={},line={},col={},endLine={},endColumn={},title={}::{}\n", level,
                        github_escape(sources.file(d.span.file).path, true), b.line, b.column,
                        e.line, e.column, info(d.kind).code, github_escape(message, false));
      } else {
        out += fmt::format("::{} title={}::{}\n", level, info(d.kind).code,
                           github_escape(message, false));
      }
      continue;
    }
    render_human(d, sources, options.color, out);
  }
  return out;
}

std::string summary_line(std::size_t errors, std::size_t warnings) {
  std::string out;
  if (errors > 0) {
    out += fmt::format("{} error{}", errors, errors == 1 ? "" : "s");
  }
  if (warnings > 0) {
    out +=
        fmt::format("{}{} warning{}", out.empty() ? "" : ", ", warnings, warnings == 1 ? "" : "s");
  }
  return out;
}

}  // namespace waflow
