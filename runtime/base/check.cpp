#include "runtime/base/check.h"

#include <cstdio>
#include <cstdlib>

namespace waflow::detail {

void check_failed(const char* file, int line, const char* condition, const char* why) {
  std::fprintf(stderr, "waflow: internal error at %s:%d: check '%s' failed: %s\n", file, line,
               condition, why);
  std::abort();
}

}  // namespace waflow::detail
