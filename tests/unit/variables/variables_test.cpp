// Tests of the variable checks (checks/variables.cpp): where variables are set and
// read, used before set, unused, read-only built-ins, declarations, functions,
// option ids and tools. Each asserts the exact message and position.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/variables/run_checks.h"

using waflow::test::notes_of;
using waflow::test::run_checks;
using Lines = std::vector<std::string>;

namespace {

// A flow header that keeps examples short.
const std::string kHead = "flow f \"F\"\n  trigger keyword \"go\"\n";

}  // namespace

TEST_CASE("variables: reading a variable nothing sets is WF0205 with a suggestion") {
  const std::string src = kHead +
                          "  ask address: text \"Where?\"\n"
                          "    on timeout 1h\n"
                          "      end\n"
                          "  if adress == \"x\"\n"
                          "    end\n";
  CHECK(run_checks(src) == Lines{"3:7 WF0207 variable 'address' is set but never used",
                                 "6:6 WF0205 undefined variable 'adress'"});
  CHECK(notes_of(src, "WF0205") == Lines{"help: did you mean 'address'?"});
}

TEST_CASE("variables: a placeholder naming an unknown variable is WF0208") {
  CHECK(run_checks(kHead + "  say \"Hi {{nmae}}, {{contact.name}}\"\n") ==
        Lines{"3:13 WF0208 template refers to unknown variable 'nmae'"});
}

TEST_CASE("variables: a misspelt scope before a field is WF0217") {
  const std::string src = kHead + "  say \"Hi {{contcat.name}}\"\n";
  CHECK(run_checks(src) ==
        Lines{"3:13 WF0217 unknown variable scope 'contcat' (use contact, conversation or flow)"});
  CHECK(notes_of(src, "WF0217") == Lines{"help: did you mean 'contact'?"});
}

TEST_CASE("variables: unknown message fields are undefined") {
  const std::string src = kHead + "  say \"You said {{message.txt}}\"\n";
  CHECK(run_checks(src) == Lines{"3:19 WF0208 template refers to unknown variable 'message.txt'"});
  CHECK(notes_of(src, "WF0208") == Lines{"help: did you mean 'message.text'?"});
}

TEST_CASE("variables: flow variables are not shared with other flows") {
  const std::string src =
      "flow a \"A\"\n"
      "  trigger keyword \"a\"\n"
      "  set total = 3\n"
      "  say \"{{total}}\"\n"
      "  call b\n"
      "flow b \"B\"\n"
      "  say \"{{total}}\"\n";
  CHECK(run_checks(src) == Lines{"7:10 WF0208 template refers to unknown variable 'total'"});
  CHECK(notes_of(src, "WF0208") ==
        Lines{"help: 'total' is set in flow 'a', but flow variables belong to one flow; share it "
              "as conversation.total"});
}

TEST_CASE("variables: contact and conversation variables are shared across files") {
  const Lines found = run_checks(std::vector<std::string>{
      "flow a \"A\"\n"
      "  trigger keyword \"a\"\n"
      "  set contact.tier = \"gold\"\n"
      "  set conversation.cart = [1]\n",
      "flow b \"B\"\n"
      "  trigger keyword \"b\"\n"
      "  say \"{{contact.tier}} {{conversation.cart}} {{contact.vip}}\"\n"});
  CHECK(found == Lines{"f1.wf:3:49 WF0208 template refers to unknown variable 'contact.vip'"});
}

TEST_CASE("variables: a declared shared variable may be read without being set") {
  CHECK(run_checks(kHead + "  var contact.vip: bool\n"
                           "  var conversation.order_id: text\n"
                           "  if contact.vip\n"
                           "    say \"Order {{conversation.order_id}}\"\n")
            .empty());
}

TEST_CASE("variables: a read after the timeout exit of the ask that sets it is WF0206") {
  const std::string src = kHead +
                          "  ask city: text \"City?\"\n"
                          "    on timeout 1h\n"
                          "      say \"Still there?\"\n"
                          "  say \"Shipping to {{city}}\"\n";
  CHECK(run_checks(src) == Lines{"6:22 WF0206 variable 'city' may be used before it is set"});
  CHECK(notes_of(src, "WF0206") ==
        Lines{"note: it is set here, but not on every path to this step"});
}

TEST_CASE("variables: a variable set on every branch is set after the if") {
  CHECK(run_checks(kHead + "  ask n: number \"How many?\"\n"
                           "    on invalid retry 1\n"
                           "      end\n"
                           "    on timeout 1h\n"
                           "      end\n"
                           "  if n > 10\n"
                           "    set size = \"big\"\n"
                           "  else\n"
                           "    set size = \"small\"\n"
                           "  say \"{{size}}\"\n")
            .empty());
}

TEST_CASE("variables: a variable set in only one branch is WF0206") {
  CHECK(run_checks(kHead + "  ask n: number \"How many?\"\n"
                           "    on invalid retry 1\n"
                           "      end\n"
                           "    on timeout 1h\n"
                           "      end\n"
                           "  if n > 10\n"
                           "    set size = \"big\"\n"
                           "  say \"{{size}}\"\n") ==
        Lines{"10:10 WF0206 variable 'size' may be used before it is set"});
}

TEST_CASE("variables: the error exit of an http step leaves its variable unset") {
  CHECK(run_checks(kHead + "  http order = GET \"https://api.example.com/o\"\n"
                           "    map id = \"$.id\"\n"
                           "    on error\n"
                           "      say \"Sorry\"\n"
                           "  say \"{{order.id}}\"\n") ==
        Lines{"7:10 WF0206 variable 'order' may be used before it is set"});
}

TEST_CASE("variables: the invalid exit of an ask leaves its variable unset") {
  CHECK(run_checks(kHead + "  ask age: number \"Age?\"\n"
                           "    on invalid retry 2\n"
                           "      say \"{{age}} is not a number\"\n"
                           "      end\n"
                           "    on timeout 1h\n"
                           "      end\n"
                           "  say \"{{age}}\"\n") ==
        Lines{"5:14 WF0206 variable 'age' may be used before it is set"});
}

TEST_CASE("variables: a goto back to an ask keeps its variable set") {
  CHECK(run_checks(kHead + "  label again\n"
                           "  ask code: text \"Code?\"\n"
                           "    on timeout 1h\n"
                           "      end\n"
                           "  if code == \"\"\n"
                           "    goto again\n"
                           "  say \"{{code}}\"\n")
            .empty());
}

TEST_CASE("variables: a declared flow variable starts set") {
  CHECK(run_checks(kHead + "  var tries: number = 0\n"
                           "  var note: text\n"
                           "  set tries = tries + 1\n"
                           "  say \"{{tries}} {{note}}\"\n")
            .empty());
}

TEST_CASE("variables: a variable set but never read is a WF0207 warning") {
  CHECK(run_checks(kHead + "  ask email: email \"Email?\"\n"
                           "    on invalid retry 1\n"
                           "      end\n"
                           "    on timeout 1h\n"
                           "      end\n"
                           "  say \"Thanks\"\n") ==
        Lines{"3:7 WF0207 variable 'email' is set but never used"});
}

TEST_CASE("variables: names starting with _ and ai classify results are not unused") {
  CHECK(run_checks(kHead + "  ask _ok: text \"Press any key\"\n"
                           "    on timeout 1h\n"
                           "      end\n"
                           "  ai classify topic\n"
                           "    intent billing \"Payments\"\n"
                           "      say \"Billing\"\n"
                           "    other\n"
                           "      say \"Other\"\n")
            .empty());
}

TEST_CASE("variables: a contact variable nobody reads is WF0207 unless declared") {
  const std::string src = kHead + "  set contact.email = \"a@b.c\"\n";
  CHECK(run_checks(src) == Lines{"3:7 WF0207 variable 'contact.email' is set but never used"});
  CHECK(notes_of(src, "WF0207") ==
        Lines{"help: if people or other systems read it, declare it: var contact.email: TYPE"});
  CHECK(run_checks(kHead + "  var contact.email: text\n  set contact.email = \"a@b.c\"\n").empty());
}

TEST_CASE("variables: a read in another file's template uses a contact variable") {
  CHECK(run_checks(std::vector<std::string>{kHead + "  set contact.lang = \"en\"\n",
                                            "flow g \"G\"\n  trigger keyword \"g\"\n"
                                            "  say \"{{contact.lang}}\"\n"})
            .empty());
}

TEST_CASE("variables: an unknown function is WF0209 with a suggestion") {
  const std::string src = kHead + "  say \"{{uper(contact.name)}}\"\n";
  CHECK(run_checks(src) == Lines{"3:10 WF0209 unknown function 'uper'"});
  CHECK(notes_of(src, "WF0209") == Lines{"help: did you mean 'upper'?"});
}

TEST_CASE("variables: a call with the wrong number of arguments is WF0210") {
  const std::string src = kHead +
                          "  set a = substring(\"abc\")\n"
                          "  set b = min(1)\n"
                          "  set c = round(1, 2, 3)\n"
                          "  set d = in_hours(1)\n"
                          "  say \"{{a}}{{b}}{{c}}{{d}}\"\n";
  CHECK(run_checks(src) == Lines{"3:11 WF0210 'substring' takes 2 or 3 argument(s), not 1",
                                 "4:11 WF0210 'min' takes at least 2 argument(s), not 1",
                                 "5:11 WF0210 'round' takes 1 or 2 argument(s), not 3",
                                 "6:11 WF0210 'in_hours' takes 0 argument(s), not 1"});
  CHECK(notes_of(src, "WF0210") == Lines{"help: use substring(text, start, length?)"});
}

TEST_CASE("variables: setting a built-in variable is WF0212") {
  CHECK(run_checks(kHead + "  set contact.phone = \"+1\"\n"
                           "  ask message.text \"Hi\"\n"
                           "    on timeout 1h\n"
                           "      end\n"
                           "  set now = 1\n"
                           "  set conversation.id = \"x\"\n") ==
        Lines{"3:7 WF0212 'contact.phone' is read-only", "4:7 WF0212 'message.text' is read-only",
              "7:7 WF0212 'now' is read-only", "8:7 WF0212 'conversation.id' is read-only"});
}

TEST_CASE("variables: declaring a variable twice in a flow is WF0213") {
  const std::string src = kHead +
                          "  var count: number = 0\n"
                          "  var count: text\n"
                          "  say \"{{count}}\"\n";
  CHECK(run_checks(src) ==
        Lines{"4:7 WF0213 variable 'count' is declared more than once (as number and as text)"});
  CHECK(notes_of(src, "WF0213") == Lines{"note: first declared here"});
}

TEST_CASE("variables: flows may declare a shared variable alike, but not with other types") {
  const std::string a =
      "flow a \"A\"\n  trigger keyword \"a\"\n  var contact.tier: text\n"
      "  say \"{{contact.tier}}\"\n";
  const std::string b = "flow b \"B\"\n  trigger keyword \"b\"\n  var contact.tier: text\n";
  const std::string c = "flow c \"C\"\n  trigger keyword \"c\"\n  var contact.tier: number\n";
  CHECK(run_checks(std::vector<std::string>{a, b}).empty());
  CHECK(run_checks(std::vector<std::string>{a, c}) ==
        Lines{"f1.wf:3:7 WF0213 variable 'contact.tier' is declared more than once (as text and "
              "as number)"});
}

TEST_CASE("variables: declaring a built-in is WF0213, giving it a value WF0212") {
  CHECK(run_checks(kHead + "  var contact.name: text\n  var now: datetime = now\n") ==
        Lines{"3:7 WF0213 variable 'contact.name' is declared more than once",
              "4:7 WF0212 'now' is read-only"});
}

TEST_CASE("variables: two options of one message with the same id are WF0214") {
  const std::string src = kHead +
                          "  ask size \"Size?\"\n"
                          "    button s \"Small\"\n"
                          "    button s \"Large\"\n"
                          "    on timeout 1h\n"
                          "      end\n"
                          "  say \"{{size.id}}\"\n"
                          "  say \"Pick\"\n"
                          "    list \"Menu\"\n"
                          "    row a \"A\"\n"
                          "    row a \"B\"\n";
  CHECK(run_checks(src) ==
        Lines{"5:5 WF0214 option id 's' is used more than once in this message",
              "12:5 WF0214 option id 'a' is used more than once in this message"});
  CHECK(notes_of(src, "WF0214") == Lines{"note: first used here"});
}

TEST_CASE("variables: the same option id in two messages is fine") {
  CHECK(run_checks(kHead + "  say \"A\"\n"
                           "    button yes \"Yes\"\n"
                           "  say \"B\"\n"
                           "    button yes \"Yes\"\n")
            .empty());
}

TEST_CASE("variables: two tools with one name are WF0216") {
  CHECK(run_checks(kHead + "  tool weather \"Weather\"\n"
                           "    param city: text \"City\"\n"
                           "    request GET \"https://w.example.com/{{city}}\"\n"
                           "  tool weather \"Weather again\"\n"
                           "    request GET \"https://w.example.com/{{town}}\"\n") ==
        Lines{"6:3 WF0216 tool 'weather' is declared more than once",
              "7:42 WF0208 template refers to unknown variable 'town'"});
}

TEST_CASE("variables: mappings of an http step without a variable set flow variables") {
  CHECK(run_checks(kHead + "  http POST \"https://crm.example.com/t\"\n"
                           "    map ticket = \"$.id\"\n"
                           "    on error\n"
                           "      end\n"
                           "  say \"Ticket {{ticket}}\"\n")
            .empty());
}

TEST_CASE("variables: a malformed placeholder is reported once") {
  CHECK(run_checks(kHead + "  say \"Hi {{contact.name\"\n") ==
        Lines{"3:11 WF0119 invalid template placeholder: '{{' is not closed by '}}'"});
}

TEST_CASE("variables: built-ins are known in expressions and templates") {
  CHECK(run_checks(kHead +
                   "  if message.type == \"text\" and starts_with(message.text, \"hi\")\n"
                   "    say \"{{contact.name}} {{contact.phone}} {{contact.id}} {{now}} {{today}} "
                   "{{message.id}} {{message.payload}} {{conversation.id}}\"\n")
            .empty());
}

TEST_CASE("variables: suggestions stay within a scope, or name the same variable elsewhere") {
  CHECK(notes_of(kHead + "  if contact.vip\n    end\n", "WF0205") ==
        Lines{"help: if something outside this project sets it, declare it: var contact.vip: TYPE"});
  CHECK(notes_of(kHead + "  set contact.language = \"en\"\n  say \"{{language}}\"\n", "WF0208") ==
        Lines{"help: did you mean 'contact.language'?"});
  CHECK(notes_of(kHead + "  set contact.language = \"en\"\n  say \"{{contact.langage}}\"\n",
                 "WF0208")
            .front() == "help: did you mean 'contact.language'?");
}
