// OpenAI Chat Completions and the servers that copy it (research/runtime-anchors.md A.1, A.2):
// OpenRouter, Groq, Mistral, Together, Ollama, vLLM, llama.cpp. One body builder; what differs
// comes from the quirk table (provider.cpp).

#include <cstdint>

#include "adapters/ai/media.h"
#include "adapters/ai/schema.h"
#include "adapters/ai/wire.h"

namespace waflow::ai::wire {

namespace {

bool alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Mistral takes tool-call ids of exactly nine letters and digits; ids replayed from OpenAI
// ("call_...") or Anthropic ("toolu_...") are mapped to one, the same way for the call and for
// its answer (FNV-1a, in base 62).
std::string nine_char_id(const std::string& id) {
  bool valid = id.size() == 9;
  for (const char c : id) {
    valid = valid && alnum(c);
  }
  if (valid) {
    return id;
  }
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : id) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  static constexpr char kDigits[] =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string out(9, '0');
  for (char& c : out) {
    c = kDigits[h % 62];
    h /= 62;
  }
  return out;
}

// OpenAI's reasoning models (o1, o3, o4-mini, gpt-5...) refuse sampling parameters.
bool reasoning_model(std::string_view model) {
  if (const std::size_t slash = model.rfind('/'); slash != std::string_view::npos) {
    model.remove_prefix(slash + 1);
  }
  return (model.size() >= 2 && model[0] == 'o' && model[1] >= '1' && model[1] <= '9') ||
         model.substr(0, 5) == "gpt-5";
}

FinishReason finish_of(std::string_view r) {
  if (r == "stop") {
    return FinishReason::Stop;
  }
  if (r == "length") {
    return FinishReason::Length;
  }
  if (r == "tool_calls" || r == "function_call") {
    return FinishReason::ToolCalls;
  }
  if (r == "content_filter") {
    return FinishReason::ContentFilter;
  }
  return FinishReason::Other;
}

// The text of message.content: a string, null, or (some servers) a list of parts.
std::string content_text(const Json& message) {
  const Json* content = field(message, "content");
  if (content == nullptr) {
    return {};
  }
  if (content->is_string()) {
    return content->get<std::string>();
  }
  std::string out;
  if (content->is_array()) {
    for (const Json& part : *content) {
      out += text(part, "text");
    }
  }
  return out;
}

// The error a failed answer carries: {"error": {message, type, code, param}} (OpenAI),
// {"error": {code: 402, message, metadata}} (OpenRouter), {"error": "text"} (Ollama),
// {"message": "..."} (some proxies).
AiError body_error(AiError e, const Json* doc, std::string_view provider) {
  std::string code;
  std::string type;
  if (doc != nullptr) {
    if (const Json* err = field(*doc, "error")) {
      if (err->is_string()) {
        e.message = err->get<std::string>();
      } else if (err->is_object()) {
        e.message = text(*err, "message");
        code = scalar_text(field(*err, "code"));
        type = text(*err, "type");
        if (const Json* meta = field(*err, "metadata")) {
          // OpenRouter names the upstream that failed and passes its raw text on.
          if (const std::string name = text(*meta, "provider_name"); !name.empty()) {
            e.message += " (" + name + ")";
          }
        }
      }
    } else if (const std::string m = text(*doc, "message"); !m.empty()) {
      e.message = m;
    }
  }
  if (e.message.empty()) {
    e.message = "HTTP " + std::to_string(e.status);
  }
  e.message = std::string(provider) + ": " + e.message;
  e.code = !code.empty() && (code.front() < '0' || code.front() > '9') ? code : type;
  if (e.code.empty()) {
    e.code = code;
  }
  refine(e, code);
  if (!type.empty() && type != code) {
    refine(e, type);
  }
  return e;
}

// OpenAI's rate-limit resets ("6m0s"): the longer of the exhausted ones.
std::int64_t ratelimit_reset_ms(const http::StringMap& headers) {
  std::int64_t wait = -1;
  for (const char* what : {"requests", "tokens"}) {
    const std::string suffix = what;
    if (header(headers, "x-ratelimit-remaining-" + suffix) == "0") {
      const std::int64_t ms = go_duration_ms(header(headers, "x-ratelimit-reset-" + suffix));
      wait = ms > wait ? ms : wait;
    }
  }
  return wait;
}

Json tool_call_json(const ToolCall& call, bool nine) {
  return Json{{"id", nine ? nine_char_id(call.id) : call.id},
              {"type", "function"},
              {"function", {{"name", call.name}, {"arguments", call.arguments}}}};
}

}  // namespace

AiResult<http::ClientRequest> build_openai(const ProviderConfig& config,
                                           const ChatRequest& request) {
  const Quirks& q = quirks(config.kind);
  const std::string provider(kind_name(config.kind));
  Json body = Json::object();
  body["model"] = config.model;
  if (config.kind == ProviderKind::OpenRouter && !config.provider_fallbacks.empty()) {
    Json models = Json::array({config.model});
    for (const std::string& m : config.provider_fallbacks) {
      models.push_back(m);
    }
    body["models"] = models;
  }

  std::string system = request.system;
  if (request.output && q.json == JsonMode::JsonObject) {
    // JSON mode takes no schema: say it in the prompt (OpenAI also wants the word JSON there).
    system += std::string(system.empty() ? "" : "\n\n") +
              "Answer with one JSON object that matches this JSON Schema:\n" +
              request.output->schema;
  }
  Json messages = Json::array();
  if (!system.empty()) {
    messages.push_back({{"role", "system"}, {"content", system}});
  }
  for (const Message& m : request.messages) {
    switch (m.role) {
      case Role::User: {
        if (m.images.empty()) {
          messages.push_back({{"role", "user"}, {"content", m.text}});
          break;
        }
        // With pictures the content is a list of parts: the images as data URLs, then the text.
        Json parts = Json::array();
        for (const Image& image : m.images) {
          parts.push_back(
              {{"type", "image_url"},
               {"image_url", {{"url", "data:" + image.mime + ";base64," + base64(image.bytes)}}}});
        }
        if (!m.text.empty()) {
          parts.push_back({{"type", "text"}, {"text", m.text}});
        }
        messages.push_back({{"role", "user"}, {"content", std::move(parts)}});
        break;
      }
      case Role::Assistant: {
        Json msg = {{"role", "assistant"}};
        msg["content"] = m.text.empty() && !m.tool_calls.empty() ? Json(nullptr) : Json(m.text);
        if (!m.tool_calls.empty()) {
          Json calls = Json::array();
          for (const ToolCall& c : m.tool_calls) {
            calls.push_back(tool_call_json(c, q.nine_char_tool_ids));
          }
          msg["tool_calls"] = calls;
        }
        messages.push_back(msg);
        break;
      }
      case Role::Tool:
        messages.push_back(
            {{"role", "tool"},
             {"tool_call_id", q.nine_char_tool_ids ? nine_char_id(m.tool_call_id) : m.tool_call_id},
             {"content", m.text}});
        break;
    }
  }
  body["messages"] = messages;

  if (request.temperature && !(q.reasoning_drops_temperature && reasoning_model(config.model))) {
    body["temperature"] = *request.temperature;
  }
  if (request.max_tokens) {
    body[std::string(q.token_field)] = *request.max_tokens;
  }
  if (request.output) {
    std::optional<Json> schema = parse_object(request.output->schema);
    if (!schema) {
      return error(ErrorClass::Fatal, Reason::BadRequest, "the output schema is not a JSON object");
    }
    switch (q.json) {
      case JsonMode::JsonSchema:
        body["response_format"] = {{"type", "json_schema"},
                                   {"json_schema",
                                    {{"name", request.output->name},
                                     {"schema", *schema},
                                     {"strict", request.output->strict}}}};
        break;
      case JsonMode::JsonObject:
        body["response_format"] = {{"type", "json_object"}};
        break;
      case JsonMode::JsonObjectSchema:
        body["response_format"] = {{"type", "json_object"}, {"schema", *schema}};
        break;
    }
  }
  if (!request.tools.empty()) {
    const bool tools = config.tools < 0 ? q.tools : config.tools > 0;
    if (!tools) {
      return error(ErrorClass::Failover, Reason::Unsupported,
                   provider + " (" + config.model + ") is configured without tool support");
    }
    Json list = Json::array();
    for (const ToolSpec& t : request.tools) {
      std::optional<Json> params =
          parse_object(t.parameters.empty() ? "{\"type\":\"object\"}" : t.parameters);
      if (!params) {
        return error(ErrorClass::Fatal, Reason::BadRequest,
                     "the parameters of tool '" + t.name + "' are not a JSON object");
      }
      list.push_back(
          {{"type", "function"},
           {"function",
            {{"name", t.name}, {"description", t.description}, {"parameters", *params}}}});
    }
    body["tools"] = list;
    switch (request.tool_choice) {
      case ToolChoice::Auto:
        body["tool_choice"] = "auto";
        break;
      case ToolChoice::None:
        body["tool_choice"] = "none";
        break;
      case ToolChoice::Required:
        body["tool_choice"] = q.required_is_any ? "any" : "required";
        break;
      case ToolChoice::Named:
        body["tool_choice"] = {{"type", "function"},
                               {"function", {{"name", request.tool_choice_name}}}};
        break;
    }
  }

  http::ClientRequest out;
  out.method = "POST";
  out.url = base_url(config) + "/chat/completions";
  out.headers.emplace_back("Content-Type", "application/json");
  if (!config.api_key.empty()) {
    out.headers.emplace_back("Authorization", "Bearer " + config.api_key);
  }
  if (config.kind == ProviderKind::OpenRouter) {
    if (!config.app_url.empty()) {
      out.headers.emplace_back("HTTP-Referer", config.app_url);
    }
    if (!config.app_title.empty()) {
      out.headers.emplace_back("X-Title", config.app_title);
    }
  }
  out.body = dump(body);
  return out;
}

ChatResult parse_openai(const ProviderConfig& config, const ChatRequest& request, int status,
                        const http::StringMap& headers, std::string_view body,
                        std::int64_t now_ms) {
  const Quirks& q = quirks(config.kind);
  const std::string provider(kind_name(config.kind));
  const std::optional<Json> doc = parse_json(body);
  if (status < 200 || status > 299) {
    AiError e = body_error(status_error(status, &q), doc ? &*doc : nullptr, provider);
    apply_should_retry(e, headers);
    e.retry_after_ms = retry_after_ms(headers, now_ms);
    if (e.retry_after_ms < 0 && status == 429) {
      e.retry_after_ms = ratelimit_reset_ms(headers);
    }
    return e;
  }
  if (!doc || !doc->is_object()) {
    return malformed(provider, "with a body that is not a JSON object", status);
  }
  // A 200 that carries an error: OpenRouter, once the model has started (A.2). Its code is
  // the status the call would have had.
  if (const Json* err = field(*doc, "error"); err != nullptr && field(*doc, "choices") == nullptr) {
    const std::string code = err->is_object() ? scalar_text(field(*err, "code")) : std::string();
    int embedded = 0;
    if (code.size() == 3 && code.find_first_not_of("0123456789") == std::string::npos) {
      embedded = std::stoi(code);
    }
    AiError e = embedded >= 400 ? status_error(embedded, &q)
                                : error(ErrorClass::Retry, Reason::Server, "", status);
    e.status = status;
    e = body_error(e, &*doc, provider);
    e.retry_after_ms = retry_after_ms(headers, now_ms);
    return e;
  }
  const Json* choices = field(*doc, "choices");
  if (choices == nullptr || !choices->is_array() || choices->empty() ||
      !(*choices)[0].is_object()) {
    return malformed(provider, "with no choices", status);
  }
  const Json& choice = (*choices)[0];
  const Json* message = field(choice, "message");
  if (message == nullptr || !message->is_object()) {
    return malformed(provider, "with a choice that has no message", status);
  }
  ChatResponse r;
  r.provider_finish = text(choice, "finish_reason");
  if (r.provider_finish == "error") {
    // OpenRouter: the upstream failed mid-answer.
    AiError e = error(ErrorClass::Retry, Reason::Server, provider + ": the model failed mid-answer",
                      status);
    if (const Json* err = field(choice, "error"); err != nullptr && err->is_object()) {
      e.message += ": " + text(*err, "message");
    }
    return e;
  }
  r.finish = finish_of(r.provider_finish);
  r.text = content_text(*message);
  if (const std::string refusal = text(*message, "refusal"); !refusal.empty() && r.text.empty()) {
    return error(ErrorClass::Failover, Reason::ContentPolicy,
                 provider + ": the model refused: " + refusal, status);
  }
  if (const Json* calls = field(*message, "tool_calls"); calls != nullptr && calls->is_array()) {
    for (std::size_t i = 0; i < calls->size(); ++i) {
      const Json& c = (*calls)[i];
      const Json* fn = field(c, "function");
      if (fn == nullptr || text(*fn, "name").empty()) {
        return error(ErrorClass::Failover, Reason::InvalidOutput,
                     provider + ": a tool call without a function name", status);
      }
      ToolCall call;
      call.id = text(c, "id");
      if (call.id.empty()) {
        call.id = "call" + std::to_string(10000 + i).substr(0, 5);
      }
      call.name = text(*fn, "name");
      std::string why;
      const Json* args = field(*fn, "arguments");
      std::optional<std::string> a = arguments_text(args != nullptr ? *args : Json(), why);
      if (!a) {
        return error(ErrorClass::Failover, Reason::InvalidOutput,
                     provider + ": " + call.name + ": " + why, status);
      }
      call.arguments = *std::move(a);
      r.tool_calls.push_back(std::move(call));
    }
  }
  if (!r.tool_calls.empty() && r.finish == FinishReason::Stop) {
    r.finish = FinishReason::ToolCalls;  // some servers say "stop" with calls in hand
  }
  if (const Json* usage = field(*doc, "usage")) {
    r.usage.input_tokens = integer(*usage, "prompt_tokens");
    r.usage.output_tokens = integer(*usage, "completion_tokens");
  }
  r.model = text(*doc, "model");
  if (r.model.empty()) {
    r.model = config.model;
  }
  if (std::optional<AiError> e = check_answer(request, r)) {
    e->status = status;
    e->message = provider + ": " + e->message;
    return *std::move(e);
  }
  return r;
}

}  // namespace waflow::ai::wire
