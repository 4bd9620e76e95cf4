// Tests of the built-ins table (checks/builtins.h) and of its page,
// docs/functions.md, which must list every row of the table as it is.

#include "compiler/checks/builtins.h"

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

namespace builtins = waflow::builtins;

namespace {

std::string read_page() {
  std::ifstream in(std::string(WAFLOW_DOCS_DIR) + "/functions.md");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("builtins: names are unique and signatures match arities") {
  std::set<std::string_view> names;
  for (const builtins::Function& f : builtins::functions()) {
    CHECK(names.insert(f.name).second);
    CHECK(f.signature.substr(0, f.name.size() + 1) == std::string(f.name) + "(");
    CHECK(f.min_args >= 0);
    CHECK((f.max_args == builtins::kVariadic || f.max_args >= f.min_args));
    CHECK(!f.doc.empty());
  }
  CHECK(builtins::find_function("lower") != nullptr);
  CHECK(builtins::find_function("lowercase") == nullptr);
  CHECK(builtins::find_variable(waflow::ir::Scope::Contact, "phone")->type ==
        waflow::ir::ValueType::Text);
  CHECK(builtins::find_variable(waflow::ir::Scope::System, "now")->type ==
        waflow::ir::ValueType::DateTime);
  CHECK(builtins::find_variable(waflow::ir::Scope::Contact, "language") == nullptr);
}

TEST_CASE("builtins: arity text and parameter kinds") {
  const builtins::Function& min = *builtins::find_function("min");
  CHECK(builtins::arity_text(min) == "at least 2");
  CHECK(builtins::accepts_arity(min, 5));
  CHECK(builtins::param_kind(min, 4) == builtins::ArgKind::Number);
  const builtins::Function& substring = *builtins::find_function("substring");
  CHECK(builtins::arity_text(substring) == "2 or 3");
  CHECK(builtins::param_kind(substring, 0) == builtins::ArgKind::Text);
  CHECK(builtins::param_kind(substring, 2) == builtins::ArgKind::Number);
  CHECK(builtins::arity_text(*builtins::find_function("replace")) == "3");
  CHECK_FALSE(builtins::accepts_arity(*builtins::find_function("in_hours"), 1));
  CHECK(builtins::accepts(builtins::ArgKind::Time, waflow::ir::ValueType::DateTime));
  CHECK_FALSE(builtins::accepts(builtins::ArgKind::Text, waflow::ir::ValueType::Choice));
  CHECK(builtins::accepts(builtins::ArgKind::Number, waflow::ir::ValueType::Unknown));
}

TEST_CASE("builtins: docs/functions.md lists every function and variable as the table has it") {
  const std::string page = read_page();
  REQUIRE(!page.empty());
  for (const builtins::Function& f : builtins::functions()) {
    const std::string result = f.rule == builtins::ResultRule::SameAsFirst
                                   ? "the value's type"
                                   : waflow::ir::value_type_name(f.result);
    const std::string row =
        "| `" + std::string(f.signature) + "` | " + result + " | " + std::string(f.doc) + " |";
    CHECK(page.find(row) != std::string::npos);
  }
  for (const builtins::Variable& v : builtins::variables()) {
    const std::string name = waflow::ir::VarRef{v.scope, std::string(v.name), {}}.qualified();
    const std::string row = "| `" + name + "` | " + waflow::ir::value_type_name(v.type) + " | " +
                            std::string(v.doc) + " |";
    CHECK(page.find(row) != std::string::npos);
  }
}

TEST_CASE("builtins: every function has a bytecode id and every id a function") {
  // runtime/bytecode/functions.def numbers the functions for the bundle format.
  static const std::vector<std::string_view> kIds = {
#define WAFLOW_FUNCTION(name, text) text,
#include "runtime/bytecode/functions.def"
#undef WAFLOW_FUNCTION
  };
  std::set<std::string_view> ids(kIds.begin(), kIds.end());
  CHECK(ids.size() == kIds.size());
  std::set<std::string_view> table;
  for (const builtins::Function& f : builtins::functions()) {
    table.insert(f.name);
  }
  CHECK(ids == table);
}
