// Tests of the control-flow checks (WF04xx): each asserts the exact message and
// position of what is reported, and that the safe variant reports nothing.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/checks/check_runner.h"

namespace {

using Lines = std::vector<std::string>;
using waflow::test::CheckRun;

Lines check(const std::string& source) {
  return waflow::test::run(waflow::checks::check_control_flow, source);
}

Lines check(const std::vector<std::string>& files) {
  return waflow::test::run(waflow::checks::check_control_flow, files);
}

Lines notes(const std::string& source) {
  return CheckRun(waflow::checks::check_control_flow, {source}).notes();
}

// A flow header that keeps examples short.
const std::string kHead = "flow f\n  trigger keyword \"go\"\n";

}  // namespace

TEST_CASE("control flow: steps after a goto are one unreachable region", "[checks][cf]") {
  const std::string src = kHead +
                          "  goto done\n"
                          "  say \"one\"\n"
                          "  say \"two\"\n"
                          "  label done\n"
                          "  end\n";
  CHECK(check(src) == Lines{"4:3 WF0401 this step can never run"});
  CHECK(notes(src) == Lines{"3:3 this 'goto' jumps away"});
}

TEST_CASE("control flow: steps after an if whose branches all end are unreachable",
          "[checks][cf]") {
  const std::string src = kHead +
                          "  if contact.name == \"x\"\n"
                          "    end\n"
                          "  else\n"
                          "    end\n"
                          "  say \"never\"\n";
  CHECK(check(src) == Lines{"7:3 WF0401 this step can never run"});
  CHECK(notes(src) == Lines{"3:3 no path through this step carries on to the next one"});
}

TEST_CASE("control flow: a step reached only by goto is reachable", "[checks][cf]") {
  CHECK(check(kHead + "  ask n: number \"n?\"\n"
                      "    on invalid retry 1\n"
                      "      goto fallback\n"
                      "    on timeout 1h\n"
                      "      end\n"
                      "  end\n"
                      "  label fallback\n"
                      "  say \"ok\"\n")
            .empty());
}

TEST_CASE("control flow: buttons followed by end are a dead end", "[checks][cf]") {
  const std::string src = kHead +
                          "  say \"Rate us\"\n"
                          "    button good \"Good\"\n"
                          "    button bad \"Bad\"\n"
                          "  say \"Thanks\"\n"
                          "  end\n";
  CHECK(check(src) ==
        Lines{"3:3 WF0402 dead end: the conversation can end right after these buttons, and no "
              "'trigger payload' handles 'good', 'bad'"});
  CHECK(notes(src) == Lines{"7:3 the conversation ends here",
                            "help: use 'ask' to wait for the answer, or handle the ids with "
                            "'trigger payload' in a flow"});
}

TEST_CASE("control flow: a list that falls off the end of the flow is a dead end", "[checks][cf]") {
  CHECK(check(kHead + "  say \"Menu\"\n"
                      "    list \"Open\"\n"
                      "    row a \"A\"\n") ==
        Lines{"3:3 WF0402 dead end: the conversation can end right after these list rows, and "
              "no 'trigger payload' handles 'a'"});
}

TEST_CASE("control flow: buttons handled by a payload trigger or an ask are no dead end",
          "[checks][cf]") {
  CHECK(check({kHead + "  say \"Again?\"\n"
                       "    button again \"Again\"\n"
                       "  end\n",
               "flow again\n  trigger payload \"again\"\n  say \"Here we go\"\n"})
            .empty());
  CHECK(check(kHead + "  say \"Pick\"\n"
                      "    button a \"A\"\n"
                      "  ask x: text \"Or type it\"\n"
                      "    on timeout 1h\n"
                      "      end\n")
            .empty());
}

TEST_CASE("control flow: a called flow that returns after buttons is no dead end", "[checks][cf]") {
  CHECK(check(kHead + "  call offer\n"
                      "  ask x \"Which?\"\n"
                      "    button a \"A\"\n"
                      "    on invalid retry 1\n"
                      "    on timeout 1h\n"
                      "      end\n"
                      "flow offer\n"
                      "  say \"We have\"\n"
                      "    button a \"A\"\n"
                      "  return\n")
            .empty());
}

TEST_CASE("control flow: a goto loop without a wait is an error", "[checks][cf]") {
  const std::string src = kHead +
                          "  label top\n"
                          "  say \"again\"\n"
                          "  goto top\n";
  CHECK(check(src) ==
        Lines{"5:3 WF0403 this loop can repeat forever without waiting for the user"});
  CHECK(notes(src) ==
        Lines{"4:3 the loop goes back to here",
              "help: wait inside the loop (an 'ask' or a 'delay'), or leave it with 'end'"});
}

TEST_CASE("control flow: a loop through an ask or a delay is fine", "[checks][cf]") {
  CHECK(check(kHead + "  label top\n"
                      "  ask n: text \"n?\"\n"
                      "    on timeout 1h\n"
                      "      end\n"
                      "  goto top\n")
            .empty());
  CHECK(check(kHead + "  label top\n"
                      "  delay 1h\n"
                      "  http GET \"https://example.com\"\n"
                      "  goto top\n")
            .empty());
}

TEST_CASE("control flow: a loop through a call to a flow that waits is fine", "[checks][cf]") {
  const std::string waits = "flow sub\n  ask x: text \"x?\"\n    on timeout 1h\n      end\n";
  const std::string busy = "flow sub\n  say \"hi\"\n";
  const std::string loop = kHead + "  label top\n  call sub\n  goto top\n";
  CHECK(check(loop + waits).empty());
  CHECK(check(loop + busy) ==
        Lines{"5:3 WF0403 this loop can repeat forever without waiting for the user"});
}

TEST_CASE("control flow: flows calling each other before any wait loop forever", "[checks][cf]") {
  const std::string src = kHead +
                          "  say \"a\"\n"
                          "  call g\n"
                          "flow g\n"
                          "  call f\n";
  CHECK(check(src) ==
        Lines{"4:3 WF0403 this loop can repeat forever without waiting for the user"});
  CHECK(notes(src) == Lines{"6:3 flow 'g' calls 'f' back before it waits"});
}

TEST_CASE("control flow: an ask without a timeout is a warning", "[checks][cf]") {
  const std::string src = kHead + "  ask name: text \"Name?\"\n";
  CHECK(check(src) ==
        Lines{"3:3 WF0404 this wait has no timeout; the conversation can wait forever"});
  CHECK(notes(src) == Lines{"help: add 'on timeout DURATION' with what to do then"});
}

TEST_CASE("control flow: an ai extract that can re-ask needs a timeout", "[checks][cf]") {
  CHECK(check(kHead + "  ai extract order\n"
                      "    field size: number\n"
                      "    on invalid retry 2\n") ==
        Lines{"3:3 WF0404 this wait has no timeout; the conversation can wait forever"});
  CHECK(check(kHead + "  ai extract order\n"
                      "    field size: number\n"
                      "    timeout 1h\n"
                      "    on invalid retry 2\n")
            .empty());
  // Only optional fields: it never re-asks.
  CHECK(check(kHead + "  ai extract order\n    field size: number optional\n").empty());
}

TEST_CASE("control flow: a validated ask without a retry limit is a warning", "[checks][cf]") {
  CHECK(check(kHead + "  ask n: number \"How many?\"\n"
                      "    on timeout 1h\n"
                      "      end\n") ==
        Lines{"3:3 WF0405 invalid answers are re-asked without a limit; add 'on invalid retry N'"});
  CHECK(check(kHead + "  ask n: number \"How many?\"\n"
                      "    on invalid \"A number, please.\"\n"
                      "    on timeout 1h\n"
                      "      end\n") ==
        Lines{"4:5 WF0405 invalid answers are re-asked without a limit; add 'on invalid retry N'"});
  // Any text is a valid answer: nothing to re-ask.
  CHECK(check(kHead + "  ask n: text \"Name?\"\n    on timeout 1h\n      end\n").empty());
}

TEST_CASE("control flow: an invalid exit without a retry limit is an error", "[checks][cf]") {
  const std::string src = kHead +
                          "  ask n: number \"How many?\"\n"
                          "    on invalid\n"
                          "      say \"Never mind\"\n"
                          "      end\n"
                          "    on timeout 1h\n"
                          "      end\n";
  // The block is unreachable too, but that is this diagnostic's point: no WF0401.
  CHECK(check(src) ==
        Lines{"4:5 WF0406 this invalid exit has no retry limit, so it can never be taken"});
  CHECK(notes(src) == Lines{"help: write 'on invalid retry N' to take it after N answers"});
}

TEST_CASE("control flow: a higher-priority trigger any shadows a keyword", "[checks][cf]") {
  const std::string src =
      kHead + "  say \"f\"\nflow fallback\n  trigger any priority 1\n  say \"?\"\n";
  CHECK(check(src) ==
        Lines{"2:3 WF0407 this trigger is shadowed by 'trigger any' of flow 'fallback'"});
  CHECK(notes(src) == Lines{"5:3 that trigger has priority 1, higher than 0",
                            "help: give the trigger that should win a higher 'priority', or "
                            "remove one"});
  // At equal priority `any` is the fallback: the keyword wins.
  CHECK(check(kHead + "  say \"f\"\nflow fallback\n  trigger any\n  say \"?\"\n").empty());
}

TEST_CASE("control flow: the same keyword in two flows shadows the later one", "[checks][cf]") {
  const std::string two = "flow g\n  trigger keyword \"Go\" \"start\"\n  say \"g\"\n";
  CHECK(check(kHead + "  say \"f\"\n" + two) ==
        Lines{"5:3 WF0407 keyword \"Go\" of this trigger is shadowed by keyword \"go\" of flow "
              "'f'"});
  CHECK(CheckRun(waflow::checks::check_control_flow, {kHead + "  say \"f\"\n" + two}).notes() ==
        Lines{"2:3 both have priority 0, so which flow starts is not defined",
              "help: give the trigger that should win a higher 'priority', or remove one"});
  // With a higher priority the later flow wins and the earlier one loses.
  CHECK(check(kHead + "  say \"f\"\nflow g\n  trigger keyword \"go\" priority 2\n  say \"g\"\n") ==
        Lines{"2:3 WF0407 this trigger is shadowed by keyword \"go\" of flow 'g'"});
}

TEST_CASE("control flow: an exact phrase containing a stronger keyword is shadowed",
          "[checks][cf]") {
  CHECK(check("flow a\n  trigger exact \"order status\"\n  say \"a\"\n"
              "flow b\n  trigger keyword \"order\" priority 1\n  say \"b\"\n") ==
        Lines{"2:3 WF0407 this trigger is shadowed by keyword \"order\" of flow 'b'"});
  // At equal priority the exact phrase is more specific and wins.
  CHECK(check("flow a\n  trigger exact \"order status\"\n  say \"a\"\n"
              "flow b\n  trigger keyword \"order\"\n  say \"b\"\n")
            .empty());
}

TEST_CASE("control flow: identical triggers are an error", "[checks][cf]") {
  const std::string src = kHead + "  say \"f\"\nflow g\n  trigger keyword \"GO\"\n  say \"g\"\n";
  CHECK(check(src) == Lines{"5:3 WF0412 trigger keyword \"GO\" is already declared by flow 'f'"});
  CHECK(notes(src) == Lines{"2:3 declared here first"});
}

TEST_CASE("control flow: a flow with no trigger that nobody calls is unused", "[checks][cf]") {
  CHECK(check(kHead + "  say \"f\"\nflow lonely\n  say \"x\"\n") ==
        Lines{"4:6 WF0408 flow 'lonely' has no trigger and is never called"});
  CHECK(check(kHead + "  call helper\nflow helper\n  say \"x\"\n").empty());
}

TEST_CASE("control flow: return in a flow nobody calls is a warning", "[checks][cf]") {
  CHECK(check(kHead + "  say \"f\"\n  return\n") ==
        Lines{"4:3 WF0410 'return' in flow 'f', which no flow calls; it ends the conversation"});
}

TEST_CASE("control flow: an empty branch from YAML or visual input is a warning", "[checks][cf]") {
  CheckRun run(waflow::checks::check_control_flow,
               {kHead + "  if contact.name == \"x\"\n    say \"x\"\n  else\n    say \"y\"\n"});
  REQUIRE(run.diags.all().empty());
  // The DSL cannot write an empty branch; clear one the way a visual edge to
  // nowhere would leave it.
  auto& step = run.project.modules[0].flows[0].steps[0];
  auto& branch = std::get<waflow::ir::IfStep>(step.body);
  branch.branches[0].body.clear();
  branch.otherwise.clear();
  waflow::checks::check_control_flow(run.project, run.diags);
  CHECK(run.lines() == Lines{"3:3 WF0411 this 'if' branch has no steps",
                             "3:3 WF0411 the 'else' branch of this 'if' has no steps"});
}

TEST_CASE("control flow: a message after a one-day timeout is outside the window", "[checks][cf]") {
  const std::string src = kHead +
                          "  ask n: text \"Name?\"\n"
                          "    on timeout 1d\n"
                          "      say \"Still there?\"\n"
                          "      end\n";
  CHECK(check(src) ==
        Lines{"5:7 WF0409 this message may be sent 1d after the user's last message; outside "
              "the 24-hour window only templates are delivered"});
  CHECK(notes(src) ==
        Lines{"help: send an approved 'template' here, or wait for a reply before sending"});
}

TEST_CASE("control flow: delays add up and a reply resets the window", "[checks][cf]") {
  CHECK(check(kHead + "  delay 20h\n"
                      "  say \"soon\"\n"
                      "  delay 5h\n"
                      "  template reminder_1\n"
                      "  say \"late\"\n"
                      "  ask x: text \"ok?\"\n"
                      "    on timeout 1h\n"
                      "      end\n"
                      "  delay 23h\n"
                      "  say \"fine\"\n") ==
        Lines{"7:3 WF0409 this message may be sent 1d1h after the user's last message; outside "
              "the 24-hour window only templates are delivered",
              "8:3 WF0409 this message may be sent 1d1h after the user's last message; outside "
              "the 24-hour window only templates are delivered"});
}

TEST_CASE("control flow: reminders and scheduled flows can fall outside the window",
          "[checks][cf]") {
  CHECK(check(kHead + "  delay 20h\n"
                      "  ask x: text \"ok?\"\n"
                      "    remind after 5h \"Still there?\"\n"
                      "    on timeout 6h\n"
                      "      end\n") ==
        Lines{"5:5 WF0409 this message may be sent 1d1h after the user's last message; outside "
              "the 24-hour window only templates are delivered"});
  const std::string scheduled = "flow news\n  trigger schedule \"0 9 * * 1\"\n  say \"News\"\n";
  CHECK(check(scheduled) ==
        Lines{"3:3 WF0409 this message may be sent any time after the user's last message; "
              "outside the 24-hour window only templates are delivered"});
  CHECK(notes(scheduled).front() ==
        "2:3 flow 'news' starts on a schedule, not on a message from the user");
}

TEST_CASE("control flow: time carries into and out of called flows", "[checks][cf]") {
  CHECK(check(kHead + "  delay 20h\n"
                      "  call wait_more\n"
                      "  say \"after\"\n"
                      "flow wait_more\n"
                      "  delay 5h\n"
                      "  say \"inside\"\n") ==
        Lines{"5:3 WF0409 this message may be sent 1d1h after the user's last message; outside "
              "the 24-hour window only templates are delivered",
              "8:3 WF0409 this message may be sent 1d1h after the user's last message; outside "
              "the 24-hour window only templates are delivered"});
}

TEST_CASE("control flow: a flow started through the API starts outside the window",
          "[checks][cf]") {
  CHECK(check("flow shipped\n  trigger api\n  say \"Your order shipped\"\n") ==
        Lines{"3:3 WF0409 this message may be sent any time after the user's last message; "
              "outside the 24-hour window only templates are delivered"});
  CHECK(check("flow shipped\n  trigger api\n  template order_shipped\n").empty());
}

TEST_CASE("control flow: triggers of two flows with one name are not compared", "[checks][cf]") {
  // The duplicate flow is the names check's error (WF0201); its triggers add nothing.
  CHECK(check({kHead + "  say \"f\"\n", kHead + "  say \"f\"\n"}).empty());
}

TEST_CASE("control flow: an AI step with a buffer waits for the clock", "[checks][cf]") {
  // Not a loop that never waits; but nothing in it waits for the contact, so the
  // time since their last message grows without bound.
  CHECK(check(kHead + "  label talk\n"
                      "  ai reply\n"
                      "    buffer 4s\n"
                      "    timeout 20s\n"
                      "    on error\n"
                      "      end\n"
                      "  goto talk\n") ==
        Lines{"4:3 WF0409 this message may be sent any time after the user's last message; "
              "outside the 24-hour window only templates are delivered"});
}
