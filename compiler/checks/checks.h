#pragma once

// Static checks over the flow IR: names and references, variables and types,
// control flow (reachability, dead ends, loops that never wait, timeouts, the
// 24-hour window), WhatsApp limits and AI step shapes. Every finding is a coded
// diagnostic; checks never stop at the first problem.

#include "compiler/diagnostic.h"
#include "compiler/ir/flow.h"

namespace waflow {

void check_project(const ir::Project& project, const SourceManager& sources, Diagnostics& diags);

}  // namespace waflow
