#pragma once

// The check passes that check_project runs, one per file of compiler/checks/.
// Each reports into `diags` and never stops early. The variable and control-flow
// checks read the control-flow graph of every flow; check_project builds it once
// for both (the overloads without a graph build their own).

#include "compiler/diagnostic.h"
#include "compiler/ir/flow.h"

namespace waflow::checks {

struct ProjectGraph;

// Duplicate flows and step ids; goto and call targets (names.cpp).
void check_names(const ir::Project& project, Diagnostics& diags);
// Declarations, reads before writes, unused and read-only variables, templates (variables.cpp).
void check_variables(const ir::Project& project, Diagnostics& diags);
void check_variables(const ir::Project& project, const ProjectGraph& graph, Diagnostics& diags);
// Expression types, fields, regexes, durations, time zones, URLs, option ranges (types.cpp).
void check_types(const ir::Project& project, Diagnostics& diags);
// Reachability, dead ends, loops without waits, timeouts, triggers, the 24-hour window
// (control_flow.cpp).
void check_control_flow(const ir::Project& project, Diagnostics& diags);
void check_control_flow(const ir::Project& project, const ProjectGraph& graph, Diagnostics& diags);
// WhatsApp message limits (whatsapp.cpp).
void check_whatsapp_limits(const ir::Project& project, Diagnostics& diags);
// AI step shapes: fields, intents, tools (ai.cpp).
void check_ai(const ir::Project& project, Diagnostics& diags);

}  // namespace waflow::checks
