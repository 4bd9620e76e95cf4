#pragma once

// The YAML format of flows: the DSL's constructs as data, for people and tools
// that generate flows. parse_yaml (compiler/frontend.h) reads it into the IR;
// write_yaml writes a module back, canonically: the same IR always gives the
// same bytes, so YAML -> IR -> YAML is the identity on canonical files and
// DSL -> YAML -> IR gives back the DSL's IR. The format is described atop
// compiler/yaml/writer.cpp and, for editors, in schemas/flow.schema.json.

#include <string>

#include "compiler/ir/flow.h"

namespace waflow {

// Writes `module` as YAML. Step ids are written only where they are explicit
// labels; derived ids come back by themselves when the file is read.
std::string write_yaml(const ir::Module& module);

}  // namespace waflow
