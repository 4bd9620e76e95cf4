#pragma once

// WAFLOW_CHECK: the channel for programmer errors. A failing check is a bug in
// waflow, never a consequence of user input; it prints where and why, then aborts.

namespace waflow::detail {
[[noreturn]] void check_failed(const char* file, int line, const char* condition, const char* why);
}  // namespace waflow::detail

#define WAFLOW_CHECK(cond, why)                                    \
  do {                                                             \
    if (!(cond)) {                                                 \
      ::waflow::detail::check_failed(__FILE__, __LINE__, #cond, why); \
    }                                                              \
  } while (false)
