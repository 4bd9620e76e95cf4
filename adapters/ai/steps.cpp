// AI steps at run time (steps.h): outbox payloads to chat requests, answers to VM values, and
// the loop of tool calls.

#include "adapters/ai/steps.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <utility>

#include "adapters/ai/wire.h"

namespace waflow::ai {

namespace {

using wire::Json;
using SteadyClock = std::chrono::steady_clock;

constexpr std::int64_t kToolTimeoutMs = 10'000;  // A tool that sets none.

AiError bad(std::string message) {
  return wire::error(ErrorClass::Fatal, Reason::BadRequest, std::move(message));
}

std::string text_of(const Json& object, const char* key) {
  return wire::text(object, key);
}

std::optional<double> number_of(const Json& object, const char* key) {
  const Json* f = wire::field(object, key);
  if (f == nullptr || !f->is_number()) {
    return std::nullopt;
  }
  return f->get<double>();
}

// The JSON Schema type of a capture type's value, as a model should write it.
const char* json_type(std::string_view capture) {
  if (capture == "number") {
    return "number";
  }
  if (capture == "yesno") {
    return "boolean";
  }
  return "string";
}

// How a field is described to the model: its description, and its type when that says more
// than "text".
std::string field_hint(const std::string& description, const std::string& type) {
  std::string hint = description;
  if (!type.empty() && type != "text") {
    hint += (hint.empty() ? "" : " ") + std::string("(") + type + ")";
  }
  return hint;
}

void read_tool(const Json& t, StepCall& call) {
  StepTool tool;
  tool.spec.name = text_of(t, "name");
  tool.spec.description = text_of(t, "description");
  tool.method = text_of(t, "method");
  if (tool.method.empty()) {
    tool.method = "GET";
  }
  tool.url = text_of(t, "url");
  tool.json = text_of(t, "json");
  if (std::optional<double> ms = number_of(t, "timeout_ms"); ms && *ms > 0) {
    tool.timeout_ms = static_cast<std::int64_t>(*ms);
  }
  if (const Json* headers = wire::field(t, "headers"); headers != nullptr && headers->is_object()) {
    for (const auto& [name, value] : headers->items()) {
      tool.headers.emplace_back(name, value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
  Json properties = Json::object();
  Json required = Json::array();
  if (const Json* params = wire::field(t, "params"); params != nullptr && params->is_array()) {
    for (const Json& p : *params) {
      if (!p.is_object()) {
        continue;
      }
      const std::string name = text_of(p, "name");
      if (name.empty()) {
        continue;
      }
      Json prop = {{"type", json_type(text_of(p, "type"))}};
      const std::string hint = field_hint(text_of(p, "description"), text_of(p, "type"));
      if (!hint.empty()) {
        prop["description"] = hint;
      }
      properties[name] = std::move(prop);
      const Json* optional = wire::field(p, "optional");
      if (optional == nullptr || !optional->is_boolean() || !optional->get<bool>()) {
        required.push_back(name);
      }
      tool.params.push_back(name);
    }
  }
  Json schema = {{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) {
    schema["required"] = std::move(required);
  }
  tool.spec.parameters = wire::dump(schema);
  call.request.tools.push_back(tool.spec);
  call.tools.push_back(std::move(tool));
}

// ai_extract: the answer's schema, and what the model is told to do with it.
void extract_request(const Json& fields, StepCall& call, std::string& instructions) {
  Json properties = Json::object();
  Json names = Json::array();
  std::string list;
  for (const Json& f : fields) {
    if (!f.is_object() || text_of(f, "name").empty()) {
      continue;
    }
    const std::string name = text_of(f, "name");
    const std::string type = text_of(f, "type");
    const Json* optional = wire::field(f, "optional");
    const bool opt = optional != nullptr && optional->is_boolean() && optional->get<bool>();
    Json prop = {{"type", Json::array({json_type(type), "null"})}};
    const std::string hint = field_hint(text_of(f, "description"), type);
    if (!hint.empty()) {
      prop["description"] = hint;
    }
    properties[name] = std::move(prop);
    names.push_back(name);
    list += "- " + name + (hint.empty() ? "" : ": " + hint) + (opt ? " (optional)" : "") + "\n";
  }
  const Json value = {{"type", "object"},
                      {"properties", std::move(properties)},
                      {"required", names},
                      {"additionalProperties", false}};
  const Json schema = {{"type", "object"},
                       {"properties",
                        {{"complete", {{"type", "boolean"}}},
                         {"value", value},
                         {"question", {{"type", Json::array({"string", "null"})}}}}},
                       {"required", Json::array({"complete", "value", "question"})},
                       {"additionalProperties", false}};
  call.request.output = OutputSchema{"extraction", wire::dump(schema), true};
  instructions =
      "Extract these fields from the conversation:\n" + list +
      "Use only what the user wrote; never invent a value. A field that was not given is null. "
      "Answer with JSON {\"complete\", \"value\", \"question\"}: complete is true when every "
      "field not marked optional has a value; otherwise complete is false and question is one "
      "short, friendly question to the user, in their language, asking for what is missing.";
}

// ai_classify: one intent of a closed list, or "other".
void classify_request(const Json& intents, StepCall& call, std::string& instructions) {
  Json names = Json::array();
  std::string list;
  for (const Json& i : intents) {
    if (!i.is_object() || text_of(i, "name").empty()) {
      continue;
    }
    const std::string name = text_of(i, "name");
    const std::string description = text_of(i, "description");
    call.intents.push_back(name);
    names.push_back(name);
    list += "- " + name + (description.empty() ? "" : ": " + description) + "\n";
  }
  names.push_back("other");
  const Json schema = {{"type", "object"},
                       {"properties", {{"intent", {{"type", "string"}, {"enum", names}}}}},
                       {"required", Json::array({"intent"})},
                       {"additionalProperties", false}};
  call.request.output = OutputSchema{"classification", wire::dump(schema), true};
  instructions = "Classify the user's message as one of these intents:\n" + list +
                 "- other: none of the above\nAnswer with JSON {\"intent\": NAME}.";
}

}  // namespace

AiResult<StepCall> read_step(std::string_view payload_json, const StepOptions& options,
                             std::string_view default_model) {
  std::optional<Json> parsed = wire::parse_object(payload_json);
  if (!parsed) {
    return bad("the AI step's payload is not a JSON object");
  }
  const Json& row = *parsed;
  const Json* r = wire::field(row, "request");
  if (r == nullptr || !r->is_object()) {
    return bad("the AI step's payload has no request object");
  }
  StepCall call;
  call.id = text_of(row, "id");
  call.effect = text_of(row, "effect");
  call.flow = text_of(row, "flow");
  call.step = text_of(row, "step");
  if (call.effect != "ai_reply" && call.effect != "ai_extract" && call.effect != "ai_classify") {
    return bad("'" + call.effect + "' is not an AI effect");
  }
  call.now_ms = static_cast<std::int64_t>(number_of(row, "now_ms").value_or(0));
  call.tz_offset_ms = static_cast<std::int64_t>(number_of(row, "tz_offset_ms").value_or(0));

  call.model = text_of(*r, "model");
  if (call.model.empty()) {
    call.model = default_model.empty() ? options.default_model : std::string(default_model);
  }
  if (const Json* f = wire::field(*r, "fallbacks"); f != nullptr && f->is_array()) {
    for (const Json& name : *f) {
      if (name.is_string()) {
        call.fallbacks.push_back(name.get<std::string>());
      }
    }
  }
  call.timeout_ms = options.timeout_ms;
  if (std::optional<double> ms = number_of(*r, "timeout_ms"); ms && *ms > 0) {
    call.timeout_ms = static_cast<std::int64_t>(*ms);
  }
  if (std::optional<double> t = number_of(*r, "temperature")) {
    call.request.temperature = *t;
  }
  if (std::optional<double> n = number_of(*r, "max_tokens"); n && *n >= 1) {
    call.request.max_tokens = static_cast<std::int64_t>(*n);
  }

  std::string instructions;
  if (call.effect == "ai_extract") {
    const Json* fields = wire::field(*r, "fields");
    if (fields == nullptr || !fields->is_array()) {
      return bad("the ai extract step has no fields");
    }
    call.fields = wire::dump(*fields);
    extract_request(*fields, call, instructions);
  } else if (call.effect == "ai_classify") {
    const Json* intents = wire::field(*r, "intents");
    if (intents == nullptr || !intents->is_array()) {
      return bad("the ai classify step has no intents");
    }
    classify_request(*intents, call, instructions);
  }
  const std::string system = text_of(*r, "system");
  call.request.system = system.empty()
                            ? instructions
                            : (instructions.empty() ? system : system + "\n\n" + instructions);

  if (const Json* h = wire::field(row, "history"); h != nullptr && h->is_array()) {
    for (const Json& line : *h) {
      if (!line.is_object()) {
        continue;
      }
      const std::string t = text_of(line, "text");
      if (t.empty()) {
        continue;
      }
      Message m;
      m.role = text_of(line, "role") == "assistant" ? Role::Assistant : Role::User;
      m.text = t;
      call.request.messages.push_back(std::move(m));
    }
  }
  // The user turn: the prompt (default: the turn's messages); a classification's text is the
  // step's `input` (default: the message).
  std::string prompt = text_of(*r, "prompt");
  const std::string input = text_of(row, "input");
  if (call.effect == "ai_classify") {
    std::string subject = text_of(*r, "input");
    if (subject.empty()) {
      subject = input;
    }
    prompt = prompt.empty() ? subject : prompt + "\n\n" + subject;
  } else if (prompt.empty()) {
    prompt = input;
  }
  if (prompt.empty()) {
    prompt = "(empty message)";  // Providers refuse empty turns.
  }
  Message user;
  user.role = Role::User;
  user.text = std::move(prompt);
  call.request.messages.push_back(std::move(user));

  if (const Json* tools = wire::field(*r, "tools"); tools != nullptr && tools->is_array()) {
    for (const Json& t : *tools) {
      if (t.is_object() && !text_of(t, "name").empty()) {
        read_tool(t, call);
      }
    }
  }
  return call;
}

std::string failure_answer(std::string_view error) {
  return wire::dump(Json{{"ok", false}, {"error", std::string(error)}});
}

std::string step_answer(const StepCall& call, const ChatResponse& response) {
  if (call.effect == "ai_reply") {
    return wire::dump(Json{{"ok", true}, {"text", response.text}});
  }
  std::optional<Json> parsed =
      wire::parse_object(response.parsed.empty() ? response.text : response.parsed);
  if (!parsed) {
    return failure_answer("the model's answer is not a JSON object");
  }
  if (call.effect == "ai_classify") {
    std::string intent = text_of(*parsed, "intent");
    if (std::find(call.intents.begin(), call.intents.end(), intent) == call.intents.end()) {
      intent.clear();  // "other", or a name the step does not have.
    }
    return wire::dump(Json{{"ok", true}, {"intent", intent}});
  }
  const Json* complete = wire::field(*parsed, "complete");
  const Json* value = wire::field(*parsed, "value");
  const Json* question = wire::field(*parsed, "question");
  Json answer = {
      {"ok", true},
      {"complete", complete != nullptr && complete->is_boolean() && complete->get<bool>()},
      {"value", value != nullptr && value->is_object() ? *value : Json::object()}};
  answer["question"] =
      question != nullptr && question->is_string() ? Json(question->get<std::string>()) : Json();
  return wire::dump(answer);
}

// ---- templates ----------------------------------------------------------------------------

namespace {

// The member at a dotted path of the arguments; nullptr when absent.
const Json* lookup(const Json& arguments, std::string_view path) {
  const Json* at = &arguments;
  while (!path.empty()) {
    const std::size_t dot = path.find('.');
    const std::string key(path.substr(0, dot));
    if (!at->is_object()) {
      return nullptr;
    }
    auto it = at->find(key);
    if (it == at->end()) {
      return nullptr;
    }
    at = &*it;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return at;
}

std::string as_text(const Json* v) {
  if (v == nullptr || v->is_null()) {
    return {};
  }
  if (v->is_string()) {
    return v->get<std::string>();
  }
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
      return std::to_string(static_cast<std::int64_t>(d));
    }
  }
  return wire::dump(*v);
}

std::string url_encode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

std::optional<std::string> fill(std::string_view text, const Json& arguments, bool url,
                                std::string& why) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '{') {
      out += '{';  // A template escape: a literal brace.
      i += 2;
      continue;
    }
    if (text.compare(i, 2, "{{") != 0) {
      out += text[i++];
      continue;
    }
    const std::size_t close = text.find("}}", i + 2);
    if (close == std::string_view::npos) {
      why = "a '{{' without '}}' in '" + std::string(text) + "'";
      return std::nullopt;
    }
    const std::string value = as_text(lookup(arguments, trim(text.substr(i + 2, close - i - 2))));
    out += url ? url_encode(value) : value;
    i = close + 2;
  }
  return out;
}

// A recursive-descent reader of the printed expressions a tool's `json` may hold.
class JsonExpr {
 public:
  JsonExpr(std::string_view text, const Json& arguments) : s_(text), args_(arguments) {}

  std::optional<Json> run(std::string& why) {
    std::optional<Json> v = value();
    skip();
    if (v && pos_ != s_.size()) {
      error_ = "unexpected '" + std::string(s_.substr(pos_, 12)) + "'";
      v.reset();
    }
    if (!v) {
      why = "the tool's json " + error_ +
            " (a tool's json may hold literals, lists, objects "
            "and parameter names)";
    }
    return v;
  }

 private:
  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])) != 0) {
      ++pos_;
    }
  }
  bool eat(char c) {
    skip();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::optional<Json> fail(std::string what) {
    if (error_.empty()) {
      error_ = std::move(what);
    }
    return std::nullopt;
  }
  static bool ident_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  }

  std::optional<std::string> string_literal() {
    ++pos_;  // '"'
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (c == '\\' && pos_ < s_.size()) {
        const char e = s_[pos_++];
        if (e == 'n') {
          c = '\n';
        } else if (e == 't') {
          c = '\t';
        } else if (e == '{') {
          out += "\\{";  // Stays an escape for fill().
          continue;
        } else {
          c = e;
        }
      }
      out += c;
    }
    if (pos_ >= s_.size()) {
      fail("has an unclosed text");
      return std::nullopt;
    }
    ++pos_;
    std::string why;
    std::optional<std::string> filled = fill(out, args_, false, why);
    if (!filled) {
      fail(why);
    }
    return filled;
  }

  std::optional<Json> value() {
    if (++depth_ > 64) {
      return fail("is nested too deeply");
    }
    std::optional<Json> v = value_inner();
    --depth_;
    return v;
  }

  std::optional<Json> value_inner() {
    skip();
    if (pos_ >= s_.size()) {
      return fail("ends early");
    }
    const char c = s_[pos_];
    if (c == '"') {
      std::optional<std::string> t = string_literal();
      return t ? std::optional<Json>(Json(*t)) : std::nullopt;
    }
    if (c == '{') {
      ++pos_;
      Json out = Json::object();
      if (eat('}')) {
        return out;
      }
      do {
        skip();
        std::string key;
        if (pos_ < s_.size() && s_[pos_] == '"') {
          std::optional<std::string> k = string_literal();
          if (!k) {
            return std::nullopt;
          }
          key = *k;
        } else {
          const std::size_t start = pos_;
          while (pos_ < s_.size() && ident_char(s_[pos_])) {
            ++pos_;
          }
          key = std::string(s_.substr(start, pos_ - start));
        }
        if (key.empty() || !eat(':')) {
          return fail("has an object key without ':'");
        }
        std::optional<Json> v = value();
        if (!v) {
          return std::nullopt;
        }
        out[key] = std::move(*v);
      } while (eat(','));
      if (!eat('}')) {
        return fail("has an object without '}'");
      }
      return out;
    }
    if (c == '[') {
      ++pos_;
      Json out = Json::array();
      if (eat(']')) {
        return out;
      }
      do {
        std::optional<Json> v = value();
        if (!v) {
          return std::nullopt;
        }
        out.push_back(std::move(*v));
      } while (eat(','));
      if (!eat(']')) {
        return fail("has a list without ']'");
      }
      return out;
    }
    if (c == '-' || std::isdigit(static_cast<unsigned char>(c)) != 0) {
      const std::size_t start = pos_;
      ++pos_;
      while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) != 0 ||
                                  s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) {
        ++pos_;
      }
      if (pos_ < s_.size() && ident_char(s_[pos_])) {
        return fail("has a value that is not a plain number");
      }
      std::optional<Json> n = wire::parse_json(s_.substr(start, pos_ - start));
      if (!n || !n->is_number()) {
        return fail("has a malformed number");
      }
      return n;
    }
    if (ident_char(c)) {
      const std::size_t start = pos_;
      while (pos_ < s_.size() && (ident_char(s_[pos_]) || s_[pos_] == '.')) {
        ++pos_;
      }
      const std::string name(s_.substr(start, pos_ - start));
      skip();
      if (pos_ < s_.size() && (s_[pos_] == '(' || s_[pos_] == '[')) {
        return fail("uses '" + name + s_[pos_] + "', which the host does not evaluate");
      }
      if (name == "true" || name == "false") {
        return Json(name == "true");
      }
      if (name == "null") {
        return Json();
      }
      const Json* v = lookup(args_, name);
      return v != nullptr ? *v : Json();
    }
    return fail("has '" + std::string(1, c) + "', which the host does not evaluate");
  }

  std::string_view s_;
  const Json& args_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::string error_;
};

}  // namespace

std::optional<std::string> fill_template(std::string_view text, std::string_view arguments_json,
                                         bool url, std::string& why) {
  const Json arguments = wire::parse_object(arguments_json).value_or(Json::object());
  return fill(text, arguments, url, why);
}

std::optional<std::string> fill_json(std::string_view expression, std::string_view arguments_json,
                                     std::string& why) {
  const Json arguments = wire::parse_object(arguments_json).value_or(Json::object());
  std::optional<Json> v = JsonExpr(expression, arguments).run(why);
  if (!v) {
    return std::nullopt;
  }
  // Operators after a value ("a + b") end the value early and are caught by run().
  return wire::dump(*v);
}

// ---- the loop -----------------------------------------------------------------------------

namespace {

// One step in flight: its request grows with each round of tool calls.
struct Loop : std::enable_shared_from_this<Loop> {
  AiRouter* router = nullptr;
  http::HttpClient* client = nullptr;
  StepOptions options;
  StepCall call;
  StepRunner::Done done;
  StepReport report;
  SteadyClock::time_point start;
  int rounds = 0;
  // The tool answers of the round in flight.
  std::mutex mutex;
  std::vector<Message> answers;
  std::size_t outstanding = 0;

  std::int64_t left_ms() const {
    const auto spent =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count();
    return call.timeout_ms - spent;
  }

  void finish(std::string answer, bool ok, std::string error = {}) {
    report.ok = ok;
    report.error = std::move(error);
    report.latency_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count();
    StepRunner::Done callback = std::move(done);
    callback(std::move(answer), report);
  }

  void fail(const std::string& error) { finish(failure_answer(error), false, error); }

  void ask() {
    const std::int64_t left = left_ms();
    if (left <= 0) {
      fail("timeout: the step's " + std::to_string(call.timeout_ms) + " ms passed");
      return;
    }
    ++report.calls;
    router->call(
        call.model, call.request, left,
        [self = shared_from_this()](CallResult result) { self->answered(std::move(result)); },
        call.fallbacks);
  }

  void answered(CallResult result) {
    report.attempts += result.stats.attempts;
    report.input_tokens += result.stats.input_tokens;
    report.output_tokens += result.stats.output_tokens;
    report.model_name = result.stats.model_name;
    report.provider = result.stats.provider;
    report.model = result.stats.model;
    if (!result.ok()) {
      const AiError& e = result.error;
      fail(std::string(reason_name(e.reason)) +
           (e.status != 0 ? " " + std::to_string(e.status) : "") + ": " + e.message);
      return;
    }
    ChatResponse response = std::move(*result.response);
    if (response.tool_calls.empty()) {
      finish(step_answer(call, response), true);
      return;
    }
    if (rounds >= options.max_tool_rounds) {
      fail("the model still called tools after " + std::to_string(options.max_tool_rounds) +
           " rounds");
      return;
    }
    ++rounds;
    Message assistant;
    assistant.role = Role::Assistant;
    assistant.text = response.text;
    assistant.tool_calls = response.tool_calls;
    call.request.messages.push_back(std::move(assistant));
    report.tool_calls += static_cast<int>(response.tool_calls.size());
    {
      const std::lock_guard lock(mutex);
      answers.assign(response.tool_calls.size(), Message{});
      outstanding = response.tool_calls.size();
    }
    for (std::size_t i = 0; i < response.tool_calls.size(); ++i) {
      perform(i, response.tool_calls[i]);
    }
  }

  void tool_done(std::size_t index, const ToolCall& tc, std::string text, bool error) {
    Message m;
    m.role = Role::Tool;
    m.tool_call_id = tc.id;
    m.tool_name = tc.name;
    m.tool_error = error;
    if (text.size() > options.max_tool_answer) {
      text.resize(options.max_tool_answer);
      text += " [cut]";
    }
    m.text = text.empty() ? (error ? "error" : "(empty)") : std::move(text);
    bool last = false;
    {
      const std::lock_guard lock(mutex);
      answers[index] = std::move(m);
      last = --outstanding == 0;
    }
    if (last) {
      for (Message& a : answers) {
        call.request.messages.push_back(std::move(a));
      }
      answers.clear();
      ask();
    }
  }

  void perform(std::size_t index, const ToolCall& tc) {
    const StepTool* tool = nullptr;
    for (const StepTool& t : call.tools) {
      tool = t.spec.name == tc.name ? &t : tool;
    }
    if (tool == nullptr) {
      tool_done(index, tc, "there is no tool named '" + tc.name + "'", true);
      return;
    }
    std::string why;
    http::ClientRequest req;
    req.method = tool->method;
    std::optional<std::string> url = fill_template(tool->url, tc.arguments, true, why);
    if (!url) {
      tool_done(index, tc, "the tool is misconfigured: " + why, true);
      return;
    }
    req.url = std::move(*url);
    bool typed = false;
    for (const auto& [name, value] : tool->headers) {
      std::optional<std::string> v = fill_template(value, tc.arguments, false, why);
      if (!v) {
        tool_done(index, tc, "the tool is misconfigured: " + why, true);
        return;
      }
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      typed = typed || lower == "content-type";
      req.headers.emplace_back(name, std::move(*v));
    }
    if (!tool->json.empty()) {
      std::optional<std::string> body = fill_json(tool->json, tc.arguments, why);
      if (!body) {
        tool_done(index, tc, "the tool is misconfigured: " + why, true);
        return;
      }
      req.body = std::move(*body);
      if (!typed) {
        req.headers.emplace_back("Content-Type", "application/json");
      }
    }
    const std::int64_t left = left_ms();
    if (left <= 0) {
      tool_done(index, tc, "no time left for the tool", true);
      return;
    }
    req.timeout_ms = std::min(tool->timeout_ms > 0 ? tool->timeout_ms : kToolTimeoutMs, left);
    client->submit(
        std::move(req), [self = shared_from_this(), index, tc](http::ClientResponse resp) {
          if (!resp.ok()) {
            self->tool_done(index, tc, "the request failed: " + resp.error, true);
          } else if (resp.status < 200 || resp.status >= 300) {
            self->tool_done(index, tc,
                            "HTTP status " + std::to_string(resp.status) + ": " + resp.body, true);
          } else {
            self->tool_done(index, tc, std::move(resp.body), false);
          }
        });
  }
};

}  // namespace

StepRunner::StepRunner(AiRouter& router, http::HttpClient& client, StepOptions options)
    : router_(router), client_(client), options_(std::move(options)) {}

void StepRunner::run(std::string_view payload_json, Done done, std::string_view default_model) {
  AiResult<StepCall> call = read_step(payload_json, options_, default_model);
  if (!call) {
    StepReport report;
    report.error = call.error().message;
    done(failure_answer(report.error), report);
    return;
  }
  run(std::move(call).value(), std::move(done));
}

void StepRunner::run(StepCall call, Done done) {
  auto loop = std::make_shared<Loop>();
  loop->router = &router_;
  loop->client = &client_;
  loop->options = options_;
  loop->report.flow = call.flow;
  loop->report.step = call.step;
  loop->report.effect = call.effect;
  loop->start = SteadyClock::now();
  loop->done = std::move(done);
  if (call.model.empty()) {
    loop->call = std::move(call);
    loop->fail("not configured: the step names no model and there is no default_model");
    return;
  }
  loop->call = std::move(call);
  loop->ask();
}

}  // namespace waflow::ai
