// Tests of the WhatsApp limit checks (WF05xx): exact messages and positions.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/checks/check_runner.h"

namespace {

using Lines = std::vector<std::string>;
using waflow::test::CheckRun;

Lines check(const std::string& steps) {
  return waflow::test::run(waflow::checks::check_whatsapp_limits,
                           "flow f\n  trigger keyword \"go\"\n" + steps);
}

Lines notes(const std::string& steps) {
  return CheckRun(waflow::checks::check_whatsapp_limits,
                  {"flow f\n  trigger keyword \"go\"\n" + steps})
      .notes();
}

std::string repeat(const std::string& unit, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) {
    out += unit;
  }
  return out;
}

}  // namespace

TEST_CASE("whatsapp: more than three reply buttons", "[checks][whatsapp]") {
  CHECK(check("  say \"Pick\"\n"
              "    button a \"A\"\n"
              "    button b \"B\"\n"
              "    button c \"C\"\n"
              "    button d \"D\"\n") ==
        Lines{"7:5 WF0501 4 reply buttons; WhatsApp allows at most 3"});
}

TEST_CASE("whatsapp: button titles are counted in code points", "[checks][whatsapp]") {
  // 20 characters with accents fit; 21 do not.
  CHECK(check("  say \"Pick\"\n    button a \"Crème brûlée du chef\"\n").empty());
  CHECK(check("  say \"Pick\"\n    button a \"Crème brûlée du chefs\"\n") ==
        Lines{"4:14 WF0502 button title is 21 characters; WhatsApp allows at most 20"});
}

TEST_CASE("whatsapp: a templated title counts only its literal text", "[checks][whatsapp]") {
  const std::string steps = "  say \"Pick\"\n    button a \"Deliver to {{contact.name}} now!\"\n";
  // 16 literal characters: it may fit, so nothing is said.
  CHECK(check(steps).empty());
  CHECK(check("  say \"Pick\"\n    button a \"Deliver it to {{contact.name}} right now\"\n") ==
        Lines{"4:14 WF0502 button title is at least 24 characters; WhatsApp allows at most 20"});
  CHECK(notes("  say \"Pick\"\n    button a \"Deliver it to {{contact.name}} right now\"\n") ==
        Lines{"note: only the literal text is counted; the {{placeholders}} add to it when the "
              "message is sent"});
}

TEST_CASE("whatsapp: list limits", "[checks][whatsapp]") {
  std::string rows;
  for (int i = 0; i < 11; ++i) {
    rows += "    row r" + std::to_string(i) + " \"Row\"\n";
  }
  CHECK(check("  say \"Menu\"\n    list \"Open\"\n" + rows) ==
        Lines{"15:5 WF0503 list has 11 rows; WhatsApp allows at most 10"});
  CHECK(check("  say \"Menu\"\n"
              "    list \"Open the list of things\"\n"
              "    row a \"A title longer than twenty-four\" \"" +
              repeat("d", 73) + "\"\n") ==
        Lines{"4:10 WF0509 list button label is 23 characters; WhatsApp allows at most 20",
              "5:11 WF0504 row title is 31 characters; WhatsApp allows at most 24",
              "5:45 WF0506 row description is 73 characters; WhatsApp allows at most 72"});
}

TEST_CASE("whatsapp: sections", "[checks][whatsapp]") {
  std::string sections;
  for (int i = 0; i < 11; ++i) {
    sections += "    section \"S" + std::to_string(i) + "\"\n      row r" + std::to_string(i) +
                " \"Row\"\n";
  }
  CHECK(check("  say \"Menu\"\n    list \"Open\"\n" + sections) ==
        Lines{"25:5 WF0510 list has 11 sections; WhatsApp allows at most 10",
              "26:7 WF0503 list has 11 rows; WhatsApp allows at most 10"});
  CHECK(check("  say \"Menu\"\n"
              "    list \"Open\"\n"
              "    section \"A section title that is long\"\n"
              "      row a \"A\"\n"
              "    section\n"
              "      row b \"B\"\n"
              "    section \"Empty\"\n") ==
        Lines{"5:13 WF0505 section title is 28 characters; WhatsApp allows at most 24",
              "7:5 WF0515 a list with several sections needs a title on each",
              "9:5 WF0513 this section has no rows"});
}

TEST_CASE("whatsapp: a list without rows or label", "[checks][whatsapp]") {
  CHECK(check("  say \"Menu\"\n    list \"Open\"\n") == Lines{"4:10 WF0513 this list has no rows"});
  CHECK(check("  say \"Menu\"\n    row a \"A\"\n") ==
        Lines{"4:5 WF0512 the list's button label is empty"});
}

TEST_CASE("whatsapp: body lengths depend on the kind of message", "[checks][whatsapp]") {
  const std::string long_1100 = repeat("x", 1100);
  CHECK(check("  say \"" + long_1100 + "\"\n").empty());
  CHECK(check("  say \"" + long_1100 + "\"\n    button a \"A\"\n") ==
        Lines{"3:7 WF0507 the body of a message with reply buttons is 1100 characters; WhatsApp "
              "allows at most 1024"});
  CHECK(check("  say \"" + repeat("x", 4097) + "\"\n") ==
        Lines{"3:7 WF0507 message text is 4097 characters; WhatsApp allows at most 4096"});
  CHECK(check("  image \"https://example.com/a.png\" caption \"" + repeat("y", 1025) + "\"\n") ==
        Lines{"3:45 WF0507 caption is 1025 characters; WhatsApp allows at most 1024"});
  CHECK(check("  say \"Hi\"\n    footer \"" + repeat("z", 61) + "\"\n") ==
        Lines{"4:12 WF0507 footer is 61 characters; WhatsApp allows at most 60"});
}

TEST_CASE("whatsapp: media types by extension or declared mime", "[checks][whatsapp]") {
  CHECK(check("  image \"https://example.com/cat.gif\"\n") ==
        Lines{"3:9 WF0508 a .gif file is not a supported image type"});
  CHECK(notes("  image \"https://example.com/cat.gif\"\n") ==
        Lines{"help: WhatsApp accepts .jpg, .jpeg and .png files for image messages"});
  CHECK(check("  audio \"https://example.com/a.mp3?v=2\"\n"
              "  video \"https://example.com/{{id}}\"\n"
              "  image \"https://example.com/render.php?id=3\"\n"
              "  document \"https://example.com/Report.PDF\"\n")
            .empty());
  CHECK(check("  sticker \"https://example.com/s\" mime \"image/png\"\n") ==
        Lines{"3:40 WF0508 'image/png' is not a supported sticker type"});
  CHECK(check("  audio \"https://example.com/v\" mime \"audio/ogg; codecs=opus\"\n").empty());
}

TEST_CASE("whatsapp: option ids have length limits", "[checks][whatsapp]") {
  CHECK(check("  say \"Pick\"\n    button \"" + repeat("i", 257) + "\" \"A\"\n") ==
        Lines{"4:5 WF0511 option id is 257 characters; WhatsApp allows at most 256"});
  CHECK(check("  say \"Pick\"\n    list \"Open\"\n    row \"" + repeat("i", 201) + "\" \"A\"\n") ==
        Lines{"5:5 WF0511 option id is 201 characters; WhatsApp allows at most 200"});
}

TEST_CASE("whatsapp: empty texts and buttons with a list", "[checks][whatsapp]") {
  CHECK(check("  say \"\"\n") == Lines{"3:3 WF0512 message text is empty"});
  CHECK(check("  say \"Pick\"\n    button a \"A\"\n    list \"Open\"\n    row b \"B\"\n") ==
        Lines{"5:10 WF0514 a message can have reply buttons or a list, not both"});
}

TEST_CASE("whatsapp: template names are lower case, digits and underscores", "[checks][whatsapp]") {
  CHECK(check("  template order_update_2\n").empty());
  CHECK(check("  template Order-Update\n") ==
        Lines{"3:12 WF0516 invalid template name 'Order-Update' (lower case letters, digits and "
              "_)"});
  CHECK(notes("  template Order-Update\n") == Lines{"help: did you mean 'order_update'?"});
}
