#include "compiler/checks/passes.h"

namespace waflow::checks {

void check_variables(const ir::Project& /*project*/, Diagnostics& /*diags*/) {}

}  // namespace waflow::checks
