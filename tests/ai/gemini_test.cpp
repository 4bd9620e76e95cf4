// The Gemini adapter: the key in x-goog-api-key, systemInstruction, roles user/model,
// functionDeclarations and functionResponse, responseSchema translated to the OpenAPI subset
// (or responseJsonSchema), finishReason and usageMetadata, blocked prompts, and Google RPC
// errors with RetryInfo and daily quotas (A.4). Also the schema subset on its own.

#include <catch2/catch.hpp>

#include "adapters/ai/schema.h"
#include "tests/ai/helpers.h"

namespace {

using namespace waflow::ai;           // NOLINT(google-build-using-namespace)
using namespace waflow::ai::testing;  // NOLINT(google-build-using-namespace)
namespace http = waflow::http;

ProviderConfig gemini() {
  return config(ProviderKind::Gemini, "gemini-2.0-flash", "AIza-test");
}

std::string answer(const std::string& parts, const std::string& finish = "STOP") {
  return R"({"candidates":[{"content":{"role":"model","parts":)" + parts + R"(},"finishReason":")" +
         finish +
         R"(","index":0}],"usageMetadata":{"promptTokenCount":40,"candidatesTokenCount":6,)"
         R"("thoughtsTokenCount":4,"totalTokenCount":50},"modelVersion":"gemini-2.0-flash-001"})";
}

const char* kSchema =
    R"({"type":"object","properties":{"name":{"type":"string","description":"Full name"},)"
    R"("phone":{"type":["string","null"]},"seats":{"type":"integer"},)"
    R"("plan":{"enum":["basic","pro"]}},"required":["name"],"additionalProperties":false})";

}  // namespace

TEST_CASE(
    "a Gemini request: key in a header, never in the URL, a system instruction, the model role") {
  ChatRequest r = hello();
  r.messages.push_back({Role::Assistant, "Hello!", {}, "", "", false});
  r.messages.push_back({Role::User, "Prices?", {}, "", "", false});
  r.temperature = 0.2;
  r.max_tokens = 100;
  const http::ClientRequest req = built(gemini(), r);
  CHECK(req.url ==
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent");
  CHECK(header_of(req, "x-goog-api-key") == "AIza-test");
  CHECK(body_of(req) == Json::parse(R"({
    "contents": [{"role": "user", "parts": [{"text": "Hi there"}]},
                 {"role": "model", "parts": [{"text": "Hello!"}]},
                 {"role": "user", "parts": [{"text": "Prices?"}]}],
    "systemInstruction": {"parts": [{"text": "Be brief."}]},
    "generationConfig": {"temperature": 0.2, "maxOutputTokens": 100}})"));
}

TEST_CASE(
    "Gemini tools: functionDeclarations, calls as functionCall, answers as functionResponse by "
    "name") {
  ChatRequest r;
  r.messages = {
      {Role::User, "Order A-1?", {}, "", "", false},
      {Role::Assistant, "", {{"call10000", "order_status", R"({"number":"A-1"})"}}, "", "", false},
      {Role::Tool, R"({"status":"shipped"})", {}, "call10000", "order_status", false},
      {Role::Tool, "plain text", {}, "call10001", "weather", false},
  };
  r.tools.push_back(
      {"order_status", "Look up an order",
       R"({"type":"object","properties":{"number":{"type":"string"}},"required":["number"]})"});
  r.tools.push_back({"ping", "No parameters", ""});
  r.tool_choice = ToolChoice::Named;
  r.tool_choice_name = "order_status";
  CHECK(body_of(built(gemini(), r)) == Json::parse(R"({
    "contents": [
      {"role": "user", "parts": [{"text": "Order A-1?"}]},
      {"role": "model", "parts": [{"functionCall": {"name": "order_status", "args": {"number": "A-1"}}}]},
      {"role": "user", "parts": [
        {"functionResponse": {"name": "order_status", "response": {"status": "shipped"}}},
        {"functionResponse": {"name": "weather", "response": {"content": "plain text"}}}]}],
    "tools": [{"functionDeclarations": [
      {"name": "order_status", "description": "Look up an order",
       "parameters": {"type": "OBJECT", "properties": {"number": {"type": "STRING"}},
                      "required": ["number"], "propertyOrdering": ["number"]}},
      {"name": "ping", "description": "No parameters"}]}],
    "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["order_status"]}}})"));
}

TEST_CASE(
    "Gemini structured output: the schema in the OpenAPI subset, or as JSON Schema when "
    "configured") {
  ChatRequest r = hello();
  r.output = OutputSchema{"lead", kSchema, false};
  const Json config = body_of(built(gemini(), r))["generationConfig"];
  CHECK(config == Json::parse(R"({
    "responseMimeType": "application/json",
    "responseSchema": {"type": "OBJECT", "properties": {
        "name": {"type": "STRING", "description": "Full name"},
        "phone": {"type": "STRING", "nullable": true},
        "seats": {"type": "INTEGER"},
        "plan": {"enum": ["basic", "pro"], "type": "STRING"}},
      "required": ["name"], "propertyOrdering": ["name", "phone", "seats", "plan"]}})"));
  ProviderConfig c = gemini();
  c.gemini_json_schema = true;
  CHECK(body_of(built(c, r))["generationConfig"]["responseJsonSchema"] == Json::parse(kSchema));

  const ChatResponse ok =
      parsed(gemini(), r, 200, answer(R"([{"text":"{\"name\":\"Ana\",\"phone\":null}"}])"));
  CHECK(ok.parsed == R"({"name":"Ana","phone":null})");
  const AiError cut =
      failed(gemini(), r, 200, answer(R"([{"text":"{\"name\":\"A"}])", "MAX_TOKENS"));
  CHECK(cut.reason == Reason::InvalidOutput);
}

TEST_CASE(
    "a Gemini answer: text without thoughts, calls with generated ids, usage, finish reasons") {
  const ChatResponse r =
      parsed(gemini(), hello(), 200,
             answer(R"([{"text":"thinking...","thought":true},{"text":"Hi"},{"text":" there"}])"));
  CHECK(r.text == "Hi there");
  CHECK(r.usage.input_tokens == 40);
  CHECK(r.usage.output_tokens == 10);
  CHECK(r.model == "gemini-2.0-flash-001");
  CHECK(r.finish == FinishReason::Stop);

  const ChatResponse calls = parsed(
      gemini(), hello(), 200,
      answer(
          R"([{"functionCall":{"name":"order_status","args":{"number":"A-1"}}},{"functionCall":{"name":"ping"}}])"));
  REQUIRE(calls.tool_calls.size() == 2);
  CHECK(calls.tool_calls[0].id == "call10000");
  CHECK(calls.tool_calls[1].id == "call10001");
  CHECK(calls.tool_calls[0].arguments == R"({"number":"A-1"})");
  CHECK(calls.tool_calls[1].arguments == "{}");
  CHECK(calls.finish == FinishReason::ToolCalls);

  CHECK(failed(gemini(), hello(), 200, answer("[]", "SAFETY")).reason == Reason::ContentPolicy);
  const AiError blocked = failed(
      gemini(), hello(), 200,
      R"({"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":8}})");
  CHECK(blocked.error_class == ErrorClass::Failover);
  CHECK(blocked.reason == Reason::ContentPolicy);
  CHECK(blocked.message == "gemini: the prompt was blocked (SAFETY)");
}

TEST_CASE("Gemini errors: a per-minute quota retries after RetryInfo, a daily one is fatal") {
  const AiError minute = failed(gemini(), hello(), 429, R"({"error":{"code":429,
    "message":"You exceeded your current quota. Please retry in 37.5s.","status":"RESOURCE_EXHAUSTED",
    "details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[
      {"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests",
       "quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
      {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}})");
  CHECK(minute.error_class == ErrorClass::Retry);
  CHECK(minute.reason == Reason::RateLimit);
  CHECK(minute.retry_after_ms == 37'000);
  CHECK(minute.code == "RESOURCE_EXHAUSTED");

  const AiError day = failed(gemini(), hello(), 429, R"({"error":{"code":429,
    "message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED",
    "details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[
      {"quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]}})");
  CHECK(day.error_class == ErrorClass::Fatal);
  CHECK(day.reason == Reason::Quota);

  const AiError key = failed(gemini(), hello(), 400, R"({"error":{"code":400,
    "message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",
    "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}})");
  CHECK(key.reason == Reason::Auth);
  CHECK(key.message == "gemini: API key not valid. Please pass a valid API key.");

  CHECK(failed(
            gemini(), hello(), 503,
            R"({"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}})")
            .error_class == ErrorClass::Retry);
  CHECK(
      failed(
          gemini(), hello(), 404,
          R"({"error":{"code":404,"message":"models/gemini-9 is not found","status":"NOT_FOUND"}})")
          .reason == Reason::ModelUnavailable);
}

TEST_CASE("the schema subset: types, required, enum, nested lists and objects, extras") {
  const char* schema =
      R"({"type":"object","properties":{"a":{"type":"array","items":{"type":"object",)"
      R"("properties":{"n":{"type":"number"}},"required":["n"]},"minItems":1},)"
      R"("b":{"type":"boolean"},"c":{"type":"string","nullable":true}},"additionalProperties":false})";
  CHECK_FALSE(validate_json(schema, R"({"a":[{"n":1.5}],"b":true,"c":null})"));
  CHECK(*validate_json(schema, R"({"a":[{"n":1},{"x":2}]})") ==
        "$.a[1]: the required field 'n' is missing");
  CHECK(*validate_json(schema, R"({"a":[]})") == "$.a: expected at least 1 items, got 0");
  CHECK(*validate_json(schema, R"({"b":"yes"})") == "$.b: expected boolean, got a text");
  CHECK(*validate_json(schema, R"({"d":1})") == "$: the field 'd' is not in the schema");
  CHECK(*validate_json(schema, "[1]") == "$: expected object, got a list");
  CHECK(*validate_json(schema, "{") == "the answer is not JSON");
  CHECK(*validate_json("true", "{}") == "the schema is not a JSON object");
  CHECK(*validate_json(R"({"type":"integer"})", "2.5") == "$: expected integer, got a number");
  CHECK_FALSE(validate_json(R"({"type":"integer"})", "2.0"));
  CHECK_FALSE(gemini_schema("[]"));
}
