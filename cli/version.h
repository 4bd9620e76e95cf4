#pragma once

namespace waflow {

inline constexpr const char* kVersion = "0.1.0";

}  // namespace waflow
