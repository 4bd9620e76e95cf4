#pragma once

// Code generation: a checked flow project (IR) becomes one bytecode bundle.
//
// Every step starts with a `step` marker (coverage, funnels, the debug table).
// Messages are built as payload objects on the stack and handed to the host with
// `emit send`; everything that needs an answer from the world (AI, HTTP, store,
// delay, handoff) is an `await`; waiting for the user is `wait`, followed by
// `validate` for typed captures. Validation, re-prompts and retry limits are
// ordinary code around those instructions, so they run inside the VM. Hidden
// bookkeeping variables start with '@', which no flow can name.
//
// The output depends only on the IR and the source texts: strings are numbered in
// the order code generation meets them, and modules come in sorted path order,
// so the same sources always give the same bytes.

#include <string>

#include "compiler/ir/flow.h"
#include "runtime/bytecode/bundle.h"

namespace waflow {

// The project must have passed its checks (no errors): codegen assumes resolved
// names and valid values.
bytecode::Bundle generate_bundle(const ir::Project& project, const SourceManager& sources,
                                 const std::string& compiler_version);

}  // namespace waflow
