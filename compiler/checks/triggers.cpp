// Trigger checks: identical triggers (WF0412) and triggers that another flow's
// trigger always beats (WF0407).
//
// The matching rules assumed here (and documented in the pages of both codes):
// keywords and exact phrases compare case-insensitively with runs of spaces
// folded; a keyword matches a message that contains it as whole words; an exact
// phrase matches the whole message; `any` matches every text message; payloads
// and regexes compare as written. A trigger's priority is its own `priority`, else
// its flow's, else 0; the higher number wins. At equal priority the more specific
// kind wins: an exact phrase, a payload or first_contact before a keyword or a
// regex, and those before `any` (so `trigger any` is the fallback for messages no
// other flow claims). Between triggers of equally specific kinds at equal
// priority, which flow starts is not defined, so the one that can lose is
// reported; of two that match the same messages, the later one.
// Regexes are compared only for equality: whether one regex covers another is not
// decided. Schedule and API triggers never compete, and triggers of one flow do
// not shadow each other (they start the same flow).
//
// Comparing every trigger with every other is quadratic in the number of flows,
// so the triggers are indexed: identical ones by a key of their kind, priority
// and values, and those that may cover a value by what they match (`any`,
// first_contact, each keyword, each exact phrase, regex and payload). Only the
// triggers the index offers are compared, in project order, so the first one
// that beats a trigger is the same as a full scan would find.

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "compiler/checks/control_flow.h"

namespace waflow::checks {

namespace {

using K = ir::TriggerKind;

struct Entry {
  std::size_t flow = 0;
  const ir::Trigger* trigger = nullptr;
  int priority = 0;
  std::vector<std::string> values;  // Normalised; one empty value for any and first_contact.
};

bool competes(K kind) {
  return kind == K::Keyword || kind == K::Exact || kind == K::Regex || kind == K::Any ||
         kind == K::FirstContact || kind == K::Payload;
}

// Which kind wins a tie of priorities: higher is more specific.
int specificity(K kind) {
  switch (kind) {
    case K::Any:
      return 0;
    case K::Keyword:
    case K::Regex:
      return 1;
    default:
      return 2;
  }
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Lower case (ASCII), trimmed, inner runs of spaces folded to one.
std::string fold(const std::string& text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (is_space(c)) {
      space = !out.empty();
      continue;
    }
    if (space) {
      out += ' ';
      space = false;
    }
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

// Whether the words of `keyword` appear, in order and adjacent, among those of `text`.
bool contains_words(const std::string& text, const std::string& keyword) {
  if (keyword.empty()) {
    return false;
  }
  for (std::size_t at = text.find(keyword); at != std::string::npos;
       at = text.find(keyword, at + 1)) {
    const std::size_t end = at + keyword.size();
    if ((at == 0 || text[at - 1] == ' ') && (end == text.size() || text[end] == ' ')) {
      return true;
    }
  }
  return false;
}

// The value of `s` that matches every message the value `value` of a trigger of
// kind `kind` matches, if any.
std::optional<std::string> covering(const Entry& s, K kind, const std::string& value) {
  switch (s.trigger->kind) {
    case K::Any:
      if (kind == K::Keyword || kind == K::Exact || kind == K::Regex || kind == K::Any) {
        return std::string();
      }
      break;
    case K::FirstContact:
      if (kind == K::FirstContact) {
        return std::string();
      }
      break;
    case K::Keyword:
      if (kind == K::Keyword || kind == K::Exact) {
        for (const std::string& keyword : s.values) {
          if (contains_words(value, keyword)) {
            return keyword;
          }
        }
      }
      break;
    case K::Exact:
    case K::Regex:
    case K::Payload:
      if (kind == s.trigger->kind &&
          std::find(s.values.begin(), s.values.end(), value) != s.values.end()) {
        return value;
      }
      break;
    default:
      break;
  }
  return std::nullopt;
}

std::string describe(const Entry& e, const std::string& value, const ProjectGraph& graph) {
  const std::string& flow = graph.flows[e.flow].flow->name;
  const char* kind = ir::trigger_kind_name(e.trigger->kind);
  if (e.trigger->kind == K::Any || e.trigger->kind == K::FirstContact) {
    return fmt::format("'trigger {}' of flow '{}'", kind, flow);
  }
  return fmt::format("{} \"{}\" of flow '{}'", kind, value, flow);
}

// `keyword "hi" "hello"` as written (the original values, not the folded ones).
std::string describe_trigger(const ir::Trigger& trigger) {
  std::string out = ir::trigger_kind_name(trigger.kind);
  for (const std::string& value : trigger.values) {
    out += fmt::format(" \"{}\"", value);
  }
  return out;
}

class TriggerChecks {
 public:
  TriggerChecks(const ProjectGraph& graph, Diagnostics& diags) : graph_(graph), diags_(diags) {}

  void run() {
    collect();
    index();
    // Triggers with the same key, in project order: for each one, the first
    // earlier one that it repeats.
    std::unordered_map<std::string, std::vector<std::size_t>> same_key;
    std::vector<bool> duplicate(entries_.size(), false);
    for (std::size_t j = 0; j < entries_.size(); ++j) {
      std::vector<std::size_t>& earlier = same_key[key(entries_[j])];
      for (std::size_t i : earlier) {
        if (!twins(entries_[i], entries_[j])) {
          duplicate[j] = true;
          const Entry& first = entries_[i];
          Diagnostic& d = diags_.report(DiagnosticKind::DuplicateTrigger, entries_[j].trigger->span,
                                        describe_trigger(*entries_[j].trigger),
                                        graph_.flows[first.flow].flow->name);
          d.notes.push_back(Note{false, "declared here first", first.trigger->span});
          break;
        }
      }
      earlier.push_back(j);
    }
    for (std::size_t t = 0; t < entries_.size(); ++t) {
      if (!duplicate[t]) {
        shadowed(t);
      }
    }
  }

 private:
  const ProjectGraph& graph_;
  Diagnostics& diags_;
  std::vector<Entry> entries_;
  // The index of what each trigger matches; each list is in project order.
  std::vector<std::size_t> any_;
  std::vector<std::size_t> first_contact_;
  std::unordered_map<std::string, std::vector<std::size_t>> keywords_;   // Folded keyword.
  std::map<std::pair<K, std::string>, std::vector<std::size_t>> exact_;  // Exact, regex, payload.

  void collect() {
    for (std::size_t f = 0; f < graph_.flows.size(); ++f) {
      const ir::Flow& flow = *graph_.flows[f].flow;
      for (const ir::Trigger& trigger : flow.triggers) {
        if (!competes(trigger.kind)) {
          continue;
        }
        Entry e;
        e.flow = f;
        e.trigger = &trigger;
        e.priority = trigger.priority.value_or(flow.priority.value_or(0));
        const bool folded = trigger.kind == K::Keyword || trigger.kind == K::Exact;
        for (const std::string& value : trigger.values) {
          e.values.push_back(folded ? fold(value) : value);
        }
        if (e.values.empty()) {
          e.values.emplace_back();
        }
        entries_.push_back(std::move(e));
      }
    }
  }

  // Triggers of two flows that share a name (WF0201): one is a copy of the other,
  // so comparing their triggers would only repeat that error.
  bool twins(const Entry& a, const Entry& b) const {
    return a.flow != b.flow && graph_.flows[a.flow].flow->name == graph_.flows[b.flow].flow->name;
  }

  // Two triggers are the same when their kind, priority and sets of values are.
  // Values are written with their length, so no separator can be confused.
  static std::string key(const Entry& e) {
    std::vector<std::string> values = e.values;
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    std::string out = fmt::format("{},{}", static_cast<int>(e.trigger->kind), e.priority);
    for (const std::string& value : values) {
      out += fmt::format(",{}:", value.size());
      out += value;
    }
    return out;
  }

  void index() {
    auto add = [](std::vector<std::size_t>& list, std::size_t s) {
      if (list.empty() || list.back() != s) {
        list.push_back(s);
      }
    };
    for (std::size_t s = 0; s < entries_.size(); ++s) {
      const Entry& e = entries_[s];
      switch (e.trigger->kind) {
        case K::Any:
          any_.push_back(s);
          break;
        case K::FirstContact:
          first_contact_.push_back(s);
          break;
        case K::Keyword:
          for (const std::string& keyword : e.values) {
            if (!keyword.empty()) {
              add(keywords_[keyword], s);
            }
          }
          break;
        case K::Exact:
        case K::Regex:
        case K::Payload:
          for (const std::string& value : e.values) {
            add(exact_[{e.trigger->kind, value}], s);
          }
          break;
        default:
          break;
      }
    }
  }

  // Every trigger whose `covering` may find a value covering `value` of a trigger
  // of kind `kind` (a superset of those that do), in project order.
  std::vector<std::size_t> candidates(K kind, const std::string& value) const {
    std::vector<std::size_t> out;
    auto take = [&](const std::vector<std::size_t>& list) {
      out.insert(out.end(), list.begin(), list.end());
    };
    if (kind == K::Keyword || kind == K::Exact || kind == K::Regex || kind == K::Any) {
      take(any_);
    }
    if (kind == K::FirstContact) {
      take(first_contact_);
    }
    if (kind == K::Keyword || kind == K::Exact) {
      // A keyword covers the value when it equals a run of its whole words
      // (contains_words). Look each run up, or, for a value with more runs than
      // there are keywords, test each keyword.
      std::vector<std::size_t> starts{0};
      std::vector<std::size_t> ends;
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == ' ') {
          ends.push_back(i);
          starts.push_back(i + 1);
        }
      }
      ends.push_back(value.size());
      if (starts.size() * ends.size() <= keywords_.size()) {
        for (std::size_t a : starts) {
          for (std::size_t b : ends) {
            if (b > a) {
              if (auto it = keywords_.find(value.substr(a, b - a)); it != keywords_.end()) {
                take(it->second);
              }
            }
          }
        }
      } else {
        for (const auto& [keyword, list] : keywords_) {
          if (contains_words(value, keyword)) {
            take(list);
          }
        }
      }
    }
    if (kind == K::Exact || kind == K::Regex || kind == K::Payload) {
      if (auto it = exact_.find({kind, value}); it != exact_.end()) {
        take(it->second);
      }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  struct Shadow {
    std::size_t by = 0;
    std::string value;  // The value of `by` that covers.
  };

  // The value of entry `s` that beats value `value` of entry `t`, if it does.
  std::optional<std::string> beats(std::size_t s, std::size_t t, const std::string& value) const {
    const Entry& e = entries_[t];
    const Entry& other = entries_[s];
    if (other.flow == e.flow || twins(other, e) || other.priority < e.priority) {
      return std::nullopt;
    }
    std::optional<std::string> cover = covering(other, e.trigger->kind, value);
    if (cover && other.priority == e.priority) {
      const int mine = specificity(e.trigger->kind);
      const int theirs = specificity(other.trigger->kind);
      // A more specific kind wins the tie; of two triggers that match the same
      // messages, the later one is reported.
      if (theirs < mine || (theirs == mine && s > t && covering(e, other.trigger->kind, *cover))) {
        return std::nullopt;
      }
    }
    return cover;
  }

  // The first trigger that beats value `value` of entry `t`.
  std::optional<Shadow> beaten(std::size_t t, const std::string& value) const {
    for (std::size_t s : candidates(entries_[t].trigger->kind, value)) {
      if (auto cover = beats(s, t, value)) {
        return Shadow{s, *cover};
      }
    }
    return std::nullopt;
  }

  void shadowed(std::size_t t) {
    const Entry& e = entries_[t];
    // One trigger that beats every value shadows the whole trigger; it must beat
    // the first value, so only the candidates for that one are tried.
    for (std::size_t s : candidates(e.trigger->kind, e.values.front())) {
      const bool all = std::all_of(e.values.begin(), e.values.end(),
                                   [&](const std::string& v) { return beats(s, t, v); });
      if (all) {
        report(e, "this trigger", Shadow{s, *beats(s, t, e.values.front())});
        return;
      }
    }
    std::vector<std::pair<std::string, Shadow>> lost;  // Original value, what beats it.
    for (std::size_t v = 0; v < e.values.size(); ++v) {
      if (auto shadow = beaten(t, e.values[v])) {
        lost.emplace_back(v < e.trigger->values.size() ? e.trigger->values[v] : "", *shadow);
      }
    }
    for (const auto& [value, shadow] : lost) {
      report(
          e,
          fmt::format("{} \"{}\" of this trigger", ir::trigger_kind_name(e.trigger->kind), value),
          shadow);
    }
  }

  void report(const Entry& e, const std::string& what, const Shadow& shadow) {
    const Entry& by = entries_[shadow.by];
    Diagnostic& d = diags_.report(DiagnosticKind::ShadowedTrigger, e.trigger->span, what,
                                  describe(by, shadow.value, graph_));
    if (by.priority > e.priority) {
      d.notes.push_back(
          Note{false,
               fmt::format("that trigger has priority {}, higher than {}", by.priority, e.priority),
               by.trigger->span});
    } else {
      d.notes.push_back(Note{false,
                             fmt::format("both have priority {}, so which flow starts is not "
                                         "defined",
                                         by.priority),
                             by.trigger->span});
    }
    d.notes.push_back(
        Note{true, "give the trigger that should win a higher 'priority', or remove one", {}});
  }
};

}  // namespace

void check_triggers(const ProjectGraph& graph, Diagnostics& diags) {
  TriggerChecks(graph, diags).run();
}

}  // namespace waflow::checks
