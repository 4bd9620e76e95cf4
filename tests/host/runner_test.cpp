// The transcript runner: a passing conversation, the failure report (line,
// message, diff, conversation so far), strictness about unexpected messages,
// missing mocks and run failures, value matching, and coverage through calls.

#include "runtime/host/runner.h"

#include <catch2/catch.hpp>

#include "tests/host/helpers.h"

namespace {

using namespace waflow;        // NOLINT(google-build-using-namespace)
using namespace waflow::host;  // NOLINT(google-build-using-namespace)
using vm::Value;

const char* kShop = R"wf(flow shop
  trigger keyword "shop"
  say "Hi {{contact.name}}!"
  ask conversation.size "Which size?"
    button s "Small"
    button l "Large"
    on invalid retry 1
      end
    on timeout 1h
      say "Bye."
      end
  call price
  http stock = GET "https://shop.example.com/stock/{{conversation.size.id}}"
    map units = "$.units"
    on error
      say "No stock service."
      end
  say "{{conversation.price}} EUR, {{stock.units}} left."
  set ratio = 1 / stock.units
  say "ratio {{ratio}}"

flow price
  if conversation.size.id == "l"
    set conversation.price = 12
  else
    set conversation.price = 9
)wf";

TestOutcome run(const bytecode::Bundle& bundle, const std::string& yaml,
                CoverageRecorder* coverage = nullptr) {
  const TranscriptParse p = parse_transcript(yaml);
  REQUIRE(p.errors.empty());
  REQUIRE(p.transcript.tests.size() == 1);
  return run_test(bundle, p.transcript, p.transcript.tests[0], coverage);
}

}  // namespace

TEST_CASE("host runner: a conversation that goes as written passes", "[host][runner]") {
  const bytecode::Bundle bundle = testing::compile(kShop);
  CoverageRecorder coverage;
  const TestOutcome o = run(bundle, R"(tests:
  - name: large
    contact: {name: Ada}
    mocks:
      - http: {url: "/stock/l", body: {units: 4}}
    steps:
      - user: shop
      - expect: Hi Ada!
      - expect: {text: "Which size?", buttons: [Small, Large]}
      - tap: large
      - expect: 12 EUR, 4 left.
      - expect: ratio 0.25
      - end: true
      - vars: {conversation.size: l, conversation.size.title: Large, conversation.price: 12, ratio: 0.25, units: ~}
)",
                            &coverage);
  INFO(o.message);
  CHECK(o.passed);
  const FlowCoverage& shop = coverage.flows().at("shop");
  CHECK(shop.steps.count("call_1") == 1);
  // The call's edge goes to the step after it; the callee's steps are its own.
  CHECK(shop.edges.count({"call_1", "http_stock"}) == 1);
  CHECK(shop.edges.count({"say_5", ""}) == 1);
  const FlowCoverage& price = coverage.flows().at("price");
  CHECK(price.steps == std::set<std::string>{"if_1", "set_1"});
  CHECK(price.edges.count({"set_1", ""}) == 1);
}

TEST_CASE("host runner: a different message fails with a diff and the conversation",
          "[host][runner]") {
  const bytecode::Bundle bundle = testing::compile(kShop);
  const TestOutcome o = run(bundle, R"(tests:
  - name: wrong
    steps:
      - user: shop
      - expect: Hi Ada!
)");
  CHECK_FALSE(o.passed);
  CHECK(o.line == 5);
  CHECK(o.message == "the bot's message differs");
  CHECK(o.expected == std::vector<std::string>{"Hi Ada!"});
  CHECK(o.actual == std::vector<std::string>{"Hi Test User!"});
  CHECK(o.transcript == std::vector<std::string>{"> shop", "  · flow shop starts",
                                                 "< Hi Test User!", "< Which size?",
                                                 "  [Small] [Large]"});
}

TEST_CASE("host runner: every message must be expected before the next action", "[host][runner]") {
  const bytecode::Bundle bundle = testing::compile(kShop);
  TestOutcome o = run(bundle, R"(tests:
  - name: skipped
    steps:
      - user: shop
      - expect: Hi Test User!
      - tap: Small
)");
  CHECK_FALSE(o.passed);
  CHECK(o.line == 6);
  CHECK(o.message == "the bot sent a message that no expect checks, before this step");
  CHECK(o.actual == std::vector<std::string>{"Which size?", "[Small] [Large]"});
  o = run(bundle, R"(tests:
  - name: at the end
    steps:
      - user: shop
      - expect: Hi Test User!
)");
  CHECK(o.message == "the bot sent a message that no expect checks, at the end of the test");
  o = run(bundle, R"(tests:
  - name: silence
    steps:
      - user: hello
      - expect_none
      - user: shop
      - expect_none
)");
  CHECK(o.line == 7);
  CHECK(o.message == "expected the bot to stay silent");
}

TEST_CASE("host runner: calls without mocks and run failures fail the test", "[host][runner]") {
  const bytecode::Bundle bundle = testing::compile(kShop);
  TestOutcome o = run(bundle, R"(tests:
  - name: no mock
    steps:
      - user: shop
      - expect: Hi Test User!
      - expect: Which size?
      - tap: Small
)");
  CHECK(o.line == 7);
  CHECK(o.message.find("no mock answers the http request GET https://shop.example.com/stock/s") ==
        0);
  const std::string zero = R"(tests:
  - name: zero units
    mocks:
      - http: {url: stock, body: {units: 0}}
    steps:
      - user: shop
      - expect: Hi Test User!
      - expect: Which size?
      - tap: Small
      - expect: 9 EUR, 0 left.
)";
  o = run(bundle, zero + "      - user: more\n");
  CHECK(o.line == 11);
  CHECK(o.message == "the run failed, before this step, and no failed: step expects it");
  CHECK(o.actual == std::vector<std::string>{"the run failed: division by zero"});
  o = run(bundle, zero + "      - failed: by zero\n      - end: true\n");
  CHECK(o.passed);
  o = run(bundle, R"(tests:
  - name: timeout
    steps:
      - user: shop
      - expect: Hi Test User!
      - expect: Which size?
      - advance: 59m
      - waiting: true
      - advance: 1m
      - expect: Bye.
      - end: true
      - tap: nope
)");
  CHECK(o.line == 12);
  CHECK(o.message == "no message the bot sent has a button or row 'nope'");
  CHECK(o.actual == std::vector<std::string>{"options of the last such message: Small, Large"});
}

namespace {

const char* kAssist = R"wf(flow assist
  trigger keyword "ask"
  ai reply
    prompt "First question"
    on error
      say "The model is down."
  ai reply
    prompt "Second question"
  http stock = GET "https://shop.example.com/stock"
    map units = "$.units"
    on error
      say "No stock."
      end
  say "{{stock.units}} left."
)wf";

// Real models as the runner sees them: a Responder that answers AI steps.
class FakeModels final : public Responder {
 public:
  bool down = false;
  std::vector<std::string> prompts;

  Value answer(const Request& request) override {
    const Value* prompt = request.payload.field("prompt");
    prompts.push_back(prompt != nullptr ? prompt->to_text() : "");
    if (down) {
      return Value::object({{"ok", Value::boolean(false)}, {"error", Value::text("down")}});
    }
    return Value::object(
        {{"ok", Value::boolean(true)}, {"text", Value::text("model: " + prompts.back())}});
  }
};

TestOutcome run_with(const bytecode::Bundle& bundle, const std::string& yaml, Responder& models,
                     bool defer = false) {
  const TranscriptParse p = parse_transcript(yaml);
  REQUIRE(p.errors.empty());
  REQUIRE(p.transcript.tests.size() == 1);
  RunOptions options;
  options.ai_fallback = &models;
  options.defer = defer;
  return run_test(bundle, p.transcript, p.transcript.tests[0], nullptr, options);
}

}  // namespace

TEST_CASE("host runner: an AI fallback answers the AI steps no mock answers", "[host][runner]") {
  const bytecode::Bundle bundle = testing::compile(kAssist);
  const std::string test = R"(tests:
  - name: models and mocks
    mocks:
      - ai: {prompt: Second, reply: From the mock.}
      - http: {url: stock, body: {units: 3}}
    steps:
      - user: ask
      - expect: "model: First question"
      - expect: From the mock.
      - expect: 3 left.
      - end: true
)";
  for (const bool defer : {false, true}) {
    FakeModels models;
    const TestOutcome o = run_with(bundle, test, models, defer);
    CHECK(o.passed);
    CHECK(o.message.empty());
    // The mock that fits the second step answers it: the models see only the first.
    CHECK(models.prompts == std::vector<std::string>{"First question"});
  }
  // A model that fails sends the step to its error exit, as on the server.
  FakeModels down;
  down.down = true;
  TestOutcome o = run_with(bundle, R"(tests:
  - name: the model is down
    mocks:
      - ai: {prompt: Second, reply: From the mock.}
      - http: {url: stock, body: {units: 3}}
    steps:
      - user: ask
      - expect: The model is down.
      - expect: From the mock.
      - expect: 3 left.
)",
                           down);
  CHECK(o.passed);
  // HTTP calls never go to the models: without their mock the test fails as before.
  FakeModels models;
  o = run_with(bundle, R"(tests:
  - name: no http mock
    steps:
      - user: ask
      - expect: "model: First question"
      - expect: "model: Second question"
)",
               models);
  CHECK_FALSE(o.passed);
  CHECK(o.line == 4);
  CHECK(o.message.find("no mock answers the http request GET https://shop.example.com/stock") == 0);
  CHECK(models.prompts == std::vector<std::string>{"First question", "Second question"});
}

TEST_CASE("host runner: values match as transcripts write them", "[host][runner]") {
  const Value choice =
      Value::object({{"id", Value::text("l")}, {"title", Value::text("Large")}}, vm::Tag::Choice);
  CHECK(value_matches(choice, Value::text("l")));
  CHECK(value_matches(choice, Value::text("Large")));
  CHECK_FALSE(value_matches(choice, Value::text("large")));
  CHECK(value_matches(Value::boolean(true), Value::text("yes")));
  CHECK(value_matches(Value::boolean(true), Value::boolean(true)));
  CHECK_FALSE(value_matches(Value::text("true"), Value::boolean(true)));
  CHECK(value_matches(Value::number(12), Value::number(12)));
  CHECK(value_matches(Value::number(12), Value::text("12")));
  CHECK(value_matches(Value::text("2025-06-14", vm::Tag::Date), Value::text("2025-06-14")));
  CHECK(value_matches(Value(), Value()));
  CHECK_FALSE(value_matches(Value::text(""), Value()));
  const Value lead = Value::object({{"name", Value::text("Ada")}, {"seats", Value::number(3)}});
  CHECK(value_matches(lead, Value::object({{"seats", Value::number(3)}})));
  CHECK_FALSE(value_matches(lead, Value::object({{"seats", Value::number(4)}})));
  CHECK(value_matches(Value::list({Value::text("a")}), Value::list({Value::text("a")})));
  CHECK_FALSE(value_matches(Value::list({Value::text("a")}), Value::list({})));
}
