#pragma once

// Runs the variable and type checks (only those) on one .wf source and returns
// each diagnostic as "LINE:COLUMN CODE message", in output order, so that tests
// can assert the exact text and position of what is reported.

#include <string>
#include <vector>

#include "compiler/checks/passes.h"
#include "compiler/frontend.h"

namespace waflow::test {

inline std::vector<std::string> run_checks(const std::vector<std::string>& files) {
  SourceManager sources;
  Diagnostics diags;
  ir::Project project;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const FileId id = sources.add("f" + std::to_string(i) + ".wf", files[i]);
    project.modules.push_back(parse_dsl(sources, id, diags));
  }
  assign_step_ids(project);
  // Front-end problems would make the examples meaningless; keep them visible.
  checks::check_variables(project, diags);
  checks::check_types(project, diags);
  diags.sort(sources);
  std::vector<std::string> out;
  for (const Diagnostic& d : diags.all()) {
    const SourceLocation at = sources.begin_of(d.span);
    std::string line = std::to_string(at.line) + ":" + std::to_string(at.column) + " " +
                       std::string(info(d.kind).code) + " " + d.message;
    if (files.size() > 1) {
      line = sources.file(d.span.file).path + ":" + line;
    }
    out.push_back(std::move(line));
  }
  return out;
}

inline std::vector<std::string> run_checks(const std::string& text) {
  return run_checks(std::vector<std::string>{text});
}

// The help and note lines of the first diagnostic with `code`.
inline std::vector<std::string> notes_of(const std::string& text, const std::string& code) {
  SourceManager sources;
  Diagnostics diags;
  ir::Project project;
  project.modules.push_back(parse_dsl(sources, sources.add("f.wf", text), diags));
  assign_step_ids(project);
  checks::check_variables(project, diags);
  checks::check_types(project, diags);
  diags.sort(sources);
  for (const Diagnostic& d : diags.all()) {
    if (info(d.kind).code == code) {
      std::vector<std::string> out;
      for (const Note& n : d.notes) {
        out.push_back((n.help ? "help: " : "note: ") + n.message);
      }
      return out;
    }
  }
  return {};
}

}  // namespace waflow::test
