// The YAML front end, the YAML writer and the canonical IR dump.
//
// The round trips run over every example flow (examples/flows/*.wf) and over
// all_constructs.wf, which holds each construct of the language once: DSL ->
// YAML -> IR must give the DSL's IR back, and YAML -> IR -> YAML must give the
// same bytes. Reader errors are checked with their exact text and position.

#include "compiler/yaml/yaml.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

#include <catch2/catch.hpp>

#include "compiler/dsl/expr_parser.h"
#include "compiler/frontend.h"
#include "compiler/ir/dump.h"
#include "compiler/yaml/emitter.h"

namespace {

using namespace waflow;  // NOLINT(google-build-using-namespace)
namespace fs = std::filesystem;

const fs::path kSourceDir = WAFLOW_SOURCE_DIR;

struct Parsed {
  SourceManager sources;
  Diagnostics diags;
  ir::Module module;

  // "CODE line:col message" for each diagnostic, one a line.
  std::string report() const {
    std::string out;
    for (const Diagnostic& d : diags.all()) {
      const SourceLocation at = sources.begin_of(d.span);
      out += fmt::format("{} {}:{} {}", info(d.kind).code, at.line, at.column, d.message);
      for (const Note& n : d.notes) {
        out += " | " + n.message;
      }
      out += "\n";
    }
    return out;
  }
};

std::unique_ptr<Parsed> parse(const std::string& text, SourceFormat format) {
  auto p = std::make_unique<Parsed>();
  const FileId id = p->sources.add(format == SourceFormat::Yaml ? "t.yaml" : "t.wf", text);
  p->module = format == SourceFormat::Yaml ? parse_yaml(p->sources, id, p->diags)
                                           : parse_dsl(p->sources, id, p->diags);
  for (ir::Flow& f : p->module.flows) {
    assign_step_ids(f);
  }
  return p;
}

std::unique_ptr<Parsed> read_yaml(const std::string& text) {
  return parse(text, SourceFormat::Yaml);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<fs::path> files(const fs::path& dir, const std::string& extension) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == extension) {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The DSL sources every round trip runs over.
std::vector<fs::path> dsl_sources() {
  std::vector<fs::path> out = files(kSourceDir / "examples/flows", ".wf");
  out.push_back(kSourceDir / "tests/unit/yaml/all_constructs.wf");
  return out;
}

// A one-flow document around `steps` (indented by 6).
std::string flow_with(const std::string& steps) {
  return "flows:\n  - flow: f\n    steps:\n" + steps;
}

template <typename T>
const T& body(const ir::Step& step) {
  const T* b = std::get_if<T>(&step.body);
  REQUIRE(b != nullptr);
  return *b;
}

}  // namespace

// --- Round trips -------------------------------------------------------------------

TEST_CASE("yaml: every DSL example converts to YAML and back to the same IR", "[yaml]") {
  const std::vector<fs::path> sources = dsl_sources();
  REQUIRE(sources.size() >= 2);
  for (const fs::path& path : sources) {
    INFO(path.string());
    const auto dsl = parse(read_file(path), SourceFormat::Dsl);
    REQUIRE(dsl->report().empty());
    const std::string text = write_yaml(dsl->module);
    INFO(text);
    const auto back = read_yaml(text);
    CHECK(back->report().empty());
    CHECK(ir::dump_ir(back->module) == ir::dump_ir(dsl->module));
    CHECK(write_yaml(back->module) == text);
  }
}

TEST_CASE("yaml: the YAML examples lower to the same IR as their DSL originals", "[yaml]") {
  std::vector<std::pair<fs::path, fs::path>> pairs = {
      {kSourceDir / "tests/unit/yaml/all_constructs.yaml",
       kSourceDir / "tests/unit/yaml/all_constructs.wf"}};
  for (const fs::path& path : files(kSourceDir / "examples/yaml", ".yaml")) {
    pairs.emplace_back(path, kSourceDir / "examples/flows" / path.stem().concat(".wf"));
  }
  REQUIRE(pairs.size() >= 3);
  for (const auto& [yaml_path, dsl_path] : pairs) {
    INFO(yaml_path.string());
    REQUIRE(fs::exists(dsl_path));
    const auto from_yaml = read_yaml(read_file(yaml_path));
    const auto from_dsl = parse(read_file(dsl_path), SourceFormat::Dsl);
    CHECK(from_yaml->report().empty());
    CHECK(ir::dump_ir(from_yaml->module) == ir::dump_ir(from_dsl->module));
  }
}

TEST_CASE("yaml: the pizza example reads as the documented format", "[yaml]") {
  const auto p = read_yaml(read_file(kSourceDir / "examples/yaml/pizza.yaml"));
  REQUIRE(p->report().empty());
  REQUIRE(p->module.flows.size() == 1);
  const ir::Flow& flow = p->module.flows[0];
  CHECK(flow.name == "pizza");
  CHECK(flow.title.value == "Pizza orders");
  REQUIRE(flow.triggers.size() == 1);
  CHECK(flow.triggers[0].kind == ir::TriggerKind::Exact);
  CHECK(flow.triggers[0].values == std::vector<std::string>{"hi"});
  REQUIRE(flow.steps.size() == 5);
  const auto& ask = body<ir::AskStep>(flow.steps[1]);
  CHECK(ask.var.name == "choice");
  CHECK(ask.type == ir::CaptureType::Choice);
  CHECK(ask.options.buttons.size() == 2);
  CHECK(ask.retries == 5);
  CHECK(ask.timeout->ms == 86'400'000);
  CHECK(flow.steps[1].id == "ask_choice");
  CHECK_FALSE(flow.steps[1].explicit_id);
}

TEST_CASE("yaml: an explicit id is written back, derived ids are not", "[yaml]") {
  const auto p =
      read_yaml(flow_with("      - id: start\n"
                          "        say: Hi\n"
                          "      - say: Again\n"
                          "      - goto: start\n"));
  REQUIRE(p->report().empty());
  const ir::Block& steps = p->module.flows[0].steps;
  CHECK(steps[0].id == "start");
  CHECK(steps[0].explicit_id);
  CHECK(p->sources.begin_of(steps[0].id_span).line == 4);
  CHECK(p->sources.begin_of(steps[0].id_span).column == 13);
  CHECK(steps[1].id == "say_1");
  CHECK_FALSE(steps[1].explicit_id);
  CHECK(write_yaml(p->module) ==
        "flows:\n"
        "  - flow: f\n"
        "    steps:\n"
        "      - id: start\n"
        "        say: Hi\n"
        "      - say: Again\n"
        "      - goto: start\n");
}

TEST_CASE("yaml: visual positions survive a YAML round trip but not the dump", "[yaml]") {
  const std::string text =
      "flows:\n"
      "  - flow: f\n"
      "    position: {x: 10, y: -20.5}\n"
      "    steps:\n"
      "      - say: Hi\n"
      "        position: {x: 120, y: 0.25}\n";
  const auto p = read_yaml(text);
  REQUIRE(p->report().empty());
  REQUIRE(p->module.flows[0].position);
  CHECK(p->module.flows[0].position->y == -20.5);
  REQUIRE(p->module.flows[0].steps[0].position);
  CHECK(p->module.flows[0].steps[0].position->x == 120);
  CHECK(write_yaml(p->module) == text);
  CHECK(ir::dump_ir(p->module).find("position") == std::string::npos);
}

TEST_CASE("yaml: numbers read the same under any notation YAML allows", "[yaml]") {
  const auto p =
      read_yaml(flow_with("      - say: Hi\n"
                          "        position: {x: .5, y: -1e2}\n"
                          "      - ai_reply: true\n"
                          "        temperature: +0.25\n"
                          "        history: 1e1\n"));
  REQUIRE(p->report().empty());
  CHECK(p->module.flows[0].steps[0].position->x == 0.5);
  CHECK(p->module.flows[0].steps[0].position->y == -100);
  const auto& ai = body<ir::AiReplyStep>(p->module.flows[0].steps[1]);
  CHECK(ai.ai.temperature == 0.25);
  CHECK(ai.ai.history == 10);
  CHECK(read_yaml(flow_with("      - say: Hi\n        position: {x: .inf, y: nan}\n"))->report() ==
        "WF0112 5:23 'x' must be a number\n"
        "WF0112 5:32 'y' must be a number\n");
}

TEST_CASE("yaml: the dump ignores spans, positions and how ids were given", "[yaml]") {
  const auto a = read_yaml(flow_with("      - say: Hi\n"));
  const auto b = read_yaml(
      "# Same flow, other layout.\n"
      "flows: [{flow: f, steps: [{id: say_1, say: \"Hi\", position: {x: 1, y: 2}}]}]\n");
  REQUIRE(a->report().empty());
  REQUIRE(b->report().empty());
  CHECK(ir::dump_ir(a->module) == ir::dump_ir(b->module));
  CHECK(ir::dump_ir(a->module) ==
        "flows:\n"
        "  - flow: f\n"
        "    steps:\n"
        "      - id: say_1\n"
        "        say: Hi\n");
  const auto c = read_yaml(flow_with("      - say: Hi!\n"));
  CHECK(ir::dump_ir(a->module) != ir::dump_ir(c->module));
}

TEST_CASE("yaml: the dump shows an ask's capture type, which YAML leaves implied", "[yaml]") {
  const auto p =
      read_yaml(flow_with("      - ask: pick\n"
                          "        prompt: Which?\n"
                          "        buttons: [{id: a, title: A}]\n"));
  REQUIRE(p->report().empty());
  CHECK(body<ir::AskStep>(p->module.flows[0].steps[0]).type == ir::CaptureType::Choice);
  CHECK(write_yaml(p->module).find("type:") == std::string::npos);
  CHECK(ir::dump_ir(p->module).find("type: choice") != std::string::npos);
}

TEST_CASE("yaml: empty blocks stay distinct from missing ones", "[yaml]") {
  const auto p =
      read_yaml(flow_with("      - if: x\n"
                          "        then: []\n"
                          "        else: []\n"
                          "      - ask: y\n"
                          "        prompt: Y?\n"
                          "        on_invalid: {}\n"
                          "      - http: GET\n"
                          "        url: https://example.com\n"
                          "        on_error: []\n"));
  REQUIRE(p->report().empty());
  const ir::Block& steps = p->module.flows[0].steps;
  CHECK(body<ir::IfStep>(steps[0]).has_else);
  CHECK(body<ir::AskStep>(steps[1]).has_invalid);
  CHECK(body<ir::HttpStep>(steps[2]).has_error);
  CHECK(write_yaml(p->module) == flow_with("      - if: x\n"
                                           "        then: []\n"
                                           "        else: []\n"
                                           "      - ask: \"y\"\n"
                                           "        prompt: Y?\n"
                                           "        on_invalid: {}\n"
                                           "      - http: GET\n"
                                           "        url: https://example.com\n"
                                           "        on_error: []\n"));
}

TEST_CASE("yaml: lenient forms read the same as the canonical ones", "[yaml]") {
  const auto lenient = read_yaml(
      "hours: mon-fri 09:00-17:00\n"
      "flows:\n"
      "  - flow: f\n"
      "    triggers:\n"
      "      - keyword: hi\n"
      "    steps:\n"
      "      - tag: vip\n"
      "      - match: x\n"
      "        cases:\n"
      "          - case: 1\n"
      "            then: [{end: true}]\n"
      "      - set: n\n"
      "        value: 0\n");
  const auto canonical = read_yaml(
      "hours: [\"mon-fri 09:00-17:00\"]\n"
      "flows:\n"
      "  - flow: f\n"
      "    triggers:\n"
      "      - keyword: [hi]\n"
      "    steps:\n"
      "      - tag: [vip]\n"
      "      - match: x\n"
      "        cases:\n"
      "          - case: [\"1\"]\n"
      "            then:\n"
      "              - end: true\n"
      "      - set: n\n"
      "        value: \"0\"\n");
  REQUIRE(lenient->report().empty());
  REQUIRE(canonical->report().empty());
  CHECK(ir::dump_ir(lenient->module) == ir::dump_ir(canonical->module));
  CHECK(write_yaml(lenient->module) == write_yaml(canonical->module));
}

TEST_CASE("yaml: an empty or comment-only file has no flows and no errors", "[yaml]") {
  for (const char* text : {"", "# nothing yet\n", "---\n", "\xEF\xBB\xBF"}) {
    const auto p = read_yaml(text);
    CHECK(p->report().empty());
    CHECK(p->module.flows.empty());
  }
}

TEST_CASE("yaml: spans point into the YAML source", "[yaml]") {
  const auto p = read_yaml(
      "flows:\n"
      "  - flow: f\n"
      "    steps:\n"
      "      - say: \"Hi {{name}}\"\n"
      "      - if: 'lower(x) == \"y\"'\n"
      "        then: [{goto: missing}]\n");
  REQUIRE(p->report().empty());
  const ir::Block& steps = p->module.flows[0].steps;
  const auto& say = body<ir::SayStep>(steps[0]);
  // A quoted scalar's span includes its quotes.
  CHECK(p->sources.file(0).text.substr(
            say.text.span.begin, say.text.span.end - say.text.span.begin) == "\"Hi {{name}}\"");
  const ir::Expr& cond = body<ir::IfStep>(steps[1]).branches[0].condition;
  CHECK(cond.kind == ir::ExprKind::Binary);
  // The expression's spans sit inside the quotes, on `lower(x)`.
  CHECK(p->sources.begin_of(cond.span).line == 5);
  CHECK(p->sources.begin_of(cond.span).column == 14);
  const auto& jump = body<ir::GotoStep>(body<ir::IfStep>(steps[1]).branches[0].body[0]);
  CHECK(p->sources.begin_of(jump.target_span).column == 23);
  CHECK(p->sources.begin_of(steps[1].span).column == 9);
}

// --- Reader errors ------------------------------------------------------------------

TEST_CASE("yaml: malformed YAML is WF0108 at yaml-cpp's position", "[yaml]") {
  CHECK(read_yaml("flows: [a, b\n")->report() ==
        "WF0108 2:1 invalid YAML: end of sequence flow not found | a list opened with '[' must "
        "be closed with ']'\n");
  CHECK(read_yaml("flows:\n  - flow: a\n   say: x\n")->report() ==
        "WF0108 3:4 invalid YAML: end of sequence not found | the items of one list or mapping "
        "start in the same column; check the indentation\n");
  CHECK(read_yaml(flow_with("      - say: Note: closed\n"))->report() ==
        "WF0108 4:18 invalid YAML: illegal map value | a ': ' inside a text starts a new key; put "
        "the text in quotes\n");
  CHECK(read_yaml("flows:\n  - flow: x\n    steps:\n\t- say: hi\n")->report() ==
        "WF0108 4:2 invalid YAML: illegal block entry | YAML indents with spaces; this line's "
        "indentation holds a tab\n");
  CHECK(read_yaml("a: *nowhere\n")->report() ==
        "WF0108 1:4 invalid YAML: the referenced anchor is not defined\n");
}

TEST_CASE("yaml: a quoted string left open is WF0108, not text to the end of the file", "[yaml]") {
  CHECK(read_yaml(flow_with("      - say: \"Hello\n      - end: true\n"))->report() ==
        "WF0108 4:14 invalid YAML: this quoted string is not closed\n");
  CHECK(read_yaml(flow_with("      - say: 'It''s\n"))->report() ==
        "WF0108 4:14 invalid YAML: this quoted string is not closed\n");
}

TEST_CASE("yaml: a second document is refused", "[yaml]") {
  CHECK(read_yaml("flows: []\n---\nflows: []\n")->report() ==
        "WF0108 2:1 invalid YAML: a flow file holds one YAML document; this starts a second one\n");
}

TEST_CASE("yaml: control characters are refused before parsing", "[yaml]") {
  CHECK(read_yaml(std::string("flows:\n  - flow: a\0b\n", 20))->report() ==
        "WF0108 2:12 invalid YAML: control character U+0000 is not allowed\n");
}

TEST_CASE("yaml: an unknown key is WF0110 with a suggestion from its context", "[yaml]") {
  CHECK(read_yaml(flow_with("      - ask: name\n"
                            "        promt: Your name?\n"))
            ->report() ==
        "WF0110 5:9 unknown key 'promt' in an 'ask' step | did you mean 'prompt'?\n"
        "WF0111 4:9 missing key 'prompt' in an 'ask' step\n");
  CHECK(read_yaml("flows:\n  - flow: f\n    trigers: []\n")->report() ==
        "WF0110 3:5 unknown key 'trigers' in flow 'f' | did you mean 'triggers'?\n");
  CHECK(read_yaml("flow: f\n")->report() ==
        "WF0110 1:1 unknown key 'flow' in the top level | did you mean 'flows'?\n");
  // A misspelt kind: suggestions come from the step kinds.
  CHECK(read_yaml(flow_with("      - sya: Hello\n"))->report() ==
        "WF0110 4:9 unknown key 'sya' in a step | did you mean 'say'?\n");
}

TEST_CASE("yaml: an unknown trigger kind is reported with the kinds to choose from", "[yaml]") {
  CHECK(read_yaml("flows:\n  - flow: f\n    triggers:\n      - keywrd: [hi]\n")->report() ==
        "WF0110 4:9 unknown key 'keywrd' in a trigger | did you mean 'keyword'?\n");
  CHECK(read_yaml("flows:\n  - flow: f\n    triggers:\n      - priority: 1\n")->report() ==
        "WF0112 4:9 'trigger' must be a mapping with a key naming its kind, such as 'keyword'\n");
}

TEST_CASE("yaml: a missing key is WF0111", "[yaml]") {
  CHECK(read_yaml("flows:\n  - title: Pizza\n")->report() ==
        "WF0111 2:5 missing key 'flow' in a flow\n");
  CHECK(read_yaml(flow_with("      - ask: n\n"
                            "        prompt: N?\n"
                            "        on_timeout: {steps: []}\n"))
            ->report() == "WF0111 6:21 missing key 'after' in on_timeout\n");
  CHECK(read_yaml(flow_with("      - say: Pick\n"
                            "        buttons: [{id: a}]\n"))
            ->report() == "WF0111 5:19 missing key 'title' in a button\n");
}

TEST_CASE("yaml: a value of the wrong kind is WF0112", "[yaml]") {
  CHECK(read_yaml(flow_with("      - say: Pick\n"
                            "        buttons: a\n"))
            ->report() == "WF0112 5:18 'buttons' must be a list of {id, title} mappings\n");
  CHECK(read_yaml(flow_with("      - say: [a, b]\n"))->report() ==
        "WF0112 4:14 'say' must be a string\n");
  CHECK(read_yaml(flow_with("      - end\n"))->report() ==
        "WF0112 4:9 'step' must be a mapping such as 'say: Hello' | write 'end: ...'\n");
  CHECK(read_yaml(flow_with("      - end: false\n"))->report() ==
        "WF0112 4:14 'end' must be true\n");
  CHECK(read_yaml(flow_with("      - say:\n"))->report() == "WF0112 4:9 'say' must be a string\n");
  CHECK(read_yaml(flow_with("      - ask: my answer\n        prompt: x\n"))->report() ==
        "WF0112 4:14 'ask' must be a variable name such as 'address' or 'contact.language'\n");
  CHECK(
      read_yaml(flow_with("      - goto: 2nd\n"))->report() ==
      "WF0112 4:15 'goto' must be a name (letters, digits, _ and -, not starting with a digit)\n");
  CHECK(read_yaml("flows:\n  - flow: f\n    priority: high\n")->report() ==
        "WF0112 3:15 'priority' must be an integer\n");
  CHECK(read_yaml("- flow: f\n")->report() ==
        "WF0112 1:1 'document' must be a mapping with 'flows' (and optionally 'timezone' and "
        "'hours')\n");
  CHECK(read_yaml(flow_with("      - say: a\n        ask: b\n"))->report() ==
        "WF0112 5:9 'step' must be a mapping with one kind key, not both 'say' and 'ask' | start "
        "each item of the list with '- '\n");
}

TEST_CASE("yaml: value checks match the DSL's", "[yaml]") {
  CHECK(read_yaml(flow_with("      - delay: 5 minutes\n"))->report() ==
        "WF0307 4:16 invalid duration '5 minutes'\n");
  CHECK(
      read_yaml(flow_with("      - ask: n\n        type: emial\n        prompt: x\n"))->report() ==
      "WF0319 5:15 unknown type 'emial' | did you mean 'email'?\n");
  CHECK(read_yaml(flow_with("      - set: contct.name\n        value: '\"x\"'\n"))->report() ==
        "WF0217 4:14 unknown variable scope 'contct' (use contact, conversation or flow) | did "
        "you mean 'contact'?\n");
  CHECK(
      read_yaml(flow_with("      - ask: n\n        prompt: x\n        on_invalid: {retry: 2.5}\n"))
          ->report() == "WF0117 6:29 invalid number '2.5'\n");
  CHECK(read_yaml("hours: [mon-fry 09:00-17:00]\n")->report() ==
        "WF0309 1:9 invalid business hours: 'mon-fry 09:00-17:00' (use e.g. mon-fri "
        "09:00-17:00)\n");
  CHECK(read_yaml("flows:\n  - flow: f\n    vars: [{var: n, type: nmber}]\n")->report() ==
        "WF0319 3:27 unknown type 'nmber' | did you mean 'number'?\n");
  CHECK(read_yaml(flow_with("      - say: a\n        say: b\n"))->report() ==
        "WF0121 5:9 'say' is given more than once\n");
}

TEST_CASE("yaml: expression errors point into the YAML scalar", "[yaml]") {
  CHECK(read_yaml(flow_with("      - if: a ==\n        then: []\n"))->report() ==
        "WF0101 4:17 syntax error: expected a value\n");
  CHECK(read_yaml(flow_with("      - if: \"a == (b\"\n        then: []\n"))->report() ==
        "WF0101 4:21 syntax error: expected ')'\n");
}

TEST_CASE("yaml: placeholder errors point into plain, quoted and block scalars", "[yaml]") {
  // The text "Hi {{a ==}}": the expression error is after "==", in every style.
  struct Case {
    std::string steps;
    std::string where;
  };
  const Case cases[] = {
      {"      - say: Hi {{a ==}}\n", "4:23"},
      {"      - say: \"Hi {{a ==}}\"\n", "4:24"},
      {"      - say: 'Hi {{a ==}}'\n", "4:24"},
      {"      - say: |\n          Hi {{a ==}}\n", "5:20"},
  };
  for (const Case& c : cases) {
    const auto p = read_yaml(flow_with(c.steps));
    REQUIRE(p->report().empty());
    const auto& say = std::get<ir::SayStep>(p->module.flows.at(0).steps.at(0).body);
    Diagnostics diags;
    dsl::parse_template(say.text, diags);
    REQUIRE(diags.all().size() == 1);
    const SourceLocation at = p->sources.begin_of(diags.all()[0].span);
    CHECK(fmt::format("{}:{}", at.line, at.column) == c.where);
  }
}

TEST_CASE("yaml: the reader keeps going after errors", "[yaml]") {
  const auto p =
      read_yaml(flow_with("      - delay: soon\n"
                          "      - sya: x\n"
                          "      - say: Still read\n"
                          "      - ask: n\n"));
  CHECK(p->diags.all().size() == 3);
  REQUIRE(p->module.flows.size() == 1);
  REQUIRE(p->module.flows[0].steps.size() == 3);
  CHECK(body<ir::SayStep>(p->module.flows[0].steps[1]).text.value == "Still read");
}

// --- Hostile input ------------------------------------------------------------------

TEST_CASE("yaml: deep nesting is WF0107, not a stack overflow", "[yaml]") {
  CHECK(read_yaml(std::string(100'000, '[') + std::string(100'000, ']'))->report() ==
        "WF0107 1:201 nesting is deeper than 200 levels\n");
  std::string steps = "flows:\n  - flow: f\n    steps:\n";
  std::string indent = "      ";
  for (int i = 0; i < 150; ++i) {
    steps += indent + "- if: x\n" + indent + "  then:\n";
    indent += "    ";
  }
  steps += indent + "- end: true\n";
  const auto p = read_yaml(steps);
  REQUIRE(p->diags.all().size() == 1);
  CHECK(p->diags.all()[0].kind == DiagnosticKind::NestingTooDeep);
}

TEST_CASE("yaml: an alias cannot make the document cyclic", "[yaml]") {
  CHECK(read_yaml("flows: &a [*a]\n")->report() ==
        "WF0108 1:12 invalid YAML: an alias cannot refer to the node that contains it\n");
}

TEST_CASE("yaml: aliases share steps, within limits", "[yaml]") {
  const auto p = read_yaml(
      "flows:\n"
      "  - flow: f\n"
      "    steps:\n"
      "      - &bye {say: Bye}\n"
      "      - *bye\n");
  REQUIRE(p->report().empty());
  CHECK(p->module.flows[0].steps.size() == 2);
  // Nine levels of nine aliases each would expand to 9^9 nodes.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    bomb += fmt::format("a{}: &a{} [", i, i);
    for (int j = 0; j < 9; ++j) {
      bomb += fmt::format("{}*a{}", j > 0 ? ", " : "", i - 1);
    }
    bomb += "]\n";
  }
  const auto b = read_yaml(bomb);
  REQUIRE(b->diags.all().size() == 1);
  CHECK(b->diags.all()[0].message ==
        "invalid YAML: aliases expand this document to more than 1000222 nodes");
}

TEST_CASE("yaml: garbage and truncated files give diagnostics, never a crash", "[yaml]") {
  const std::string valid = read_file(kSourceDir / "tests/unit/yaml/all_constructs.yaml");
  // Every prefix of a valid file.
  for (std::size_t n = 0; n < valid.size(); n += 7) {
    read_yaml(valid.substr(0, n));
  }
  // Random edits of a valid file, and random bytes.
  std::mt19937 rng(42);
  const std::string alphabet = "-:[]{}#&*!|>'\"%@`? \n\t,abc1.~\\";
  for (int round = 0; round < 300; ++round) {
    std::string text = valid;
    for (int edit = 0; edit < 5; ++edit) {
      const std::size_t at = rng() % text.size();
      text[at] = alphabet[rng() % alphabet.size()];
    }
    read_yaml(text);
    std::string noise(rng() % 200, '\0');
    for (char& c : noise) {
      c = static_cast<char>(rng() % 256);
    }
    read_yaml(noise);
  }
  // Invalid UTF-8 read directly (load_project would refuse it earlier).
  CHECK(read_yaml("flows: [\xff\xfe]\n")->report() == "WF0102 1:9 invalid UTF-8 byte sequence\n");
  SUCCEED("no crash");
}

TEST_CASE("yaml: a large file reads without trouble", "[yaml]") {
  std::string text = "flows:\n";
  for (int f = 0; f < 200; ++f) {
    text += fmt::format("  - flow: f{}\n    steps:\n", f);
    for (int s = 0; s < 100; ++s) {
      text += fmt::format("      - say: \"Message {} of flow {}: {{{{contact.name}}}}\"\n", s, f);
    }
  }
  const auto p = read_yaml(text);
  CHECK(p->report().empty());
  CHECK(p->module.flows.size() == 200);
  CHECK(write_yaml(p->module) == text);
}

// --- The writer's scalars ---------------------------------------------------------------

TEST_CASE("yaml: every string survives the writer's quoting", "[yaml]") {
  std::vector<std::string> samples = {"",
                                      " ",
                                      "true",
                                      "no",
                                      "Off",
                                      "null",
                                      "~",
                                      "123",
                                      "-1",
                                      "1e3",
                                      "0x1F",
                                      ".5",
                                      ".inf",
                                      "2024-01-31",
                                      "09:00",
                                      "30m",
                                      "a: b",
                                      "a:b",
                                      "a #b",
                                      "a#b",
                                      "#x",
                                      "- x",
                                      "-x",
                                      "? x",
                                      "x?",
                                      "[x]",
                                      "{x}",
                                      "x, y",
                                      "'q'",
                                      "\"q\"",
                                      "a\"b",
                                      "a\\b",
                                      "\\{{x}}",
                                      "{{name}}",
                                      "Hi {{name}}!",
                                      "trailing ",
                                      " leading",
                                      "tab\there",
                                      "line\nbreak",
                                      "two\n\nbreaks\n",
                                      "end\n\n\n",
                                      "\nlead",
                                      "x\n  indented",
                                      "ctrl\x01",
                                      "del\x7f",
                                      "héllo wörld",
                                      "emoji \xF0\x9F\x8D\x95",
                                      "nel\xC2\x85",
                                      "ls\xE2\x80\xA8",
                                      "bom\xEF\xBB\xBF",
                                      "...",
                                      "---",
                                      "a: ",
                                      "@x",
                                      "`x",
                                      "%x",
                                      "!x",
                                      "&x",
                                      "*x",
                                      "|x",
                                      ">x",
                                      "=",
                                      "<<",
                                      "x:"};
  std::mt19937 rng(7);
  const std::string alphabet = "ab :#-?,[]{}'\"\\\n\t!&*|>%@`~.0123456789yYnN";
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 12, ' ');
    for (char& c : s) {
      c = alphabet[rng() % alphabet.size()];
    }
    samples.push_back(s);
  }
  for (const std::string& s : samples) {
    INFO("[" << s << "]");
    ir::Module module;
    ir::Flow flow;
    flow.name = "f";
    ir::Step say;
    say.body = ir::SayStep{ir::Text{s, {}}, {}, {}, {}};
    flow.steps.push_back(say);
    ir::Step tag;
    tag.body = ir::TagStep{true, {s, "x"}};
    flow.steps.push_back(tag);
    module.flows.push_back(flow);
    const std::string text = write_yaml(module);
    INFO(text);
    const auto p = read_yaml(text);
    REQUIRE(p->report().empty());
    REQUIRE(p->module.flows[0].steps.size() == 2);
    CHECK(body<ir::SayStep>(p->module.flows[0].steps[0]).text.value == s);
    CHECK(body<ir::TagStep>(p->module.flows[0].steps[1]).tags[0] == s);
  }
}

TEST_CASE("yaml: strings other YAML readers would retype are quoted", "[yaml]") {
  CHECK_FALSE(yaml::plain_safe("yes", false));
  CHECK_FALSE(yaml::plain_safe("1.5", false));
  CHECK_FALSE(yaml::plain_safe("12:30", false));
  CHECK_FALSE(yaml::plain_safe("2024-05-01", false));
  CHECK(yaml::plain_safe("30m", false));
  CHECK(yaml::plain_safe("Hello {{name}}, welcome", false));
  CHECK_FALSE(yaml::plain_safe("Hello {{name}}, welcome", true));
}
