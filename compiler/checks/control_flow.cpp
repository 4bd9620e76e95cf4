#include "compiler/checks/passes.h"

namespace waflow::checks {

void check_control_flow(const ir::Project& /*project*/, Diagnostics& /*diags*/) {}

}  // namespace waflow::checks
