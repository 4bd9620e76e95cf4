// The key tables of the YAML flow format (see format.h).

#include "compiler/yaml/format.h"

#include <map>

namespace waflow::yaml {

namespace {

using Keys = std::vector<std::string>;

Keys join(std::initializer_list<Keys> parts) {
  Keys out;
  for (const Keys& part : parts) {
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

const Keys kOptionKeys = {"buttons", "list", "sections"};
const Keys kAiKeys = {"model",   "fallback",   "system", "prompt",  "temperature",
                      "history", "max_tokens", "buffer", "timeout", "tools"};

const std::map<std::string, Keys, std::less<>>& keys_by_kind() {
  static const std::map<std::string, Keys, std::less<>> table = {
      {"say", join({{"header", "footer"}, kOptionKeys})},
      {"image", {"caption", "filename", "mime"}},
      {"audio", {"caption", "filename", "mime"}},
      {"video", {"caption", "filename", "mime"}},
      {"document", {"caption", "filename", "mime"}},
      {"sticker", {"caption", "filename", "mime"}},
      {"location", {"name", "address"}},
      {"template", {"lang", "params"}},
      {"typing", {}},
      {"ask", join({{"type", "prompt"},
                    kOptionKeys,
                    {"pattern", "reminders", "on_invalid", "on_timeout"}})},
      {"ai_reply", join({{"into"}, kAiKeys, {"on_error"}})},
      {"ai_extract", join({kAiKeys, {"fields", "on_invalid", "on_error"}})},
      {"ai_classify", join({{"from"}, kAiKeys, {"intents", "other", "on_error"}})},
      {"if", {"then", "elif", "else"}},
      {"match", {"cases", "else"}},
      {"set", {"value"}},
      {"goto", {}},
      {"call", {}},
      {"return", {}},
      {"stage", {}},
      {"tag", {}},
      {"untag", {}},
      {"http", {"url", "into", "headers", "json", "body", "timeout", "retries", "map", "on_error"}},
      {"store", {"record", "into"}},
      {"delay", {}},
      {"handoff", {"note", "queue"}},
      {"end", {}},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& step_kinds() {
  static const Keys kinds = {"say",         "image",    "audio",  "video", "document", "sticker",
                             "location",    "template", "typing", "ask",   "ai_reply", "ai_extract",
                             "ai_classify", "if",       "match",  "set",   "goto",     "call",
                             "return",      "stage",    "tag",    "untag", "http",     "store",
                             "delay",       "handoff",  "end"};
  return kinds;
}

const std::vector<std::string>& step_keys(std::string_view kind) {
  static const Keys none;
  const auto& table = keys_by_kind();
  const auto it = table.find(kind);
  return it == table.end() ? none : it->second;
}

const std::vector<std::string>& trigger_kinds() {
  static const Keys kinds = {"keyword",       "exact",   "regex", "any",
                             "first_contact", "payload", "api",   "schedule"};
  return kinds;
}

const std::vector<std::string>& capture_type_names() {
  static const Keys names = {"text",   "number", "email", "phone", "date",    "url",
                             "choice", "yesno",  "regex", "media", "location"};
  return names;
}

const std::vector<std::string>& value_type_names() {
  static const Keys names = {"text",   "number", "bool",     "date",   "datetime", "duration",
                             "choice", "media",  "location", "object", "list"};
  return names;
}

}  // namespace waflow::yaml
