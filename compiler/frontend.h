#pragma once

// Front ends: read .wf, .yaml/.yml and visual .json files into the flow IR.
//
// load_project reads files and directories (recursively, in sorted order, so the
// result does not depend on the order the file system lists them), picks the
// front end by extension, and collects every diagnostic. After loading, step ids
// are assigned (assign_step_ids) so every step has one.

#include <string>
#include <vector>

#include "compiler/diagnostic.h"
#include "compiler/ir/flow.h"

namespace waflow {

enum class SourceFormat { Dsl, Yaml, Visual, Unknown };

SourceFormat format_of_path(const std::string& path);

// Files larger than this are refused (WF0106).
inline constexpr std::size_t kMaxSourceBytes = 16U * 1024U * 1024U;

ir::Module parse_dsl(const SourceManager& sources, FileId file, Diagnostics& diags);
ir::Module parse_yaml(const SourceManager& sources, FileId file, Diagnostics& diags);
ir::Module parse_visual(const SourceManager& sources, FileId file, Diagnostics& diags);

// Parses one file already added to `sources`, by its format.
ir::Module parse_source(const SourceManager& sources, FileId file, SourceFormat format,
                        Diagnostics& diags);

// Expands directories into the flow files they hold (sorted); reports paths that
// cannot be read.
std::vector<std::string> expand_paths(const std::vector<std::string>& paths, Diagnostics& diags);

// Reads and parses every file; the project's modules come in sorted path order.
ir::Project load_project(const std::vector<std::string>& paths, SourceManager& sources,
                         Diagnostics& diags);

// Gives every step without an explicit label a derived id: ask_<var>,
// http_<var>, say_<n>... Derived ids are stable under edits elsewhere in the flow
// as long as steps of the same kind keep their order.
void assign_step_ids(ir::Project& project);
void assign_step_ids(ir::Flow& flow);

}  // namespace waflow
