#include "runtime/base/duration.h"

#include <charconv>

namespace waflow {

bool parse_duration(std::string_view text, std::int64_t& ms) {
  // A sequence of <integer><unit> pairs, units ms, s, m, h, d, w; e.g. "1h30m".
  std::int64_t total = 0;
  std::size_t i = 0;
  if (text.empty()) {
    return false;
  }
  while (i < text.size()) {
    std::int64_t value = 0;
    const char* begin = text.data() + i;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || ptr == begin || value < 0) {
      return false;
    }
    i = static_cast<std::size_t>(ptr - text.data());
    std::int64_t unit = 0;
    if (text.compare(i, 2, "ms") == 0) {
      unit = 1;
      i += 2;
    } else if (i < text.size()) {
      switch (text[i]) {
        case 's':
          unit = 1000;
          break;
        case 'm':
          unit = 60'000;
          break;
        case 'h':
          unit = 3'600'000;
          break;
        case 'd':
          unit = 86'400'000;
          break;
        case 'w':
          unit = 604'800'000;
          break;
        default:
          return false;
      }
      ++i;
    } else {
      return false;
    }
    // 10 years is more than any flow needs; beyond it is a typo.
    constexpr std::int64_t kMaxMs = 10LL * 366 * 86'400'000;
    if (value > kMaxMs / unit) {
      return false;
    }
    total += value * unit;
    if (total > kMaxMs) {
      return false;
    }
  }
  ms = total;
  return true;
}

}  // namespace waflow
