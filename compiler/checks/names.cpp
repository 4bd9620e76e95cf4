// Name checks: duplicate flows and step ids, goto and call targets.

#include <algorithm>
#include <map>
#include <set>

#include "compiler/checks/passes.h"
#include "compiler/ir/walk.h"

namespace waflow::checks {

namespace {

void check_flow_names(const ir::Project& project, Diagnostics& diags) {
  std::map<std::string, const ir::Flow*> seen;
  for (const ir::Module& module : project.modules) {
    for (const ir::Flow& flow : module.flows) {
      auto [it, inserted] = seen.emplace(flow.name, &flow);
      if (!inserted) {
        Diagnostic& d = diags.report(DiagnosticKind::DuplicateFlow, flow.name_span, flow.name);
        d.notes.push_back(Note{false, "first defined here", it->second->name_span});
      }
    }
  }
}

void check_step_ids(const ir::Flow& flow, const std::vector<std::string>& flow_names,
                    Diagnostics& diags) {
  std::map<std::string, const ir::Step*> ids;
  ir::for_each_step(flow.steps, [&](const ir::Step& step) {
    auto [it, inserted] = ids.emplace(step.id, &step);
    if (!inserted && step.explicit_id) {
      Diagnostic& d =
          diags.report(DiagnosticKind::DuplicateStepId, step.id_span, step.id, flow.name);
      d.notes.push_back(Note{false, "first used here",
                             it->second->explicit_id ? it->second->id_span : it->second->span});
    }
  });
  std::vector<std::string> id_list;
  for (const auto& [id, step] : ids) {
    id_list.push_back(id);
  }
  ir::for_each_step(flow.steps, [&](const ir::Step& step) {
    if (const auto* go = std::get_if<ir::GotoStep>(&step.body)) {
      if (ids.count(go->target) == 0) {
        Diagnostic& d = diags.report(DiagnosticKind::UnknownStep, go->target_span, go->target);
        suggest(d, go->target, id_list);
      }
    } else if (const auto* call = std::get_if<ir::CallStep>(&step.body)) {
      if (std::find(flow_names.begin(), flow_names.end(), call->flow) == flow_names.end()) {
        Diagnostic& d = diags.report(DiagnosticKind::UnknownFlow, call->flow_span, call->flow);
        suggest(d, call->flow, flow_names);
      }
    }
  });
}

// WF0215: flows that call each other in a cycle. Each cycle is reported once,
// on the call that leaves the cycle's first flow (by name), with the path.
void check_recursive_calls(const ir::Project& project, Diagnostics& diags) {
  struct CallSite {
    std::string callee;
    SourceSpan span;
  };
  std::map<std::string, std::vector<CallSite>> calls;
  for (const ir::Module& module : project.modules) {
    for (const ir::Flow& flow : module.flows) {
      auto& sites = calls[flow.name];
      ir::for_each_step(flow.steps, [&](const ir::Step& step) {
        if (const auto* call = std::get_if<ir::CallStep>(&step.body)) {
          sites.push_back(CallSite{call->flow, call->flow_span});
        }
      });
    }
  }
  for (const auto& [origin, sites] : calls) {
    for (const CallSite& first : sites) {
      // Breadth-first from the callee back to the origin, remembering parents.
      std::map<std::string, std::string> parent{{first.callee, origin}};
      std::vector<std::string> queue{first.callee};
      bool found = false;
      for (std::size_t i = 0; i < queue.size() && !found; ++i) {
        auto it = calls.find(queue[i]);
        if (it == calls.end()) {
          continue;
        }
        for (const CallSite& next : it->second) {
          if (next.callee == origin) {
            parent[origin + "\n"] = queue[i];
            found = true;
            break;
          }
          if (parent.emplace(next.callee, queue[i]).second) {
            queue.push_back(next.callee);
          }
        }
      }
      if (!found) {
        continue;
      }
      std::vector<std::string> path{origin};
      for (std::string at = parent[origin + "\n"]; at != origin; at = parent[at]) {
        path.push_back(at);
      }
      if (*std::min_element(path.begin(), path.end()) != origin) {
        continue;
      }
      std::string through;
      for (std::size_t k = path.size() - 1; k >= 1; --k) {
        through += "'" + path[k] + "' -> ";
      }
      through += "'" + origin + "'";
      diags.report(DiagnosticKind::RecursiveCall, first.span, origin, through);
      break;
    }
  }
}

}  // namespace

void check_names(const ir::Project& project, Diagnostics& diags) {
  check_recursive_calls(project, diags);
  check_flow_names(project, diags);
  std::vector<std::string> flow_names;
  for (const ir::Module& module : project.modules) {
    for (const ir::Flow& flow : module.flows) {
      flow_names.push_back(flow.name);
    }
  }
  for (const ir::Module& module : project.modules) {
    for (const ir::Flow& flow : module.flows) {
      check_step_ids(flow, flow_names, diags);
    }
  }
}

}  // namespace waflow::checks
