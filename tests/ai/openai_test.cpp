// The OpenAI-compatible adapter: request bodies compared as exact JSON for each row of the
// quirk table that changes them, and answers (text, tool calls, structured output, every
// error class) built from the wire facts in research/runtime-anchors.md A.1 and A.2.

#include <catch2/catch.hpp>

#include "tests/ai/helpers.h"

namespace {

using namespace waflow::ai;           // NOLINT(google-build-using-namespace)
using namespace waflow::ai::testing;  // NOLINT(google-build-using-namespace)
namespace http = waflow::http;

const char* kLeadSchema =
    R"({"type":"object","properties":{"name":{"type":"string"},"seats":{"type":"integer"},)"
    R"("plan":{"type":"string","enum":["basic","pro"]}},"required":["name","seats"]})";

ChatRequest with_tools() {
  ChatRequest r = hello();
  r.messages.push_back({Role::Assistant,
                        "",
                        {{"call_abc123XYZ", "order_status", R"({"number":"A-1"})"}},
                        "",
                        "",
                        false});
  r.messages.push_back(
      {Role::Tool, R"({"status":"shipped"})", {}, "call_abc123XYZ", "order_status", false});
  r.tools.push_back(
      {"order_status", "Look up an order",
       R"({"type":"object","properties":{"number":{"type":"string"}},"required":["number"]})"});
  r.tool_choice = ToolChoice::Required;
  return r;
}

std::string completion(const std::string& message, const std::string& finish = "stop") {
  return R"({"id":"chatcmpl-1","object":"chat.completion","created":1736154000,)"
         R"("model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":)" +
         message + R"(,"finish_reason":")" + finish +
         R"("}],"usage":{"prompt_tokens":31,"completion_tokens":7,"total_tokens":38}})";
}

}  // namespace

TEST_CASE(
    "an OpenAI request carries the system turn, the cap as max_completion_tokens and a bearer "
    "key") {
  ChatRequest r = hello();
  r.temperature = 0.3;
  r.max_tokens = 400;
  const http::ClientRequest req = built(config(ProviderKind::OpenAi, "gpt-4o-mini"), r);
  CHECK(req.method == "POST");
  CHECK(req.url == "https://api.openai.com/v1/chat/completions");
  CHECK(header_of(req, "Authorization") == "Bearer sk-test");
  CHECK(header_of(req, "Content-Type") == "application/json");
  CHECK(body_of(req) == Json::parse(R"({
    "model": "gpt-4o-mini",
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}],
    "temperature": 0.3,
    "max_completion_tokens": 400})"));
}

TEST_CASE("OpenAI reasoning models are sent no temperature") {
  ChatRequest r = hello();
  r.temperature = 0.3;
  for (const char* model : {"o3-mini", "o1", "gpt-5-mini"}) {
    INFO(model);
    CHECK_FALSE(body_of(built(config(ProviderKind::OpenAi, model), r)).contains("temperature"));
  }
  CHECK(body_of(built(config(ProviderKind::OpenAi, "gpt-4o"), r)).contains("temperature"));
}

TEST_CASE(
    "the other compatible servers take max_tokens, their own base URL, and no key when none is "
    "set") {
  ChatRequest r = hello();
  r.max_tokens = 50;
  struct Case {
    ProviderKind kind;
    const char* url;
  };
  for (const Case& c :
       {Case{ProviderKind::Groq, "https://api.groq.com/openai/v1/chat/completions"},
        Case{ProviderKind::Mistral, "https://api.mistral.ai/v1/chat/completions"},
        Case{ProviderKind::Together, "https://api.together.xyz/v1/chat/completions"},
        Case{ProviderKind::OpenRouter, "https://openrouter.ai/api/v1/chat/completions"},
        Case{ProviderKind::Ollama, "http://127.0.0.1:11434/v1/chat/completions"},
        Case{ProviderKind::Vllm, "http://127.0.0.1:8000/v1/chat/completions"},
        Case{ProviderKind::LlamaCpp, "http://127.0.0.1:8080/v1/chat/completions"}}) {
    INFO(kind_name(c.kind));
    const http::ClientRequest req = built(config(c.kind, "m", ""), r);
    CHECK(req.url == c.url);
    CHECK(header_of(req, "Authorization").empty());
    const Json body = body_of(req);
    CHECK(body["max_tokens"] == 50);
    CHECK_FALSE(body.contains("max_completion_tokens"));
  }
  ProviderConfig local = config(ProviderKind::Vllm, "qwen", "");
  local.base_url = "http://10.0.0.5:9000/v1/";
  CHECK(built(local, r).url == "http://10.0.0.5:9000/v1/chat/completions");
}

TEST_CASE("OpenRouter gets its attribution headers and the models fallback list") {
  ProviderConfig c = config(ProviderKind::OpenRouter, "openai/gpt-4o-mini");
  c.app_url = "https://shop.example.com";
  c.app_title = "Acme Bikes";
  c.provider_fallbacks = {"anthropic/claude-3-5-haiku", "mistralai/mistral-small"};
  const http::ClientRequest req = built(c, hello());
  CHECK(header_of(req, "HTTP-Referer") == "https://shop.example.com");
  CHECK(header_of(req, "X-Title") == "Acme Bikes");
  CHECK(body_of(req)["models"] ==
        Json::parse(
            R"(["openai/gpt-4o-mini","anthropic/claude-3-5-haiku","mistralai/mistral-small"])"));
  CHECK(header_of(built(config(ProviderKind::OpenAi, "gpt-4o"), hello()), "X-Title").empty());
}

TEST_CASE("tool calls and tool answers replay as OpenAI messages, arguments as a JSON string") {
  const http::ClientRequest req = built(config(ProviderKind::OpenAi, "gpt-4o-mini"), with_tools());
  CHECK(body_of(req) == Json::parse(R"({
    "model": "gpt-4o-mini",
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Hi there"},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_abc123XYZ", "type": "function",
         "function": {"name": "order_status", "arguments": "{\"number\":\"A-1\"}"}}]},
      {"role": "tool", "tool_call_id": "call_abc123XYZ", "content": "{\"status\":\"shipped\"}"}],
    "tools": [{"type": "function", "function": {"name": "order_status",
      "description": "Look up an order",
      "parameters": {"type": "object", "properties": {"number": {"type": "string"}},
                     "required": ["number"]}}}],
    "tool_choice": "required"})"));
}

TEST_CASE(
    "Mistral gets nine-character tool-call ids, the same for a call and its answer, and "
    "tool_choice any") {
  const Json body =
      body_of(built(config(ProviderKind::Mistral, "mistral-small-latest"), with_tools()));
  const std::string call_id = body["messages"][2]["tool_calls"][0]["id"];
  const std::string answer_id = body["messages"][3]["tool_call_id"];
  CHECK(call_id.size() == 9);
  CHECK(call_id.find_first_not_of(
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos);
  CHECK(call_id == answer_id);
  CHECK(body["tool_choice"] == "any");
  // An id that is already valid is kept.
  ChatRequest r = with_tools();
  r.messages[1].tool_calls[0].id = "Ab3dE6gH9";
  r.messages[2].tool_call_id = "Ab3dE6gH9";
  CHECK(body_of(built(config(ProviderKind::Mistral, "m"), r))["messages"][3]["tool_call_id"] ==
        "Ab3dE6gH9");
}

TEST_CASE("a named tool choice and a server configured without tools") {
  ChatRequest r = with_tools();
  r.tool_choice = ToolChoice::Named;
  r.tool_choice_name = "order_status";
  CHECK(body_of(built(config(ProviderKind::OpenAi, "gpt-4o"), r))["tool_choice"] ==
        Json::parse(R"({"type":"function","function":{"name":"order_status"}})"));
  ProviderConfig c = config(ProviderKind::Vllm, "qwen", "");
  c.tools = 0;
  const AiResult<http::ClientRequest> refused = build(c, r);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().error_class == ErrorClass::Failover);
  CHECK(refused.error().reason == Reason::Unsupported);
  CHECK(refused.error().message == "vllm (qwen) is configured without tool support");
}

TEST_CASE(
    "structured output: json_schema, json_object with the schema in the prompt, llama.cpp's schema "
    "field") {
  ChatRequest r = hello();
  r.output = OutputSchema{"lead", kLeadSchema, true};
  CHECK(body_of(built(config(ProviderKind::OpenAi, "gpt-4o"), r))["response_format"] ==
        Json::parse(std::string(R"({"type":"json_schema","json_schema":{"name":"lead","schema":)") +
                    kLeadSchema + R"(,"strict":true}})"));
  const Json groq = body_of(built(config(ProviderKind::Groq, "llama-3.1-8b-instant"), r));
  CHECK(groq["response_format"] == Json::parse(R"({"type":"json_object"})"));
  CHECK(groq["messages"][0]["content"] ==
        std::string("Be brief.\n\nAnswer with one JSON object that matches this JSON Schema:\n") +
            kLeadSchema);
  CHECK(body_of(built(config(ProviderKind::LlamaCpp, "any", ""), r))["response_format"] ==
        Json::parse(std::string(R"({"type":"json_object","schema":)") + kLeadSchema + "}"));
  r.output->schema = "[1,2]";
  const AiResult<http::ClientRequest> bad = build(config(ProviderKind::OpenAi, "gpt-4o"), r);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "the output schema is not a JSON object");
}

TEST_CASE("an OpenAI answer: text, finish reason, usage and the model that served it") {
  const ChatResponse r = parsed(
      config(ProviderKind::OpenAi, "gpt-4o-mini"), hello(), 200,
      completion(R"({"role":"assistant","content":"Hello! How can I help?","refusal":null})"));
  CHECK(r.text == "Hello! How can I help?");
  CHECK(r.finish == FinishReason::Stop);
  CHECK(r.provider_finish == "stop");
  CHECK(r.usage.input_tokens == 31);
  CHECK(r.usage.output_tokens == 7);
  CHECK(r.model == "gpt-4o-mini-2024-07-18");
  CHECK(r.tool_calls.empty());
}

TEST_CASE(
    "tool calls come back with their arguments as an object's text, and malformed arguments fail "
    "over") {
  const ChatResponse r = parsed(
      config(ProviderKind::OpenAi, "gpt-4o-mini"), with_tools(), 200,
      completion(
          R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_9","type":"function",)"
          R"("function":{"name":"order_status","arguments":"{\"number\": \"A-10234\"}"}}]})",
          "tool_calls"));
  REQUIRE(r.tool_calls.size() == 1);
  CHECK(r.tool_calls[0].id == "call_9");
  CHECK(r.tool_calls[0].name == "order_status");
  CHECK(r.tool_calls[0].arguments == R"({"number":"A-10234"})");
  CHECK(r.finish == FinishReason::ToolCalls);

  const AiError e = failed(
      config(ProviderKind::OpenAi, "gpt-4o-mini"), with_tools(), 200,
      completion(
          R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_9","type":"function",)"
          R"("function":{"name":"order_status","arguments":"{\"number\": \"A-1"}}]})",
          "tool_calls"));
  CHECK(e.error_class == ErrorClass::Failover);
  CHECK(e.reason == Reason::InvalidOutput);
  CHECK(e.message == "openai: order_status: tool arguments are not JSON: {\"number\": \"A-1");
}

TEST_CASE(
    "a structured answer is validated against the schema, and a cut or wrong one fails over") {
  ChatRequest r = hello();
  r.output = OutputSchema{"lead", kLeadSchema, false};
  const ProviderConfig c = config(ProviderKind::OpenAi, "gpt-4o");
  const ChatResponse ok =
      parsed(c, r, 200,
             completion(R"({"role":"assistant","content":"{\"name\": \"Ana\", \"seats\": 12}"})"));
  CHECK(ok.parsed == R"({"name":"Ana","seats":12})");

  const AiError wrong = failed(
      c, r, 200,
      completion(R"({"role":"assistant","content":"{\"name\":\"Ana\",\"seats\":\"twelve\"}"})"));
  CHECK(wrong.error_class == ErrorClass::Failover);
  CHECK(wrong.reason == Reason::InvalidOutput);
  CHECK(wrong.message ==
        "openai: the structured answer does not match the schema: $.seats: expected integer, got a "
        "text");

  const AiError missing = failed(
      c, r, 200,
      completion(R"({"role":"assistant","content":"{\"name\":\"Ana\",\"plan\":\"gold\"}"})"));
  CHECK(missing.message ==
        "openai: the structured answer does not match the schema: $: the required field 'seats' is "
        "missing");

  const AiError cut =
      failed(c, r, 200, completion(R"({"role":"assistant","content":"{\"name\":\"An"})", "length"));
  CHECK(cut.reason == Reason::InvalidOutput);
  CHECK(cut.message ==
        "openai: the structured answer was cut at max_tokens before it was complete");

  // Groq's JSON mode may fence the object in Markdown.
  const ChatResponse fenced = parsed(
      config(ProviderKind::Groq, "llama"), r, 200,
      completion(
          R"({"role":"assistant","content":"```json\n{\"name\":\"Ana\",\"seats\":3}\n```"})"));
  CHECK(fenced.parsed == R"({"name":"Ana","seats":3})");
}

TEST_CASE("a refusal, an empty answer and a content filter are failovers") {
  const ProviderConfig c = config(ProviderKind::OpenAi, "gpt-4o");
  const AiError refusal = failed(
      c, hello(), 200,
      completion(R"({"role":"assistant","content":null,"refusal":"I can't help with that."})"));
  CHECK(refusal.reason == Reason::ContentPolicy);
  CHECK(refusal.message == "openai: the model refused: I can't help with that.");
  CHECK(
      failed(c, hello(), 200, completion(R"({"role":"assistant","content":""})", "content_filter"))
          .reason == Reason::ContentPolicy);
  const AiError empty = failed(c, hello(), 200, completion(R"({"role":"assistant","content":""})"));
  CHECK(empty.error_class == ErrorClass::Failover);
  CHECK(empty.message == "openai: the model gave an empty answer");
}

TEST_CASE("OpenAI errors: rate limits retry after Retry-After, quota never does") {
  const ProviderConfig c = config(ProviderKind::OpenAi, "gpt-4o-mini");
  const AiError rate = failed(
      c, hello(), 429,
      R"({"error":{"message":"Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3.","type":"requests","param":null,"code":"rate_limit_exceeded"}})",
      {{"retry-after", "20"}});
  CHECK(rate.error_class == ErrorClass::Retry);
  CHECK(rate.reason == Reason::RateLimit);
  CHECK(rate.retry_after_ms == 20'000);
  CHECK(rate.code == "rate_limit_exceeded");
  CHECK(rate.status == 429);

  const AiError quota = failed(
      c, hello(), 429,
      R"({"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}})",
      {{"retry-after", "20"}});
  CHECK(quota.error_class == ErrorClass::Fatal);
  CHECK(quota.reason == Reason::Quota);
  CHECK(quota.message ==
        "openai: You exceeded your current quota, please check your plan and billing details.");

  // retry-after-ms wins; an HTTP date is read against the clock; the reset headers fill in.
  CHECK(failed(c, hello(), 429, "{}", {{"retry-after-ms", "1500"}, {"retry-after", "20"}})
            .retry_after_ms == 1500);
  CHECK(failed(c, hello(), 429, "{}", {{"retry-after", "Mon, 06 Jan 2025 09:00:42 GMT"}})
            .retry_after_ms == 42'000);
  CHECK(failed(c, hello(), 503, "{}", {{"retry-after", "Mon, 06 Jan 2025 08:00:00 GMT"}})
            .retry_after_ms == 0);
  CHECK(failed(c, hello(), 429, "{}",
               {{"x-ratelimit-remaining-requests", "0"},
                {"x-ratelimit-reset-requests", "6m0s"},
                {"x-ratelimit-remaining-tokens", "10"},
                {"x-ratelimit-reset-tokens", "20ms"}})
            .retry_after_ms == 360'000);
  CHECK(failed(c, hello(), 429, "{}").retry_after_ms == -1);
}

TEST_CASE("OpenAI errors by status: what is retried, what fails over, what is fatal") {
  const ProviderConfig c = config(ProviderKind::OpenAi, "gpt-4o-mini");
  struct Case {
    int status;
    const char* body;
    ErrorClass cls;
    Reason reason;
  };
  const Case cases[] = {
      {400,
       R"({"error":{"message":"Invalid 'messages[1].role'","type":"invalid_request_error","code":null}})",
       ErrorClass::Fatal, Reason::BadRequest},
      {400,
       R"({"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}})",
       ErrorClass::Failover, Reason::ContextWindow},
      {400,
       R"({"error":{"message":"Your request was rejected as a result of our safety system.","type":"invalid_request_error","code":"content_policy_violation"}})",
       ErrorClass::Failover, Reason::ContentPolicy},
      {401,
       R"({"error":{"message":"Incorrect API key provided: sk-test.","type":"invalid_request_error","code":"invalid_api_key"}})",
       ErrorClass::Fatal, Reason::Auth},
      {403,
       R"({"error":{"message":"Country, region, or territory not supported","type":"request_forbidden","code":"unsupported_country_region_territory"}})",
       ErrorClass::Fatal, Reason::Permission},
      {404,
       R"({"error":{"message":"The model `gpt-9` does not exist","type":"invalid_request_error","code":"model_not_found"}})",
       ErrorClass::Failover, Reason::ModelUnavailable},
      {408, "", ErrorClass::Retry, Reason::Timeout},
      {409, "", ErrorClass::Retry, Reason::Conflict},
      {500,
       R"({"error":{"message":"The server had an error while processing your request.","type":"server_error"}})",
       ErrorClass::Retry, Reason::Server},
      {502, "<html>Bad gateway</html>", ErrorClass::Retry, Reason::Server},
      {503,
       R"({"error":{"message":"The server is overloaded.","type":"service_unavailable_error","code":"server_is_overloaded"}})",
       ErrorClass::Retry, Reason::Overloaded},
      {504, "", ErrorClass::Retry, Reason::Timeout},
  };
  for (const Case& k : cases) {
    INFO(k.status << " " << k.body);
    const AiError e = failed(c, hello(), k.status, k.body);
    CHECK(e.error_class == k.cls);
    CHECK(e.reason == k.reason);
    CHECK(e.status == k.status);
  }
  CHECK(failed(c, hello(), 502, "<html>Bad gateway</html>").message == "openai: HTTP 502");
  // x-should-retry overrides the status, but never makes a quota error retryable.
  CHECK(failed(c, hello(), 500, "{}", {{"x-should-retry", "false"}}).error_class ==
        ErrorClass::Failover);
  CHECK(failed(c, hello(), 400, "{}", {{"x-should-retry", "true"}}).error_class ==
        ErrorClass::Retry);
  CHECK(failed(c, hello(), 429, R"({"error":{"code":"insufficient_quota","message":"q"}})",
               {{"x-should-retry", "true"}})
            .error_class == ErrorClass::Fatal);
}

TEST_CASE("OpenRouter: a 200 that carries an error, and its gateway statuses fail over") {
  const ProviderConfig c = config(ProviderKind::OpenRouter, "openai/gpt-4o-mini");
  const AiError down = failed(
      c, hello(), 200,
      R"({"error":{"code":502,"message":"Provider returned error","metadata":{"provider_name":"OpenAI","raw":"upstream"}}})");
  CHECK(down.error_class == ErrorClass::Failover);
  CHECK(down.reason == Reason::ModelUnavailable);
  CHECK(down.status == 200);
  CHECK(down.message == "openrouter: Provider returned error (OpenAI)");

  const AiError limited =
      failed(c, hello(), 200, R"({"error":{"code":429,"message":"Rate limited"}})");
  CHECK(limited.error_class == ErrorClass::Retry);
  CHECK(limited.reason == Reason::RateLimit);

  const AiError mid = failed(
      c, hello(), 200,
      R"({"id":"gen-1","choices":[{"message":{"role":"assistant","content":"Hel"},"finish_reason":"error","error":{"code":502,"message":"upstream closed"}}]})");
  CHECK(mid.error_class == ErrorClass::Retry);
  CHECK(mid.message == "openrouter: the model failed mid-answer: upstream closed");

  CHECK(failed(c, hello(), 402, R"({"error":{"code":402,"message":"Insufficient credits"}})")
            .reason == Reason::Billing);
  CHECK(
      failed(
          c, hello(), 403,
          R"({"error":{"code":403,"message":"Input flagged by moderation","metadata":{"reasons":["harassment"]}}})")
          .reason == Reason::ContentPolicy);
  const AiError none = failed(
      c, hello(), 503,
      R"({"error":{"code":503,"message":"No available model provider that meets your routing requirements"}})");
  CHECK(none.error_class == ErrorClass::Failover);
  CHECK(none.reason == Reason::ModelUnavailable);
}

TEST_CASE("answers that are not the API's: unreadable bodies, no choices, no HTTP answer") {
  const ProviderConfig c = config(ProviderKind::Ollama, "llama3.2", "");
  const AiError html = failed(c, hello(), 200, "<html>hi</html>");
  CHECK(html.error_class == ErrorClass::Retry);
  CHECK(html.message == "ollama answered with a body that is not a JSON object");
  CHECK(failed(c, hello(), 200, R"({"choices":[]})").message == "ollama answered with no choices");
  CHECK(failed(c, hello(), 404, R"({"error":"model \"llama9\" not found, try pulling it first"})")
            .message == "ollama: model \"llama9\" not found, try pulling it first");
  const AiError timeout = transport_error("Operation timed out after 5000 milliseconds");
  CHECK(timeout.error_class == ErrorClass::Retry);
  CHECK(timeout.reason == Reason::Timeout);
  CHECK(transport_error("Couldn't connect to server").reason == Reason::Connection);
}
