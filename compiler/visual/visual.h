#pragma once

// The visual format: what a drag-and-drop builder reads and writes. React
// Flow's {nodes, edges, viewport} per flow, inside a versioned waflow wrapper;
// node semantics in `type` + `data`, branches told apart by `sourceHandle`.
// docs/visual.md is the reference; schemas/visual.schema.json its schema.
//
// Reading is parse_visual (compiler/frontend.h). Writing is deterministic: the
// same module always gives the same bytes (2-space indented JSON, keys in a
// fixed order), and a file written here reads back to the same IR and writes
// back byte for byte. Steps without a canvas position are laid out top-down by
// depth, branches side by side.

#include <string>

#include "compiler/ir/flow.h"

namespace waflow {

// The format version this waflow reads and writes.
inline constexpr int kVisualFormatVersion = 1;

std::string write_visual(const ir::Module& module);

}  // namespace waflow
