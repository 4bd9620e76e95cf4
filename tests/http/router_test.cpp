// Route matching on its own: patterns, specificity, 404/405 and HEAD.

#include "adapters/http/router.h"

#include <catch2/catch.hpp>

using waflow::http::Router;

TEST_CASE("routes match literals, parameters and prefixes, the most specific first") {
  Router router;
  std::size_t prefix = router.add("GET", "/static/*");
  std::size_t deployment = router.add("GET", "/api/v1/deployments/{hash}");
  std::size_t latest = router.add("GET", "/api/v1/deployments/latest");
  std::size_t app = router.add("GET", "/static/app.js");
  std::size_t root = router.add("GET", "/");

  auto m = router.match("GET", "/api/v1/deployments/ab12");
  REQUIRE(m.outcome == Router::Outcome::Found);
  CHECK(m.route == deployment);
  CHECK(m.params.at("hash") == "ab12");

  CHECK(router.match("GET", "/api/v1/deployments/latest").route == latest);
  CHECK(router.match("GET", "/static/app.js").route == app);
  CHECK(router.match("GET", "/").route == root);

  m = router.match("GET", "/static/css/site%20main.css");
  REQUIRE(m.outcome == Router::Outcome::Found);
  CHECK(m.route == prefix);
  CHECK(m.params.at("*") == "css/site main.css");
  CHECK(router.match("GET", "/static/").params.at("*").empty());

  CHECK(router.match("GET", "/static").outcome == Router::Outcome::NotFound);
  CHECK(router.match("GET", "/api/v1/deployments").outcome == Router::Outcome::NotFound);
  CHECK(router.match("GET", "/api/v1/deployments/").outcome == Router::Outcome::NotFound);
  CHECK(router.match("GET", "/api/v1/deployments/a/b").outcome == Router::Outcome::NotFound);
}

TEST_CASE("a parameter is decoded and an encoded slash stays inside it") {
  Router router;
  router.add("GET", "/contacts/{phone}/messages");
  auto m = router.match("GET", "/contacts/%2B62%2F811/messages");
  REQUIRE(m.outcome == Router::Outcome::Found);
  CHECK(m.params.at("phone") == "+62/811");
}

TEST_CASE("a path known with other methods is 405 with the allowed methods") {
  Router router;
  router.add("POST", "/api/v1/send");
  router.add("GET", "/api/v1/send");
  router.add("DELETE", "/api/v1/items/{id}");
  auto m = router.match("PUT", "/api/v1/send");
  CHECK(m.outcome == Router::Outcome::MethodNotAllowed);
  CHECK(m.allow == "GET, POST");
  CHECK(router.match("PUT", "/api/v1/items/7").allow == "DELETE");
  CHECK(router.match("PUT", "/nowhere").outcome == Router::Outcome::NotFound);
}

TEST_CASE("HEAD falls back to the GET route") {
  Router router;
  std::size_t get = router.add("GET", "/livez");
  auto m = router.match("HEAD", "/livez");
  REQUIRE(m.outcome == Router::Outcome::Found);
  CHECK(m.route == get);
  std::size_t head = router.add("HEAD", "/livez");
  CHECK(router.match("HEAD", "/livez").route == head);
}

TEST_CASE("malformed route patterns are explained") {
  CHECK(Router::check_pattern("/a/{id}/*").empty());
  CHECK(Router::check_pattern("a/b") == "a pattern must start with '/'");
  CHECK(Router::check_pattern("/a/*/b") == "'*' may only be the last segment");
  CHECK(Router::check_pattern("/a/x{id}") == "a parameter must be a whole segment, like {name}");
  CHECK(Router::check_pattern("/a/{}") == "a parameter must be a whole segment, like {name}");
  CHECK(Router::check_pattern("/a/{id}/{id}") == "parameter {id} appears twice");
}
