// Calendar arithmetic: days <-> dates across eras, leap days and the epoch,
// and the RFC 3339 text of an instant.

#include "runtime/base/civil_time.h"

#include <catch2/catch.hpp>

namespace {

using waflow::civil_from_days;
using waflow::CivilDate;
using waflow::days_from_civil;

bool same(const CivilDate& a, std::int64_t y, unsigned m, unsigned d) {
  return a.year == y && a.month == m && a.day == d;
}

}  // namespace

TEST_CASE("civil time: known dates have their day numbers") {
  CHECK(days_from_civil(1970, 1, 1) == 0);
  CHECK(days_from_civil(1969, 12, 31) == -1);
  CHECK(days_from_civil(2000, 3, 1) == 11017);
  CHECK(days_from_civil(2024, 2, 29) == 19782);
  CHECK(same(civil_from_days(19782), 2024, 2, 29));
  CHECK(same(civil_from_days(-719468), 0, 3, 1));
  CHECK(same(civil_from_days(-1), 1969, 12, 31));
}

TEST_CASE("civil time: every day of four centuries goes there and back") {
  std::int64_t days = days_from_civil(1800, 1, 1);
  for (std::int64_t y = 1800; y < 2200; ++y) {
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    const unsigned lengths[] = {31, leap ? 29u : 28u, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (unsigned m = 1; m <= 12; ++m) {
      for (unsigned d = 1; d <= lengths[m - 1]; ++d) {
        REQUIRE(days_from_civil(y, m, d) == days);
        REQUIRE(same(civil_from_days(days), y, m, d));
        ++days;
      }
    }
  }
}

TEST_CASE("civil time: instants print as RFC 3339 UTC with milliseconds") {
  CHECK(waflow::format_utc_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(waflow::format_utc_ms(1795341600123) == "2026-11-22T10:00:00.123Z");
  CHECK(waflow::format_utc_ms(-1) == "1969-12-31T23:59:59.999Z");
}
