#include "compiler/checks/checks.h"

#include "compiler/checks/control_flow.h"
#include "compiler/checks/passes.h"

namespace waflow {

void check_project(const ir::Project& project, const SourceManager& /*sources*/,
                   Diagnostics& diags) {
  std::size_t flows = 0;
  for (const ir::Module& module : project.modules) {
    flows += module.flows.size();
  }
  if (flows == 0 && !diags.has_errors()) {
    diags.report(DiagnosticKind::NoFlows, SourceSpan{});
  }
  const checks::ProjectGraph graph = checks::build_project_graph(project);
  checks::check_names(project, diags);
  checks::check_variables(project, graph, diags);
  checks::check_types(project, diags);
  checks::check_control_flow(project, graph, diags);
  checks::check_whatsapp_limits(project, diags);
  checks::check_ai(project, diags);
}

}  // namespace waflow
