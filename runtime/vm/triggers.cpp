#include "runtime/vm/triggers.h"

#include <regex>
#include <string>
#include <unordered_map>

namespace waflow::vm {

namespace {

using bytecode::TriggerKind;

std::string normalize(std::string_view s) {
  std::string out;
  for (char c : s) {
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::size_t b = out.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) {
    return {};
  }
  return out.substr(b, out.find_last_not_of(" \t\r\n") - b + 1);
}

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         (static_cast<unsigned char>(c) >= 0x80);
}

// Whether `phrase` occurs in `text` as whole words.
bool has_phrase(const std::string& text, const std::string& phrase) {
  if (phrase.empty()) {
    return false;
  }
  for (std::size_t at = text.find(phrase); at != std::string::npos;
       at = text.find(phrase, at + 1)) {
    const bool start_ok = at == 0 || !word_char(text[at - 1]);
    const std::size_t end = at + phrase.size();
    const bool end_ok = end == text.size() || !word_char(text[end]);
    if (start_ok && end_ok) {
      return true;
    }
  }
  return false;
}

int specificity(TriggerKind kind) {
  switch (kind) {
    case TriggerKind::Exact:
    case TriggerKind::Payload:
    case TriggerKind::FirstContact:
      return 3;
    case TriggerKind::Keyword:
    case TriggerKind::Regex:
      return 2;
    case TriggerKind::Any:
      return 1;
    default:
      return 0;
  }
}

bool regex_matches(const std::string& pattern, const std::string& text) {
  static thread_local std::unordered_map<std::string, std::optional<std::regex>> cache;
  auto it = cache.find(pattern);
  if (it == cache.end()) {
    std::optional<std::regex> re;
    try {
      re.emplace(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
    }
    it = cache.emplace(pattern, std::move(re)).first;
  }
  return it->second && std::regex_search(text, *it->second);
}

}  // namespace

std::optional<TriggerMatch> match_trigger(const bytecode::Bundle& bundle, const Value& message,
                                          bool first_contact) {
  const Value* text_field = message.field("text");
  const std::string raw = text_field != nullptr ? text_field->to_text() : "";
  const std::string text = normalize(raw);
  const Value* payload_field = message.field("payload");
  const std::string payload = payload_field != nullptr ? payload_field->to_text() : "";
  std::optional<TriggerMatch> best;
  int best_priority = 0;
  int best_specificity = 0;
  for (std::uint32_t i = 0; i < bundle.triggers.size(); ++i) {
    const bytecode::TriggerInfo& t = bundle.triggers[i];
    bool hit = false;
    switch (t.kind) {
      case TriggerKind::Keyword:
        for (std::uint32_t v : t.values) {
          hit = hit || has_phrase(text, normalize(bundle.str(v)));
        }
        break;
      case TriggerKind::Exact:
        for (std::uint32_t v : t.values) {
          hit = hit || text == normalize(bundle.str(v));
        }
        break;
      case TriggerKind::Regex:
        hit = !t.values.empty() && regex_matches(bundle.str(t.values[0]), raw);
        break;
      case TriggerKind::Any:
        hit = true;
        break;
      case TriggerKind::FirstContact:
        hit = first_contact;
        break;
      case TriggerKind::Payload:
        for (std::uint32_t v : t.values) {
          hit = hit || (!payload.empty() && payload == bundle.str(v));
        }
        break;
      case TriggerKind::Api:
      case TriggerKind::Schedule:
        break;
    }
    if (!hit) {
      continue;
    }
    const int spec = specificity(t.kind);
    if (!best || t.priority > best_priority ||
        (t.priority == best_priority && spec > best_specificity)) {
      best = TriggerMatch{t.flow, i};
      best_priority = t.priority;
      best_specificity = spec;
    }
  }
  return best;
}

}  // namespace waflow::vm
