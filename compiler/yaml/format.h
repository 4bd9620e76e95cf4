#pragma once

// The keys of the YAML flow format, shared by the reader (which accepts exactly
// these and suggests among them) and the writer. The format itself is described
// atop writer.cpp and in schemas/flow.schema.json.

#include <string>
#include <string_view>
#include <vector>

namespace waflow::yaml {

// Step kinds: the key that names a step's kind, in the order of ir::StepBody.
const std::vector<std::string>& step_kinds();
// The keys a step of `kind` takes besides its kind key and `id`/`position`.
const std::vector<std::string>& step_keys(std::string_view kind);
// Trigger kinds, as in ir::trigger_kind_name.
const std::vector<std::string>& trigger_kinds();
// Capture types (ask, tool params, ai extract fields) and declared var types.
const std::vector<std::string>& capture_type_names();
const std::vector<std::string>& value_type_names();

}  // namespace waflow::yaml
