// Running one transcript test (see runner.h). The runner reads the session's
// event log after every action: messages the bot sent queue up until `expect`
// steps take them, and everything is rendered into the transcript shown when
// the test fails.

#include "runtime/host/runner.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <regex>

#include "runtime/host/format.h"

namespace waflow::host {

namespace {

using vm::Value;
using Kind = TranscriptStep::Kind;

std::string text_field(const Value& v, std::string_view name) {
  const Value* f = v.field(name);
  return f != nullptr ? f->to_text() : "";
}

// The text a message shows: its body, or a media caption.
std::string shown_text(const Value& payload) {
  if (const Value* text = payload.field("text")) {
    return text->to_text();
  }
  return text_field(payload, "caption");
}

std::string show(const Value& v) {
  if (v.is_null()) {
    return "(unset)";
  }
  if (v.tag() == vm::Tag::Choice) {
    return text_field(v, "title") + " (choice " + text_field(v, "id") + ")";
  }
  return vm::to_json(v);
}

std::vector<std::string> titles(const Value& payload) {
  std::vector<std::string> out;
  for (const Option& o : message_options(payload)) {
    out.push_back(o.title);
  }
  return out;
}

std::string joined(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const std::string& s : items) {
    out += (out.empty() ? "" : sep) + s;
  }
  return out;
}

bool fields_match(const Value& actual, const Value& expected) {
  if (expected.type() != Value::Type::Object) {
    return false;
  }
  for (const auto& [key, value] : expected.as_object()) {
    const Value* a = actual.field(key);
    if (!value_matches(a != nullptr ? *a : Value(), value)) {
      return false;
    }
  }
  return true;
}

// Whether the message matches, and the expectation as lines shaped like
// describe_message's, for the diff.
bool message_matches(const MessageExpectation& x, const Value& payload,
                     std::vector<std::string>& expected) {
  bool ok = true;
  const std::string type = text_field(payload, "type");
  if (x.header) {
    expected.push_back("*" + *x.header + "*");
    ok = ok && text_field(payload, "header") == *x.header;
  }
  if (x.text) {
    std::size_t start = 0;
    for (;;) {
      const std::size_t nl = x.text->find('\n', start);
      expected.push_back(x.text->substr(start, nl == std::string::npos ? nl : nl - start));
      if (nl == std::string::npos) {
        break;
      }
      start = nl + 1;
    }
    ok = ok && type != "template" && type != "location" && shown_text(payload) == *x.text;
  }
  if (x.pattern) {
    expected.push_back("(text matching /" + *x.pattern + "/)");
    try {
      ok = ok && (x.pattern_regex != nullptr
                      ? std::regex_match(shown_text(payload), *x.pattern_regex)
                      : std::regex_match(shown_text(payload),
                                         std::regex(*x.pattern, std::regex::ECMAScript)));
    } catch (const std::regex_error&) {
      ok = false;
    }
  }
  if (x.footer) {
    expected.push_back("_" + *x.footer + "_");
    ok = ok && text_field(payload, "footer") == *x.footer;
  }
  if (x.buttons) {
    std::string line;
    for (const std::string& t : *x.buttons) {
      line += (line.empty() ? "" : " ") + ("[" + t + "]");
    }
    expected.push_back(line);
    ok = ok && type == "buttons" && titles(payload) == *x.buttons;
  }
  if (x.list) {
    expected.push_back("[" + text_field(payload, "button") + "] " + joined(*x.list, " | "));
    ok = ok && type == "list" && titles(payload) == *x.list;
  }
  if (x.media) {
    std::string line = "[" + text_field(*x.media, "type") + "]";
    for (const char* key : {"url", "filename", "caption", "mime"}) {
      if (const Value* v = x.media->field(key)) {
        line += std::string(" ") + key + "=" + v->to_text();
      }
    }
    expected.push_back(line);
    ok = ok && payload.field("url") != nullptr && fields_match(payload, *x.media);
  }
  if (x.template_name || x.params) {
    std::string line =
        "[template " + (x.template_name ? *x.template_name : text_field(payload, "name"));
    if (const std::string lang = text_field(payload, "language"); !lang.empty()) {
      line += " " + lang;
    }
    line += "]";
    if (x.params && !x.params->empty()) {
      line += " " + joined(*x.params, " | ");
    }
    expected.push_back(line);
    ok = ok && type == "template";
    if (x.template_name) {
      ok = ok && text_field(payload, "name") == *x.template_name;
    }
    if (x.params) {
      std::vector<std::string> params;
      if (const Value* p = payload.field("params")) {
        for (const Value& v : p->as_list()) {
          params.push_back(v.to_text());
        }
      }
      ok = ok && params == *x.params;
    }
  }
  if (x.location) {
    expected.push_back("[location] " + vm::to_json(*x.location));
    ok = ok && type == "location" && fields_match(payload, *x.location);
  }
  return ok;
}

// Defers every call; the runner answers it from the mocks (RunOptions::defer).
class Deferring : public Responder {
 public:
  explicit Deferring(Responder& inner) : inner_(inner) {}
  bool defer(const Request& /*request*/) override { return true; }
  Value answer(const Request& request) override { return inner_.answer(request); }

 private:
  Responder& inner_;
};

class Runner {
 public:
  Runner(const bytecode::Bundle& bundle, const Transcript& file, const TranscriptTest& test,
         CoverageRecorder* coverage, const RunOptions& run_options)
      : test_(test),
        run_options_(run_options),
        bundle_(bundle),
        deferring_(responder_),
        coverage_(coverage) {
    session_.emplace(bundle, session_responder(), options(test));
    responder_.set_ai_fallback(run_options.ai_fallback);
    for (const Mock& m : file.mocks) {
      responder_.add(m);
    }
    for (const Mock& m : test.mocks) {
      responder_.add(m);
    }
    for (const auto& [name, value] : test.vars) {
      session_->contact_vars().set(name, value);
    }
  }

  const std::vector<Event>& events() const { return session_->events(); }

  TestOutcome run() {
    for (const TranscriptStep& step : test_.steps) {
      if (!perform(step)) {
        return out_;
      }
    }
    const int last = test_.steps.empty() ? test_.line : test_.steps.back().line;
    settle(last, "at the end of the test");
    return out_;
  }

 private:
  const TranscriptTest& test_;
  const RunOptions run_options_;
  const bytecode::Bundle& bundle_;
  MockResponder responder_;
  Deferring deferring_;
  std::optional<Session> session_;
  CoverageRecorder* coverage_;
  std::size_t seen_ = 0;
  std::deque<std::size_t> pending_;     // Sent messages no expect took yet (event indexes).
  std::optional<std::size_t> failure_;  // A run failure no `failed:` step took yet.
  // The conversation shown when the test fails, rendered only then: event
  // indexes, and lines of the runner's own ("~ 2h later").
  struct Line {
    std::size_t event = 0;
    std::string text;  // When not an event.
  };
  static constexpr std::size_t kNoEvent = static_cast<std::size_t>(-1);
  std::vector<Line> transcript_;
  std::map<std::string, std::pair<Value, std::string>> by_id_;
  TestOutcome out_;

  Responder& session_responder() {
    return run_options_.defer ? static_cast<Responder&>(deferring_) : responder_;
  }

  // In defer mode, answers the calls the session deferred, oldest first.
  void answer_calls() {
    if (!run_options_.defer) {
      return;
    }
    for (std::vector<PendingRequest> calls = session_->pending(); !calls.empty();
         calls = session_->pending()) {
      session_->complete(calls.front().id, responder_.answer(calls.front().request));
    }
  }

  // Round-trip mode: the session goes through its blob.
  bool reload(int line) {
    const std::string blob = session_->save();
    std::vector<Event> log = session_->take_events();
    Result<Session> restored = Session::restore(bundle_, session_responder(), blob, options(test_));
    if (!restored) {
      session_->prepend_events(std::move(log));  // For the transcript of the failure.
      return fail(line, "the saved session does not restore: " + restored.error().message);
    }
    session_.emplace(std::move(restored).value());
    session_->prepend_events(std::move(log));
    return true;
  }

  static SessionOptions options(const TranscriptTest& test) {
    SessionOptions o;
    o.contact = test.contact;
    o.start_ms = test.start_ms;
    return o;
  }

  void sync() {
    const std::vector<Event>& events = session_->events();
    for (std::size_t i = seen_; i < events.size(); ++i) {
      const Event& e = events[i];
      transcript_.push_back(Line{i, {}});
      if (e.kind == EventKind::Effect && e.effect == bytecode::EffectKind::Send) {
        pending_.push_back(i);
      } else if (e.kind == EventKind::Failed) {
        failure_ = i;
      }
    }
    if (coverage_ != nullptr) {
      coverage_->observe(*session_, seen_);
    }
    seen_ = events.size();
  }

  bool fail(int line, std::string message, std::vector<std::string> expected = {},
            std::vector<std::string> actual = {}) {
    out_.passed = false;
    out_.line = line;
    out_.message = std::move(message);
    out_.expected = std::move(expected);
    out_.actual = std::move(actual);
    out_.transcript = rendered_transcript();
    return false;
  }

  std::vector<std::string> rendered_transcript() const {
    const std::vector<Event>& events = session_->events();
    const RenderStyle style;
    std::vector<std::string> out;
    for (const Line& line : transcript_) {
      if (line.event == kNoEvent) {
        out.push_back(line.text);
      } else if (line.event < events.size()) {
        for (std::string& text : render_event(*session_, events[line.event], style)) {
          out.push_back(std::move(text));
        }
      }
    }
    return out;
  }

  std::vector<std::string> pending_lines() const {
    std::vector<std::string> lines;
    for (std::size_t i : pending_) {
      for (std::string& l : describe_message(session_->events()[i].payload)) {
        lines.push_back(std::move(l));
      }
    }
    return lines;
  }

  // Before an action and at the end: nothing left unchecked.
  bool settle(int line, const std::string& when) {
    if (!pending_.empty()) {
      return fail(line,
                  "the bot sent " + std::string(pending_.size() == 1 ? "a message" : "messages") +
                      " that no expect checks, " + when,
                  {"(no more messages)"}, pending_lines());
    }
    if (failure_) {
      const Event& e = session_->events()[*failure_];
      return fail(line, "the run failed, " + when + ", and no failed: step expects it",
                  {"(the run goes on)"}, {"the run failed: " + e.text});
    }
    return true;
  }

  bool after_action(int line) {
    sync();
    const std::vector<std::string> problems = responder_.take_problems();
    if (!problems.empty()) {
      return fail(line, problems.front());
    }
    return true;
  }

  void deliver(const Value& message, const std::string& id) {
    if (!id.empty() && by_id_.count(id) == 0) {
      by_id_.emplace(id, std::make_pair(message, id));
    }
    session_->receive(message, id);
    answer_calls();
  }

  bool tap(const TranscriptStep& step) {
    if (!step.message.is_null()) {
      deliver(step.message, step.id);
      return true;
    }
    const std::vector<Event>& events = session_->events();
    const Value* last_with_options = nullptr;
    for (int pass = 0; pass < 2; ++pass) {
      for (auto it = events.rbegin(); it != events.rend(); ++it) {
        if (it->kind != EventKind::Effect || it->effect != bytecode::EffectKind::Send) {
          continue;
        }
        const std::vector<Option> options = message_options(it->payload);
        if (!options.empty() && last_with_options == nullptr) {
          last_with_options = &it->payload;
        }
        for (const Option& o : options) {
          // Ids and exact titles first; titles ignoring case on the second pass.
          auto lower = [](std::string s) {
            std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
              return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            });
            return s;
          };
          const bool hit = pass == 0 ? (o.id == step.text || o.title == step.text)
                                     : lower(o.title) == lower(step.text);
          if (hit) {
            const bool list = text_field(it->payload, "type") == "list";
            deliver(Value::object({{"type", Value::text(list ? "list" : "button")},
                                   {"payload", Value::text(o.id)},
                                   {"text", Value::text(o.title)}},
                                  vm::Tag::Message),
                    step.id);
            return true;
          }
        }
      }
    }
    std::vector<std::string> actual = {"(no message with options)"};
    if (last_with_options != nullptr) {
      actual = {"options of the last such message: " + joined(titles(*last_with_options), ", ")};
    }
    return fail(step.line, "no message the bot sent has a button or row '" + step.text + "'",
                {"an option '" + step.text + "'"}, actual);
  }

  bool act(const TranscriptStep& step) {
    switch (step.kind) {
      case Kind::Send:
        deliver(step.message, step.id);
        return true;
      case Kind::Tap:
        return tap(step);
      case Kind::Burst:
        for (std::size_t i = 0; i < step.burst.size(); ++i) {
          deliver(step.burst[i], step.burst_ids[i]);
        }
        return true;
      case Kind::Redeliver: {
        auto it = by_id_.find(step.id);
        if (it == by_id_.end()) {
          return fail(step.line, "no earlier message has the id '" + step.id + "'");
        }
        session_->receive(it->second.first, step.id);
        answer_calls();
        return true;
      }
      case Kind::Advance:
        transcript_.push_back(Line{kNoEvent, "~ " + format_duration(step.ms) + " later"});
        if (run_options_.defer) {
          // Timer by timer, each call answered before the next timer fires.
          const std::int64_t target = session_->now_ms() + std::max<std::int64_t>(step.ms, 0);
          for (auto next = session_->next_timer_ms(); next && *next <= target;
               next = session_->next_timer_ms()) {
            session_->advance_to(*next);
            answer_calls();
          }
          session_->advance_to(target);
        } else {
          session_->advance(step.ms);
        }
        return true;
      case Kind::HandBack:
        if (!session_->hand_back()) {
          return fail(step.line, "handback, but the bot is not paused by a handoff");
        }
        answer_calls();
        return true;
      case Kind::Start:
        if (!session_->start_flow(step.text)) {
          return fail(step.line, "no flow named '" + step.text + "' to start");
        }
        answer_calls();
        return true;
      default:
        return true;
    }
  }

  bool check_vars(const TranscriptStep& step) {
    std::vector<std::string> expected;
    std::vector<std::string> actual;
    for (const auto& [name, value] : step.vars) {
      const Value got = session_->lookup(name);
      if (!value_matches(got, value)) {
        expected.push_back(name + ": " + show(value));
        actual.push_back(name + ": " + show(got));
      }
    }
    if (!expected.empty()) {
      return fail(step.line, "variables differ", expected, actual);
    }
    return true;
  }

  std::string run_state() const {
    if (session_->paused()) {
      return "the bot is paused after a handoff";
    }
    switch (session_->run().status) {
      case vm::RunStatus::WaitingInput:
        return "the run waits for the user at " + session_->step_id(session_->run().step);
      case vm::RunStatus::Awaiting:
        return "the run waits at " + session_->step_id(session_->run().step);
      case vm::RunStatus::Failed:
        return "the run failed";
      default:
        return "no run is active";
    }
  }

  bool check(const TranscriptStep& step) {
    switch (step.kind) {
      case Kind::Expect: {
        std::vector<std::string> expected;
        if (pending_.empty()) {
          message_matches(step.expect, Value::object({}), expected);
          return fail(step.line, "expected a message, but the bot sent nothing more", expected,
                      {"(nothing)"});
        }
        const Value& payload = session_->events()[pending_.front()].payload;
        if (!message_matches(step.expect, payload, expected)) {
          return fail(step.line, "the bot's message differs", expected, describe_message(payload));
        }
        pending_.pop_front();
        return true;
      }
      case Kind::ExpectNone:
        if (!pending_.empty()) {
          return fail(step.line, "expected the bot to stay silent", {"(no more messages)"},
                      pending_lines());
        }
        return true;
      case Kind::Vars:
        return check_vars(step);
      case Kind::End: {
        const bool ended = !session_->active() && !session_->paused();
        if (ended != step.flag) {
          return fail(step.line,
                      step.flag ? "expected the run to have ended" : "expected a run to be active",
                      {step.flag ? "no run is active" : "a run is active"}, {run_state()});
        }
        return true;
      }
      case Kind::Waiting: {
        const bool waiting =
            session_->run().status == vm::RunStatus::WaitingInput && !session_->paused();
        if (waiting != step.flag) {
          return fail(
              step.line,
              step.flag ? "expected the run to wait for the user"
                        : "expected the run not to wait for the user",
              {step.flag ? "the run waits for the user" : "the run does not wait for the user"},
              {run_state()});
        }
        return true;
      }
      case Kind::Failed: {
        if (!failure_) {
          return fail(step.line, "expected the run to have failed", {"the run failed"},
                      {run_state()});
        }
        const std::string& message = session_->events()[*failure_].text;
        bool found = false;
        try {
          found = std::regex_search(message, std::regex(step.text, std::regex::ECMAScript));
        } catch (const std::regex_error&) {
        }
        if (!found) {
          return fail(step.line, "the run failed differently",
                      {"(failure matching /" + step.text + "/)"}, {message});
        }
        failure_.reset();
        return true;
      }
      case Kind::Stage:
        if (session_->stage() != step.text) {
          return fail(step.line, "the stage differs", {"stage " + step.text},
                      {session_->stage().empty() ? "(no stage)" : "stage " + session_->stage()});
        }
        return true;
      case Kind::Tags: {
        const std::vector<std::string> tags(session_->tags().begin(), session_->tags().end());
        if (tags != step.tags) {
          return fail(step.line, "the contact's tags differ", {"tags: " + joined(step.tags, ", ")},
                      {"tags: " + joined(tags, ", ")});
        }
        return true;
      }
      case Kind::Handoff: {
        const std::string queue = text_field(session_->handoff(), "queue");
        const bool ok = step.text.empty() ? session_->paused() == step.flag
                                          : session_->paused() && queue == step.text;
        if (!ok) {
          const std::string want = step.text.empty()
                                       ? (step.flag ? "handed off to a person" : "not handed off")
                                       : "handed off to queue " + step.text;
          const std::string got = session_->paused()
                                      ? "handed off" + (queue.empty() ? "" : " to queue " + queue)
                                      : "not handed off";
          return fail(step.line, "the handoff differs", {want}, {got});
        }
        return true;
      }
      default:
        return true;
    }
  }

  bool perform(const TranscriptStep& step) {
    if (!perform_step(step)) {
      return false;
    }
    return !run_options_.round_trip || reload(step.line);
  }

  bool perform_step(const TranscriptStep& step) {
    switch (step.kind) {
      case Kind::AddMock:
        responder_.add(step.mock);
        return true;
      case Kind::Send:
      case Kind::Tap:
      case Kind::Burst:
      case Kind::Redeliver:
      case Kind::Advance:
      case Kind::HandBack:
      case Kind::Start:
        if (!settle(step.line, "before this step")) {
          return false;
        }
        if (!act(step)) {
          return false;
        }
        return after_action(step.line);
      default:
        return check(step);
    }
  }
};

}  // namespace

bool value_matches(const Value& actual, const Value& expected) {
  switch (expected.type()) {
    case Value::Type::Null:
      return actual.is_null();
    case Value::Type::Bool:
      return actual.type() == Value::Type::Bool && actual.as_bool() == expected.as_bool();
    case Value::Type::Number:
      return actual.is_number() ? actual.as_number() == expected.as_number()
                                : actual.is_text() && actual.as_text() == expected.to_text();
    case Value::Type::Text:
      if (actual.tag() == vm::Tag::Choice) {
        return text_field(actual, "id") == expected.as_text() ||
               text_field(actual, "title") == expected.as_text();
      }
      return !actual.is_null() && actual.to_text() == expected.as_text();
    case Value::Type::List: {
      if (actual.type() != Value::Type::List ||
          actual.as_list().size() != expected.as_list().size()) {
        return false;
      }
      for (std::size_t i = 0; i < expected.as_list().size(); ++i) {
        if (!value_matches(actual.as_list()[i], expected.as_list()[i])) {
          return false;
        }
      }
      return true;
    }
    case Value::Type::Object:
      return actual.type() == Value::Type::Object && fields_match(actual, expected);
  }
  return false;
}

TestOutcome run_test(const bytecode::Bundle& bundle, const Transcript& file,
                     const TranscriptTest& test, CoverageRecorder* coverage,
                     const RunOptions& options) {
  Runner runner(bundle, file, test, coverage, options);
  TestOutcome outcome = runner.run();
  if (options.events != nullptr) {
    *options.events = runner.events();
  }
  return outcome;
}

}  // namespace waflow::host
