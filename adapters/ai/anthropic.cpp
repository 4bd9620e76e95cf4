// Anthropic Messages (research/runtime-anchors.md A.3). The system prompt is a top-level field,
// turns alternate user/assistant (consecutive turns of one role are merged), tool answers are
// tool_result blocks inside a user turn, tool_use input is an object. A structured answer is
// asked for as a forced call of one tool whose input schema is the output schema: the API has
// no response format, and a forced tool call is the form it validates best. (With other tools
// on offer, the schema goes in the system prompt instead, and the answer is checked all the same.)

#include <algorithm>

#include "adapters/ai/media.h"
#include "adapters/ai/wire.h"

namespace waflow::ai::wire {

namespace {

// Flows allow temperatures up to 2 (OpenAI's range); Anthropic's range ends at 1.
double clamp_temperature(double t) {
  return std::clamp(t, 0.0, 1.0);
}

// Without a cap from the flow: enough for a chat answer. The API requires the field.
constexpr std::int64_t kDefaultMaxTokens = 1024;

FinishReason finish_of(std::string_view r) {
  if (r == "end_turn" || r == "stop_sequence") {
    return FinishReason::Stop;
  }
  if (r == "max_tokens") {
    return FinishReason::Length;
  }
  if (r == "tool_use") {
    return FinishReason::ToolCalls;
  }
  if (r == "refusal") {
    return FinishReason::ContentFilter;
  }
  return FinishReason::Other;
}

bool forced_output_tool(const ChatRequest& request) {
  return request.output && request.tools.empty();
}

// The latest of the reset times whose budget is spent, as a wait from now.
std::int64_t ratelimit_reset_ms(const http::StringMap& headers, std::int64_t now_ms) {
  std::int64_t wait = -1;
  for (const std::string what : {"requests", "tokens", "input-tokens", "output-tokens"}) {
    if (header(headers, "anthropic-ratelimit-" + what + "-remaining") == "0") {
      const std::int64_t at = rfc3339_ms(header(headers, "anthropic-ratelimit-" + what + "-reset"));
      if (at >= 0) {
        wait = std::max(wait, std::max<std::int64_t>(at - now_ms, 0));
      }
    }
  }
  return wait;
}

}  // namespace

AiResult<http::ClientRequest> build_anthropic(const ProviderConfig& config,
                                              const ChatRequest& request) {
  Json body = Json::object();
  body["model"] = config.model;
  body["max_tokens"] = request.max_tokens.value_or(kDefaultMaxTokens);
  std::string system = request.system;
  if (request.output && !forced_output_tool(request)) {
    system += std::string(system.empty() ? "" : "\n\n") +
              "When you give your final answer, give only one JSON object that matches this "
              "JSON Schema:\n" +
              request.output->schema;
  }
  if (!system.empty()) {
    body["system"] = system;
  }

  // Turns, merged by role.
  Json messages = Json::array();
  auto add = [&messages](const char* role, Json blocks) {
    if (blocks.empty()) {
      return;
    }
    if (!messages.empty() && messages.back()["role"] == role) {
      for (Json& b : blocks) {
        messages.back()["content"].push_back(std::move(b));
      }
      return;
    }
    messages.push_back({{"role", role}, {"content", std::move(blocks)}});
  };
  for (const Message& m : request.messages) {
    Json blocks = Json::array();
    switch (m.role) {
      case Role::User:
        for (const Image& image : m.images) {
          blocks.push_back(
              {{"type", "image"},
               {"source",
                {{"type", "base64"}, {"media_type", image.mime}, {"data", base64(image.bytes)}}}});
        }
        if (!m.text.empty()) {
          blocks.push_back({{"type", "text"}, {"text", m.text}});
        }
        add("user", std::move(blocks));
        break;
      case Role::Assistant:
        if (!m.text.empty()) {
          blocks.push_back({{"type", "text"}, {"text", m.text}});
        }
        for (const ToolCall& c : m.tool_calls) {
          std::optional<Json> input = parse_object(c.arguments.empty() ? "{}" : c.arguments);
          if (!input) {
            return error(ErrorClass::Fatal, Reason::BadRequest,
                         "the arguments of tool call '" + c.id + "' are not a JSON object");
          }
          blocks.push_back(
              {{"type", "tool_use"}, {"id", c.id}, {"name", c.name}, {"input", *input}});
        }
        add("assistant", std::move(blocks));
        break;
      case Role::Tool: {
        Json result = {
            {"type", "tool_result"}, {"tool_use_id", m.tool_call_id}, {"content", m.text}};
        if (m.tool_error) {
          result["is_error"] = true;
        }
        blocks.push_back(std::move(result));
        add("user", std::move(blocks));
        break;
      }
    }
  }
  // A turn of one text block is sent as a plain string, the API's short form.
  for (Json& m : messages) {
    Json& content = m["content"];
    if (content.size() == 1 && content[0]["type"] == "text") {
      content = content[0]["text"];
    }
  }
  body["messages"] = messages;
  if (request.temperature) {
    body["temperature"] = clamp_temperature(*request.temperature);
  }

  Json tools = Json::array();
  for (const ToolSpec& t : request.tools) {
    std::optional<Json> params =
        parse_object(t.parameters.empty() ? "{\"type\":\"object\"}" : t.parameters);
    if (!params) {
      return error(ErrorClass::Fatal, Reason::BadRequest,
                   "the parameters of tool '" + t.name + "' are not a JSON object");
    }
    Json tool = {{"name", t.name}};
    if (!t.description.empty()) {
      tool["description"] = t.description;
    }
    tool["input_schema"] = *params;
    tools.push_back(std::move(tool));
  }
  if (forced_output_tool(request)) {
    std::optional<Json> schema = parse_object(request.output->schema);
    if (!schema) {
      return error(ErrorClass::Fatal, Reason::BadRequest, "the output schema is not a JSON object");
    }
    tools.push_back({{"name", request.output->name},
                     {"description", "Give the answer by calling this tool."},
                     {"input_schema", *schema}});
    body["tools"] = tools;
    body["tool_choice"] = {{"type", "tool"}, {"name", request.output->name}};
  } else if (!tools.empty()) {
    body["tools"] = tools;
    switch (request.tool_choice) {
      case ToolChoice::Auto:
        body["tool_choice"] = {{"type", "auto"}};
        break;
      case ToolChoice::None:
        body["tool_choice"] = {{"type", "none"}};
        break;
      case ToolChoice::Required:
        body["tool_choice"] = {{"type", "any"}};
        break;
      case ToolChoice::Named:
        body["tool_choice"] = {{"type", "tool"}, {"name", request.tool_choice_name}};
        break;
    }
  }

  http::ClientRequest out;
  out.method = "POST";
  out.url = base_url(config) + "/messages";
  out.headers.emplace_back("Content-Type", "application/json");
  out.headers.emplace_back("x-api-key", config.api_key);
  out.headers.emplace_back("anthropic-version", config.anthropic_version);
  out.body = dump(body);
  return out;
}

ChatResult parse_anthropic(const ProviderConfig& config, const ChatRequest& request, int status,
                           const http::StringMap& headers, std::string_view body,
                           std::int64_t now_ms) {
  const std::optional<Json> doc = parse_json(body);
  if (status < 200 || status > 299) {
    AiError e = status_error(status, nullptr);
    std::string type;
    if (doc) {
      if (const Json* err = field(*doc, "error"); err != nullptr && err->is_object()) {
        type = text(*err, "type");
        e.message = text(*err, "message");
        e.code = type;
        if (const Json* details = field(*err, "details")) {
          // The monthly spend cap comes as a 429: never retried (A.3).
          if (const std::string code = text(*details, "error_code"); !code.empty()) {
            e.code = code;
            refine(e, code);
          }
        }
      }
    }
    if (e.message.empty()) {
      e.message = "HTTP " + std::to_string(status);
    }
    e.message = "anthropic: " + e.message;
    if (e.reason != Reason::Quota) {
      refine(e, type);
    }
    apply_should_retry(e, headers);
    e.retry_after_ms = retry_after_ms(headers, now_ms);
    if (e.retry_after_ms < 0 && status == 429) {
      e.retry_after_ms = ratelimit_reset_ms(headers, now_ms);
    }
    return e;
  }
  if (!doc || !doc->is_object()) {
    return malformed("anthropic", "with a body that is not a JSON object", status);
  }
  if (text(*doc, "type") == "error") {
    AiError e = error(ErrorClass::Retry, Reason::Server, "", status);
    if (const Json* err = field(*doc, "error")) {
      e.code = text(*err, "type");
      e.message = text(*err, "message");
      refine(e, e.code);
    }
    e.message = "anthropic: " + e.message;
    return e;
  }
  const Json* content = field(*doc, "content");
  if (content == nullptr || !content->is_array()) {
    return malformed("anthropic", "with no content", status);
  }
  ChatResponse r;
  r.provider_finish = text(*doc, "stop_reason");
  r.finish = finish_of(r.provider_finish);
  const bool forced = forced_output_tool(request);
  for (const Json& block : *content) {
    const std::string type = text(block, "type");
    if (type == "text") {
      r.text += text(block, "text");
    } else if (type == "tool_use") {
      ToolCall call;
      call.id = text(block, "id");
      call.name = text(block, "name");
      std::string why;
      const Json* input = field(block, "input");
      std::optional<std::string> args = arguments_text(input != nullptr ? *input : Json(), why);
      if (!args || call.name.empty()) {
        return error(ErrorClass::Failover, Reason::InvalidOutput,
                     "anthropic: a malformed tool_use block: " + why, status);
      }
      call.arguments = *std::move(args);
      if (forced && call.name == request.output->name) {
        r.text = call.arguments;  // the structured answer
        continue;
      }
      r.tool_calls.push_back(std::move(call));
    }
  }
  if (forced && r.tool_calls.empty() && r.finish == FinishReason::ToolCalls) {
    r.finish = FinishReason::Stop;
  }
  if (const Json* usage = field(*doc, "usage")) {
    r.usage.input_tokens = integer(*usage, "input_tokens") +
                           integer(*usage, "cache_creation_input_tokens") +
                           integer(*usage, "cache_read_input_tokens");
    r.usage.output_tokens = integer(*usage, "output_tokens");
  }
  r.model = text(*doc, "model");
  if (r.model.empty()) {
    r.model = config.model;
  }
  if (std::optional<AiError> e = check_answer(request, r)) {
    e->status = status;
    e->message = "anthropic: " + e->message;
    return *std::move(e);
  }
  return r;
}

}  // namespace waflow::ai::wire
