// Google Gemini generateContent (research/runtime-anchors.md A.4). The key goes in
// x-goog-api-key (never in the URL, which ends up in logs); the assistant role is "model";
// tool answers are functionResponse parts matched by name. Schemas are translated to the
// OpenAPI subset of responseSchema (schema.h) unless the model is configured for
// responseJsonSchema. Gemini gives calls no ids: they get nine-character ones here, valid
// with every provider a history may be replayed to.

#include <algorithm>

#include "adapters/ai/media.h"
#include "adapters/ai/schema.h"
#include "adapters/ai/wire.h"

namespace waflow::ai::wire {

namespace {

FinishReason finish_of(std::string_view r) {
  if (r == "STOP") {
    return FinishReason::Stop;
  }
  if (r == "MAX_TOKENS") {
    return FinishReason::Length;
  }
  if (r == "SAFETY" || r == "RECITATION" || r == "BLOCKLIST" || r == "PROHIBITED_CONTENT" ||
      r == "SPII" || r == "IMAGE_SAFETY") {
    return FinishReason::ContentFilter;
  }
  return FinishReason::Other;
}

bool mentions(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// A tool's answer as the object functionResponse.response must be.
Json response_object(const std::string& text) {
  if (std::optional<Json> j = parse_object(text)) {
    return *j;
  }
  if (std::optional<Json> j = parse_json(text)) {
    return Json{{"content", *j}};
  }
  return Json{{"content", text}};
}

}  // namespace

AiResult<http::ClientRequest> build_gemini(const ProviderConfig& config,
                                           const ChatRequest& request) {
  Json body = Json::object();
  Json contents = Json::array();
  auto add = [&contents](const char* role, Json parts) {
    if (parts.empty()) {
      return;
    }
    if (!contents.empty() && contents.back()["role"] == role) {
      for (Json& p : parts) {
        contents.back()["parts"].push_back(std::move(p));
      }
      return;
    }
    contents.push_back({{"role", role}, {"parts", std::move(parts)}});
  };
  for (const Message& m : request.messages) {
    Json parts = Json::array();
    switch (m.role) {
      case Role::User:
        for (const Image& image : m.images) {
          parts.push_back(
              {{"inlineData", {{"mimeType", image.mime}, {"data", base64(image.bytes)}}}});
        }
        if (!m.text.empty()) {
          parts.push_back({{"text", m.text}});
        }
        add("user", std::move(parts));
        break;
      case Role::Assistant:
        if (!m.text.empty()) {
          parts.push_back({{"text", m.text}});
        }
        for (const ToolCall& c : m.tool_calls) {
          std::optional<Json> args = parse_object(c.arguments.empty() ? "{}" : c.arguments);
          if (!args) {
            return error(ErrorClass::Fatal, Reason::BadRequest,
                         "the arguments of tool call '" + c.id + "' are not a JSON object");
          }
          parts.push_back({{"functionCall", {{"name", c.name}, {"args", *args}}}});
        }
        add("model", std::move(parts));
        break;
      case Role::Tool:
        parts.push_back(
            {{"functionResponse", {{"name", m.tool_name}, {"response", response_object(m.text)}}}});
        add("user", std::move(parts));
        break;
    }
  }
  body["contents"] = contents;
  if (!request.system.empty()) {
    body["systemInstruction"] = {{"parts", Json::array({{{"text", request.system}}})}};
  }
  Json generation = Json::object();
  if (request.temperature) {
    generation["temperature"] = *request.temperature;
  }
  if (request.max_tokens) {
    generation["maxOutputTokens"] = *request.max_tokens;
  }
  if (request.output) {
    generation["responseMimeType"] = "application/json";
    if (config.gemini_json_schema) {
      std::optional<Json> schema = parse_object(request.output->schema);
      if (!schema) {
        return error(ErrorClass::Fatal, Reason::BadRequest,
                     "the output schema is not a JSON object");
      }
      generation["responseJsonSchema"] = *schema;
    } else {
      std::optional<std::string> schema = gemini_schema(request.output->schema);
      if (!schema) {
        return error(ErrorClass::Fatal, Reason::BadRequest,
                     "the output schema is not a JSON object");
      }
      generation["responseSchema"] = *parse_json(*schema);
    }
  }
  if (!generation.empty()) {
    body["generationConfig"] = generation;
  }
  if (!request.tools.empty()) {
    Json declarations = Json::array();
    for (const ToolSpec& t : request.tools) {
      const std::string params = t.parameters.empty() ? "{\"type\":\"object\"}" : t.parameters;
      Json d = {{"name", t.name}, {"description", t.description}};
      std::optional<Json> p = parse_object(params);
      if (!p) {
        return error(ErrorClass::Fatal, Reason::BadRequest,
                     "the parameters of tool '" + t.name + "' are not a JSON object");
      }
      if (config.gemini_json_schema) {
        d["parametersJsonSchema"] = *p;
      } else if (!p->contains("properties") || (*p)["properties"].empty()) {
        // A function without parameters: Gemini refuses an OBJECT schema with no properties.
      } else {
        d["parameters"] = *parse_json(*gemini_schema(params));
      }
      declarations.push_back(std::move(d));
    }
    body["tools"] = Json::array({{{"functionDeclarations", declarations}}});
    Json calling = Json::object();
    switch (request.tool_choice) {
      case ToolChoice::Auto:
        calling["mode"] = "AUTO";
        break;
      case ToolChoice::None:
        calling["mode"] = "NONE";
        break;
      case ToolChoice::Required:
        calling["mode"] = "ANY";
        break;
      case ToolChoice::Named:
        calling["mode"] = "ANY";
        calling["allowedFunctionNames"] = Json::array({request.tool_choice_name});
        break;
    }
    body["toolConfig"] = {{"functionCallingConfig", calling}};
  }

  http::ClientRequest out;
  out.method = "POST";
  out.url = base_url(config) + "/models/" + config.model + ":generateContent";
  out.headers.emplace_back("Content-Type", "application/json");
  out.headers.emplace_back("x-goog-api-key", config.api_key);
  out.body = dump(body);
  return out;
}

ChatResult parse_gemini(const ProviderConfig& config, const ChatRequest& request, int status,
                        const http::StringMap& headers, std::string_view body,
                        std::int64_t now_ms) {
  const std::optional<Json> doc = parse_json(body);
  if (status < 200 || status > 299) {
    AiError e = status_error(status, nullptr);
    std::int64_t retry_delay = -1;
    bool per_day = false;
    if (doc) {
      if (const Json* err = field(*doc, "error"); err != nullptr && err->is_object()) {
        e.message = text(*err, "message");
        e.code = text(*err, "status");
        if (const Json* details = field(*err, "details");
            details != nullptr && details->is_array()) {
          for (const Json& d : *details) {
            const std::string type = text(d, "@type");
            if (mentions(type, "RetryInfo")) {
              retry_delay = go_duration_ms(text(d, "retryDelay"));
            } else if (mentions(type, "QuotaFailure")) {
              if (const Json* v = field(d, "violations"); v != nullptr && v->is_array()) {
                for (const Json& violation : *v) {
                  per_day = per_day || mentions(text(violation, "quotaId"), "PerDay");
                }
              }
            } else if (mentions(type, "ErrorInfo") && text(d, "reason") == "API_KEY_INVALID") {
              e.error_class = ErrorClass::Fatal;
              e.reason = Reason::Auth;
            }
          }
        }
      }
    }
    if (e.message.empty()) {
      e.message = "HTTP " + std::to_string(status);
    }
    if (e.reason == Reason::RateLimit && (per_day || mentions(e.message, "per day"))) {
      // A daily quota will not come back within any deadline a flow has (A.4).
      e.error_class = ErrorClass::Fatal;
      e.reason = Reason::Quota;
    }
    if (e.reason == Reason::BadRequest && e.code == "FAILED_PRECONDITION") {
      e.reason = Reason::Permission;  // billing or region: the account, not the request
    }
    if (e.reason != Reason::Quota && e.reason != Reason::Auth) {
      refine(e, e.code);
    }
    e.message = "gemini: " + e.message;
    e.retry_after_ms = retry_after_ms(headers, now_ms);
    if (e.retry_after_ms < 0) {
      e.retry_after_ms = retry_delay;
    }
    return e;
  }
  if (!doc || !doc->is_object()) {
    return malformed("gemini", "with a body that is not a JSON object", status);
  }
  const Json* candidates = field(*doc, "candidates");
  if (candidates == nullptr || !candidates->is_array() || candidates->empty()) {
    if (const Json* feedback = field(*doc, "promptFeedback")) {
      if (const std::string reason = text(*feedback, "blockReason"); !reason.empty()) {
        AiError e = error(ErrorClass::Failover, Reason::ContentPolicy,
                          "gemini: the prompt was blocked (" + reason + ")", status);
        e.code = reason;
        return e;
      }
    }
    return malformed("gemini", "with no candidates", status);
  }
  const Json& candidate = (*candidates)[0];
  ChatResponse r;
  r.provider_finish = text(candidate, "finishReason");
  r.finish = finish_of(r.provider_finish);
  if (const Json* content = field(candidate, "content")) {
    if (const Json* parts = field(*content, "parts"); parts != nullptr && parts->is_array()) {
      for (const Json& part : *parts) {
        if (const Json* call = field(part, "functionCall")) {
          ToolCall c;
          c.name = text(*call, "name");
          c.id = text(*call, "id");
          if (c.id.empty()) {
            c.id = "call" + std::to_string(10000 + r.tool_calls.size()).substr(0, 5);
          }
          std::string why;
          const Json* args = field(*call, "args");
          std::optional<std::string> a = arguments_text(args != nullptr ? *args : Json(), why);
          if (!a || c.name.empty()) {
            return error(ErrorClass::Failover, Reason::InvalidOutput,
                         "gemini: a malformed functionCall: " + why, status);
          }
          c.arguments = *std::move(a);
          r.tool_calls.push_back(std::move(c));
        } else if (!part.value("thought", false)) {
          r.text += text(part, "text");
        }
      }
    }
  }
  if (!r.tool_calls.empty() && r.finish != FinishReason::Length) {
    r.finish = FinishReason::ToolCalls;
  }
  if (const Json* usage = field(*doc, "usageMetadata")) {
    r.usage.input_tokens = integer(*usage, "promptTokenCount");
    // Thinking tokens are billed as output.
    r.usage.output_tokens =
        integer(*usage, "candidatesTokenCount") + integer(*usage, "thoughtsTokenCount");
  }
  r.model = text(*doc, "modelVersion");
  if (r.model.empty()) {
    r.model = config.model;
  }
  if (std::optional<AiError> e = check_answer(request, r)) {
    e->status = status;
    e->message = "gemini: " + e->message;
    return *std::move(e);
  }
  return r;
}

}  // namespace waflow::ai::wire
