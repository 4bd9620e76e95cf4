// Tests of the AI step checks (WF06xx, WF0211, and WF0314 for AI options).

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/checks/check_runner.h"

namespace {

using Lines = std::vector<std::string>;
using waflow::test::CheckRun;

const std::string kHead = "flow f\n  trigger keyword \"go\"\n";

Lines check(const std::string& source) {
  return waflow::test::run(waflow::checks::check_ai, kHead + source);
}

Lines notes(const std::string& source) {
  return CheckRun(waflow::checks::check_ai, {kHead + source}).notes();
}

}  // namespace

TEST_CASE("ai: an extract field without a type is an error", "[checks][ai]") {
  const std::string src =
      "  ai extract order\n"
      "    field size \"How big\"\n"
      "    field count: number\n";
  CHECK(check(src) == Lines{"4:5 WF0601 field 'size' has no type"});
  CHECK(notes(src) == Lines{"help: declare it as 'field size: text' (or number, email, phone, "
                            "date, url, yesno...)"});
}

TEST_CASE("ai: classify without intents and extract without fields", "[checks][ai]") {
  CHECK(check("  ai classify topic\n    other\n      say \"?\"\n") ==
        Lines{"3:3 WF0602 ai classify needs at least one intent"});
  CHECK(check("  ai extract order\n    model \"openai/gpt-4o-mini\"\n") ==
        Lines{"3:3 WF0604 ai extract needs at least one field"});
}

TEST_CASE("ai: duplicate intents, fields and tool parameters", "[checks][ai]") {
  CHECK(check("  ai classify topic\n"
              "    intent billing \"Money\"\n"
              "    intent billing \"Invoices\"\n") ==
        Lines{"5:5 WF0603 'billing' is declared more than once in this step"});
  CHECK(notes("  ai classify topic\n"
              "    intent billing \"Money\"\n"
              "    intent billing \"Invoices\"\n") == Lines{"4:5 first declared here"});
  CHECK(check("  ai extract order\n"
              "    field size: number\n"
              "    field size: text\n") ==
        Lines{"5:5 WF0603 'size' is declared more than once in this step"});
  CHECK(waflow::test::run(waflow::checks::check_ai,
                          "flow f\n"
                          "  trigger keyword \"go\"\n"
                          "  tool lookup \"Find an order\"\n"
                          "    param id: text \"Order id\"\n"
                          "    param id: number \"Again\"\n"
                          "    request GET \"https://example.com/orders/{{id}}\"\n"
                          "  ai reply\n"
                          "    tools lookup\n") ==
        Lines{"5:5 WF0603 'id' is declared more than once in this step"});
}

TEST_CASE("ai: a tool the flow does not declare is WF0211", "[checks][ai]") {
  const std::string src =
      "  tool lookup \"Find an order\"\n"
      "    request GET \"https://example.com/orders\"\n"
      "  ai reply\n"
      "    tools lookup lokup\n";
  CHECK(check(src) == Lines{"6:18 WF0211 unknown tool 'lokup'"});
  CHECK(notes(src) == Lines{"help: did you mean 'lookup'?"});
}

TEST_CASE("ai: options out of range are WF0314", "[checks][ai]") {
  CHECK(check("  ai reply\n"
              "    temperature 2.5\n"
              "    history -1\n"
              "    max_tokens 0\n") ==
        Lines{"4:17 WF0314 temperature must be between 0 and 2",
              "5:13 WF0314 history must be between 0 and 100 messages",
              "6:16 WF0314 max_tokens must be greater than 0"});
  CHECK(check("  ai reply\n    temperature 0\n    history 100\n    max_tokens 1\n").empty());
}
