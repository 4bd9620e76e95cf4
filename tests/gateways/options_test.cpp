// Numbered options for gateways without buttons: the text that goes out, and a number typed
// back read as a tap of that option.

#include "adapters/gateways/options.h"

#include <catch2/catch.hpp>

#include "tests/gateways/helpers.h"

namespace {

using namespace waflow::gateways;           // NOLINT(google-build-using-namespace)
using namespace waflow::gateways::testing;  // NOLINT(google-build-using-namespace)
using waflow::gateways::testing::value;

const char* kButtons = R"({"type":"buttons","text":"What size?","header":"Pizza",
  "footer":"Fresh daily","buttons":[{"id":"s","title":"Small"},{"id":"m","title":"Medium"},
  {"id":"l","title":"Large"}]})";

const char* kList = R"({"type":"list","text":"Menu","button":"Choose","sections":[
  {"title":"Pizza","rows":[{"id":"p1","title":"Margherita","description":"Tomato"},
                           {"id":"p2","title":"Pepperoni"}]},
  {"title":"Drinks","rows":[{"id":"d1","title":"Cola","description":"330 ml"}]}]})";

}  // namespace

TEST_CASE("options: buttons go out as numbered lines between header and footer") {
  CHECK(numbered_text(value(kButtons)) ==
        "*Pizza*\n\nWhat size?\n\n1. Small\n2. Medium\n3. Large\n\n_Fresh daily_");
}

TEST_CASE("options: list rows are numbered across sections, with section titles") {
  CHECK(numbered_text(value(kList)) ==
        "Menu\n\nPizza\n1. Margherita - Tomato\n2. Pepperoni\nDrinks\n3. Cola - 330 ml");
  // One section: its title adds nothing.
  CHECK(numbered_text(value(R"({"type":"list","text":"Pick","button":"Go","sections":[
          {"title":"Only","rows":[{"id":"a","title":"A"}]}]})")) == "Pick\n\n1. A");
  CHECK(numbered_text(value(R"({"type":"text","text":"plain"})")) == "plain");
}

TEST_CASE("options: a number picks the option it stands for") {
  const waflow::vm::Value buttons = value(kButtons);
  for (const char* reply : {"2", " 2 ", "2.", "2)", "02", "2\n"}) {
    INFO(reply);
    const std::optional<waflow::vm::Value> tap = numbered_reply(buttons, reply);
    REQUIRE(tap.has_value());
    CHECK(tap->tag() == waflow::vm::Tag::Message);
    CHECK(as_json(*tap) ==
          Json::parse(R"({"type":"button","payload":"m","text":"Medium","title":"Medium"})"));
  }
  const std::optional<waflow::vm::Value> row = numbered_reply(value(kList), "3");
  REQUIRE(row.has_value());
  CHECK(as_json(*row) ==
        Json::parse(R"({"type":"list","payload":"d1","text":"Cola","title":"Cola"})"));
}

TEST_CASE("options: anything but an option number is left as typed") {
  const waflow::vm::Value buttons = value(kButtons);
  for (const char* reply : {"0", "4", "", "two", "2 please", "1.5", "-1", "99999999999999999999"}) {
    INFO(reply);
    CHECK_FALSE(numbered_reply(buttons, reply).has_value());
  }
  CHECK_FALSE(numbered_reply(value(R"({"type":"text","text":"1. a"})"), "1").has_value());
  CHECK_FALSE(numbered_reply(waflow::vm::Value(), "1").has_value());
}
