// The canonical IR dump reuses the YAML writer's data model: the YAML of the
// module with every step id, no positions, and the fields the YAML reader would
// otherwise derive (an ask's capture type).

#include "compiler/ir/dump.h"

#include "compiler/yaml/writer.h"

namespace waflow::ir {

std::string dump_ir(const Module& module) {
  yaml::WriteOptions options;
  options.all_ids = true;
  options.positions = false;
  options.derived_fields = true;
  return yaml::emit(yaml::module_value(module, options));
}

}  // namespace waflow::ir
