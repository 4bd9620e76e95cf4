// Helpers of the host tests (see helpers.h).

#include "tests/host/helpers.h"

#include <catch2/catch.hpp>

#include "compiler/checks/checks.h"
#include "compiler/codegen/codegen.h"
#include "compiler/frontend.h"

namespace waflow::host::testing {

bytecode::Bundle compile(const std::string& text) {
  SourceManager sources;
  Diagnostics diags;
  const FileId id = sources.add("t.wf", text);
  ir::Project project;
  project.modules.push_back(parse_dsl(sources, id, diags));
  assign_step_ids(project);
  check_project(project, sources, diags);
  for (const Diagnostic& d : diags.all()) {
    INFO(d.message);
    REQUIRE(d.severity != Severity::Error);
  }
  auto loaded =
      bytecode::load_bundle(bytecode::write_bundle(generate_bundle(project, sources, "test")));
  INFO((loaded ? std::string() : loaded.error().message));
  REQUIRE(loaded.ok());
  return std::move(loaded).value();
}

std::vector<std::string> sent(const Session& session, std::size_t from) {
  std::vector<std::string> texts;
  const auto& events = session.events();
  for (std::size_t i = from; i < events.size(); ++i) {
    const Event& e = events[i];
    if (e.kind == EventKind::Effect && e.effect == bytecode::EffectKind::Send) {
      const vm::Value* text = e.payload.field("text");
      texts.push_back(text != nullptr ? text->to_text() : "");
    }
  }
  return texts;
}

vm::Value tap(const std::string& id, const std::string& title) {
  return vm::Value::object({{"type", vm::Value::text("button")},
                            {"payload", vm::Value::text(id)},
                            {"text", vm::Value::text(title)}},
                           vm::Tag::Message);
}

}  // namespace waflow::host::testing
