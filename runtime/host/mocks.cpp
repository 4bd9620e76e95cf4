// Matching calls to mocks and building the answers codegen expects (see
// mocks.h). Patterns are ECMAScript regular expressions, searched (not
// anchored); the transcript parser has already refused malformed ones.

#include "runtime/host/mocks.h"

#include <algorithm>
#include <map>
#include <regex>

namespace waflow::host {

namespace {

using bytecode::EffectKind;
using vm::Value;

Value ok_object(Value::Object fields) {
  fields.insert(fields.begin(), {"ok", Value::boolean(true)});
  return Value::object(std::move(fields));
}

Value failure(const std::string& error) {
  return Value::object({{"ok", Value::boolean(false)}, {"error", Value::text(error)}});
}

std::string field_text(const Value& v, std::string_view name) {
  const Value* f = v.field(name);
  return f != nullptr ? f->to_text() : "";
}

bool search(const std::string& pattern, const std::string& text) {
  try {
    return std::regex_search(text, std::regex(pattern, std::regex::ECMAScript));
  } catch (const std::regex_error&) {
    return false;
  }
}

std::string upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return s;
}

// The capture types in the VM's order (ir::CaptureType).
constexpr const char* kCaptureTypes[] = {"text",   "number", "email", "phone", "date",    "url",
                                         "choice", "yesno",  "regex", "media", "location"};

const char* kind_name(EffectKind kind) {
  return bytecode::kEffectNames[static_cast<std::size_t>(kind)].data();
}

// Whether an AI mock gives the kind of answer the effect needs.
bool fits(const Mock& m, EffectKind kind) {
  if (m.error) {
    return true;
  }
  switch (kind) {
    case EffectKind::AiReply:
      return m.reply.has_value();
    case EffectKind::AiClassify:
      return m.intent.has_value();
    case EffectKind::AiExtract:
      return m.extract.has_value() || m.question.has_value();
    default:
      return false;
  }
}

}  // namespace

std::string Mock::describe() const {
  std::string s;
  switch (kind) {
    case Kind::Ai:
      s = "the ai mock";
      if (!step.empty()) {
        s += " for step '" + step + "'";
      } else if (!pattern.empty()) {
        s += " for prompts matching '" + pattern + "'";
      }
      break;
    case Kind::Http:
      s = "the http mock for '" + pattern + "'";
      break;
    case Kind::Store:
      s = "the store mock" + (collection.empty() ? "" : " for '" + collection + "'");
      break;
  }
  return line > 0 ? s + " (line " + std::to_string(line) + ")" : s;
}

std::vector<std::string> MockResponder::take_problems() {
  std::vector<std::string> out;
  out.swap(problems_);
  return out;
}

const Mock* MockResponder::find(const Request& r) const {
  for (auto it = mocks_.rbegin(); it != mocks_.rend(); ++it) {
    const Mock& m = *it;
    switch (r.kind) {
      case EffectKind::AiReply:
      case EffectKind::AiExtract:
      case EffectKind::AiClassify: {
        if (m.kind != Mock::Kind::Ai || !fits(m, r.kind)) {
          continue;
        }
        if ((!m.step.empty() && m.step != r.step) || (!m.flow.empty() && m.flow != r.flow)) {
          continue;
        }
        if (!m.pattern.empty()) {
          const std::string text = field_text(r.payload, "prompt") + "\n" +
                                   field_text(r.payload, "system") + "\n" +
                                   field_text(r.payload, "input") + "\n" + r.input;
          if (!search(m.pattern, text)) {
            continue;
          }
        }
        return &m;
      }
      case EffectKind::Http:
        if (m.kind == Mock::Kind::Http && search(m.pattern, field_text(r.payload, "url")) &&
            (m.method.empty() || upper(m.method) == upper(field_text(r.payload, "method")))) {
          return &m;
        }
        continue;
      case EffectKind::StoreRecord:
        if (m.kind == Mock::Kind::Store &&
            (m.collection.empty() || m.collection == field_text(r.payload, "collection"))) {
          return &m;
        }
        continue;
      default:
        continue;
    }
  }
  return nullptr;
}

Value MockResponder::answer(const Request& request) {
  const Mock* mock = find(request);
  switch (request.kind) {
    case EffectKind::AiReply:
    case EffectKind::AiExtract:
    case EffectKind::AiClassify:
      return answer_ai(request, mock);
    case EffectKind::Http:
      return answer_http(request, mock);
    case EffectKind::StoreRecord:
      return answer_store(request, mock);
    default:
      return failure(std::string("the host cannot answer ") + kind_name(request.kind));
  }
}

Value MockResponder::answer_ai(const Request& r, const Mock* m) {
  const std::string where = "'" + r.step + "' of flow '" + r.flow + "'";
  if (m == nullptr && ai_fallback_ != nullptr) {
    return ai_fallback_->answer(r);
  }
  if (m == nullptr) {
    switch (r.kind) {
      case EffectKind::AiReply:
        problems_.push_back("no mock answers the ai reply step " + where +
                            "; add one such as: - ai: {step: " + r.step + ", reply: \"...\"}");
        return ok_object({{"text", Value::text("[no AI in the simulator: ai reply " + r.step +
                                               " needs a mock, see --mocks]")}});
      case EffectKind::AiClassify:
        problems_.push_back("no mock answers the ai classify step " + where +
                            "; add one such as: - ai: {step: " + r.step + ", intent: ...}");
        return ok_object({{"intent", Value::text("")}});
      default:
        problems_.push_back("no mock answers the ai extract step " + where +
                            "; add one such as: - ai: {step: " + r.step + ", extract: {...}}");
        return failure("no AI model: ai extract " + r.step + " needs a mock");
    }
  }
  if (m->error) {
    return failure(*m->error);
  }
  if (r.kind == EffectKind::AiReply) {
    return ok_object({{"text", Value::text(*m->reply)}});
  }
  if (r.kind == EffectKind::AiClassify) {
    std::vector<std::string> names;
    if (const Value* intents = r.payload.field("intents")) {
      for (const Value& i : intents->as_list()) {
        names.push_back(field_text(i, "name"));
      }
    }
    if (*m->intent == "other" || m->intent->empty()) {
      return ok_object({{"intent", Value::text("")}});
    }
    if (std::find(names.begin(), names.end(), *m->intent) == names.end()) {
      std::string list;
      for (const std::string& n : names) {
        list += n + ", ";
      }
      problems_.push_back(m->describe() + " gives the intent '" + *m->intent + "', which step " +
                          where + " does not have (" + list + "or other)");
      return ok_object({{"intent", Value::text("")}});
    }
    return ok_object({{"intent", Value::text(*m->intent)}});
  }
  const Value* fields = r.payload.field("fields");
  return extraction_answer(fields != nullptr ? *fields : Value(),
                           m->extract ? *m->extract : Value::object({}), m->question, r);
}

Value MockResponder::answer_http(const Request& r, const Mock* m) {
  const std::string call = field_text(r.payload, "method") + " " + field_text(r.payload, "url");
  if (m == nullptr) {
    problems_.push_back("no mock answers the http request " + call + " of step '" + r.step +
                        "'; add one such as: - http: {url: \"...\", status: 200, body: {...}}");
    return failure("no mock for " + call);
  }
  if (m->error) {
    return failure(*m->error);
  }
  const bool ok = m->status >= 200 && m->status < 300;
  Value::Object fields = {
      {"ok", Value::boolean(ok)}, {"status", Value::number(m->status)}, {"body", m->body}};
  if (!ok) {
    fields.emplace_back("error", Value::text("HTTP status " + vm::format_number(m->status)));
  }
  return Value::object(std::move(fields));
}

Value MockResponder::answer_store(const Request& r, const Mock* m) {
  if (m != nullptr && m->error) {
    return failure(*m->error);
  }
  const std::string collection = field_text(r.payload, "collection");
  std::size_t n = 1;
  for (const auto& [c, record] : stored_) {
    n += c == collection ? 1U : 0U;
  }
  const Value* record = r.payload.field("record");
  stored_.emplace_back(collection, record != nullptr ? *record : Value());
  const std::string id = m != nullptr && m->id ? *m->id : collection + "-" + std::to_string(n);
  return ok_object({{"id", Value::text(id)}});
}

Value extraction_answer(const Value& fields, const Value& values,
                        const std::optional<std::string>& question, const Request& request) {
  vm::Context context;
  context.now_ms = request.now_ms;
  context.tz_offset_ms = request.tz_offset_ms;
  Value::Object result;
  std::string missing;
  const Value::List none;
  for (const Value& f : fields.type() == Value::Type::List ? fields.as_list() : none) {
    const std::string name = field_text(f, "name");
    const std::string type = field_text(f, "type");
    const Value* optional = f.field("optional");
    const Value* given = values.field(name);
    Value value;
    bool valid = false;
    if (given != nullptr && !given->is_null()) {
      std::uint32_t capture = 0;
      for (std::uint32_t i = 0; i < std::size(kCaptureTypes); ++i) {
        if (type == kCaptureTypes[i]) {
          capture = i;
        }
      }
      valid = vm::validate_capture(capture, text_message(given->to_text()), Value::object({}),
                                   context, value);
    }
    if (!valid && (optional == nullptr || !optional->truthy()) && missing.empty()) {
      const std::string description = field_text(f, "description");
      missing = description.empty() ? name : description;
    }
    result.emplace_back(name, valid ? value : Value());
  }
  if (missing.empty()) {
    return ok_object(
        {{"complete", Value::boolean(true)}, {"value", Value::object(std::move(result))}});
  }
  std::string ask = question ? *question : "Could you tell me: " + missing + "?";
  return ok_object({{"complete", Value::boolean(false)}, {"question", Value::text(ask)}});
}

}  // namespace waflow::host
