#include "adapters/http/router.h"

#include <algorithm>

#include "runtime/base/check.h"

namespace waflow::http {

namespace {

// Splits "/a/b/" into {"a", "b", ""}; the leading '/' is not a segment.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/')
    path.remove_prefix(1);
  while (true) {
    std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

std::string Router::check_pattern(std::string_view pattern) {
  if (pattern.empty() || pattern.front() != '/')
    return "a pattern must start with '/'";
  std::vector<std::string_view> segments = split_path(pattern);
  std::vector<std::string_view> names;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    std::string_view segment = segments[i];
    if (segment == "*") {
      if (i + 1 != segments.size())
        return "'*' may only be the last segment";
      continue;
    }
    bool opens = segment.find('{') != std::string_view::npos;
    bool closes = segment.find('}') != std::string_view::npos;
    if (!opens && !closes)
      continue;
    if (segment.size() < 3 || segment.front() != '{' || segment.back() != '}' ||
        segment.find_first_of("{}", 1) != segment.size() - 1) {
      return "a parameter must be a whole segment, like {name}";
    }
    std::string_view name = segment.substr(1, segment.size() - 2);
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      return "parameter {" + std::string(name) + "} appears twice";
    }
    names.push_back(name);
  }
  return "";
}

std::size_t Router::add(std::string_view method, std::string_view pattern) {
  WAFLOW_CHECK(!method.empty(), "a route needs a method");
  WAFLOW_CHECK(check_pattern(pattern).empty(), "malformed route pattern");
  for (const Route& route : routes_) {
    WAFLOW_CHECK(route.method != method || route.pattern != pattern, "duplicate route");
  }
  Route route{std::string(method), std::string(pattern), {}};
  for (std::string_view segment : split_path(pattern)) {
    if (segment == "*") {
      route.segments.push_back({Kind::Rest, "*"});
    } else if (!segment.empty() && segment.front() == '{') {
      route.segments.push_back({Kind::Param, std::string(segment.substr(1, segment.size() - 2))});
    } else {
      route.segments.push_back({Kind::Literal, std::string(segment)});
    }
  }
  routes_.push_back(std::move(route));
  return routes_.size() - 1;
}

bool Router::matches(const Route& route, const std::vector<std::string>& segments,
                     const std::vector<std::string_view>& raw, StringMap* params) {
  std::size_t n = route.segments.size();
  bool rest = n > 0 && route.segments.back().kind == Kind::Rest;
  if (rest ? segments.size() < n : segments.size() != n)
    return false;
  for (std::size_t i = 0; i < n; ++i) {
    const Segment& pattern = route.segments[i];
    switch (pattern.kind) {
      case Kind::Literal:
        if (segments[i] != pattern.text)
          return false;
        break;
      case Kind::Param:
        if (segments[i].empty())
          return false;
        if (params != nullptr)
          (*params)[pattern.text] = segments[i];
        break;
      case Kind::Rest:
        if (params != nullptr) {
          // The rest keeps its slashes; each segment is decoded on its own.
          std::string joined;
          for (std::size_t j = i; j < segments.size(); ++j) {
            if (j > i)
              joined += '/';
            joined += percent_decode(raw[j], false);
          }
          (*params)["*"] = std::move(joined);
        }
        break;
    }
  }
  return true;
}

bool Router::more_specific(const Route& a, const Route& b) {
  std::size_t n = std::min(a.segments.size(), b.segments.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (a.segments[i].kind != b.segments[i].kind)
      return a.segments[i].kind < b.segments[i].kind;
  }
  // "/a/b/*" against "/a/*": the longer literal prefix is the more specific.
  return a.segments.size() > b.segments.size();
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  std::vector<std::string_view> raw = split_path(path);
  std::vector<std::string> segments;
  segments.reserve(raw.size());
  for (std::string_view segment : raw)
    segments.push_back(percent_decode(segment, false));

  const Route* best = nullptr;
  const Route* best_get = nullptr;  // For HEAD without a HEAD route.
  std::vector<std::string_view> allowed;
  for (const Route& route : routes_) {
    if (!matches(route, segments, raw, nullptr))
      continue;
    if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
      allowed.push_back(route.method);
    }
    if (route.method == method) {
      if (best == nullptr || more_specific(route, *best))
        best = &route;
    } else if (method == "HEAD" && route.method == "GET") {
      if (best_get == nullptr || more_specific(route, *best_get))
        best_get = &route;
    }
  }
  if (best == nullptr)
    best = best_get;
  Match result;
  if (best != nullptr) {
    result.outcome = Outcome::Found;
    result.route = static_cast<std::size_t>(best - routes_.data());
    matches(*best, segments, raw, &result.params);
    return result;
  }
  if (allowed.empty())
    return result;
  result.outcome = Outcome::MethodNotAllowed;
  std::sort(allowed.begin(), allowed.end());
  for (std::string_view m : allowed) {
    if (!result.allow.empty())
      result.allow += ", ";
    result.allow += m;
  }
  return result;
}

std::optional<std::size_t> Router::find(std::string_view method, std::string_view pattern) const {
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    if (routes_[i].method == method && routes_[i].pattern == pattern) {
      return i;
    }
  }
  return std::nullopt;
}

}  // namespace waflow::http
