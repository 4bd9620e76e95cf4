// Reading TZif files and evaluating POSIX TZ rules (see tz.h). Everything is
// integer arithmetic on seconds; no C library time functions, so the result
// does not depend on the TZ variable or the locale of the process.

#include "runtime/host/tz.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "runtime/base/civil_time.h"

namespace waflow::host {

namespace {

std::int64_t read_be(std::string_view bytes, std::size_t at, std::size_t size) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < size; ++i) {
    v = (v << 8U) | static_cast<unsigned char>(bytes[at + i]);
  }
  // Sign-extend 32-bit values.
  if (size == 4 && (v & 0x80000000U) != 0) {
    v |= 0xFFFFFFFF00000000ULL;
  }
  return static_cast<std::int64_t>(v);
}

struct Counts {
  std::size_t isut = 0, isstd = 0, leap = 0, time = 0, type = 0, chars = 0;
};

bool read_header(std::string_view bytes, std::size_t at, Counts& c, char& version) {
  if (bytes.size() < at + 44 || bytes.substr(at, 4) != "TZif") {
    return false;
  }
  version = bytes[at + 4];
  auto count = [&](std::size_t i) {
    return static_cast<std::size_t>(read_be(bytes, at + 20 + 4 * i, 4));
  };
  c = Counts{count(0), count(1), count(2), count(3), count(4), count(5)};
  return true;
}

bool is_leap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(std::int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);
}

// A small cursor over the rule text.
struct Cursor {
  std::string_view s;
  std::size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  bool eat(char c) {
    if (peek() == c) {
      ++i;
      return true;
    }
    return false;
  }
  bool number(int& out) {
    if (peek() < '0' || peek() > '9') {
      return false;
    }
    out = 0;
    while (peek() >= '0' && peek() <= '9') {
      out = out * 10 + (s[i++] - '0');
      if (out > 100000) {
        return false;
      }
    }
    return true;
  }
  // A zone abbreviation: letters, or anything between < and >.
  bool name() {
    if (eat('<')) {
      while (!done() && peek() != '>') {
        ++i;
      }
      return eat('>');
    }
    const std::size_t start = i;
    while ((peek() >= 'A' && peek() <= 'Z') || (peek() >= 'a' && peek() <= 'z')) {
      ++i;
    }
    return i - start >= 3;
  }
  // [+-]hh[:mm[:ss]] as seconds.
  bool clock(std::int32_t& out) {
    int sign = 1;
    if (eat('-')) {
      sign = -1;
    } else {
      eat('+');
    }
    int h = 0;
    int m = 0;
    int sec = 0;
    if (!number(h)) {
      return false;
    }
    if (eat(':') && (!number(m) || (eat(':') && !number(sec)))) {
      return false;
    }
    out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }
  bool when(TimeZone::Rule::When& w) {
    if (eat('J')) {
      w.kind = 'J';
      if (!number(w.day)) {
        return false;
      }
    } else if (eat('M')) {
      w.kind = 'M';
      if (!number(w.month) || !eat('.') || !number(w.week) || !eat('.') || !number(w.day)) {
        return false;
      }
      if (w.month < 1 || w.month > 12 || w.week < 1 || w.week > 5 || w.day > 6) {
        return false;
      }
    } else {
      w.kind = 'D';
      if (!number(w.day)) {
        return false;
      }
    }
    w.time = 7200;
    return !eat('/') || clock(w.time);
  }
};

// Seconds since the epoch of local midnight of the rule's day in year y (in the
// local time of that day, so the caller subtracts the offset in force).
std::int64_t rule_day(const TimeZone::Rule::When& w, std::int64_t y) {
  std::int64_t days = 0;
  if (w.kind == 'J') {
    days = days_from_civil(y, 1u, 1u) + w.day - 1 + (is_leap(y) && w.day >= 60 ? 1 : 0);
  } else if (w.kind == 'D') {
    days = days_from_civil(y, 1u, 1u) + w.day;
  } else {
    const std::int64_t first = days_from_civil(y, static_cast<unsigned>(w.month), 1u);
    // 1970-01-01 was a Thursday (4, with Sunday 0).
    const std::int64_t weekday = ((first % 7) + 7 + 4) % 7;
    std::int64_t day = 1 + ((w.day - weekday + 7) % 7) + 7 * (w.week - 1);
    while (day > days_in_month(y, w.month)) {
      day -= 7;
    }
    days = first + day - 1;
  }
  return days * 86400;
}

}  // namespace

TimeZone::Rule TimeZone::parse_rule(std::string_view text) {
  Rule r;
  Cursor c{text};
  std::int32_t std_west = 0;
  if (!c.name() || !c.clock(std_west)) {
    return r;
  }
  r.std_offset = -std_west;
  r.dst_offset = r.std_offset + 3600;
  if (c.done()) {
    r.valid = true;
    return r;
  }
  if (!c.name()) {
    return r;
  }
  r.has_dst = true;
  if (c.peek() != ',' && !c.done()) {
    std::int32_t dst_west = 0;
    if (!c.clock(dst_west)) {
      return r;
    }
    r.dst_offset = -dst_west;
  }
  if (c.done()) {
    // No dates given: POSIX leaves them to the implementation; use the US rules.
    r.start = {'M', 3, 2, 0, 7200};
    r.end = {'M', 11, 1, 0, 7200};
    r.valid = true;
    return r;
  }
  r.valid = c.eat(',') && c.when(r.start) && c.eat(',') && c.when(r.end) && c.done();
  return r;
}

std::int32_t TimeZone::rule_offset(const Rule& rule, std::int64_t utc_seconds) {
  if (!rule.has_dst) {
    return rule.std_offset;
  }
  const std::int64_t year = civil_from_days(floor_div(utc_seconds + rule.std_offset, 86400)).year;
  const std::int64_t start = rule_day(rule.start, year) + rule.start.time - rule.std_offset;
  const std::int64_t end = rule_day(rule.end, year) + rule.end.time - rule.dst_offset;
  const bool summer = start < end ? (utc_seconds >= start && utc_seconds < end)
                                  : !(utc_seconds >= end && utc_seconds < start);
  return summer ? rule.dst_offset : rule.std_offset;
}

Result<TimeZone> TimeZone::parse(std::string_view bytes) {
  auto bad = [](const std::string& why) {
    return Error{ErrorCode::InvalidInput, "not a TZif file: " + why};
  };
  Counts v1;
  char version = 0;
  if (!read_header(bytes, 0, v1, version)) {
    return bad("no TZif header");
  }
  if (version < '2') {
    return bad("version 1 files have no 64-bit section");
  }
  const std::size_t skip =
      44 + v1.time * 5 + v1.type * 6 + v1.chars + v1.leap * 8 + v1.isstd + v1.isut;
  Counts c;
  if (!read_header(bytes, skip, c, version)) {
    return bad("no second header");
  }
  std::size_t at = skip + 44;
  const std::size_t size = c.time * 9 + c.type * 6 + c.chars + c.leap * 12 + c.isstd + c.isut;
  if (bytes.size() < at + size || c.type == 0 || c.type > 256) {
    return bad("truncated");
  }
  TimeZone tz;
  for (std::size_t i = 0; i < c.time; ++i) {
    tz.transitions_.push_back(read_be(bytes, at + 8 * i, 8));
  }
  at += 8 * c.time;
  for (std::size_t i = 0; i < c.time; ++i) {
    const auto type = static_cast<std::uint8_t>(bytes[at + i]);
    if (type >= c.type) {
      return bad("a transition names a missing type");
    }
    tz.type_of_.push_back(type);
  }
  at += c.time;
  for (std::size_t i = 0; i < c.type; ++i) {
    tz.offsets_.push_back(static_cast<std::int32_t>(read_be(bytes, at + 6 * i, 4)));
  }
  if (!std::is_sorted(tz.transitions_.begin(), tz.transitions_.end())) {
    return bad("transitions out of order");
  }
  // RFC 8536: before the first transition, local time type 0 applies.
  tz.initial_ = tz.offsets_[0];
  at += c.type * 6 + c.chars + c.leap * 12 + c.isstd + c.isut;
  // The footer: "\n<rule>\n".
  if (at < bytes.size() && bytes[at] == '\n') {
    const std::size_t close = bytes.find('\n', at + 1);
    if (close != std::string_view::npos) {
      tz.rule_ = parse_rule(bytes.substr(at + 1, close - at - 1));
    }
  }
  return tz;
}

Result<TimeZone> TimeZone::load(std::string_view name, const std::string& root) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos) {
    return Error{ErrorCode::InvalidInput, "not a time zone name: '" + std::string(name) + "'"};
  }
  const std::string path = root + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{ErrorCode::NotFound, "no time zone data at " + path};
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  Result<TimeZone> tz = parse(bytes.str());
  if (!tz) {
    return Error{tz.error().code, path + ": " + tz.error().message};
  }
  return tz;
}

std::int64_t TimeZone::offset_ms(std::int64_t utc_ms) const {
  const std::int64_t seconds = floor_div(utc_ms, 1000);
  std::int32_t offset = initial_;
  if (!transitions_.empty() && seconds >= transitions_.back() && rule_.valid) {
    offset = rule_offset(rule_, seconds);
  } else if (!transitions_.empty() && seconds >= transitions_.front()) {
    const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), seconds);
    offset = offsets_[type_of_[static_cast<std::size_t>(it - transitions_.begin()) - 1]];
  } else if (transitions_.empty() && rule_.valid) {
    offset = rule_offset(rule_, seconds);
  }
  return static_cast<std::int64_t>(offset) * 1000;
}

std::int64_t ZoneCache::offset_ms(const std::string& zone, std::int64_t utc_ms) {
  if (zone.empty()) {
    return 0;
  }
  auto it = zones_.find(zone);
  if (it == zones_.end()) {
    Result<TimeZone> tz = TimeZone::load(zone, root_);
    it = zones_.emplace(zone, tz ? std::move(tz).value() : TimeZone()).first;
  }
  return it->second.offset_ms(utc_ms);
}

}  // namespace waflow::host
