#pragma once

// Runs one check pass on .wf sources and returns each diagnostic as
// "LINE:COLUMN CODE message" (with "FILE:" in front when there are several files),
// in output order, so tests assert the exact text and position of what is reported.
// notes() gives the notes of the diagnostics the same way.

#include <string>
#include <vector>

#include "compiler/checks/passes.h"
#include "compiler/frontend.h"

namespace waflow::test {

using Pass = void (*)(const ir::Project&, Diagnostics&);

struct CheckRun {
  SourceManager sources;
  Diagnostics diags;
  ir::Project project;

  CheckRun(Pass pass, const std::vector<std::string>& files) {
    for (std::size_t i = 0; i < files.size(); ++i) {
      const FileId id = sources.add("f" + std::to_string(i) + ".wf", files[i]);
      project.modules.push_back(parse_dsl(sources, id, diags));
    }
    assign_step_ids(project);
    pass(project, diags);
    diags.sort(sources);
  }

  std::string where(SourceSpan span) const {
    const SourceLocation at = sources.begin_of(span);
    std::string out = std::to_string(at.line) + ":" + std::to_string(at.column);
    if (sources.size() > 1) {
      out = sources.file(span.file).path + ":" + out;
    }
    return out;
  }

  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const Diagnostic& d : diags.all()) {
      out.push_back(where(d.span) + " " + std::string(info(d.kind).code) + " " + d.message);
    }
    return out;
  }

  // "LINE:COLUMN note" for notes that point somewhere, "help: ..." for the others.
  std::vector<std::string> notes() const {
    std::vector<std::string> out;
    for (const Diagnostic& d : diags.all()) {
      for (const Note& note : d.notes) {
        out.push_back(note.span.valid() ? where(note.span) + " " + note.message
                                        : (note.help ? "help: " : "note: ") + note.message);
      }
    }
    return out;
  }
};

inline std::vector<std::string> run(Pass pass, const std::string& source) {
  return CheckRun(pass, {source}).lines();
}

inline std::vector<std::string> run(Pass pass, const std::vector<std::string>& files) {
  return CheckRun(pass, files).lines();
}

}  // namespace waflow::test
