#pragma once

// The IR -> YAML value tree step of write_yaml, with the knobs the canonical IR
// dump (compiler/ir/dump.h) turns. Internal to the compiler.

#include "compiler/ir/flow.h"
#include "compiler/yaml/emitter.h"

namespace waflow::yaml {

struct WriteOptions {
  // Write every step's id, not only explicit labels.
  bool all_ids = false;
  // Write visual canvas positions.
  bool positions = true;
  // Write what the reader derives by itself: an ask's capture type.
  bool derived_fields = false;
};

Value module_value(const ir::Module& module, const WriteOptions& options);

}  // namespace waflow::yaml
