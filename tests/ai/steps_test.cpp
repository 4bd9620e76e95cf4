// AI steps at run time (adapters/ai/steps.h): the chat request each effect's payload becomes,
// the VM's answers, and whole steps through the real router and HTTP client against a scripted
// OpenAI-compatible provider and a tool server on 127.0.0.1 (the tool loop and its bound).
// Every wait is bounded; nothing asserts on speed.

#include "adapters/ai/steps.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/http/server.h"

namespace {

using namespace waflow::ai;  // NOLINT(google-build-using-namespace)
namespace http = waflow::http;
using Json = nlohmann::json;

Json row(const std::string& effect, Json request, Json history = Json::array(),
         const std::string& input = "I want 3 seats") {
  return {{"id", "run1:0"},
          {"effect", effect},
          {"flow", "lead"},
          {"step", "s1"},
          {"input", input},
          {"request", std::move(request)},
          {"history", std::move(history)},
          {"now_ms", 1736154000000},
          {"tz_offset_ms", 3600000}};
}

StepCall read(const Json& payload, const StepOptions& options = {}, const std::string& dflt = {}) {
  AiResult<StepCall> r = read_step(payload.dump(), options, dflt);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return r.value();
}

TEST_CASE("ai_reply: system, history, the input as the last user turn, options") {
  const Json payload = row("ai_reply",
                           {{"model", "openai/mini"},
                            {"fallbacks", {"groq/llama"}},
                            {"system", "Be brief."},
                            {"temperature", 0.3},
                            {"max_tokens", 400},
                            {"history", 2},
                            {"timeout_ms", 20000}},
                           {{{"role", "user"}, {"text", "hello"}},
                            {{"role", "assistant"}, {"text", "Hi! How can I help?"}}},
                           "Do you sell bikes?");
  const StepCall c = read(payload);
  CHECK(c.effect == "ai_reply");
  CHECK(c.flow == "lead");
  CHECK(c.step == "s1");
  CHECK(c.model == "openai/mini");
  CHECK(c.fallbacks == std::vector<std::string>{"groq/llama"});
  CHECK(c.timeout_ms == 20000);
  CHECK(c.request.system == "Be brief.");
  REQUIRE(c.request.temperature);
  CHECK(*c.request.temperature == Approx(0.3));
  CHECK(c.request.max_tokens == std::optional<std::int64_t>(400));
  REQUIRE(c.request.messages.size() == 3);
  CHECK(c.request.messages[0].role == Role::User);
  CHECK(c.request.messages[0].text == "hello");
  CHECK(c.request.messages[1].role == Role::Assistant);
  CHECK(c.request.messages[2].role == Role::User);
  CHECK(c.request.messages[2].text == "Do you sell bikes?");
  CHECK_FALSE(c.request.output);
  CHECK(c.request.tools.empty());
}

TEST_CASE("ai_reply: the prompt replaces the input, the default model and timeout apply") {
  StepOptions o;
  o.default_model = "config/default";
  o.timeout_ms = 45000;
  const StepCall a = read(row("ai_reply", {{"prompt", "Summarise: it broke"}}), o);
  CHECK(a.model == "config/default");
  CHECK(a.timeout_ms == 45000);
  CHECK(a.request.messages.back().text == "Summarise: it broke");
  // A device's default comes before the config's.
  const StepCall b = read(row("ai_reply", Json::object()), o, "device/model");
  CHECK(b.model == "device/model");
  const StepCall c = read(row("ai_reply", Json::object()));
  CHECK(c.model.empty());
}

TEST_CASE("ai_extract: a strict schema of the fields and the follow-up instruction") {
  const Json fields = {
      {{"name", "name"}, {"type", "text"}, {"description", "Full name"}, {"optional", false}},
      {{"name", "seats"}, {"type", "number"}, {"description", "Seats"}, {"optional", false}},
      {{"name", "phone"}, {"type", "phone"}, {"description", ""}, {"optional", true}}};
  const StepCall c = read(row("ai_extract", {{"system", "Never invent."}, {"fields", fields}}));
  REQUIRE(c.request.output);
  CHECK(c.request.output->strict);
  const Json schema = Json::parse(c.request.output->schema);
  CHECK(schema["required"] == Json({"complete", "value", "question"}));
  const Json value = schema["properties"]["value"];
  CHECK(value["required"] == Json({"name", "seats", "phone"}));
  CHECK(value["additionalProperties"] == false);
  CHECK(value["properties"]["seats"]["type"] == Json({"number", "null"}));
  CHECK(value["properties"]["phone"]["type"] == Json({"string", "null"}));
  CHECK(schema["properties"]["question"]["type"] == Json({"string", "null"}));
  CHECK(c.request.system.rfind("Never invent.\n\n", 0) == 0);
  CHECK(c.request.system.find("question") != std::string::npos);
  CHECK(c.request.system.find("- phone: (phone) (optional)") != std::string::npos);
  CHECK(Json::parse(c.fields) == fields);
  CHECK(c.now_ms == 1736154000000);
  CHECK(c.tz_offset_ms == 3600000);

  ChatResponse complete;
  complete.parsed =
      R"({"complete":true,"value":{"name":"Ana","seats":3,"phone":null},"question":null})";
  CHECK(Json::parse(step_answer(c, complete)) ==
        Json({{"ok", true},
              {"complete", true},
              {"value", {{"name", "Ana"}, {"seats", 3}, {"phone", nullptr}}},
              {"question", nullptr}}));
  ChatResponse follow_up;
  follow_up.parsed = R"({"complete":false,"value":{"name":"Ana","seats":null,"phone":null},)"
                     R"("question":"How many seats?"})";
  const Json a = Json::parse(step_answer(c, follow_up));
  CHECK(a["complete"] == false);
  CHECK(a["question"] == "How many seats?");
}

TEST_CASE("ai_classify: an enum of the intents plus other, other and strays answer \"\"") {
  const Json request = {{"input", "where is my parcel"},
                        {"prompt", "Route this message."},
                        {"intents",
                         {{{"name", "billing"}, {"description", "Invoices"}},
                          {{"name", "delivery"}, {"description", "Tracking"}}}}};
  const StepCall c = read(row("ai_classify", request, Json::array(), "ignored?"));
  REQUIRE(c.request.output);
  const Json schema = Json::parse(c.request.output->schema);
  CHECK(schema["properties"]["intent"]["enum"] == Json({"billing", "delivery", "other"}));
  CHECK(c.request.messages.back().text == "Route this message.\n\nwhere is my parcel");
  CHECK(c.request.system.find("- delivery: Tracking") != std::string::npos);

  ChatResponse r;
  r.parsed = R"({"intent":"delivery"})";
  CHECK(Json::parse(step_answer(c, r)) == Json({{"ok", true}, {"intent", "delivery"}}));
  r.parsed = R"({"intent":"other"})";
  CHECK(Json::parse(step_answer(c, r)) == Json({{"ok", true}, {"intent", ""}}));
  r.parsed = R"({"intent":"refunds"})";
  CHECK(Json::parse(step_answer(c, r)) == Json({{"ok", true}, {"intent", ""}}));
  r.parsed.clear();
  r.text = "delivery, I think";
  CHECK(Json::parse(step_answer(c, r))["ok"] == false);
}

TEST_CASE("tools: parameters become a JSON Schema, unreadable payloads are errors") {
  const Json tool = {
      {"name", "order_status"},
      {"description", "Look up an order"},
      {"method", "POST"},
      {"url", "http://shop/api/{{number}}"},
      {"params",
       {{{"name", "number"}, {"type", "text"}, {"description", "Order"}, {"optional", false}},
        {{"name", "email"}, {"type", "email"}, {"description", ""}, {"optional", true}}}},
      {"json", "{order: number}"},
      {"timeout_ms", 5000}};
  const StepCall c = read(row("ai_reply", {{"tools", {tool}}}));
  REQUIRE(c.request.tools.size() == 1);
  CHECK(c.request.tools[0].name == "order_status");
  const Json params = Json::parse(c.request.tools[0].parameters);
  CHECK(params["required"] == Json({"number"}));
  CHECK(params["properties"]["email"]["description"] == "(email)");
  REQUIRE(c.tools.size() == 1);
  CHECK(c.tools[0].timeout_ms == 5000);
  CHECK(c.tools[0].method == "POST");

  CHECK_FALSE(read_step("not json", {}).ok());
  CHECK_FALSE(read_step(R"({"effect":"ai_reply"})", {}).ok());
  CHECK_FALSE(read_step(row("http", Json::object()).dump(), {}).ok());
  CHECK_FALSE(read_step(row("ai_extract", Json::object()).dump(), {}).ok());
  CHECK(Json::parse(failure_answer("boom")) == Json({{"ok", false}, {"error", "boom"}}));
}

TEST_CASE("tool templates: placeholders, URL encoding and the json expressions") {
  std::string why;
  const std::string args = R"({"number":"A 1/2","n":3,"addr":{"city":"Köln"}})";
  CHECK(fill_template("http://x/o/{{number}}?n={{ n }}", args, true, why) ==
        std::optional<std::string>("http://x/o/A%201%2F2?n=3"));
  CHECK(fill_template("Bearer {{missing}}", args, false, why) ==
        std::optional<std::string>("Bearer "));
  CHECK_FALSE(fill_template("x {{number", args, false, why));
  CHECK(why.find("'{{'") != std::string::npos);

  auto json = [&](const std::string& expr) {
    std::optional<std::string> out = fill_json(expr, args, why);
    return out ? Json::parse(*out) : Json("<error>");
  };
  CHECK(json(R"({order: number, "count": n, city: addr.city, tags: ["a", true, null, -2.5]})") ==
        Json({{"order", "A 1/2"},
              {"count", 3},
              {"city", "Köln"},
              {"tags", {"a", true, nullptr, -2.5}}}));
  CHECK(json(R"({note: "order {{number}}", none: email})") ==
        Json({{"note", "order A 1/2"}, {"none", nullptr}}));
  CHECK(json("n + 1") == "<error>");
  CHECK(why.find("unexpected '+") != std::string::npos);
  CHECK(json("upper(number)") == "<error>");
  CHECK(json("{a: ") == "<error>");
  CHECK(json("5s") == "<error>");
}

// ---- whole steps over HTTP ------------------------------------------------------------------

std::string chat_answer(const Json& message) {
  return Json{{"id", "c1"},
              {"model", "served"},
              {"choices", {{{"index", 0}, {"message", message}, {"finish_reason", "stop"}}}},
              {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 5}}}}
      .dump();
}

std::string text_answer(const std::string& text) {
  return chat_answer({{"role", "assistant"}, {"content", text}});
}

std::string tool_call_answer(const std::string& id, const std::string& name, const Json& args) {
  return chat_answer({{"role", "assistant"},
                      {"content", nullptr},
                      {"tool_calls",
                       {{{"id", id},
                         {"type", "function"},
                         {"function", {{"name", name}, {"arguments", args.dump()}}}}}}});
}

// A scripted OpenAI-compatible provider at /v1/chat/completions and a tool at /tool/...
class Fake {
 public:
  Fake() : server_(http::ServerOptions{}) {
    server_.route("POST", "/v1/chat/completions", [this](http::Request req, http::Reply reply) {
      std::lock_guard<std::mutex> lock(mutex_);
      bodies_.push_back(Json::parse(req.body));
      std::string answer = script_.empty() ? text_answer("script over") : script_.front();
      if (script_.size() > 1) {
        script_.pop_front();
      }
      reply(http::Response::json(200, answer));
    });
    server_.route("POST", "/tool/*", [this](http::Request req, http::Reply reply) {
      std::lock_guard<std::mutex> lock(mutex_);
      tool_requests_.push_back({req.target, req.body, std::string(req.header("x-key"))});
      reply(http::Response::json(200, R"({"status":"shipped","eta":"tomorrow"})"));
    });
    const waflow::Result<std::uint16_t> port = server_.start();
    REQUIRE(port.ok());
    port_ = port.value();
  }
  ~Fake() { server_.stop(std::chrono::milliseconds(0)); }
  Fake(const Fake&) = delete;
  Fake& operator=(const Fake&) = delete;

  void script(std::deque<std::string> lines) {
    std::lock_guard<std::mutex> lock(mutex_);
    script_ = std::move(lines);
  }
  std::vector<Json> bodies() {
    std::lock_guard<std::mutex> lock(mutex_);
    return bodies_;
  }
  struct ToolRequest {
    std::string target;
    std::string body;
    std::string key;
  };
  std::vector<ToolRequest> tool_requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return tool_requests_;
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  ModelConfig model() const {
    ModelConfig m;
    m.name = "fake/model";
    m.provider.kind = ProviderKind::OpenAi;
    m.provider.model = "fake-1";
    m.provider.base_url = base() + "/v1";
    m.timeout_ms = 10'000;
    return m;
  }

 private:
  http::HttpServer server_;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  std::deque<std::string> script_;
  std::vector<Json> bodies_;
  std::vector<ToolRequest> tool_requests_;
};

struct Outcome {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::string answer;
  StepReport report;

  StepRunner::Done callback() {
    return [this](std::string a, const StepReport& r) {
      std::lock_guard<std::mutex> lock(mutex);
      answer = std::move(a);
      report = r;
      done = true;
      cv.notify_all();
    };
  }
  Json wait() {
    std::unique_lock<std::mutex> lock(mutex);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(60), [this] { return done; }));
    return Json::parse(answer);
  }
};

Json order_tool(const std::string& base) {
  return {{"name", "order_status"},
          {"description", "Look up an order"},
          {"method", "POST"},
          {"url", base + "/tool/orders/{{number}}"},
          {"headers", {{"X-Key", "k-{{number}}"}}},
          {"params",
           {{{"name", "number"}, {"type", "text"}, {"description", "Order"}, {"optional", false}}}},
          {"json", "{order: number, source: \"bot\"}"},
          {"timeout_ms", 5000}};
}

TEST_CASE("a reply through the router, a step without a model is an error answer") {
  Fake fake;
  http::HttpClient client;
  AiRouter router(client, {fake.model()});
  StepOptions o;
  o.default_model = "fake/model";
  StepRunner runner(router, client, o);
  fake.script({text_answer("We sell bikes.")});
  Outcome out;
  runner.run(row("ai_reply", {{"system", "Shop."}}).dump(), out.callback());
  CHECK(out.wait() == Json({{"ok", true}, {"text", "We sell bikes."}}));
  CHECK(out.report.ok);
  CHECK(out.report.calls == 1);
  CHECK(out.report.attempts == 1);
  CHECK(out.report.input_tokens == 10);
  CHECK(out.report.output_tokens == 5);
  CHECK(out.report.provider == "openai");
  CHECK(out.report.model_name == "fake/model");
  CHECK(out.report.flow == "lead");
  REQUIRE(fake.bodies().size() == 1);
  CHECK(fake.bodies()[0]["model"] == "fake-1");
  CHECK(fake.bodies()[0]["messages"][0] == Json({{"role", "system"}, {"content", "Shop."}}));

  StepRunner bare(router, client, StepOptions{});
  Outcome none;
  bare.run(row("ai_reply", Json::object()).dump(), none.callback());
  const Json a = none.wait();
  CHECK(a["ok"] == false);
  CHECK(a["error"].get<std::string>().rfind("not configured", 0) == 0);

  Outcome unknown;
  bare.run(row("ai_reply", {{"model", "nope/x"}}).dump(), unknown.callback());
  const Json u = unknown.wait();
  CHECK(u["ok"] == false);
  CHECK(u["error"].get<std::string>().find("no model named 'nope/x'") != std::string::npos);
  router.shutdown();
}

TEST_CASE("a tool call: the request is filled and made, its answer goes back to the model") {
  Fake fake;
  http::HttpClient client;
  AiRouter router(client, {fake.model()});
  StepRunner runner(router, client, StepOptions{"fake/model"});
  fake.script({tool_call_answer("call_1", "order_status", {{"number", "A-7"}}),
               text_answer("Your order ships tomorrow.")});
  Outcome out;
  runner.run(
      row("ai_reply", {{"tools", {order_tool(fake.base())}}}, Json::array(), "where?").dump(),
      out.callback());
  CHECK(out.wait() == Json({{"ok", true}, {"text", "Your order ships tomorrow."}}));
  CHECK(out.report.calls == 2);
  CHECK(out.report.tool_calls == 1);
  CHECK(out.report.input_tokens == 20);
  const std::vector<Fake::ToolRequest> tools = fake.tool_requests();
  REQUIRE(tools.size() == 1);
  CHECK(tools[0].target == "/tool/orders/A-7");
  CHECK(tools[0].key == "k-A-7");
  CHECK(Json::parse(tools[0].body) == Json({{"order", "A-7"}, {"source", "bot"}}));
  const std::vector<Json> bodies = fake.bodies();
  REQUIRE(bodies.size() == 2);
  CHECK(bodies[0]["tools"][0]["function"]["name"] == "order_status");
  const Json& messages = bodies[1]["messages"];
  REQUIRE(messages.size() == 3);
  CHECK(messages[1]["tool_calls"][0]["id"] == "call_1");
  CHECK(messages[2]["role"] == "tool");
  CHECK(messages[2]["tool_call_id"] == "call_1");
  CHECK(Json::parse(messages[2]["content"].get<std::string>()) ==
        Json({{"status", "shipped"}, {"eta", "tomorrow"}}));
  router.shutdown();
}

TEST_CASE("a model that keeps calling tools past the bound gets the step an error answer") {
  Fake fake;
  http::HttpClient client;
  AiRouter router(client, {fake.model()});
  StepOptions o{"fake/model"};
  o.max_tool_rounds = 2;
  StepRunner runner(router, client, o);
  // The last line repeats: the model calls the tool forever.
  fake.script({tool_call_answer("call_1", "order_status", {{"number", "A-7"}})});
  Outcome out;
  runner.run(row("ai_reply", {{"tools", {order_tool(fake.base())}}}).dump(), out.callback());
  const Json a = out.wait();
  CHECK(a["ok"] == false);
  CHECK(a["error"] == "the model still called tools after 2 rounds");
  CHECK(fake.tool_requests().size() == 2);
  CHECK(fake.bodies().size() == 3);
  CHECK_FALSE(out.report.ok);

  // A tool the step does not offer: the model is told, and may answer anyway.
  fake.script({tool_call_answer("call_9", "delete_everything", Json::object()),
               text_answer("I cannot do that.")});
  Outcome stray;
  runner.run(row("ai_reply", {{"tools", {order_tool(fake.base())}}}).dump(), stray.callback());
  CHECK(stray.wait() == Json({{"ok", true}, {"text", "I cannot do that."}}));
  const Json last = fake.bodies().back()["messages"].back();
  CHECK(last["role"] == "tool");
  CHECK(last["content"].get<std::string>().find("no tool named 'delete_everything'") !=
        std::string::npos);
  router.shutdown();
}

TEST_CASE("extract and classify through the router use structured output") {
  Fake fake;
  http::HttpClient client;
  AiRouter router(client, {fake.model()});
  StepRunner runner(router, client, StepOptions{"fake/model"});
  const Json fields = {
      {{"name", "seats"}, {"type", "number"}, {"description", "Seats"}, {"optional", false}}};
  fake.script({text_answer(R"({"complete":false,"value":{"seats":null},"question":"How many?"})")});
  Outcome ex;
  runner.run(row("ai_extract", {{"fields", fields}}).dump(), ex.callback());
  CHECK(ex.wait() == Json({{"ok", true},
                           {"complete", false},
                           {"value", {{"seats", nullptr}}},
                           {"question", "How many?"}}));
  CHECK(fake.bodies().back()["response_format"]["type"] == "json_schema");

  fake.script({text_answer(R"({"intent":"other"})")});
  Outcome cl;
  runner.run(row("ai_classify", {{"intents", {{{"name", "billing"}}}}}).dump(), cl.callback());
  CHECK(cl.wait() == Json({{"ok", true}, {"intent", ""}}));
  router.shutdown();
}

}  // namespace
