#include "compiler/diagnostic.h"

#include <algorithm>
#include <array>
#include <tuple>

namespace waflow {

namespace {

constexpr std::array kInfos = {
#define WAFLOW_DIAGNOSTIC(name, severity, code, format) \
  DiagnosticInfo{#name, Severity::severity, code, format},
#include "compiler/diagnostic_kinds.def"
#undef WAFLOW_DIAGNOSTIC
};

// Optimal string alignment distance: insertions, deletions, substitutions and
// transpositions of neighbours each cost 1 ("sya" is one edit from "say").
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::size_t> d((n + 1) * (m + 1));
  auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
  for (std::size_t i = 0; i <= n; ++i) {
    at(i, 0) = i;
  }
  for (std::size_t j = 0; j <= m; ++j) {
    at(0, j) = j;
  }
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(n, m);
}

}  // namespace

const DiagnosticInfo& info(DiagnosticKind kind) {
  return kInfos.at(static_cast<std::size_t>(kind));
}

const std::vector<DiagnosticKind>& all_diagnostic_kinds() {
  static const std::vector<DiagnosticKind> kinds = [] {
    std::vector<DiagnosticKind> out;
    for (std::size_t i = 0; i < kInfos.size(); ++i) {
      out.push_back(static_cast<DiagnosticKind>(i));
    }
    return out;
  }();
  return kinds;
}

std::string_view severity_name(Severity severity) {
  switch (severity) {
    case Severity::Error:
      return "error";
    case Severity::Warning:
      return "warning";
    case Severity::Note:
      return "note";
  }
  return "error";
}

Diagnostic& Diagnostics::add(DiagnosticKind kind, SourceSpan span, std::string message) {
  items_.push_back(Diagnostic{kind, info(kind).severity, span, std::move(message), {}, {}});
  return items_.back();
}

std::size_t Diagnostics::error_count() const {
  return static_cast<std::size_t>(std::count_if(
      items_.begin(), items_.end(), [](const Diagnostic& d) { return d.severity == Severity::Error; }));
}

std::size_t Diagnostics::warning_count() const {
  return static_cast<std::size_t>(
      std::count_if(items_.begin(), items_.end(),
                    [](const Diagnostic& d) { return d.severity == Severity::Warning; }));
}

void Diagnostics::sort(const SourceManager& sources) {
  auto key = [&](const Diagnostic& d) {
    const std::string_view path =
        d.span.valid() ? std::string_view(sources.file(d.span.file).path) : std::string_view();
    return std::make_tuple(path, d.span.begin, d.span.end, info(d.kind).code,
                           std::string_view(d.message));
  };
  std::stable_sort(items_.begin(), items_.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
  items_.erase(std::unique(items_.begin(), items_.end(),
                           [&](const Diagnostic& a, const Diagnostic& b) {
                             return key(a) == key(b);
                           }),
               items_.end());
}

std::string closest_match(std::string_view wrong, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = 0;
  for (const std::string& candidate : candidates) {
    const std::size_t distance = edit_distance(wrong, candidate);
    const std::size_t limit = std::max<std::size_t>(1, std::max(wrong.size(), candidate.size()) / 3);
    if (distance <= limit && (best.empty() || distance < best_distance ||
                              (distance == best_distance && candidate < best))) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

void suggest(Diagnostic& diagnostic, std::string_view wrong,
             const std::vector<std::string>& candidates) {
  const std::string best = closest_match(wrong, candidates);
  if (!best.empty() && best != wrong) {
    diagnostic.notes.push_back(Note{true, fmt::format("did you mean '{}'?", best), {}});
  }
}

}  // namespace waflow
