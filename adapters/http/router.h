#pragma once

// The server's route table: (method, pattern) pairs matched against a request
// path. No I/O here, so the matching rules are tested on their own.
//
// A pattern is a path of '/'-separated segments. A segment is a literal, a
// parameter `{name}` that matches one non-empty segment, or, as the last
// segment only, `*`, which matches the rest of the path (possibly empty): the
// prefix form for static files, e.g. "/static/*" matches "/static/" and
// "/static/css/app.css" (params["*"] = "css/app.css") but not "/static".
// Segments are percent-decoded before they are compared, so "%2F" inside a
// segment never splits it. When several patterns match, the most specific wins,
// comparing segment by segment (literal over parameter over `*`), so the order
// routes are added in does not matter.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http/message.h"

namespace waflow::http {

class Router {
 public:
  enum class Outcome : std::uint8_t { Found, NotFound, MethodNotAllowed };

  struct Match {
    Outcome outcome = Outcome::NotFound;
    std::size_t route = 0;  // Found: the index add() returned.
    StringMap params;       // Found: decoded parameters.
    std::string allow;      // MethodNotAllowed: the methods the path has, e.g. "GET, POST".
  };

  // Adds a route and returns its index (0, 1, ...). A malformed pattern or a
  // second route for the same method and pattern is a bug in the caller.
  std::size_t add(std::string_view method, std::string_view pattern);

  // A HEAD request falls back to the GET route of its path.
  Match match(std::string_view method, std::string_view path) const;

  // "" when the pattern is well-formed, otherwise why not.
  static std::string check_pattern(std::string_view pattern);
  // The index of the route added with exactly this method and pattern.
  std::optional<std::size_t> find(std::string_view method, std::string_view pattern) const;

 private:
  enum class Kind : std::uint8_t { Literal, Param, Rest };
  struct Segment {
    Kind kind;
    std::string text;  // Literal: the text; Param: the name.
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
  };
  std::vector<Route> routes_;

  static bool matches(const Route& route, const std::vector<std::string>& segments,
                      const std::vector<std::string_view>& raw, StringMap* params);
  static bool more_specific(const Route& a, const Route& b);
};

}  // namespace waflow::http
