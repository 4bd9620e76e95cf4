// Tests of the control-flow graph: the edges build_cfg draws for each kind of step.

#include "compiler/checks/cfg.h"

#include <string>

#include <catch2/catch.hpp>

#include "compiler/frontend.h"

namespace {

using waflow::checks::Cfg;
using waflow::checks::CfgEdge;
using waflow::checks::EdgeKind;
using waflow::checks::Wait;

struct Parsed {
  waflow::SourceManager sources;
  waflow::Diagnostics diags;
  waflow::ir::Module module;
};

void parse_into(Parsed& p, const std::string& text) {
  const waflow::FileId id = p.sources.add("cfg.wf", text);
  p.module = waflow::parse_dsl(p.sources, id, p.diags);
  REQUIRE(p.module.flows.size() == 1);
  waflow::assign_step_ids(p.module.flows[0]);
}

// The node of the step labelled or derived as `id`.
std::size_t node(const Cfg& cfg, const std::string& id) {
  for (std::size_t i = 2; i < cfg.nodes.size(); ++i) {
    if (cfg.nodes[i].step->id == id) {
      return i;
    }
  }
  FAIL("no step " << id);
  return Cfg::kNone;
}

// The edge from `from` to `to`, or null.
const CfgEdge* edge(const Cfg& cfg, std::size_t from, std::size_t to) {
  for (const CfgEdge& e : cfg.nodes[from].successors) {
    if (e.to == to) {
      return &e;
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE("cfg: steps fall through and the flow's end goes to the exit", "[checks][cfg]") {
  Parsed p;
  parse_into(p,
             "flow a\n"
             "  label one\n"
             "  say \"1\"\n"
             "  label two\n"
             "  say \"2\"\n");
  const Cfg cfg = waflow::checks::build_cfg(p.module.flows[0]);
  REQUIRE(cfg.nodes.size() == 4);
  const std::size_t one = node(cfg, "one");
  const std::size_t two = node(cfg, "two");
  REQUIRE(edge(cfg, Cfg::kEntry, one) != nullptr);
  REQUIRE(edge(cfg, one, two) != nullptr);
  CHECK(edge(cfg, one, two)->kind == EdgeKind::Next);
  REQUIRE(edge(cfg, two, Cfg::kExit) != nullptr);
  CHECK(cfg.nodes[two].successors.size() == 1);
}

TEST_CASE("cfg: an empty flow goes from entry to exit", "[checks][cfg]") {
  Parsed p;
  parse_into(p, "flow a\n  trigger any\n");
  const Cfg cfg = waflow::checks::build_cfg(p.module.flows[0]);
  REQUIRE(cfg.nodes.size() == 2);
  CHECK(edge(cfg, Cfg::kEntry, Cfg::kExit) != nullptr);
}

TEST_CASE("cfg: an ask has reply, invalid and timeout exits that wait", "[checks][cfg]") {
  Parsed p;
  parse_into(p,
             "flow a\n"
             "  label q\n"
             "  ask n: number \"How many?\"\n"
             "    on invalid retry 2\n"
             "      label bad\n"
             "      say \"Never mind.\"\n"
             "    on timeout 1h\n"
             "      label late\n"
             "      end\n"
             "  label after\n"
             "  say \"Thanks\"\n");
  const Cfg cfg = waflow::checks::build_cfg(p.module.flows[0]);
  const std::size_t q = node(cfg, "q");
  const std::size_t bad = node(cfg, "bad");
  const std::size_t late = node(cfg, "late");
  const std::size_t after = node(cfg, "after");
  REQUIRE(edge(cfg, q, after) != nullptr);
  CHECK(edge(cfg, q, after)->kind == EdgeKind::Reply);
  CHECK(edge(cfg, q, after)->wait == Wait::User);
  REQUIRE(edge(cfg, q, bad) != nullptr);
  CHECK(edge(cfg, q, bad)->kind == EdgeKind::Invalid);
  CHECK(edge(cfg, q, bad)->wait == Wait::User);
  REQUIRE(edge(cfg, q, late) != nullptr);
  CHECK(edge(cfg, q, late)->kind == EdgeKind::Timeout);
  CHECK(edge(cfg, q, late)->wait == Wait::Clock);
  CHECK(edge(cfg, q, late)->wait_ms == 3600000);
  // The end of the invalid block continues after the ask; `end` goes to the exit.
  CHECK(edge(cfg, bad, after) != nullptr);
  REQUIRE(edge(cfg, late, Cfg::kExit) != nullptr);
  CHECK(edge(cfg, late, Cfg::kExit)->kind == EdgeKind::End);
  CHECK(cfg.nodes[late].successors.size() == 1);
}

TEST_CASE("cfg: an invalid exit without a retry limit has no edge", "[checks][cfg]") {
  Parsed p;
  parse_into(p,
             "flow a\n"
             "  label q\n"
             "  ask n: number \"How many?\"\n"
             "    on invalid\n"
             "      label bad\n"
             "      say \"Never mind.\"\n");
  const Cfg cfg = waflow::checks::build_cfg(p.module.flows[0]);
  const std::size_t q = node(cfg, "q");
  const std::size_t bad = node(cfg, "bad");
  CHECK(edge(cfg, q, bad) == nullptr);
  CHECK_FALSE(waflow::checks::reachable_from(cfg)[bad]);
  // The block still has its own edges.
  CHECK(edge(cfg, bad, Cfg::kExit) != nullptr);
}

TEST_CASE("cfg: an if without else also falls through", "[checks][cfg]") {
  Parsed p;
  parse_into(p,
             "flow a\n"
             "  label test\n"
             "  if 1 > 2\n"
             "    label yes\n"
             "    say \"yes\"\n"
             "  elif 2 > 1\n"
             "    label maybe\n"
             "    say \"maybe\"\n"
             "  label after\n"
             "  say \"after\"\n");
  const Cfg cfg = waflow::checks::build_cfg(p.module.flows[0]);
  const std::size_t test = node(cfg, "test");
  const std::size_t after = node(cfg, "after");
  CHECK(edge(cfg, test, node(cfg, "yes"))->kind == EdgeKind::Branch);
  CHECK(edge(cfg, test, node(cfg, "maybe"))->kind == EdgeKind::Branch);
  REQUIRE(edge(cfg, test, after) != nullptr);
  CHECK(edge(cfg, test, after)->kind == EdgeKind::NoMatch);
  CHECK(edge(cfg, node(cfg, "yes"), after) != nullptr);
  CHECK(edge(cfg, node(cfg, "maybe"), after) != nullptr);
}

TEST_CASE("cfg: an if with else does not fall through", "[checks][cfg]") {
  Parsed p;
  parse_into(p,
             "flow a\n"
             "  label test\n"
             "  if 1 > 2\n"
             "    end\n"
             "  else\n"
             "    end\n"
             "  label after\n"
             "  say \"after\"\n");
  const Cfg cfg = waflow::checks::build_cfg(p.module.flows[0]);
  CHECK(cfg.nodes[node(cfg, "test")].successors.size() == 2);
  CHECK_FALSE(waflow::checks::reachable_from(cfg)[node(cfg, "after")]);
}

TEST_CASE("cfg: match cases and classify intents branch", "[checks][cfg]") {
  Parsed p;
  parse_into(p,
             "flow a\n"
             "  label m\n"
             "  match 1\n"
             "    case 1\n"
             "      label c1\n"
             "      say \"one\"\n"
             "    else\n"
             "      label other\n"
             "      say \"other\"\n"
             "  label sort\n"
             "  ai classify topic\n"
             "    intent billing \"Money\"\n"
             "      label bill\n"
             "      say \"billing\"\n"
             "    intent empty \"Nothing to do\"\n"
             "    on error\n"
             "      label oops\n"
             "      end\n"
             "  label done\n"
             "  say \"done\"\n");
  const Cfg cfg = waflow::checks::build_cfg(p.module.flows[0]);
  const std::size_t m = node(cfg, "m");
  const std::size_t sort = node(cfg, "sort");
  const std::size_t done = node(cfg, "done");
  CHECK(cfg.nodes[m].successors.size() == 2);
  CHECK(edge(cfg, m, node(cfg, "c1"))->kind == EdgeKind::Branch);
  CHECK(edge(cfg, m, node(cfg, "other"))->kind == EdgeKind::Branch);
  CHECK(edge(cfg, node(cfg, "c1"), sort) != nullptr);
  CHECK(edge(cfg, sort, node(cfg, "bill"))->kind == EdgeKind::Branch);
  CHECK(edge(cfg, sort, node(cfg, "oops"))->kind == EdgeKind::Error);
  // The empty intent and the missing `other` both lead on to `done`.
  int to_done = 0;
  for (const CfgEdge& e : cfg.nodes[sort].successors) {
    if (e.to == done) {
      ++to_done;
    }
  }
  CHECK(to_done == 2);
}

TEST_CASE("cfg: goto jumps to its target, delay waits for the clock", "[checks][cfg]") {
  Parsed p;
  parse_into(p,
             "flow a\n"
             "  label top\n"
             "  delay 5m\n"
             "  label jump\n"
             "  goto top\n"
             "  label never\n"
             "  say \"never\"\n");
  const Cfg cfg = waflow::checks::build_cfg(p.module.flows[0]);
  const std::size_t top = node(cfg, "top");
  const std::size_t jump = node(cfg, "jump");
  REQUIRE(edge(cfg, jump, top) != nullptr);
  CHECK(edge(cfg, jump, top)->kind == EdgeKind::Goto);
  CHECK(cfg.nodes[jump].successors.size() == 1);
  CHECK(edge(cfg, top, jump)->wait == Wait::Clock);
  CHECK(edge(cfg, top, jump)->wait_ms == 300000);
  const auto seen = waflow::checks::reachable_from(cfg);
  CHECK_FALSE(seen[node(cfg, "never")]);
  CHECK_FALSE(seen[Cfg::kExit]);
  const auto preds = cfg.predecessors();
  CHECK(preds[top] == std::vector<std::size_t>{Cfg::kEntry, jump});
}

TEST_CASE("cfg: http error exits and ai extract re-asks", "[checks][cfg]") {
  Parsed p;
  parse_into(p,
             "flow a\n"
             "  label get\n"
             "  http r = GET \"https://example.com\"\n"
             "    on error\n"
             "  label pull\n"
             "  ai extract order\n"
             "    field size: number\n"
             "    on invalid retry 1\n"
             "      label giveup\n"
             "      return\n"
             "  label last\n"
             "  say \"ok\"\n");
  REQUIRE(p.diags.all().empty());
  const Cfg cfg = waflow::checks::build_cfg(p.module.flows[0]);
  const std::size_t get = node(cfg, "get");
  const std::size_t pull = node(cfg, "pull");
  const std::size_t last = node(cfg, "last");
  // An empty `on error` goes on after the http step, as an Error edge.
  REQUIRE(cfg.nodes[get].successors.size() == 2);
  CHECK(cfg.nodes[get].successors[0].kind == EdgeKind::Next);
  CHECK(cfg.nodes[get].successors[1].kind == EdgeKind::Error);
  CHECK(cfg.nodes[get].successors[1].to == pull);
  CHECK(cfg.nodes[pull].may_wait_for_user);
  CHECK(edge(cfg, pull, last)->wait == Wait::None);
  CHECK(edge(cfg, pull, node(cfg, "giveup"))->kind == EdgeKind::Invalid);
  CHECK(edge(cfg, node(cfg, "giveup"), Cfg::kExit)->kind == EdgeKind::End);
}

TEST_CASE("cfg: an AI step with a buffer waits for the clock", "[checks][cfg]") {
  Parsed p;
  parse_into(p,
             "flow a\n"
             "  label talk\n"
             "  ai reply\n"
             "    buffer 4s\n"
             "    on error\n"
             "      label oops\n"
             "      end\n"
             "  goto talk\n");
  const Cfg cfg = waflow::checks::build_cfg(p.module.flows[0]);
  const std::size_t talk = node(cfg, "talk");
  REQUIRE(cfg.nodes[talk].successors.size() == 2);
  for (const CfgEdge& e : cfg.nodes[talk].successors) {
    CHECK(e.wait == Wait::Clock);
    CHECK(e.wait_ms == 4000);
  }
}
