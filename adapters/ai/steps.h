#pragma once

// AI steps at run time: from the payload of an `ai_reply`, `ai_extract` or `ai_classify` await
// (as the server's outbox row carries it, docs/bytecode.md) to a ChatRequest for the router,
// and from the router's answer back to the value the VM resumes with.
//
//   ai_reply     the model's text                          -> {ok: true, text}
//   ai_extract   a JSON answer {complete, value, question}  -> {ok: true, complete, value,
//   question}
//                (value: one member per declared field, null when not given; the schema asks
//                for a follow-up question about what is missing)
//   ai_classify  a JSON answer {intent} whose enum is the     -> {ok: true, intent}
//                declared names plus "other"                   ("" for other)
//   any failure                                             -> {ok: false, error}
//
// A failure is always an answer: the step's `on error` exit runs. The router already retried
// and failed over, so nothing here asks for the outbox row to be delivered again.
//
// Tools: when the model calls a tool the step declares, the tool's request templates (`url`,
// `headers`, `json`) are filled with the call's arguments, the request is made with the HTTP
// client (the tool's own timeout, bounded by the step's deadline), and its answer goes back to
// the model as a tool message. At most `max_tool_rounds` rounds of tool calls; a model that
// still calls tools after that gets the step an error answer. The whole loop shares one
// deadline: the step's `timeout_ms`, else StepOptions::timeout_ms.
//
// JSON goes in and out as text, so no JSON library appears here.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/ai/chat.h"
#include "adapters/ai/router.h"
#include "adapters/http/client.h"

namespace waflow::ai {

struct StepOptions {
  std::string default_model;             // When neither the step nor the caller names one.
  std::int64_t timeout_ms = 60'000;      // When the step sets no timeout.
  int max_tool_rounds = 4;               // Rounds of tool calls in one step.
  std::size_t max_tool_answer = 16'384;  // Bytes of a tool's answer the model sees.
};

// A tool the step offers, with its request templates as the payload carries them.
struct StepTool {
  ToolSpec spec;
  std::string method;
  std::string url;                                           // Template over the params.
  std::vector<std::pair<std::string, std::string>> headers;  // Values are templates.
  std::string json;  // The body expression's source, "" for none.
  std::int64_t timeout_ms = 0;
  std::vector<std::string> params;  // Names, in order.
};

// One AI step, read from its payload.
struct StepCall {
  std::string id;
  std::string effect;  // "ai_reply", "ai_extract", "ai_classify"
  std::string flow;
  std::string step;
  std::string model;  // The step's model, else the default; "" when there is none.
  std::vector<std::string> fallbacks;
  std::int64_t timeout_ms = 0;
  ChatRequest request;
  std::vector<StepTool> tools;
  std::vector<std::string> intents;  // ai_classify: the declared names.
  std::string fields;                // ai_extract: the payload's `fields`, as JSON text.
  std::int64_t now_ms = 0;
  std::int64_t tz_offset_ms = 0;
};

// Reads an outbox row's payload ({id, effect, flow, step, input, request, history, now_ms,
// tz_offset_ms}). `default_model` (a device's) comes before options.default_model. An
// unreadable payload is an AiError of reason BadRequest.
AiResult<StepCall> read_step(std::string_view payload_json, const StepOptions& options,
                             std::string_view default_model = {});

// The VM's answer to `call` from the model's response, as JSON text. A structured answer that
// does not fit the step (an intent it did not declare) is read leniently: an unknown intent is
// "other".
std::string step_answer(const StepCall& call, const ChatResponse& response);
// {ok: false, error} as JSON text.
std::string failure_answer(std::string_view error);

// What one step cost, over every model call of its tool rounds.
struct StepReport {
  std::string flow;
  std::string step;
  std::string effect;
  std::string model_name;  // The configured model that answered last, or the last one tried.
  std::string provider;
  std::string model;  // As the provider named it.
  int calls = 0;      // Router calls (1 + tool rounds).
  int attempts = 0;   // Requests sent to providers.
  int tool_calls = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t latency_ms = 0;
  bool ok = false;
  std::string error;  // When !ok.
};

// Runs AI steps over a router and the HTTP client (for tools). Both must outlive it and every
// step it started. Thread-safe; keeps no state between steps.
class StepRunner {
 public:
  // `answer`: the VM's answer as JSON text. Called exactly once, on the router's or the HTTP
  // client's thread; it must not block.
  using Done = std::function<void(std::string answer, const StepReport& report)>;

  StepRunner(AiRouter& router, http::HttpClient& client, StepOptions options = {});

  // Runs the step of an outbox row's payload.
  void run(std::string_view payload_json, Done done, std::string_view default_model = {});
  // Runs a step already read.
  void run(StepCall call, Done done);

  const StepOptions& options() const { return options_; }

 private:
  AiRouter& router_;
  http::HttpClient& client_;
  StepOptions options_;
};

// Fills `{{name}}` placeholders from a JSON object's members (the tool call's arguments);
// `url` encodes each value for a URL. A placeholder naming no argument is empty; nullopt (with
// `why`) when a placeholder is not closed.
std::optional<std::string> fill_template(std::string_view text, std::string_view arguments_json,
                                         bool url, std::string& why);
// Evaluates a tool's `json` expression (literals, lists, objects, parameter names and their
// members, strings with placeholders) over the arguments, as JSON text; nullopt (with `why`)
// for anything else (operators, function calls).
std::optional<std::string> fill_json(std::string_view expression, std::string_view arguments_json,
                                     std::string& why);

}  // namespace waflow::ai
