#include "compiler/checks/passes.h"

namespace waflow::checks {

void check_ai(const ir::Project& /*project*/, Diagnostics& /*diags*/) {}

}  // namespace waflow::checks
