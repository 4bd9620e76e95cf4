#include "compiler/checks/passes.h"

namespace waflow::checks {

void check_whatsapp_limits(const ir::Project& /*project*/, Diagnostics& /*diags*/) {}

}  // namespace waflow::checks
