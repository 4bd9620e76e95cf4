// Time zones from tzdata: known offsets of Europe/Madrid in winter and summer and
// around the changes, the footer rule for years past the file's table, rules of
// the southern hemisphere, and names that could leave the zoneinfo folder.

#include "runtime/host/tz.h"

#include <catch2/catch.hpp>

namespace {

using waflow::host::TimeZone;
using waflow::host::ZoneCache;

constexpr std::int64_t kHour = 3'600'000;

}  // namespace

TEST_CASE("host tz: Europe/Madrid is UTC+1 in winter and UTC+2 in summer", "[host][tz]") {
  auto madrid = TimeZone::load("Europe/Madrid");
  REQUIRE(madrid.ok());
  CHECK(madrid.value().offset_ms(1736942400000) == 1 * kHour);  // 2025-01-15T12:00Z
  CHECK(madrid.value().offset_ms(1752580800000) == 2 * kHour);  // 2025-07-15T12:00Z
  // Summer time starts at 01:00 UTC on the last Sunday of March, ends at 01:00
  // UTC on the last Sunday of October.
  CHECK(madrid.value().offset_ms(1743296399000) == 1 * kHour);  // 2025-03-30T00:59:59Z
  CHECK(madrid.value().offset_ms(1743296400000) == 2 * kHour);  // 2025-03-30T01:00:00Z
  CHECK(madrid.value().offset_ms(1761440399000) == 2 * kHour);  // 2025-10-26T00:59:59Z
  CHECK(madrid.value().offset_ms(1761440400000) == 1 * kHour);  // 2025-10-26T01:00:00Z
}

TEST_CASE("host tz: instants after the table follow the file's rule", "[host][tz]") {
  auto madrid = TimeZone::load("Europe/Madrid");
  REQUIRE(madrid.ok());
  CHECK(madrid.value().offset_ms(4118126400000) == 2 * kHour);  // 2100-07-01T12:00Z
  CHECK(madrid.value().offset_ms(4102488000000) == 1 * kHour);  // 2100-01-01T12:00Z
  auto new_york = TimeZone::load("America/New_York");
  REQUIRE(new_york.ok());
  CHECK(new_york.value().offset_ms(1736942400000) == -5 * kHour);
  CHECK(new_york.value().offset_ms(1752580800000) == -4 * kHour);
}

TEST_CASE("host tz: POSIX rules of both hemispheres and odd offsets", "[host][tz]") {
  const TimeZone::Rule madrid = TimeZone::parse_rule("CET-1CEST,M3.5.0,M10.5.0/3");
  REQUIRE(madrid.valid);
  CHECK(TimeZone::rule_offset(madrid, 1743296399) == 3600);
  CHECK(TimeZone::rule_offset(madrid, 1743296400) == 7200);
  // Sydney: summer time ends on the first Sunday of April at 03:00 local.
  const TimeZone::Rule sydney = TimeZone::parse_rule("AEST-10AEDT,M10.1.0,M4.1.0/3");
  REQUIRE(sydney.valid);
  CHECK(TimeZone::rule_offset(sydney, 1743868799) == 11 * 3600);  // 2025-04-05T15:59:59Z
  CHECK(TimeZone::rule_offset(sydney, 1743868800) == 10 * 3600);
  CHECK(TimeZone::rule_offset(sydney, 1752580800) == 10 * 3600);  // July: winter
  const TimeZone::Rule kolkata = TimeZone::parse_rule("<+0530>-5:30");
  REQUIRE(kolkata.valid);
  CHECK(TimeZone::rule_offset(kolkata, 0) == 19800);
  CHECK_FALSE(TimeZone::parse_rule("nonsense,").valid);
}

TEST_CASE("host tz: unknown zones read as UTC and paths stay inside zoneinfo", "[host][tz]") {
  CHECK_FALSE(TimeZone::load("../../etc/passwd").ok());
  CHECK_FALSE(TimeZone::load("/etc/passwd").ok());
  CHECK_FALSE(TimeZone::load("Mars/Olympus_Mons").ok());
  CHECK_FALSE(TimeZone::parse("not a tzif file").ok());
  ZoneCache zones;
  CHECK(zones.offset_ms("Mars/Olympus_Mons", 1736942400000) == 0);
  CHECK(zones.offset_ms("", 1736942400000) == 0);
  CHECK(zones.offset_ms("Europe/Madrid", 1752580800000) == 2 * kHour);
}
