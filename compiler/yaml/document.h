#pragma once

// The flow reader's YAML loading: a file of the SourceManager read into the
// span-carrying tree of runtime/base/yaml_tree.h, with its problems reported as
// diagnostics.

#include "compiler/diagnostic.h"
#include "runtime/base/yaml_tree.h"

namespace waflow::yaml {

// Parses the first YAML document of `file`. Reports malformed YAML (WF0108) and
// too deep nesting (WF0107); returns null when there is no usable document (an
// empty or comment-only file also gives null, without a diagnostic).
NodePtr load_document(const SourceManager& sources, FileId file, Diagnostics& diags);

}  // namespace waflow::yaml
