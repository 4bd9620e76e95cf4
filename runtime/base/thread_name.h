#pragma once

// Names the calling thread for `top -H`, `ps -L`, perf and debuggers, so that an
// operator sees which part of the server spends the CPU ("wf-sql-writer",
// "wf-worker", ...). Linux keeps 15 bytes; longer names are cut.

#include <string_view>

namespace waflow {

void name_this_thread(std::string_view name);

}  // namespace waflow
