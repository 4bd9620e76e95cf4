// Tests of the type checks (checks/types.cpp): expression types, fields, HTTP
// response reads, and the values with a fixed form (regexes, durations, time
// zones, hours, cron lines, URLs, methods, JSON paths, ranges, ask shapes, cases).

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "compiler/checks/builtins.h"
#include "tests/unit/variables/run_checks.h"

using waflow::test::notes_of;
using waflow::test::run_checks;
using Lines = std::vector<std::string>;

namespace {

const std::string kHead = "flow f \"F\"\n  trigger keyword \"go\"\n";

// An ask of `type` into `var` with both exits, so nothing else is reported.
std::string ask(const std::string& var, const std::string& type) {
  return "  ask " + var + ": " + type + " \"?\"\n    on invalid retry 1\n      end\n" +
         "    on timeout 1h\n      end\n";
}

std::string choice(const std::string& var) {
  return "  ask " + var + " \"?\"\n    button a \"A\"\n    button b \"B\"\n" +
         "    on invalid retry 1\n      end\n    on timeout 1h\n      end\n";
}

}  // namespace

TEST_CASE("types: comparing a number with text is WF0301") {
  const std::string src = kHead + ask("n", "number") + "  if n == \"5\"\n    end\n";
  CHECK(run_checks(src) == Lines{"8:6 WF0301 type mismatch: comparing a number with text"});
  CHECK(notes_of(src, "WF0301") == Lines{"help: convert one side with number(...) or text(...)"});
}

TEST_CASE("types: a choice compared with text says to use .id or .title") {
  const std::string src = kHead + choice("size") + "  if size == \"a\"\n    end\n";
  CHECK(run_checks(src) == Lines{"10:6 WF0301 type mismatch: comparing a choice with text"});
  CHECK(notes_of(src, "WF0301") ==
        Lines{"help: use size.id (the option's id) or size.title (what the user saw)"});
  CHECK(run_checks(kHead + choice("size") + "  if size.id == \"a\"\n    end\n").empty());
}

TEST_CASE("types: dates compare with dates and date-times") {
  CHECK(run_checks(kHead + ask("d", "date") + "  if d < today and now > d\n    end\n").empty());
}

TEST_CASE("types: a function argument of the wrong type is WF0301") {
  const std::string src = kHead + ask("n", "number") + choice("c") +
                          "  say \"{{lower(n)}} {{round(c)}} {{weekday(n)}} {{len(c.title)}}\"\n";
  CHECK(run_checks(src) ==
        Lines{"15:16 WF0301 type mismatch: 'lower' expects text, not a number",
              "15:29 WF0301 type mismatch: 'round' expects a number, not a choice",
              "15:44 WF0301 type mismatch: 'weekday' expects a date, not a number"});
}

TEST_CASE("types: a value of the wrong type for a declared variable is WF0301") {
  CHECK(run_checks(kHead +
                   "  var total: number = \"0\"\n"
                   "  var contact.vip: bool\n"
                   "  set total = total + 1\n"
                   "  set contact.vip = \"yes\"\n" +
                   ask("total", "text") + "  say \"{{total}} {{contact.vip}}\"\n") ==
        Lines{"3:23 WF0301 type mismatch: 'total' is declared as a number but starts as text",
              "6:21 WF0301 type mismatch: 'contact.vip' is declared as a yes/no value but is set "
              "to text",
              "7:7 WF0301 type mismatch: 'total' is declared as a number but this step stores "
              "text"});
}

TEST_CASE("types: arithmetic on a choice is WF0302") {
  const std::string src = kHead + choice("size") + "  set n = size + 1\n  say \"{{n}}\"\n";
  CHECK(run_checks(src) == Lines{"10:11 WF0302 cannot do arithmetic on 'size' (a choice)"});
}

TEST_CASE("types: text plus a number is WF0302 on the text") {
  const std::string src = kHead + ask("age", "text") + "  say \"{{age + 1}}\"\n";
  CHECK(run_checks(src) == Lines{"8:10 WF0302 cannot do arithmetic on 'age' (text)"});
  CHECK(notes_of(src, "WF0302") == Lines{"help: convert it with number(age)"});
}

TEST_CASE("types: joining texts and moving dates by durations are fine") {
  CHECK(run_checks(kHead + ask("name", "text") +
                   "  set greeting = \"Hi \" + name\n"
                   "  set due = today + 3d\n"
                   "  set late = now - 2h30m\n"
                   "  set span = due - today\n"
                   "  set twice = span * 2\n"
                   "  say \"{{greeting}} {{due}} {{late}} {{twice}} {{-twice}}\"\n")
            .empty());
}

TEST_CASE("types: a date plus a number is a WF0301 mismatch") {
  const std::string src = kHead + "  say \"{{today + 1}}\"\n";
  CHECK(run_checks(src) == Lines{"3:10 WF0301 type mismatch: '+' between a date and a number"});
  CHECK(notes_of(src, "WF0301") == Lines{"help: move a date by a duration, such as today + 1d"});
}

TEST_CASE("types: a condition that is not yes/no is a WF0303 warning") {
  CHECK(run_checks(kHead + ask("name", "text") + ask("ok", "yesno") +
                   "  if name\n    end\n  if ok and not name\n    end\n") ==
        Lines{"13:6 WF0303 condition is text, not yes/no; it is true when not empty",
              "15:17 WF0303 condition is text, not yes/no; it is true when not empty"});
}

TEST_CASE("types: fields a typed value does not have are WF0304") {
  const std::string src = kHead + choice("c") + ask("m", "media") + ask("l", "location") +
                          ask("t", "text") +
                          "  say \"{{c.name}} {{m.url}} {{l.lat}} {{l.address}} {{t.length}}\"\n";
  CHECK(run_checks(src) == Lines{"25:12 WF0304 a choice has no field 'name'",
                                 "25:33 WF0304 a location has no field 'lat'",
                                 "25:57 WF0304 text has no field 'length'"});
  CHECK(notes_of(src, "WF0304") == Lines{"help: it has id, title"});
  CHECK(notes_of(kHead + ask("t", "text") + "  say \"{{t.length}}\"\n", "WF0304") ==
        Lines{"help: use len(t)"});
}

TEST_CASE("types: results of http, store, ai extract and object literals have known fields") {
  CHECK(run_checks(kHead + "  http order = GET \"https://api.example.com/o\"\n"
                           "    map total = \"$.total\"\n"
                           "    on error\n"
                           "      end\n"
                           "  store saved = orders {total: order.total}\n"
                           "  ai extract lead\n"
                           "    field email: email \"Email\"\n"
                           "  set cart = {items: [], count: 0}\n"
                           "  say \"{{order.status}} {{order.totl}} {{saved.id}} {{lead.email}} "
                           "{{lead.phone}} {{cart.count}} {{cart.total}}\"\n") ==
        Lines{"11:33 WF0304 an HTTP result has no field 'totl'",
              "11:75 WF0304 an ai extract result has no field 'phone'",
              "11:105 WF0304 an object has no field 'total'"});
}

TEST_CASE("types: reading under the body of an HTTP result is WF0305") {
  const std::string src = kHead +
                          "  http order = POST \"https://api.example.com/o\"\n"
                          "    on error\n"
                          "      end\n"
                          "  say \"Ref {{order.body.data.id}} ({{order.status}})\"\n";
  CHECK(run_checks(src) ==
        Lines{"6:14 WF0305 'order.body.data.id' reads the HTTP response without a mapping"});
  CHECK(notes_of(src, "WF0305") ==
        Lines{"help: add 'map id = \"$.data.id\"' under the http step and read order.id",
              "note: the response comes from here"});
}

TEST_CASE("types: the whole body and computed indexes get a general hint") {
  const std::string src = kHead +
                          "  http r = GET \"https://api.example.com/o\"\n"
                          "    on error\n"
                          "      end\n"
                          "  set i = 0\n"
                          "  say \"{{r.body}} {{r.body.items[i]}}\"\n";
  CHECK(run_checks(src) ==
        Lines{"7:10 WF0305 'r.body' reads the HTTP response without a mapping",
              "7:21 WF0305 'r.body.items[i]' reads the HTTP response without a mapping"});
  CHECK(notes_of(src, "WF0305").front() ==
        "help: map what you need under the http step with 'map NAME = \"$.path\"' and read r.NAME");
}

TEST_CASE("types: an invalid regex in a trigger, a pattern or matches is WF0306") {
  CHECK(run_checks(kHead + "  trigger regex \"(order\"\n"
                           "  ask code: regex \"Code?\"\n"
                           "    pattern \"[A-Z\"\n"
                           "    on invalid retry 1\n"
                           "      end\n"
                           "    on timeout 1h\n"
                           "      end\n"
                           "  if code matches \"*x\"\n"
                           "    end\n") ==
        Lines{"3:3 WF0306 invalid regular expression: '(' is not closed by ')'",
              "5:13 WF0306 invalid regular expression: '[' is not closed by ']'",
              "10:19 WF0306 invalid regular expression: a repetition (*, +, ? or {n}) follows "
              "nothing"});
}

TEST_CASE("types: valid ECMAScript patterns pass") {
  for (const char* p : {"^[A-Z]{2}-\\d{4,5}$", "(?:yes|no)", "\\bhi\\b", "a+?b*", "(a)\\1"}) {
    CHECK_FALSE(waflow::builtins::regex_error(p).has_value());
  }
  CHECK(waflow::builtins::regex_error(std::string(40, '(') + std::string(40, ')')) ==
        std::optional<std::string>("groups are nested deeper than 32 levels"));
  CHECK(waflow::builtins::regex_error(std::string(1001, 'a')) ==
        std::optional<std::string>("the pattern is longer than 1000 characters"));
}

TEST_CASE("types: a zero timeout or delay is WF0307") {
  const std::string src = kHead +
                          "  delay 0s\n"
                          "  ask x: text \"?\"\n"
                          "    on timeout 0m\n"
                          "      end\n"
                          "  say \"{{x}}\"\n";
  CHECK(run_checks(src) ==
        Lines{"3:9 WF0307 invalid duration '0s'", "5:16 WF0307 invalid duration '0m'"});
  CHECK(notes_of(src, "WF0307") == Lines{"help: a delay must be longer than zero"});
}

TEST_CASE("types: a time zone that is not an IANA name is WF0308") {
  const std::string src =
      "timezone \"Europe/Berln\"\n" + kHead + "  trigger schedule \"0 9 * * *\" tz \"CET+1\"\n";
  CHECK(run_checks(src) == Lines{"1:10 WF0308 unknown time zone 'Europe/Berln'",
                                 "4:3 WF0308 unknown time zone 'CET+1'"});
  CHECK(notes_of(src, "WF0308") == Lines{"help: did you mean 'Europe/Berlin'?"});
  CHECK(run_checks("timezone \"America/Argentina/Buenos_Aires\"\n" + kHead +
                   "  trigger schedule \"0 9 * * *\" tz \"UTC\"\n")
            .empty());
}

TEST_CASE("types: in_hours without business hours is WF0309") {
  CHECK(run_checks(kHead + "  if in_hours()\n    end\n") ==
        Lines{"3:6 WF0309 invalid business hours: in_hours() is used, but this file declares no "
              "business hours"});
  CHECK(run_checks("hours mon-fri 09:00-17:00\n" + kHead + "  if in_hours()\n    end\n").empty());
}

TEST_CASE("types: malformed cron lines are WF0310") {
  auto schedule = [](const std::string& cron) {
    return run_checks(kHead + "  trigger schedule \"" + cron + "\"\n");
  };
  CHECK(schedule("0 9 * *") == Lines{"3:3 WF0310 invalid schedule: expected 5 fields (minute hour "
                                     "day-of-month month day-of-week), found 4"});
  CHECK(schedule("60 9 * * *") ==
        Lines{"3:3 WF0310 invalid schedule: '60' is out of range for the minute field (0-59)"});
  CHECK(schedule("0 9 * foo *") ==
        Lines{"3:3 WF0310 invalid schedule: 'foo' is not a valid month field"});
  CHECK(schedule("*/0 * * * *") ==
        Lines{"3:3 WF0310 invalid schedule: '*/0' is not a valid step for the minute field"});
  CHECK(schedule("0 17-9 * * *") ==
        Lines{"3:3 WF0310 invalid schedule: '17-9' is out of range for the hour field (0-23)"});
  for (const char* ok : {"0 9 * * mon-fri", "*/15 8-18 * * 1-5", "0 0 1,15 jan,JUL *",
                         "30 7 * * 0,7", "0 12 1-7/2 * sat"}) {
    CHECK(schedule(ok).empty());
  }
}

TEST_CASE("types: request URLs must be http(s) or start with a placeholder (WF0311)") {
  auto http = [](const std::string& url) {
    return run_checks(kHead + "  http GET \"" + url + "\"\n    on error\n      end\n");
  };
  CHECK(http("ftp://files.example.com") ==
        Lines{"3:12 WF0311 invalid URL 'ftp://files.example.com'"});
  CHECK(http("api.example.com/x") == Lines{"3:12 WF0311 invalid URL 'api.example.com/x'"});
  CHECK(http("https:///x") == Lines{"3:12 WF0311 invalid URL 'https:///x'"});
  CHECK(http("https://a.example.com/x y") ==
        Lines{"3:12 WF0311 invalid URL 'https://a.example.com/x y'"});
  CHECK(http("HTTPS://api.example.com/{{contact.id}}?q={{message.text}}").empty());
  CHECK(run_checks(kHead + "  var contact.api: text\n  http GET \"{{contact.api}}/orders\"\n"
                           "    on error\n      end\n")
            .empty());
}

TEST_CASE("types: an unknown HTTP method is WF0312") {
  const std::string src = kHead + "  http GTE \"https://api.example.com\"\n";
  CHECK(run_checks(src) == Lines{"3:8 WF0312 invalid HTTP method 'GTE'"});
  CHECK(notes_of(src, "WF0312") == Lines{"help: did you mean 'GET'?"});
}

TEST_CASE("types: mapping paths must be JSON paths (WF0313)") {
  auto map = [](const std::string& path) {
    return run_checks(kHead + "  http GET \"https://a.example.com\"\n    map v = \"" + path +
                      "\"\n    on error\n      end\n  say \"{{v}}\"\n");
  };
  for (const char* ok : {"$", "$.a", "$.data.items[0].id", "$['full name']", "$[\\\"a\\\"][12]"}) {
    CHECK(map(ok).empty());
  }
  for (const char* bad : {"data.id", "$.", "$.a[]", "$.a[x]", "$..a", "$.a[*]", "$['a'"}) {
    CHECK(map(bad) == Lines{"4:5 WF0313 invalid JSON path '" + std::string(bad) + "'"});
  }
}

TEST_CASE("types: numbers out of their range are WF0314") {
  CHECK(
      run_checks("flow f \"F\"\n  priority 500\n  trigger keyword \"go\" priority 101\n" +
                 std::string("  ask x: text \"?\"\n    on invalid retry 11\n      end\n") +
                 "    on timeout 1h\n      end\n" +
                 "  http GET \"https://a.example.com\"\n    retries 12\n    on error\n      end\n" +
                 "  location 91.5 -181 name \"Pole\"\n  say \"{{x}}\"\n") ==
      Lines{"1:1 WF0314 priority must be between 0 and 100",
            "3:3 WF0314 priority must be between 0 and 100",
            "5:5 WF0314 retry must be between 1 and 10",
            "9:3 WF0314 retries must be between 0 and 10",
            "13:12 WF0314 latitude must be between -90 and 90",
            "13:17 WF0314 longitude must be between -180 and 180"});
}

TEST_CASE("types: ask shapes: regex without pattern, choice without options, options on text") {
  CHECK(run_checks(kHead + "  ask code: regex \"Code?\"\n" + "  ask pick: choice \"Pick\"\n" +
                   "  ask name: text \"Name?\"\n    button a \"A\"\n" +
                   "  say \"{{code}}{{pick.id}}{{name}}\"\n") ==
        Lines{"3:3 WF0315 an ask of type regex needs a pattern",
              "4:3 WF0316 an ask of type choice needs buttons or list rows",
              "6:5 WF0317 buttons and lists need an ask of type choice, not text"});
}

TEST_CASE("types: a repeated match case is a WF0318 warning") {
  const std::string src = kHead + ask("n", "number") +
                          "  match n\n"
                          "    case 1, 2\n"
                          "      end\n"
                          "    case 2.0\n"
                          "      end\n"
                          "    case \"3\"\n"
                          "      end\n";
  CHECK(run_checks(src) ==
        Lines{"11:10 WF0318 case 2.0 is already handled above",
              "13:10 WF0301 type mismatch: this case is text but the match is on a number"});
  CHECK(notes_of(src, "WF0318") == Lines{"note: first handled here"});
}

TEST_CASE("types: a variable's type follows the set that gives it a value") {
  // b is typed by a later step; a follows b; the fixed point sees both.
  CHECK(run_checks(kHead + "  label top\n"
                           "  if 1 > 2\n"
                           "    set a = b\n"
                           "    say \"{{a + 1}}\"\n"
                           "  set b = \"text\"\n"
                           "  goto top\n") ==
        Lines{"5:13 WF0206 variable 'b' may be used before it is set",
              "6:12 WF0302 cannot do arithmetic on 'a' (text)"});
}

TEST_CASE("types: values of unknown type are not errors") {
  CHECK(run_checks(kHead +
                   "  http r = GET \"https://a.example.com\"\n"
                   "    map price = \"$.price\"\n"
                   "    map tags = \"$.tags\"\n"
                   "    on error\n"
                   "      end\n"
                   "  ai reply into answer\n"
                   "  if r.price * 2 > 10 and r.tags contains \"x\" and answer matches \"^ok\"\n"
                   "    say \"{{r.price.amount}} {{default(r.price, 0) + 1}}\"\n")
            .empty());
}

TEST_CASE("types: front-end forms of WF0217, WF0307, WF0309 and WF0319 keep their text") {
  // These are reported while reading the file; the checks must not repeat them.
  CHECK(run_checks("hours mon-fri 9:00-17:00\n" + kHead +
                   "  ask age: integer \"Age?\"\n"
                   "    on timeout 99999999999d\n"
                   "      end\n"
                   "  set contatc.lang = age\n") ==
        Lines{"1:7 WF0309 invalid business hours: 'mon-fri 9:00-17:00' (use e.g. mon-fri "
              "09:00-17:00)",
              "4:12 WF0319 unknown type 'integer'", "5:16 WF0307 invalid duration '99999999999d'",
              "7:7 WF0217 unknown variable scope 'contatc' (use contact, conversation or flow)",
              "7:7 WF0207 variable 'lang' is set but never used"});
}
