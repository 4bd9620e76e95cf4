// The VM runs compiled flows: the pizza conversation end to end, validation and
// re-prompts, timeouts, calls between flows, run-time errors, state round trips.

#include "runtime/vm/vm.h"

#include <catch2/catch.hpp>

#include "compiler/checks/checks.h"
#include "compiler/codegen/codegen.h"
#include "compiler/frontend.h"
#include "runtime/vm/triggers.h"

namespace {

using namespace waflow;  // NOLINT(google-build-using-namespace)
using vm::Value;

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
  auto bytes = bytecode::write_bundle(generate_bundle(project, sources, "test"));
  auto loaded = bytecode::load_bundle(bytes);
  INFO((loaded ? std::string() : loaded.error().message));
  REQUIRE(loaded.ok());
  return std::move(loaded).value();
}

Value text_message(const std::string& text) {
  return Value::object({{"type", Value::text("text")}, {"text", Value::text(text)}},
                       vm::Tag::Message);
}

Value button_tap(const std::string& id, const std::string& title) {
  return Value::object(
      {{"type", Value::text("button")}, {"payload", Value::text(id)}, {"text", Value::text(title)}},
      vm::Tag::Message);
}

// The texts the outcome sends, in order.
std::vector<std::string> sent(const vm::Outcome& out) {
  std::vector<std::string> texts;
  for (const vm::Effect& e : out.effects) {
    if (!e.wait && e.kind == bytecode::EffectKind::Send) {
      texts.push_back(e.payload.field("text")->to_text());
    }
  }
  return texts;
}

struct Run {
  const bytecode::Bundle& bundle;
  vm::Vm machine{bundle};
  vm::RunState state;
  vm::VarMap contact;
  vm::Context context;

  explicit Run(const bytecode::Bundle& b) : bundle(b) {
    context.contact =
        Value::object({{"name", Value::text("User 1")}, {"id", Value::text("15550000001")}});
  }
  vm::Outcome start(const std::string& text) {
    context.message = text_message(text);
    auto match = vm::match_trigger(bundle, context.message, false);
    REQUIRE(match);
    return machine.start(state, contact, match->flow, context);
  }
  vm::Outcome reply(const Value& message) {
    context.message = message;
    return machine.resume(state, contact, vm::Event{vm::EventKind::Message, message}, context);
  }
  vm::Outcome answer(const Value& value) {
    return machine.resume(state, contact, vm::Event{vm::EventKind::Answer, value}, context);
  }
  vm::Outcome timeout() {
    return machine.resume(state, contact, vm::Event{vm::EventKind::Timeout, {}}, context);
  }
};

const char* kPizza = R"wf(flow pizza "Pizza orders"
  trigger exact "hi"
  say "Welcome to Pizza Bot, {{contact.name}}!"
  ask choice "What would you like?"
    button margherita "Margherita"
    button pepperoni "Pepperoni"
    on invalid retry 2
      say "Let's start again."
      end
    on timeout 1d
      end
  ask address: text "Great choice: {{choice}}. What is your address?"
    on timeout 1d
      end
  ask confirm: text "Order for {{choice}} to {{address}}. Confirm? (yes/no)"
    on timeout 1d
      end
  if lower(trim(confirm)) == "yes"
    store order = orders {pizza: choice.title, address: address}
    say "Order placed! Reference: {{order.id}}"
  else
    say "Order cancelled."
)wf";

}  // namespace

TEST_CASE("vm: the pizza conversation runs end to end", "[vm]") {
  const bytecode::Bundle bundle = compile(kPizza);
  Run run(bundle);
  auto out = run.start("  HI ");
  CHECK(sent(out) ==
        std::vector<std::string>{"Welcome to Pizza Bot, User 1!", "What would you like?"});
  CHECK(out.status == vm::RunStatus::WaitingInput);
  CHECK(out.effects[1].payload.field("type")->to_text() == "buttons");
  CHECK(out.effects[1].payload.field("buttons")->as_list().size() == 2);
  out = run.reply(button_tap("pepperoni", "Pepperoni"));
  CHECK(sent(out) == std::vector<std::string>{"Great choice: Pepperoni. What is your address?"});
  out = run.reply(text_message(" 1 Baker Street, flat 2"));
  CHECK(sent(out) == std::vector<std::string>{
                         "Order for Pepperoni to  1 Baker Street, flat 2. Confirm? (yes/no)"});
  out = run.reply(text_message("yes"));
  REQUIRE(out.status == vm::RunStatus::Awaiting);
  REQUIRE(out.effects.back().kind == bytecode::EffectKind::StoreRecord);
  CHECK(out.effects.back().payload.field("record")->field("pizza")->to_text() == "Pepperoni");
  out = run.answer(Value::object({{"ok", Value::boolean(true)}, {"id", Value::text("R-17")}}));
  CHECK(sent(out) == std::vector<std::string>{"Order placed! Reference: R-17"});
  CHECK(out.status == vm::RunStatus::Ended);
}

TEST_CASE("vm: invalid answers re-prompt up to the retry limit, then take the exit", "[vm]") {
  const bytecode::Bundle bundle = compile(kPizza);
  Run run(bundle);
  run.start("hi");
  auto out = run.reply(text_message("pineapple"));
  CHECK(sent(out) == std::vector<std::string>{"What would you like?"});
  out = run.reply(text_message("2"));
  CHECK(sent(out) == std::vector<std::string>{"Great choice: Pepperoni. What is your address?"});
  Run again(bundle);
  again.start("hi");
  again.reply(text_message("x"));
  again.reply(text_message("y"));
  out = again.reply(text_message("z"));
  CHECK(sent(out) == std::vector<std::string>{"Let's start again."});
  CHECK(out.status == vm::RunStatus::Ended);
}

TEST_CASE("vm: a timeout takes the timeout exit", "[vm]") {
  const bytecode::Bundle bundle = compile(kPizza);
  Run run(bundle);
  auto out = run.start("hi");
  REQUIRE(out.effects.back().wait);
  CHECK(out.effects.back().payload.field("timeout_ms")->as_number() == 86400000);
  out = run.timeout();
  CHECK(out.status == vm::RunStatus::Ended);
  CHECK(sent(out).empty());
}

TEST_CASE("vm: state survives a serialization round trip mid-conversation", "[vm]") {
  const bytecode::Bundle bundle = compile(kPizza);
  Run run(bundle);
  run.start("hi");
  run.reply(button_tap("margherita", "Margherita"));
  run.reply(text_message("221B Baker Street"));
  const std::string blob = vm::serialize_state(run.state);
  CHECK(blob.size() < 1024);
  auto restored = vm::deserialize_state(blob);
  REQUIRE(restored.ok());
  CHECK(restored.value() == run.state);
  run.state = restored.value();
  auto out = run.reply(text_message("no"));
  CHECK(sent(out) == std::vector<std::string>{"Order cancelled."});
  CHECK_FALSE(vm::deserialize_state(blob.substr(0, blob.size() - 3)).ok());
  CHECK_FALSE(vm::deserialize_state("garbage").ok());
}

TEST_CASE("vm: calls return to the caller and run-time errors name the source line", "[vm]") {
  const bytecode::Bundle bundle = compile(R"wf(flow main
  trigger keyword "go"
  call helper
  say "back, n={{conversation.n}}"
  set total = conversation.n / 0
  say "unreachable {{total}}"

flow helper
  set conversation.n = 5
  return
)wf");
  Run run(bundle);
  auto out = run.start("go now");
  CHECK(sent(out) == std::vector<std::string>{"back, n=5"});
  CHECK(out.status == vm::RunStatus::Failed);
  CHECK(out.error.message == "division by zero");
  CHECK(out.error.line == 5);
  CHECK(out.error.step == "set_1");
}

TEST_CASE("vm: triggers pick by priority, then specificity", "[vm]") {
  const bytecode::Bundle bundle = compile(R"wf(flow fallback
  trigger any
  say "fallback"
flow orders
  trigger keyword "order"
  say "orders"
flow status
  trigger keyword "order status" priority 5
  say "status"
flow welcome
  trigger first_contact
  say "welcome"
)wf");
  auto pick = [&](const std::string& text, bool first) {
    auto m = vm::match_trigger(bundle, text_message(text), first);
    REQUIRE(m);
    return bundle.str(bundle.flows[m->flow].name);
  };
  CHECK(pick("hello", false) == "fallback");
  CHECK(pick("I want to ORDER pizza", false) == "orders");
  CHECK(pick("order status please", false) == "status");
  CHECK(pick("reorder", false) == "fallback");
  CHECK(pick("hello", true) == "welcome");
}

TEST_CASE("vm: dates and times read in the business time zone", "[vm]") {
  const bytecode::Bundle bundle = compile(R"wf(timezone "Europe/Madrid"
hours mon-fri 09:00-17:00

flow clock
  trigger keyword "time"
  say "{{format_date(now, 'dddd DD MMMM, HH:mm')}} day {{weekday(today)}} open {{in_hours()}}"
  say "{{format_date(today, 'DD/MM/YYYY')}} {{is_empty('')}} {{is_empty(' ')}}"
)wf");
  Run run(bundle);
  // 2025-03-03 13:05 UTC is 14:05 in Madrid (UTC+1 in winter).
  run.context.now_ms = 1741007100000;
  run.context.tz_offset_ms = 3600000;
  auto out = run.start("time");
  CHECK(sent(out) ==
        std::vector<std::string>{"Monday 03 March, 14:05 day 1 open yes", "03/03/2025 yes no"});
  run.context.now_ms += 4 * 3600000;
  out = run.start("time");
  CHECK(sent(out)[0] == "Monday 03 March, 18:05 day 1 open no");
}
