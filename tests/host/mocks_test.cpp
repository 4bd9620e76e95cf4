// Mock answers: which mock answers a call (the latest that fits), the answers'
// shapes, extraction completed with typed validation, generated store ids, and
// the problems reported for calls no mock answers.

#include "runtime/host/mocks.h"

#include <catch2/catch.hpp>

namespace {

using namespace waflow;        // NOLINT(google-build-using-namespace)
using namespace waflow::host;  // NOLINT(google-build-using-namespace)
using bytecode::EffectKind;
using vm::Value;

Request request(EffectKind kind, Value payload, const std::string& step = "s") {
  Request r;
  r.kind = kind;
  r.payload = std::move(payload);
  r.step = step;
  r.flow = "f";
  return r;
}

Value field(const std::string& name, const std::string& type, bool optional = false) {
  return Value::object({{"name", Value::text(name)},
                        {"type", Value::text(type)},
                        {"description", Value::text("the " + name)},
                        {"optional", Value::boolean(optional)}});
}

}  // namespace

TEST_CASE("host mocks: the latest mock that fits answers", "[host][mocks]") {
  MockResponder mocks;
  Mock any;
  any.reply = "general";
  mocks.add(any);
  Mock specific;
  specific.step = "greet";
  specific.reply = "specific";
  mocks.add(specific);
  Mock classify;
  classify.intent = "billing";
  mocks.add(classify);
  CHECK(mocks.answer(request(EffectKind::AiReply, Value::object({}), "greet"))
            .field("text")
            ->to_text() == "specific");
  CHECK(mocks.answer(request(EffectKind::AiReply, Value::object({}), "other"))
            .field("text")
            ->to_text() == "general");
  Mock by_prompt;
  by_prompt.pattern = "refund";
  by_prompt.error = "model down";
  mocks.add(by_prompt);
  const Value failed = mocks.answer(request(
      EffectKind::AiReply, Value::object({{"prompt", Value::text("I want a refund")}}), "greet"));
  CHECK_FALSE(failed.field("ok")->truthy());
  CHECK(failed.field("error")->to_text() == "model down");
  CHECK(mocks.take_problems().empty());
}

TEST_CASE("host mocks: classification names an intent of the step", "[host][mocks]") {
  MockResponder mocks;
  Mock m;
  m.intent = "billing";
  m.line = 7;
  mocks.add(m);
  const Value intents = Value::list({Value::object({{"name", Value::text("billing")}}),
                                     Value::object({{"name", Value::text("tech")}})});
  const Value payload = Value::object({{"intents", intents}});
  CHECK(mocks.answer(request(EffectKind::AiClassify, payload)).field("intent")->to_text() ==
        "billing");
  m.intent = "biling";
  mocks.add(m);
  CHECK(mocks.answer(request(EffectKind::AiClassify, payload)).field("intent")->to_text().empty());
  const auto problems = mocks.take_problems();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] ==
        "the ai mock (line 7) gives the intent 'biling', which step 's' of flow 'f' does not have "
        "(billing, tech, or other)");
}

TEST_CASE("host mocks: extraction validates each field like an ask", "[host][mocks]") {
  const Value fields = Value::list({field("name", "text"), field("seats", "number"),
                                    field("email", "email"), field("phone", "phone", true)});
  const Value payload = Value::object({{"fields", fields}});
  MockResponder mocks;
  Mock m;
  m.extract = Value::object({{"name", Value::text("Ana")},
                             {"seats", Value::text("12")},
                             {"email", Value::text("ANA@Example.com")}});
  mocks.add(m);
  Value answer = mocks.answer(request(EffectKind::AiExtract, payload));
  REQUIRE(answer.field("complete")->truthy());
  const Value* value = answer.field("value");
  CHECK(value->field("seats")->as_number() == 12);
  CHECK(value->field("email")->to_text() == "ana@example.com");
  CHECK(value->field("phone")->is_null());
  m.extract = Value::object({{"name", Value::text("Ana")}, {"seats", Value::text("a dozen")}});
  mocks.add(m);
  answer = mocks.answer(request(EffectKind::AiExtract, payload));
  CHECK_FALSE(answer.field("complete")->truthy());
  CHECK(answer.field("question")->to_text() == "Could you tell me: the seats?");
  Mock ask;
  ask.question = "How many people will use it?";
  mocks.add(ask);
  answer = mocks.answer(request(EffectKind::AiExtract, payload));
  CHECK(answer.field("question")->to_text() == "How many people will use it?");
}

TEST_CASE("host mocks: http answers by URL and method, stores get ids", "[host][mocks]") {
  MockResponder mocks;
  Mock ok;
  ok.kind = Mock::Kind::Http;
  ok.pattern = "/orders/";
  ok.method = "get";
  ok.body = Value::object({{"status", Value::text("shipped")}});
  mocks.add(ok);
  Mock down;
  down.kind = Mock::Kind::Http;
  down.pattern = "/orders/9";
  down.status = 503;
  mocks.add(down);
  auto http = [](const std::string& method, const std::string& url) {
    return request(EffectKind::Http,
                   Value::object({{"method", Value::text(method)}, {"url", Value::text(url)}}));
  };
  Value answer = mocks.answer(http("GET", "https://shop.example.com/orders/1"));
  CHECK(answer.field("ok")->truthy());
  CHECK(answer.field("status")->as_number() == 200);
  CHECK(answer.field("body")->field("status")->to_text() == "shipped");
  answer = mocks.answer(http("GET", "https://shop.example.com/orders/9"));
  CHECK_FALSE(answer.field("ok")->truthy());
  CHECK(answer.field("status")->as_number() == 503);
  CHECK(mocks.take_problems().empty());
  answer = mocks.answer(http("POST", "https://shop.example.com/orders/1"));
  CHECK_FALSE(answer.field("ok")->truthy());
  CHECK(mocks.take_problems().size() == 1);

  const Value store =
      Value::object({{"collection", Value::text("orders")}, {"record", Value::object({})}});
  CHECK(mocks.answer(request(EffectKind::StoreRecord, store)).field("id")->to_text() == "orders-1");
  CHECK(mocks.answer(request(EffectKind::StoreRecord, store)).field("id")->to_text() == "orders-2");
  CHECK(mocks.stored().size() == 2);
}

TEST_CASE("host mocks: calls without a mock are problems with a suggestion", "[host][mocks]") {
  MockResponder mocks;
  const Value answer = mocks.answer(request(EffectKind::AiReply, Value::object({}), "ai_reply_1"));
  CHECK(answer.field("ok")->truthy());
  const auto problems = mocks.take_problems();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] ==
        "no mock answers the ai reply step 'ai_reply_1' of flow 'f'; add one such as: - ai: "
        "{step: ai_reply_1, reply: \"...\"}");
  CHECK(mocks.take_problems().empty());
}
