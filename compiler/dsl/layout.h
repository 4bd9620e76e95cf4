#pragma once

// Layout of a .wf file: logical lines and the block tree built from indentation.
//
// A logical line ends at a line break that is outside brackets and outside a
// """ string, so long objects and prompts may span several physical lines.
// Comments run from # to the end of the line. Indentation is spaces only.

#include <vector>

#include "compiler/diagnostic.h"
#include "compiler/dsl/statement.h"

namespace waflow::dsl {

struct Node {
  Statement statement;
  std::vector<Node> children;
};

// Parses every line of `file` and nests them by indentation. Lines with syntax
// errors are reported and left out; their children are still checked.
std::vector<Node> parse_layout(const SourceManager& sources, FileId file, Diagnostics& diags);

}  // namespace waflow::dsl
