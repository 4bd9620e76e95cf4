#pragma once

// Diagnostics: the channel for mistakes in a user's flow.
//
// Every problem has a kind from diagnostic_kinds.def, which fixes its stable code
// (WFnnnn), its severity and its message format. Passes report into a
// Diagnostics collector and keep going, so one run shows as many problems as it
// can. Rendering (human, JSON, GitHub annotations) lives in render.h.

#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "runtime/base/source.h"

namespace waflow {

enum class Severity { Error, Warning, Note };

enum class DiagnosticKind {
#define WAFLOW_DIAGNOSTIC(name, severity, code, format) name,
#include "compiler/diagnostic_kinds.def"
#undef WAFLOW_DIAGNOSTIC
};

struct DiagnosticInfo {
  std::string_view name;
  Severity severity;
  std::string_view code;
  std::string_view format;
};

const DiagnosticInfo& info(DiagnosticKind kind);
// Every kind, in registry order.
const std::vector<DiagnosticKind>& all_diagnostic_kinds();
std::string_view severity_name(Severity severity);

struct Note {
  // "note" lines point somewhere; "help" lines (a suggestion) usually do not.
  bool help = false;
  std::string message;
  SourceSpan span;
};

struct Diagnostic {
  DiagnosticKind kind;
  Severity severity;
  SourceSpan span;
  std::string message;
  std::vector<Note> notes;
  // For JSON input: the JSON pointer of the offending value ("/nodes/3/data").
  std::string pointer;
};

class Diagnostics {
 public:
  template <typename... Args>
  Diagnostic& report(DiagnosticKind kind, SourceSpan span, const Args&... args) {
    return add(kind, span, fmt::vformat(info(kind).format, fmt::make_format_args(args...)));
  }
  Diagnostic& add(DiagnosticKind kind, SourceSpan span, std::string message);

  const std::vector<Diagnostic>& all() const { return items_; }
  std::vector<Diagnostic>& all() { return items_; }
  std::size_t error_count() const;
  std::size_t warning_count() const;
  bool has_errors() const { return error_count() > 0; }
  // Sorts by file, position and code, and drops exact duplicates, so output is
  // independent of the order passes ran in.
  void sort(const SourceManager& sources);

 private:
  std::vector<Diagnostic> items_;
};

// Adds "did you mean 'x'?" to a diagnostic when a candidate is close enough.
void suggest(Diagnostic& diagnostic, std::string_view wrong,
             const std::vector<std::string>& candidates);
// The closest candidate by edit distance, or "" when none is close.
std::string closest_match(std::string_view wrong, const std::vector<std::string>& candidates);

}  // namespace waflow
