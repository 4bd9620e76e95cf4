#pragma once

// Rendering diagnostics for people and machines.
//
//   human   file:line:col: error[WF0203]: message, the source line, a caret
//           under the whole span, then note/help lines; colour on request.
//   json    one JSON array with stable fields (code, severity, message, file,
//           line, column, end_line, end_column, pointer, notes).
//   github  workflow commands (::error file=...,line=...,col=...::message).

#include <string>
#include <vector>

#include "compiler/diagnostic.h"

namespace waflow {

enum class RenderFormat { Human, Json, Github };

struct RenderOptions {
  RenderFormat format = RenderFormat::Human;
  bool color = false;
};

std::string render_diagnostics(const std::vector<Diagnostic>& diagnostics,
                               const SourceManager& sources, const RenderOptions& options);

// "2 errors, 1 warning" style summary; empty when there is nothing.
std::string summary_line(std::size_t errors, std::size_t warnings);

}  // namespace waflow
