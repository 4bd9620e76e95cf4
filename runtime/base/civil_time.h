#pragma once

// Calendar arithmetic on the proleptic Gregorian calendar, in days since
// 1970-01-01 (H. Hinnant's algorithms): exact for every date an int64 holds,
// no tables, no locale, no time zone. Everything that turns instants into
// dates (the flow functions, time zones, logs, the API's RFC 3339 times)
// shares these two functions.

#include <cstdint>
#include <string>

namespace waflow {

struct CivilDate {
  std::int64_t year = 1970;
  unsigned month = 1;  // 1..12
  unsigned day = 1;    // 1..31
};

// Days since 1970-01-01 of a date (month 1..12, day 1..31; not checked).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);
// The date `days` after 1970-01-01 (negative: before).
CivilDate civil_from_days(std::int64_t days);
// Unix milliseconds as RFC 3339 in UTC with milliseconds: 2026-11-22T10:00:00.000Z.
std::string format_utc_ms(std::int64_t unix_ms);

}  // namespace waflow
