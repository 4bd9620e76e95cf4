#pragma once

// Durations as flows and transcripts write them: a sequence of <integer><unit>
// pairs, units ms, s, m, h, d, w ("30s", "1h30m", "500ms").

#include <cstdint>
#include <string_view>

namespace waflow {

// The duration in milliseconds. False when malformed or beyond 10 years (more
// than any flow needs; beyond it is a typo).
bool parse_duration(std::string_view text, std::int64_t& ms);

}  // namespace waflow
