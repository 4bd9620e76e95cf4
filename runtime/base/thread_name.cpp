#include "runtime/base/thread_name.h"

#include <string>

#include <pthread.h>

namespace waflow {

void name_this_thread(std::string_view name) {
  const std::string cut(name.substr(0, 15));
  // Only fails for a name over the limit, which the cut rules out; a thread
  // without a name works the same, so the result is not checked.
  (void)pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace waflow
