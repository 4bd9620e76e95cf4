#pragma once

// Shared by the control-flow checks (control_flow.cpp, triggers.cpp, window.cpp):
// the graph of every flow of a project, and who calls whom.

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "compiler/checks/cfg.h"
#include "compiler/diagnostic.h"
#include "compiler/ir/flow.h"

namespace waflow::checks {

struct FlowGraph {
  const ir::Flow* flow = nullptr;
  Cfg cfg;
  // The call steps of other flows (and of this one) that call this flow.
  std::vector<const ir::Step*> callers;
};

struct ProjectGraph {
  std::vector<FlowGraph> flows;  // In project order.
  // The first flow of each name (duplicates are reported by the name checks).
  std::map<std::string, std::size_t> by_name;

  // The flow a call step calls, or Cfg::kNone (not a call, or an unknown flow).
  std::size_t callee_of(const ir::Step* step) const;
};

ProjectGraph build_project_graph(const ir::Project& project);

// Shadowed and duplicate triggers (WF0407, WF0412).
void check_triggers(const ProjectGraph& graph, Diagnostics& diags);
// Sends that can fall outside the 24-hour customer-service window (WF0409).
void check_window(const ProjectGraph& graph, Diagnostics& diags);

// "1d2h", "30m", "45s": a duration in milliseconds, in the DSL's own notation.
std::string format_duration(std::int64_t ms);

}  // namespace waflow::checks
