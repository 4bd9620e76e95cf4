// The Anthropic Messages adapter: headers, the system prompt lifted to the top, turns merged
// by role, tool_use and tool_result blocks, structured output as a forced tool, stop_reason
// mapping, usage with cache tokens, and the error table with 529 and the spend cap (A.3).

#include <catch2/catch.hpp>

#include "tests/ai/helpers.h"

namespace {

using namespace waflow::ai;           // NOLINT(google-build-using-namespace)
using namespace waflow::ai::testing;  // NOLINT(google-build-using-namespace)
namespace http = waflow::http;

ProviderConfig claude() {
  return config(ProviderKind::Anthropic, "claude-3-5-haiku-latest", "sk-ant-test");
}

std::string message(const std::string& content, const std::string& stop = "end_turn") {
  return R"({"id":"msg_01","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022",)"
         R"("content":)" +
         content + R"(,"stop_reason":")" + stop +
         R"(","stop_sequence":null,"usage":{"input_tokens":20,"cache_creation_input_tokens":5,)"
         R"("cache_read_input_tokens":100,"output_tokens":9}})";
}

}  // namespace

TEST_CASE("an Anthropic request: x-api-key, version, system on top, max_tokens always set") {
  ChatRequest r = hello();
  r.temperature = 1.5;  // clamped to Anthropic's range
  const http::ClientRequest req = built(claude(), r);
  CHECK(req.url == "https://api.anthropic.com/v1/messages");
  CHECK(header_of(req, "x-api-key") == "sk-ant-test");
  CHECK(header_of(req, "anthropic-version") == "2023-06-01");
  CHECK(header_of(req, "Authorization").empty());
  CHECK(body_of(req) == Json::parse(R"({
    "model": "claude-3-5-haiku-latest", "max_tokens": 1024, "system": "Be brief.",
    "messages": [{"role": "user", "content": "Hi there"}], "temperature": 1.0})"));
}

TEST_CASE(
    "Anthropic turns: same-role turns merged, tool calls as tool_use, answers as tool_result in a "
    "user turn") {
  ChatRequest r;
  r.max_tokens = 300;
  r.messages = {
      {Role::User, "Where is my order?", {}, "", "", false},
      {Role::User, "It is A-1", {}, "", "", false},
      {Role::Assistant,
       "Let me check.",
       {{"toolu_01", "order_status", R"({"number":"A-1"})"}},
       "",
       "",
       false},
      {Role::Tool, "timeout", {}, "toolu_01", "order_status", true},
      {Role::User, "Thanks", {}, "", "", false},
  };
  r.tools.push_back({"order_status", "Look up an order", R"({"type":"object","properties":{}})"});
  r.tool_choice = ToolChoice::Required;
  CHECK(body_of(built(claude(), r)) == Json::parse(R"({
    "model": "claude-3-5-haiku-latest", "max_tokens": 300,
    "messages": [
      {"role": "user", "content": [{"type": "text", "text": "Where is my order?"},
                                   {"type": "text", "text": "It is A-1"}]},
      {"role": "assistant", "content": [
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_01", "name": "order_status", "input": {"number": "A-1"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "timeout", "is_error": true},
        {"type": "text", "text": "Thanks"}]}],
    "tools": [{"name": "order_status", "description": "Look up an order",
               "input_schema": {"type": "object", "properties": {}}}],
    "tool_choice": {"type": "any"}})"));
}

TEST_CASE("Anthropic structured output is a forced tool call, read back as the answer") {
  ChatRequest r = hello();
  r.output = OutputSchema{
      "intent",
      R"({"type":"object","properties":{"intent":{"type":"string","enum":["billing","other"]}},"required":["intent"]})",
      false};
  const Json body = body_of(built(claude(), r));
  CHECK(body["tool_choice"] == Json::parse(R"({"type":"tool","name":"intent"})"));
  CHECK(body["tools"][0]["name"] == "intent");
  CHECK(body["tools"][0]["input_schema"]["required"] == Json::parse(R"(["intent"])"));

  const ChatResponse ok = parsed(
      claude(), r, 200,
      message(
          R"([{"type":"tool_use","id":"toolu_9","name":"intent","input":{"intent":"billing"}}])",
          "tool_use"));
  CHECK(ok.parsed == R"({"intent":"billing"})");
  CHECK(ok.tool_calls.empty());
  CHECK(ok.finish == FinishReason::Stop);

  const AiError wrong = failed(
      claude(), r, 200,
      message(
          R"([{"type":"tool_use","id":"toolu_9","name":"intent","input":{"intent":"refunds"}}])",
          "tool_use"));
  CHECK(wrong.reason == Reason::InvalidOutput);
  CHECK(
      wrong.message ==
      R"(anthropic: the structured answer does not match the schema: $.intent: "refunds" is not one of ["billing","other"])");
}

TEST_CASE(
    "an Anthropic answer: text blocks, tool_use input as an object, stop reasons, usage with "
    "cache") {
  const ChatResponse r =
      parsed(claude(), hello(), 200,
             message(R"([{"type":"text","text":"Hello"},{"type":"text","text":"!"}])"));
  CHECK(r.text == "Hello!");
  CHECK(r.finish == FinishReason::Stop);
  CHECK(r.usage.input_tokens == 125);
  CHECK(r.usage.output_tokens == 9);
  CHECK(r.model == "claude-3-5-haiku-20241022");

  const ChatResponse tool = parsed(
      claude(), hello(), 200,
      message(
          R"([{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_01A","name":"order_status","input":{"number":"A-1"}}])",
          "tool_use"));
  REQUIRE(tool.tool_calls.size() == 1);
  CHECK(tool.tool_calls[0].id == "toolu_01A");
  CHECK(tool.tool_calls[0].arguments == R"({"number":"A-1"})");
  CHECK(tool.finish == FinishReason::ToolCalls);

  CHECK(parsed(claude(), hello(), 200, message(R"([{"type":"text","text":"Hel"}])", "max_tokens"))
            .finish == FinishReason::Length);
  CHECK(failed(claude(), hello(), 200, message(R"([])", "refusal")).reason ==
        Reason::ContentPolicy);
}

TEST_CASE("Anthropic errors: 529 and 429 retry, the spend cap and auth are fatal") {
  const AiError overloaded = failed(
      claude(), hello(), 529,
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"})",
      {{"retry-after", "3"}});
  CHECK(overloaded.error_class == ErrorClass::Retry);
  CHECK(overloaded.reason == Reason::Overloaded);
  CHECK(overloaded.retry_after_ms == 3000);
  CHECK(overloaded.code == "overloaded_error");
  CHECK(overloaded.message == "anthropic: Overloaded");

  const AiError rate = failed(
      claude(), hello(), 429,
      R"({"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}})",
      {{"anthropic-ratelimit-tokens-remaining", "0"},
       {"anthropic-ratelimit-tokens-reset", "2025-01-06T09:00:12Z"}});
  CHECK(rate.error_class == ErrorClass::Retry);
  CHECK(rate.retry_after_ms == 12'000);

  const AiError cap = failed(
      claude(), hello(), 429,
      R"({"type":"error","error":{"type":"rate_limit_error","message":"You have reached your specified API usage limits.","details":{"error_code":"enforced_spend_limit_reached"}}})",
      {{"retry-after", "60"}});
  CHECK(cap.error_class == ErrorClass::Fatal);
  CHECK(cap.reason == Reason::Quota);
  CHECK(cap.code == "enforced_spend_limit_reached");

  struct Case {
    int status;
    const char* type;
    ErrorClass cls;
    Reason reason;
  };
  for (const Case& k :
       {Case{400, "invalid_request_error", ErrorClass::Fatal, Reason::BadRequest},
        Case{401, "authentication_error", ErrorClass::Fatal, Reason::Auth},
        Case{402, "billing_error", ErrorClass::Fatal, Reason::Billing},
        Case{403, "permission_error", ErrorClass::Fatal, Reason::Permission},
        Case{404, "not_found_error", ErrorClass::Failover, Reason::ModelUnavailable},
        Case{409, "conflict_error", ErrorClass::Retry, Reason::Conflict},
        Case{413, "request_too_large", ErrorClass::Failover, Reason::ContextWindow},
        Case{500, "api_error", ErrorClass::Retry, Reason::Server}}) {
    INFO(k.status);
    const AiError e = failed(
        claude(), hello(), k.status,
        std::string(R"({"type":"error","error":{"type":")") + k.type + R"(","message":"m"}})");
    CHECK(e.error_class == k.cls);
    CHECK(e.reason == k.reason);
  }
  CHECK(
      failed(
          claude(), hello(), 400,
          R"({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}})")
          .reason == Reason::ContextWindow);
}
