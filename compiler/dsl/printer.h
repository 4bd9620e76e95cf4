#pragma once

// Writes the IR back as .wf source: the DSL side of `waflow convert`, and the
// canonical layout of the language (2-space indentation, one statement per line,
// options in a fixed order). Explicit step ids become `label` lines; derived ids
// are left for the compiler to derive again.

#include <string>

#include "compiler/ir/flow.h"

namespace waflow::dsl {

std::string write_dsl(const ir::Module& module);

}  // namespace waflow::dsl
