// Tests of the visual front end and writer: round trips with the DSL examples,
// the structuring of hand-made graphs, diagnostics with positions and JSON
// pointers, and inputs that must not crash.

#include "compiler/visual/visual.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "compiler/dsl/printer.h"
#include "compiler/frontend.h"
#include "compiler/ir/dump.h"
#include "compiler/ir/walk.h"
#include "compiler/visual/json_locator.h"
#include "compiler/visual/node_types.h"
#include "compiler/visual/structure.h"

namespace {

namespace fs = std::filesystem;
using namespace waflow;

const fs::path kSourceDir = WAFLOW_SOURCE_DIR;

struct Parsed {
  SourceManager sources;
  Diagnostics diags;
  ir::Module module;
};

std::unique_ptr<Parsed> parse_text(const std::string& text, SourceFormat format,
                                   const std::string& name) {
  auto p = std::make_unique<Parsed>();
  const FileId id = p->sources.add(name, text);
  p->module = parse_source(p->sources, id, format, p->diags);
  for (ir::Flow& flow : p->module.flows) {
    assign_step_ids(flow);
  }
  return p;
}

std::unique_ptr<Parsed> read_visual(const std::string& text) {
  return parse_text(text, SourceFormat::Visual, "flow.json");
}

std::unique_ptr<Parsed> read_dsl(const std::string& text) {
  return parse_text(text, SourceFormat::Dsl, "flow.wf");
}

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<fs::path> example_flows() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(kSourceDir / "examples/flows")) {
    if (entry.path().extension() == ".wf") {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// "line:col code message pointer" for each diagnostic, in report order.
std::vector<std::string> described(const Parsed& p) {
  std::vector<std::string> out;
  for (const Diagnostic& d : p.diags.all()) {
    std::string line;
    if (d.span.valid()) {
      const SourceLocation at = p.sources.begin_of(d.span);
      line = std::to_string(at.line) + ":" + std::to_string(at.column) + " ";
    }
    line += std::string(info(d.kind).code) + " " + d.message;
    if (!d.pointer.empty()) {
      line += " " + d.pointer;
    }
    out.push_back(line);
  }
  return out;
}

// The (id, explicit) pairs of a module's steps, in pre-order.
std::vector<std::pair<std::string, bool>> ids_of(const ir::Module& module) {
  std::vector<std::pair<std::string, bool>> out;
  for (const ir::Flow& flow : module.flows) {
    ir::for_each_step(flow.steps,
                      [&](const ir::Step& s) { out.emplace_back(s.id, s.explicit_id); });
  }
  return out;
}

std::string node(const std::string& id, const std::string& type, const std::string& data = "{}") {
  return R"({"id": ")" + id + R"(", "type": ")" + type +
         R"(", "position": {"x": 0, "y": 0}, "data": )" + data + "}";
}

std::string edge(const std::string& source, const std::string& handle, const std::string& target) {
  return R"({"id": ")" + source + "." + handle + R"(", "source": ")" + source +
         R"(", "target": ")" + target + R"(", "sourceHandle": ")" + handle + R"("})";
}

std::string visual_file(const std::vector<std::string>& nodes,
                        const std::vector<std::string>& edges) {
  std::string out = R"({"waflow": "visual", "version": 1, "flows": [{"name": "f", "nodes": [)";
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    out += (i > 0 ? ", " : "") + nodes[i];
  }
  out += R"(], "edges": [)";
  for (std::size_t i = 0; i < edges.size(); ++i) {
    out += (i > 0 ? ", " : "") + edges[i];
  }
  return out + "]}]}";
}

std::string say(const std::string& text) {
  return R"({"text": ")" + text + R"("})";
}

}  // namespace

// --- Round trips -------------------------------------------------------------------------

TEST_CASE("visual: every DSL example converts to visual and back to the same IR", "[visual]") {
  for (const fs::path& path : example_flows()) {
    INFO(path.filename().string());
    auto dsl = read_dsl(file_text(path));
    REQUIRE_FALSE(dsl->diags.has_errors());
    const std::string json = write_visual(dsl->module);
    auto back = read_visual(json);
    CHECK(described(*back).empty());
    CHECK(ir::dump_ir(back->module) == ir::dump_ir(dsl->module));
    // Labels stay where they were written, so the DSL comes back the same.
    CHECK(ids_of(back->module) == ids_of(dsl->module));
    CHECK(dsl::write_dsl(back->module) == dsl::write_dsl(dsl->module));
  }
}

TEST_CASE("visual: a written file reads back and writes back byte for byte", "[visual]") {
  for (const fs::path& path : example_flows()) {
    INFO(path.filename().string());
    auto dsl = read_dsl(file_text(path));
    const std::string first = write_visual(dsl->module);
    auto back = read_visual(first);
    CHECK(write_visual(back->module) == first);
  }
}

TEST_CASE("visual: the visual examples are the writer's output for their DSL originals",
          "[visual]") {
  // WAFLOW_UPDATE_GOLDEN=1 rewrites them.
  const bool update = std::getenv("WAFLOW_UPDATE_GOLDEN") != nullptr &&
                      std::string(std::getenv("WAFLOW_UPDATE_GOLDEN")) == "1";
  for (const char* name : {"pizza", "support"}) {
    INFO(name);
    auto dsl = read_dsl(file_text(kSourceDir / "examples/flows" / (std::string(name) + ".wf")));
    const std::string written = write_visual(dsl->module);
    const fs::path target = kSourceDir / "examples/visual" / (std::string(name) + ".json");
    if (update) {
      std::ofstream(target, std::ios::binary) << written;
    }
    CHECK(file_text(target) == written);
    auto back = read_visual(file_text(target));
    CHECK(described(*back).empty());
    CHECK(ir::dump_ir(back->module) == ir::dump_ir(dsl->module));
  }
}

TEST_CASE("visual: every node type is written as its golden file and read back", "[visual]") {
  // every_node.json is the writer's output for every_node.wf; WAFLOW_UPDATE_GOLDEN=1
  // rewrites it. The schema test validates it.
  const fs::path dir = kSourceDir / "tests/unit/visual";
  auto dsl = read_dsl(file_text(dir / "every_node.wf"));
  REQUIRE_FALSE(dsl->diags.has_errors());
  const std::string written = write_visual(dsl->module);
  const char* update = std::getenv("WAFLOW_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(dir / "every_node.json", std::ios::binary) << written;
  }
  CHECK(file_text(dir / "every_node.json") == written);
  auto back = read_visual(written);
  CHECK(described(*back).empty());
  CHECK(ir::dump_ir(back->module) == ir::dump_ir(dsl->module));
  CHECK(write_visual(back->module) == written);
  std::set<std::string> types;
  for (const ir::Flow& flow : dsl->module.flows) {
    types.insert("start");
    ir::for_each_step(flow.steps,
                      [&](const ir::Step& s) { types.insert(visual::node_type_of(s.body)); });
  }
  const std::vector<std::string>& all = visual::node_type_names();
  CHECK(types == std::set<std::string>(all.begin(), all.end()));
}

TEST_CASE("visual: every construct of the language survives a visual round trip", "[visual]") {
  const fs::path path = kSourceDir / "tests/unit/yaml/all_constructs.wf";
  if (!fs::exists(path)) {
    return;
  }
  auto dsl = read_dsl(file_text(path));
  REQUIRE_FALSE(dsl->diags.has_errors());
  const std::string written = write_visual(dsl->module);
  auto back = read_visual(written);
  CHECK(described(*back).empty());
  CHECK(ir::dump_ir(back->module) == ir::dump_ir(dsl->module));
  CHECK(ids_of(back->module) == ids_of(dsl->module));
  CHECK(write_visual(back->module) == written);
}

TEST_CASE("visual: the format reference's first example is the flow it says", "[visual]") {
  const std::string doc = file_text(kSourceDir / "docs/visual.md");
  auto block = [&](const std::string& fence) {
    const std::size_t begin = doc.find("```" + fence + "\n");
    REQUIRE(begin != std::string::npos);
    const std::size_t body = begin + fence.size() + 4;
    return doc.substr(body, doc.find("```", body) - body);
  };
  auto visual = read_visual(block("json"));
  CHECK(described(*visual).empty());
  auto dsl = read_dsl(block("wf"));
  REQUIRE_FALSE(dsl->diags.has_errors());
  CHECK(ir::dump_ir(visual->module) == ir::dump_ir(dsl->module));
}

TEST_CASE("visual: positions are kept and steps without one are laid out", "[visual]") {
  const std::string text = R"({
  "waflow": "visual",
  "version": 1,
  "flows": [
    {
      "name": "f",
      "nodes": [
        {"id": "start", "type": "start", "position": {"x": -40, "y": 12.5}, "data": {}},
        {"id": "hello", "type": "message", "position": {"x": 7.25, "y": 100}, "data": {"text": "Hi"}},
        {"id": "check", "type": "condition", "data": {"conditions": ["contact.vip"]}},
        {"id": "vip", "type": "message", "data": {"text": "Welcome back"}},
        {"id": "bye", "type": "message", "data": {"text": "Bye"}}
      ],
      "edges": [
        {"id": "a", "source": "start", "target": "hello"},
        {"id": "b", "source": "hello", "target": "check"},
        {"id": "c", "source": "check", "target": "vip", "sourceHandle": "then"},
        {"id": "d", "source": "check", "target": "bye", "sourceHandle": "else"},
        {"id": "e", "source": "vip", "target": "bye"}
      ],
      "viewport": {"x": 10, "y": 20, "zoom": 0.5}
    }
  ]
})";
  auto p = read_visual(text);
  REQUIRE(described(*p).empty());
  const ir::Flow& flow = p->module.flows.at(0);
  REQUIRE(flow.position);
  CHECK(flow.position->x == -40);
  CHECK(flow.position->y == 12.5);
  REQUIRE(flow.steps.size() == 3);
  REQUIRE(flow.steps[0].position);
  CHECK(flow.steps[0].position->x == 7.25);
  CHECK_FALSE(flow.steps[1].position);
  const std::string written = write_visual(p->module);
  CHECK(written.find(R"("x": -40,
            "y": 12.5)") != std::string::npos);
  CHECK(written.find(R"("x": 7.25,)") != std::string::npos);
  // Laid out: the condition third from the top, its branch below it.
  CHECK(written.find(R"("id": "check",
          "type": "condition",
          "position": {
            "x": 0,
            "y": 300
          })") != std::string::npos);
  CHECK(written.find(R"("id": "vip",
          "type": "message",
          "position": {
            "x": 0,
            "y": 450
          })") != std::string::npos);
  // Written once, every position is kept from then on.
  auto again = read_visual(written);
  CHECK(write_visual(again->module) == written);
}

TEST_CASE("visual: derived ids stay derived and written ones stay explicit", "[visual]") {
  auto dsl = read_dsl(
      "flow f\n"
      "  trigger any\n"
      "  label say_1\n"
      "  ask name \"Name?\"\n"
      "    on timeout 1h\n"
      "      end\n"
      "  say \"Hello {{name}}\"\n"
      "  label bye\n"
      "  say \"Bye\"\n"
      "  say \"Really\"\n");
  REQUIRE_FALSE(dsl->diags.has_errors());
  const std::vector<std::pair<std::string, bool>> expected = {
      {"say_1", true}, {"end_1", false}, {"say_2", false}, {"bye", true}, {"say_3", false}};
  CHECK(ids_of(dsl->module) == expected);
  auto back = read_visual(write_visual(dsl->module));
  CHECK(ids_of(back->module) == expected);
}

TEST_CASE("visual: an empty classify fallback and empty exits stay distinct from none",
          "[visual]") {
  auto dsl = read_dsl(
      "flow f\n"
      "  trigger any\n"
      "  ai classify topic\n"
      "    intent sales \"Buying\"\n"
      "      say \"Sales\"\n"
      "    other\n"
      "  http r = GET \"https://example.com/x\"\n"
      "    on error\n"
      "  ask a \"A?\"\n"
      "    on invalid retry 2\n"
      "    on timeout 1h\n"
      "  say \"done\"\n");
  REQUIRE_FALSE(dsl->diags.has_errors());
  auto back = read_visual(write_visual(dsl->module));
  CHECK(described(*back).empty());
  CHECK(ir::dump_ir(back->module) == ir::dump_ir(dsl->module));
  const auto& classify = std::get<ir::AiClassifyStep>(back->module.flows[0].steps[0].body);
  CHECK(classify.has_other);
  CHECK(std::get<ir::HttpStep>(back->module.flows[0].steps[1].body).has_error);
}

// --- Structuring -------------------------------------------------------------------------

TEST_CASE("visual: branches that re-join continue after the condition", "[visual]") {
  auto p = read_visual(visual_file(
      {node("start", "start"), node("check", "condition", R"({"conditions": ["contact.vip"]})"),
       node("vip", "message", say("VIP")), node("regular", "message", say("Hello")),
       node("menu", "message", say("Menu"))},
      {edge("start", "next", "check"), edge("check", "then", "vip"),
       edge("check", "else", "regular"), edge("vip", "next", "menu"),
       edge("regular", "next", "menu")}));
  REQUIRE(described(*p).empty());
  auto expected = read_dsl(
      "flow f\n"
      "  label check\n"
      "  if contact.vip\n"
      "    label vip\n"
      "    say \"VIP\"\n"
      "  else\n"
      "    label regular\n"
      "    say \"Hello\"\n"
      "  label menu\n"
      "  say \"Menu\"\n");
  CHECK(ir::dump_ir(p->module) == ir::dump_ir(expected->module));
}

TEST_CASE("visual: a branch that ends makes a guard clause", "[visual]") {
  auto p = read_visual(visual_file(
      {node("start", "start"), node("check", "condition", R"({"conditions": ["not ok"]})"),
       node("sorry", "message", say("Sorry")), node("stop", "end"),
       node("go", "message", say("Go on")), node("done", "end")},
      {edge("start", "next", "check"), edge("check", "then", "sorry"),
       edge("sorry", "next", "stop"), edge("check", "else", "go"), edge("go", "next", "done")}));
  REQUIRE(described(*p).empty());
  auto expected = read_dsl(
      "flow f\n"
      "  label check\n"
      "  if not ok\n"
      "    label sorry\n"
      "    say \"Sorry\"\n"
      "    label stop\n"
      "    end\n"
      "  label go\n"
      "  say \"Go on\"\n"
      "  label done\n"
      "  end\n");
  CHECK(ir::dump_ir(p->module) == ir::dump_ir(expected->module));
}

TEST_CASE("visual: an edge back to an earlier node becomes a goto", "[visual]") {
  auto p = read_visual(visual_file(
      {node("start", "start"),
       node("ask_name", "user_reply",
            R"({"variable": "name", "text": "Your name?", "timeout": "1h"})"),
       node("check", "condition", R"({"conditions": ["len(name) > 1"]})"),
       node("thanks", "message", say("Thanks")), node("again", "message", say("Too short"))},
      {edge("start", "next", "ask_name"), edge("ask_name", "next", "check"),
       edge("check", "then", "thanks"), edge("check", "else", "again"),
       edge("again", "next", "ask_name")}));
  REQUIRE(described(*p).empty());
  auto expected = read_dsl(
      "flow f\n"
      "  ask name \"Your name?\"\n"
      "    on timeout 1h\n"
      "      return\n"
      "  label check\n"
      "  if len(name) > 1\n"
      "    label thanks\n"
      "    say \"Thanks\"\n"
      "  else\n"
      "    label again\n"
      "    say \"Too short\"\n"
      "    goto ask_name\n");
  CHECK(ir::dump_ir(p->module) == ir::dump_ir(expected->module));
  // The goto the reader made has a derived id and points at the back edge.
  const ir::Step& jump = std::get<ir::IfStep>(p->module.flows[0].steps[1].body).otherwise[1];
  CHECK(jump.id == "goto_1");
  CHECK_FALSE(jump.explicit_id);
  CHECK(p->sources.begin_of(jump.span).column > 1);
}

TEST_CASE("visual: an edge into the middle of another branch becomes a goto", "[visual]") {
  // The then-branch runs a1, a2; the else-branch asks b1, whose reply joins the
  // then-branch at a2 and whose timeout skips to the end.
  auto p = read_visual(visual_file(
      {node("start", "start"), node("check", "condition", R"({"conditions": ["x"]})"),
       node("a1", "message", say("A1")), node("a2", "message", say("A2")),
       node("b1", "user_reply", R"({"variable": "b", "text": "B?", "timeout": "1h"})"),
       node("last", "message", say("Last"))},
      {edge("start", "next", "check"), edge("check", "then", "a1"), edge("a1", "next", "a2"),
       edge("a2", "next", "last"), edge("check", "else", "b1"), edge("b1", "next", "a2"),
       edge("b1", "timeout", "last")}));
  REQUIRE(described(*p).empty());
  auto expected = read_dsl(
      "flow f\n"
      "  label check\n"
      "  if x\n"
      "    label a1\n"
      "    say \"A1\"\n"
      "    label a2\n"
      "    say \"A2\"\n"
      "  else\n"
      "    label b1\n"
      "    ask b \"B?\"\n"
      "      on timeout 1h\n"
      "        goto last\n"
      "    goto a2\n"
      "  label last\n"
      "  say \"Last\"\n");
  CHECK(ir::dump_ir(p->module) == ir::dump_ir(expected->module));
}

TEST_CASE("visual: a dangling exit inside a branch finishes the flow there", "[visual]") {
  std::string text =
      visual_file({node("start", "start"),
                   node("q", "user_reply", R"({"variable": "q", "text": "Q?", "timeout": "5m"})"),
                   node("after", "message", say("After"))},
                  {edge("start", "next", "q"), edge("q", "next", "after")});
  // Without triggers the flow is one that others call: it returns to its caller.
  auto called = read_visual(text);
  REQUIRE(described(*called).empty());
  const auto& ask = std::get<ir::AskStep>(called->module.flows[0].steps[0].body);
  REQUIRE(ask.on_timeout.size() == 1);
  CHECK(std::holds_alternative<ir::ReturnStep>(ask.on_timeout[0].body));
  // A flow with triggers ends the run.
  text.insert(text.find(R"("nodes")"), R"("triggers": [{"kind": "any"}], )");
  auto started = read_visual(text);
  REQUIRE(described(*started).empty());
  const auto& ask2 = std::get<ir::AskStep>(started->module.flows[0].steps[0].body);
  REQUIRE(ask2.on_timeout.size() == 1);
  CHECK(std::holds_alternative<ir::EndStep>(ask2.on_timeout[0].body));
}

TEST_CASE("visual: nodes no path reaches still land in the IR, after the rest", "[visual]") {
  auto p = read_visual(
      visual_file({node("lost", "message", say("Lost")), node("start", "start"),
                   node("hello", "message", say("Hello")), node("island", "message", say("Island")),
                   node("loop_a", "message", say("A")), node("loop_b", "message", say("B"))},
                  {edge("start", "next", "hello"), edge("lost", "next", "island"),
                   edge("loop_a", "next", "loop_b"), edge("loop_b", "next", "loop_a")}));
  REQUIRE(described(*p).empty());
  std::vector<std::string> top;
  for (const ir::Step& s : p->module.flows[0].steps) {
    top.push_back(s.id);
  }
  // The reachable part first; a return keeps it from running into the rest.
  CHECK(top == std::vector<std::string>{"hello", "return_1", "lost", "island", "return_2", "loop_a",
                                        "loop_b", "goto_1"});
}

TEST_CASE("visual: a switch and an AI classifier re-join after their branches", "[visual]") {
  auto dsl = read_dsl(
      "flow f\n"
      "  trigger any\n"
      "  match contact.language\n"
      "    case \"es\", \"mx\"\n"
      "      say \"Hola\"\n"
      "    case \"fr\"\n"
      "      say \"Salut\"\n"
      "      end\n"
      "    else\n"
      "      say \"Hi\"\n"
      "  ai classify topic from message.text\n"
      "    model \"m\"\n"
      "    intent buy \"Buying\"\n"
      "      say \"Buy\"\n"
      "      goto done\n"
      "    intent help \"Help\"\n"
      "      say \"Help\"\n"
      "    on error\n"
      "      end\n"
      "  say \"Next\"\n"
      "  label done\n"
      "  say \"Done\"\n");
  REQUIRE_FALSE(dsl->diags.has_errors());
  const std::string json = write_visual(dsl->module);
  CHECK(json.find(R"("sourceHandle": "case-1")") != std::string::npos);
  CHECK(json.find(R"("sourceHandle": "intent-buy")") != std::string::npos);
  auto back = read_visual(json);
  CHECK(described(*back).empty());
  CHECK(ir::dump_ir(back->module) == ir::dump_ir(dsl->module));
}

TEST_CASE("visual: graphs nested too deep are flattened with gotos", "[visual]") {
  // Each condition's else leads to the next condition: 200 levels of else-if.
  std::vector<std::string> nodes{node("start", "start")};
  std::vector<std::string> edges{edge("start", "next", "c0")};
  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i) {
    const std::string id = "c" + std::to_string(i);
    nodes.push_back(
        node(id, "condition", R"({"conditions": ["x == )" + std::to_string(i) + "\"]}"));
    nodes.push_back(node("m" + std::to_string(i), "message", say("M")));
    edges.push_back(edge(id, "then", "m" + std::to_string(i)));
    if (i + 1 < kCount) {
      edges.push_back(edge(id, "else", "c" + std::to_string(i + 1)));
    }
  }
  auto p = read_visual(visual_file(nodes, edges));
  REQUIRE(described(*p).empty());
  std::size_t steps = 0;
  std::size_t deepest = 0;
  std::function<void(const ir::Block&, std::size_t)> walk = [&](const ir::Block& b,
                                                                std::size_t depth) {
    deepest = std::max(deepest, depth);
    for (const ir::Step& s : b) {
      steps += std::holds_alternative<ir::GotoStep>(s.body) ? 0U : 1U;
      for (const ir::Block* child : ir::child_blocks(s)) {
        walk(*child, depth + 1);
      }
    }
  };
  walk(p->module.flows[0].steps, 0);
  CHECK(steps >= 2 * kCount);
  CHECK(deepest <= visual::kMaxNesting + 1);
}

// --- Diagnostics ---------------------------------------------------------------------------

TEST_CASE("visual: malformed JSON is WF0109 at the parser's position", "[visual]") {
  auto p = read_visual("{\"waflow\": \"visual\",\n \"version\": 1,\n \"flows\": [}\n");
  CHECK(described(*p) ==
        std::vector<std::string>{"3:12 WF0109 invalid JSON: syntax error while parsing value - "
                                 "unexpected '}'; expected '[', '{', or a literal"});
  auto empty = read_visual("");
  CHECK(described(*empty) ==
        std::vector<std::string>{"1:1 WF0109 invalid JSON: syntax error while parsing value - "
                                 "unexpected end of input; expected '[', '{', or a literal"});
}

TEST_CASE("visual: an unknown node type is WF0113 with a suggestion", "[visual]") {
  const std::string text = R"({"waflow": "visual", "version": 1, "flows": [{"name": "f",
  "nodes": [
    {"id": "start", "type": "start", "position": {"x": 0, "y": 0}, "data": {}},
    {"id": "hi", "type": "mesage", "position": {"x": 0, "y": 0}, "data": {"text": "Hi"}}],
  "edges": [{"id": "e", "source": "start", "target": "hi"}]}]})";
  auto p = read_visual(text);
  CHECK(described(*p) ==
        std::vector<std::string>{"4:27 WF0113 unknown node type 'mesage' /flows/0/nodes/1/type"});
  REQUIRE(p->diags.all().size() == 1);
  REQUIRE(p->diags.all()[0].notes.size() == 1);
  CHECK(p->diags.all()[0].notes[0].message == "did you mean 'message'?");
}

TEST_CASE("visual: edges to missing nodes or handles are WF0114", "[visual]") {
  const std::string text = R"({"waflow": "visual", "version": 1, "flows": [{"name": "f",
  "nodes": [
    {"id": "start", "type": "start", "position": {"x": 0, "y": 0}, "data": {}},
    {"id": "ask_a", "type": "user_reply", "position": {"x": 0, "y": 0},
     "data": {"variable": "a", "text": "A?"}},
    {"id": "check", "type": "condition", "position": {"x": 0, "y": 0},
     "data": {"conditions": ["a == 1"]}},
    {"id": "stop", "type": "end", "position": {"x": 0, "y": 0}, "data": {}}],
  "edges": [
    {"id": "e1", "source": "start", "target": "ask_a"},
    {"id": "e2", "source": "start", "target": "check"},
    {"id": "e3", "source": "ask_a", "target": "chek"},
    {"id": "e4", "source": "ask_a", "target": "stop", "sourceHandle": "timeout"},
    {"id": "e5", "source": "check", "target": "stop"},
    {"id": "e6", "source": "stop", "target": "check"},
    {"id": "e7", "source": "check", "target": "start", "sourceHandle": "then"}]}]})";
  auto p = read_visual(text);
  CHECK(described(*p) ==
        std::vector<std::string>{
            "11:5 WF0114 handle 'next' of node 'start' already has an edge ('e1'); a handle "
            "leads to one node /flows/0/edges/1",
            "12:48 WF0114 edge 'e3' ends at unknown node 'chek' /flows/0/edges/2/target",
            "13:72 WF0114 node 'ask_a' has no handle 'timeout'; its handles are next "
            "/flows/0/edges/3/sourceHandle",
            "14:5 WF0114 edge 'e5' from 'check' needs a sourceHandle: then and else "
            "/flows/0/edges/4",
            "15:5 WF0114 edge 'e6' starts at 'stop', an end node, which has no exits "
            "/flows/0/edges/5",
            "16:48 WF0114 edge 'e7' leads into the start node 'start'; the start has no way in "
            "/flows/0/edges/6/target"});
  CHECK(p->diags.all()[1].notes.at(0).message == "did you mean 'check'?");
  CHECK(p->diags.all()[2].notes.at(0).message == "set data.timeout to give the node this exit");
}

TEST_CASE("visual: a flow without a start node is WF0114", "[visual]") {
  auto p = read_visual(R"({"waflow": "visual", "version": 1, "flows": [{"name": "f",
  "nodes": [{"id": "hi", "type": "message", "position": {"x": 0, "y": 0}, "data": {"text": "Hi"}}],
  "edges": []}]})");
  CHECK(described(*p) ==
        std::vector<std::string>{"2:12 WF0114 flow 'f' has no start node /flows/0/nodes"});
}

TEST_CASE("visual: another format version is WF0115 and nothing more is read", "[visual]") {
  auto p = read_visual(R"({"waflow": "visual", "version": 3, "flows": 7})");
  CHECK(described(*p) ==
        std::vector<std::string>{"1:33 WF0115 unsupported format version 3; this waflow reads 1 "
                                 "/version"});
}

TEST_CASE("visual: unknown, missing and mistyped keys are WF0110, WF0111 and WF0112", "[visual]") {
  const std::string text = R"({"waflow": "visual", "version": 1, "flows": [{"name": "f",
  "nodes": [
    {"id": "start", "type": "start", "position": {"x": 0, "y": 0}, "data": {}, "selected": true},
    {"id": "hi", "type": "message", "position": {"x": 0, "y": 0}, "data": {"txt": "Hi"}},
    {"id": "wait", "type": "delay", "position": {"x": 0, "y": "10"}, "data": {"duration": 5}}],
  "edges": [{"id": "e", "source": "start", "target": "hi", "animated": true}],
  "colour": "red"}]})";
  auto p = read_visual(text);
  CHECK(described(*p) ==
        std::vector<std::string>{
            "7:3 WF0110 unknown key 'colour' in a flow /flows/0/colour",
            "4:76 WF0110 unknown key 'txt' in the data of node 'hi' (message) "
            "/flows/0/nodes/1/data/txt",
            "4:75 WF0111 missing key 'text' in the data of node 'hi' (message) "
            "/flows/0/nodes/1/data",
            "5:63 WF0112 'y' must be a number /flows/0/nodes/2/position/y",
            "5:91 WF0112 'duration' must be a duration such as \"30s\", \"5m\", \"2h\" or "
            "\"1d\" /flows/0/nodes/2/data/duration"});
  CHECK(p->diags.all()[1].notes.at(0).message == "did you mean 'text'?");
}

TEST_CASE("visual: value checks match the DSL's", "[visual]") {
  const std::string text = R"({"waflow": "visual", "version": 1, "flows": [{"name": "f",
  "nodes": [
    {"id": "start", "type": "start", "position": {"x": 0, "y": 0}, "data": {}},
    {"id": "q", "type": "user_reply", "position": {"x": 0, "y": 0},
     "data": {"variable": "contct.age", "type": "numbr", "text": "Age?", "timeout": "3x"}},
    {"id": "s", "type": "set", "position": {"x": 0, "y": 0},
     "data": {"variable": "total", "value": "1 +"}}],
  "edges": [{"id": "e", "source": "start", "target": "q"},
            {"id": "f", "source": "q", "target": "s"}]}]})";
  auto p = read_visual(text);
  CHECK(described(*p) ==
        std::vector<std::string>{
            "5:28 WF0217 unknown variable scope 'contct' (use contact, conversation or flow) "
            "/flows/0/nodes/1/data/variable",
            "5:50 WF0319 unknown type 'numbr' /flows/0/nodes/1/data/type",
            "5:86 WF0307 invalid duration '3x' /flows/0/nodes/1/data/timeout",
            "7:49 WF0101 syntax error: expected a value /flows/0/nodes/2/data/value"});
}

TEST_CASE("visual: a bare React Flow export gets a hint to wrap it", "[visual]") {
  auto p = read_visual(R"({"nodes": [], "edges": [], "viewport": {"x": 0, "y": 0, "zoom": 1}})");
  REQUIRE_FALSE(p->diags.all().empty());
  const Diagnostic& d = p->diags.all()[0];
  CHECK(d.message == "missing key 'version' in the file");
  REQUIRE(d.notes.size() == 1);
  CHECK(d.notes[0].message.find("bare React Flow export") != std::string::npos);
}

TEST_CASE("visual: two nodes with one id both become steps with explicit ids", "[visual]") {
  // The checks report the duplicate (WF0202); edges name the first of them.
  auto p = read_visual(visual_file({node("start", "start"), node("say_1", "message", say("One")),
                                    node("say_1", "message", say("Two"))},
                                   {edge("start", "next", "say_1")}));
  REQUIRE(described(*p).empty());
  const ir::Block& steps = p->module.flows[0].steps;
  REQUIRE(steps.size() == 3);
  CHECK(std::get<ir::SayStep>(steps[0].body).text.value == "One");
  CHECK(steps[0].explicit_id);
  CHECK(std::holds_alternative<ir::ReturnStep>(steps[1].body));
  CHECK(std::get<ir::SayStep>(steps[2].body).text.value == "Two");
  CHECK(steps[2].id == "say_1");
  CHECK(steps[2].explicit_id);
}

TEST_CASE("visual: text spans point into the JSON strings", "[visual]") {
  auto p = read_visual(
      visual_file({node("start", "start"), node("hi", "message", R"({"text": "Hello {{name}}"})")},
                  {edge("start", "next", "hi")}));
  REQUIRE(described(*p).empty());
  const ir::Step& hi = p->module.flows[0].steps[0];
  const auto& text = std::get<ir::SayStep>(hi.body).text;
  const std::string& source = p->sources.file(text.span.file).text;
  CHECK(source.substr(text.span.begin, text.span.end - text.span.begin) == "\"Hello {{name}}\"");
  CHECK(source.substr(hi.id_span.begin, hi.id_span.end - hi.id_span.begin) == "hi");
}

// --- Robustness ------------------------------------------------------------------------------

TEST_CASE("visual: the locator finds values by JSON pointer", "[visual]") {
  const std::string text = R"({"a": [1, {"b/c": "x", "d~e": [true]}], "f\u0067": null})";
  visual::JsonLocator loc(text);
  auto slice = [&](const std::string& pointer) {
    const visual::ByteRange r = loc.locate(pointer);
    return text.substr(r.begin, r.end - r.begin);
  };
  CHECK(slice("") == text);
  CHECK(slice("/a/0") == "1");
  CHECK(slice("/a/1/b~1c") == "\"x\"");
  CHECK(slice("/a/1/d~0e/0") == "true");
  CHECK(slice("/fg") == "null");
  // Past what exists: the deepest value that does.
  CHECK(slice("/a/7") == R"([1, {"b/c": "x", "d~e": [true]}])");
}

TEST_CASE("visual: garbage, mutations and truncations never crash the reader", "[visual]") {
  auto dsl = read_dsl(file_text(kSourceDir / "examples/flows/support.wf"));
  const std::string good = write_visual(dsl->module);
  // Every value replaced by a value of another kind.
  visual::JsonLocator loc(good);
  std::vector<visual::ByteRange> ranges;
  std::vector<visual::JsonLocator::Ref> stack{loc.root()};
  while (!stack.empty()) {
    const auto ref = stack.back();
    stack.pop_back();
    ranges.push_back(loc.range(ref));
    for (std::size_t i = 0; i < loc.child_count(ref); ++i) {
      stack.push_back(loc.child(ref, i));
    }
  }
  std::size_t runs = 0;
  for (std::size_t i = 0; i < ranges.size(); i += 3) {
    for (const char* replacement : {"[]", "{}", "-1.5", "\"x\"", "null", "[[[[{}]]]]"}) {
      std::string text = good;
      text.replace(ranges[i].begin, ranges[i].end - ranges[i].begin, replacement);
      read_visual(text);
      ++runs;
    }
  }
  CHECK(runs > 300);
  for (std::size_t cut = 0; cut < good.size(); cut += 97) {
    read_visual(good.substr(0, cut));
  }
  std::mt19937 random(7);
  for (int round = 0; round < 200; ++round) {
    std::string text = good;
    for (int k = 0; k < 5; ++k) {
      text[random() % text.size()] = "{}[]\",:0a \\"[random() % 11];
    }
    read_visual(text);
  }
  // Deep nesting is refused before parsing.
  auto deep = read_visual(std::string(100000, '[') + std::string(100000, ']'));
  REQUIRE(deep->diags.all().size() == 1);
  CHECK(info(deep->diags.all()[0].kind).code == "WF0107");
}

TEST_CASE("visual: a large linear flow reads quickly into one block", "[visual]") {
  std::vector<std::string> nodes{node("start", "start")};
  std::vector<std::string> edges{edge("start", "next", "n0")};
  constexpr int kCount = 5000;
  for (int i = 0; i < kCount; ++i) {
    nodes.push_back(node("n" + std::to_string(i), "message", say("Step")));
    if (i + 1 < kCount) {
      edges.push_back(edge("n" + std::to_string(i), "next", "n" + std::to_string(i + 1)));
    }
  }
  auto p = read_visual(visual_file(nodes, edges));
  REQUIRE(described(*p).empty());
  CHECK(p->module.flows[0].steps.size() == kCount);
}
