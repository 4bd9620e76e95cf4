#include <catch2/catch.hpp>

#include "compiler/dsl/expr_parser.h"
#include "compiler/frontend.h"

namespace {

waflow::ir::Module parse(const std::string& text, waflow::Diagnostics& diags,
                         waflow::SourceManager& sources) {
  const waflow::FileId id = sources.add("test.wf", text);
  return waflow::parse_dsl(sources, id, diags);
}

}  // namespace

TEST_CASE("expressions print back in canonical form", "[dsl]") {
  waflow::Diagnostics diags;
  auto e = waflow::dsl::parse_expression("lower(trim( x ))=='yes' and not (a or b)",
                                         waflow::SourceSpan{0, 0, 0}, diags);
  REQUIRE(e);
  CHECK(diags.all().empty());
  CHECK(waflow::dsl::print_expression(*e) == "lower(trim(x)) == \"yes\" and not (a or b)");
}

TEST_CASE("a flow with say and ask lowers to the IR", "[dsl]") {
  waflow::Diagnostics diags;
  waflow::SourceManager sources;
  auto module = parse(
      "flow pizza \"Pizza\"\n"
      "  trigger keyword \"hi\"\n"
      "  say \"Hello {{contact.name}}\"\n"
      "  ask choice \"What?\"\n"
      "    button a \"A\"\n"
      "    button b \"B\"\n",
      diags, sources);
  CHECK(diags.all().empty());
  REQUIRE(module.flows.size() == 1);
  const auto& flow = module.flows[0];
  CHECK(flow.name == "pizza");
  REQUIRE(flow.steps.size() == 2);
  const auto* ask = std::get_if<waflow::ir::AskStep>(&flow.steps[1].body);
  REQUIRE(ask != nullptr);
  CHECK(ask->type == waflow::ir::CaptureType::Choice);
  CHECK(ask->options.buttons.size() == 2);
}

TEST_CASE("a syntax error says what was expected", "[dsl]") {
  waflow::Diagnostics diags;
  waflow::SourceManager sources;
  parse("flow a\n  say\n", diags, sources);
  REQUIRE(diags.all().size() == 1);
  CHECK(diags.all()[0].message == "syntax error: expected a space");
}
