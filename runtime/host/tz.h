#pragma once

// Time-zone offsets from the system's tzdata (/usr/share/zoneinfo), for the
// `tz_offset_ms` the VM wants in its Context.
//
// A TZif file (RFC 8536) lists UTC offsets and the instants where they change.
// Only the version 2+ section, with 64-bit times, is read: the version 1 section
// stops in 2038. Instants after the last listed change follow the POSIX TZ rule
// in the file's footer ("CET-1CEST,M3.5.0,M10.5.0/3"), so "slim" files that list
// few transitions give the same answers as "fat" ones.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/base/result.h"

namespace waflow::host {

inline constexpr const char* kZoneinfoRoot = "/usr/share/zoneinfo";

class TimeZone {
 public:
  // The zone "UTC": offset 0 at every instant.
  TimeZone() = default;

  // Reads <root>/<name>. Names are IANA names ("Europe/Madrid"); anything that
  // could leave the root ("..", a leading '/') is refused.
  static Result<TimeZone> load(std::string_view name, const std::string& root = kZoneinfoRoot);
  // Parses the bytes of a TZif file.
  static Result<TimeZone> parse(std::string_view bytes);

  // The zone's offset from UTC at `utc_ms`, in milliseconds (UTC+1 is 3600000).
  std::int64_t offset_ms(std::int64_t utc_ms) const;

  // A POSIX TZ rule such as "EST5EDT,M3.2.0,M11.1.0"; exposed for tests.
  struct Rule {
    bool valid = false;
    std::int32_t std_offset = 0;  // Seconds east of UTC.
    std::int32_t dst_offset = 0;
    bool has_dst = false;
    // Start and end of summer time: kind 'J' (Jn), 'D' (n) or 'M' (Mm.w.d).
    struct When {
      char kind = 'M';
      int month = 0, week = 0, day = 0;  // day: Jn/n, or weekday for M (0 = Sunday).
      std::int32_t time = 7200;          // Local seconds after midnight.
    } start, end;
  };
  static Rule parse_rule(std::string_view text);
  static std::int32_t rule_offset(const Rule& rule, std::int64_t utc_seconds);

 private:
  std::vector<std::int64_t> transitions_;  // UTC seconds, ascending.
  std::vector<std::uint8_t> type_of_;      // For each transition, the local time type after it.
  std::vector<std::int32_t> offsets_;      // Local time types: seconds east of UTC.
  std::int32_t initial_ = 0;               // Before the first transition.
  Rule rule_;
};

// Zones loaded once and kept; an unknown or unreadable zone reads as UTC (the
// compiler has already checked zone names against the IANA list).
class ZoneCache {
 public:
  explicit ZoneCache(std::string root = kZoneinfoRoot) : root_(std::move(root)) {}
  std::int64_t offset_ms(const std::string& zone, std::int64_t utc_ms);

 private:
  std::string root_;
  std::unordered_map<std::string, TimeZone> zones_;
};

}  // namespace waflow::host
