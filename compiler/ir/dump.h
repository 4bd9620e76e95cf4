#pragma once

// The canonical text of a module's IR, for tests that prove two front ends (or
// a conversion round trip) produced the same IR.
//
// It shows every field and every step id, and leaves out what may differ
// between formats without changing meaning: source spans, visual positions and
// whether an id was written or derived. Two modules are the same IR exactly when
// their dumps are equal. Run assign_step_ids first so derived ids are in it.

#include <string>

#include "compiler/ir/flow.h"

namespace waflow::ir {

std::string dump_ir(const Module& module);

}  // namespace waflow::ir
