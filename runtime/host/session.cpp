// The session's event loop (see session.h). Every public entry point does its
// work, then drain(): messages kept during a delay or a deferred call and flows
// queued by start_flow() are routed once no run is active any more, in arrival
// order. A deferred call stops the loop where an answer would have resumed the
// run; complete() picks it up there, with the same flag for "a message got us
// here" that the synchronous path would have had.

#include "runtime/host/session.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace waflow::host {

namespace {

using bytecode::EffectKind;

std::string digits_of(const std::string& phone) {
  std::string out;
  for (char c : phone) {
    if (c >= '0' && c <= '9') {
      out += c;
    }
  }
  return out;
}

double number_field(const vm::Value& v, std::string_view name) {
  const vm::Value* f = v.field(name);
  return f != nullptr && f->is_number() ? f->as_number() : 0;
}

std::string text_of(const vm::Value& message) {
  const vm::Value* text = message.field("text");
  if (text != nullptr) {
    return text->to_text();
  }
  const vm::Value* caption = message.field("caption");
  return caption != nullptr ? caption->to_text() : "";
}

// FNV-1a: a stable 64-bit hash, so a saved session detects the same duplicates
// on any machine.
std::uint64_t id_hash(const std::string& id) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : id) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  return h;
}

bool is_ai(EffectKind kind) {
  return kind == EffectKind::AiReply || kind == EffectKind::AiExtract ||
         kind == EffectKind::AiClassify;
}

}  // namespace

vm::Value text_message(const std::string& text) {
  return vm::Value::object({{"type", vm::Value::text("text")}, {"text", vm::Value::text(text)}},
                           vm::Tag::Message);
}

Session::Session(const bytecode::Bundle& bundle, Responder& responder, SessionOptions options)
    : bundle_(bundle),
      responder_(responder),
      options_(std::move(options)),
      vm_(bundle, options_.bundle_hash),
      now_(options_.start_ms) {
  run_.status = vm::RunStatus::Ended;
}

bool Session::active() const {
  return run_.status == vm::RunStatus::WaitingInput || run_.status == vm::RunStatus::Awaiting;
}

std::string Session::step_id(std::uint32_t step) const {
  return step < bundle_.steps.size() ? bundle_.str(bundle_.steps[step].id) : std::string();
}

std::string Session::flow_name(std::uint32_t flow) const {
  return flow < bundle_.flows.size() ? bundle_.str(bundle_.flows[flow].name) : std::string();
}

std::uint32_t Session::current_flow() const {
  return run_.frames.empty() ? bytecode::kNone : run_.frames.back().flow;
}

vm::Context Session::context(std::uint32_t flow) const {
  vm::Context c;
  c.now_ms = now_;
  const bool named = flow < bundle_.flows.size() && bundle_.flows[flow].timezone != bytecode::kNone;
  if (named || !options_.default_zone.empty()) {
    const std::string& zone =
        named ? bundle_.str(bundle_.flows[flow].timezone) : options_.default_zone;
    c.tz_offset_ms =
        options_.tz_offset ? options_.tz_offset(zone, now_) : zones_.offset_ms(zone, now_);
  }
  const ContactProfile& p = options_.contact;
  c.contact = vm::Value::object({{"id", vm::Value::text(digits_of(p.phone))},
                                 {"name", vm::Value::text(p.name)},
                                 {"phone", vm::Value::text(p.phone)}});
  c.message = last_message_;
  return c;
}

Event& Session::log(EventKind kind, vm::Value payload, std::string text) {
  Event e;
  e.kind = kind;
  e.at_ms = now_;
  // Messages that reach no run belong to none.
  const bool message = kind == EventKind::Received || kind == EventKind::Duplicate ||
                       kind == EventKind::Unmatched || kind == EventKind::Paused;
  e.run = message && !active() ? 0 : run_number_;
  e.payload = std::move(payload);
  e.text = std::move(text);
  events_.push_back(std::move(e));
  return events_.back();
}

bool Session::seen(const std::string& id) {
  const std::uint64_t h = id_hash(id);
  if (std::find(seen_ids_.begin(), seen_ids_.end(), h) != seen_ids_.end()) {
    return true;
  }
  seen_ids_.push_back(h);
  if (seen_ids_.size() > kSeenIds) {
    seen_ids_.pop_front();
  }
  return false;
}

void Session::remember(bool from_user, std::string text) {
  if (history_.size() >= kHistoryLimit) {
    history_.erase(history_.begin(), history_.end() - (kHistoryLimit - 1));
  }
  history_.push_back(HistoryEntry{from_user, std::move(text)});
}

void Session::receive(const vm::Value& message, const std::string& id) {
  if (!id.empty() && seen(id)) {
    log(EventKind::Duplicate, message, id);
    return;
  }
  log(EventKind::Received, message, id);
  remember(true, text_of(message));
  handling_message_ = true;  // Every entry point sets this before the VM runs.
  if (paused_) {
    options_.contact.first_contact = false;
    log(EventKind::Paused, message);
    return;
  }
  if (run_.status == vm::RunStatus::WaitingInput) {
    options_.contact.first_contact = false;
    last_message_ = message;
    cancel_wait_timers();
    resume(vm::Event{vm::EventKind::Message, message});
  } else if (run_.status == vm::RunStatus::Awaiting && buffering_) {
    buffer_.push_back(message);
    last_message_ = message;
    // The buffer closes when the contact has been quiet for its whole length.
    for (Timer& t : timers_) {
      if (t.kind == TimerKind::Buffer) {
        t.at = now_ + buffer_ms_;
        t.seq = ++timer_seq_;
      }
    }
    log(EventKind::Buffered, message);
  } else if (run_.status == vm::RunStatus::Awaiting) {
    held_.push_back(message);
    log(EventKind::Held, message);
  } else {
    route(message);
  }
  drain();
}

void Session::route(const vm::Value& message) {
  const bool first = options_.contact.first_contact;
  options_.contact.first_contact = false;
  last_message_ = message;
  handling_message_ = true;
  const auto match = vm::match_trigger(bundle_, message, first);
  if (!match) {
    log(EventKind::Unmatched, message);
    return;
  }
  start(match->flow);
}

void Session::start(std::uint32_t flow) {
  ++run_number_;
  buffering_ = false;
  buffer_.clear();
  const vm::Context c = context(flow);
  vm::Outcome out = vm_.start(run_, contact_vars_, flow, c);
  log(EventKind::Started, {}, flow_name(flow));
  process(std::move(out));
}

void Session::resume(const vm::Event& event) {
  const vm::Context c = context(current_flow());
  process(vm_.resume(run_, contact_vars_, event, c));
}

bool Session::start_flow(const std::string& name) {
  const std::uint32_t flow = bundle_.find_flow(name);
  if (flow == bytecode::kNone) {
    return false;
  }
  queued_starts_.push_back(flow);
  handling_message_ = false;
  drain();
  return true;
}

bool Session::hand_back() {
  if (!paused_) {
    return false;
  }
  paused_ = false;
  handoff_ = {};
  handling_message_ = false;
  log(EventKind::HandedBack);
  resume(vm::Event{vm::EventKind::Answer, vm::Value::object({{"ok", vm::Value::boolean(true)}})});
  drain();
  return true;
}

void Session::process(vm::Outcome out) {
  for (;;) {
    for (std::uint32_t step : out.steps) {
      log(EventKind::Step).step = step;
    }
    for (const vm::Effect& effect : out.effects) {
      if (effect.wait || bytecode::is_await_effect(effect.kind)) {
        continue;
      }
      Event& e = log(EventKind::Effect, effect.payload);
      e.effect = effect.kind;
      e.step = effect.step;
      if (effect.kind == EffectKind::Send) {
        remember(false, text_of(effect.payload));
      } else if (effect.kind == EffectKind::Stage) {
        const vm::Value* name = effect.payload.field("name");
        stage_ = name != nullptr ? name->to_text() : "";
      } else if (effect.kind == EffectKind::Tag || effect.kind == EffectKind::Untag) {
        if (const vm::Value* list = effect.payload.field("tags")) {
          for (const vm::Value& tag : list->as_list()) {
            if (effect.kind == EffectKind::Tag) {
              tags_.insert(tag.to_text());
            } else {
              tags_.erase(tag.to_text());
            }
          }
        }
      }
    }
    if (out.status == vm::RunStatus::Ended) {
      log(EventKind::Ended,
          vm::Value::object(
              {{"depth", vm::Value::number(static_cast<double>(run_.frames.size()))}}));
      timers_.clear();
      return;
    }
    if (out.status == vm::RunStatus::Failed) {
      log(EventKind::Failed,
          vm::Value::object({{"file", vm::Value::text(out.error.file)},
                             {"line", vm::Value::number(out.error.line)},
                             {"step", vm::Value::text(out.error.step)}}),
          out.error.message);
      run_.status = vm::RunStatus::Failed;
      timers_.clear();
      return;
    }
    if (out.effects.empty()) {
      return;  // Cannot happen for a suspended run; nothing to service.
    }
    const vm::Effect& effect = out.effects.back();
    if (out.status == vm::RunStatus::WaitingInput) {
      Event& e = log(EventKind::Waiting, effect.payload);
      e.step = effect.step;
      if (!held_.empty()) {
        // A message that arrived during a delay answers this wait at once.
        const vm::Value message = held_.front();
        held_.erase(held_.begin());
        last_message_ = message;
        handling_message_ = true;
        out = vm_.resume(run_, contact_vars_, vm::Event{vm::EventKind::Message, message},
                         context(current_flow()));
        continue;
      }
      if (const vm::Value* timeout = effect.payload.field("timeout_ms")) {
        schedule(TimerKind::Timeout, now_ + static_cast<std::int64_t>(timeout->as_number()),
                 effect.step);
      }
      if (const vm::Value* reminders = effect.payload.field("reminders")) {
        const vm::Value* timeout = effect.payload.field("timeout_ms");
        for (const vm::Value& r : reminders->as_list()) {
          const auto after = static_cast<std::int64_t>(number_field(r, "after_ms"));
          // A reminder due after the timeout is never sent.
          if (timeout != nullptr && after >= static_cast<std::int64_t>(timeout->as_number())) {
            continue;
          }
          const vm::Value* text = r.field("text");
          schedule(TimerKind::Reminder, now_ + after, effect.step,
                   text != nullptr ? text->to_text() : "");
        }
      }
      return;
    }
    // Awaiting: the last effect says what the run waits for.
    if (effect.kind == EffectKind::Delay) {
      Event& e = log(EventKind::Sleeping, effect.payload, "delay");
      e.step = effect.step;
      schedule(TimerKind::Delay,
               now_ + static_cast<std::int64_t>(number_field(effect.payload, "ms")), effect.step);
      return;
    }
    if (effect.kind == EffectKind::Handoff) {
      paused_ = true;
      handoff_ = effect.payload;
      Event& e = log(EventKind::HandedOff, effect.payload);
      e.step = effect.step;
      return;
    }
    const auto buffer_ms = static_cast<std::int64_t>(number_field(effect.payload, "buffer_ms"));
    if (is_ai(effect.kind) && buffer_ms > 0) {
      buffering_ = true;
      buffer_.clear();
      // A burst starts with the message that reached the step; a step reached
      // by a timer collects only what comes next.
      if (handling_message_ && !last_message_.is_null()) {
        buffer_.push_back(last_message_);
      }
      buffer_effect_ = effect;
      buffer_ms_ = buffer_ms;
      Event& e = log(EventKind::Sleeping, effect.payload, "buffer");
      e.step = effect.step;
      e.effect = effect.kind;
      schedule(TimerKind::Buffer, now_ + buffer_ms, effect.step);
      return;
    }
    std::vector<vm::Value> turn;
    if (!last_message_.is_null()) {
      turn.push_back(last_message_);
    }
    const std::optional<vm::Value> answer = ask_responder(effect, std::move(turn));
    if (!answer) {
      return;  // Deferred: complete() resumes the run.
    }
    out = vm_.resume(run_, contact_vars_, vm::Event{vm::EventKind::Answer, *answer},
                     context(current_flow()));
  }
}

std::optional<vm::Value> Session::ask_responder(const vm::Effect& effect,
                                                std::vector<vm::Value> turn) {
  Request request;
  request.id = std::to_string(run_number_) + ":" + std::to_string(++request_seq_);
  request.kind = effect.kind;
  request.payload = effect.payload;
  request.flow = flow_name(effect.step < bundle_.steps.size() ? bundle_.steps[effect.step].flow
                                                              : current_flow());
  request.step = step_id(effect.step);
  for (const vm::Value& m : turn) {
    request.input += (request.input.empty() ? "" : "\n") + text_of(m);
  }
  request.turn = std::move(turn);
  request.history = history_;
  const vm::Context c = context(current_flow());
  request.now_ms = c.now_ms;
  request.tz_offset_ms = c.tz_offset_ms;
  if (responder_.defer(request)) {
    std::string id = request.id;
    pending_.push_back(
        Pending{PendingRequest{std::move(id), std::move(request)}, effect.step, handling_message_});
    return std::nullopt;
  }
  vm::Value answer = responder_.answer(request);
  log_request(request, effect.step, answer);
  return answer;
}

void Session::log_request(const Request& request, std::uint32_t step, const vm::Value& answer) {
  Event& e = log(EventKind::Request, request.payload);
  e.effect = request.kind;
  e.step = step;
  e.answer = answer;
}

bool Session::complete(const std::string& id, const vm::Value& answer) {
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [&](const Pending& p) { return p.call.id == id; });
  if (it == pending_.end()) {
    return false;
  }
  const Pending call = std::move(*it);
  pending_.erase(it);
  handling_message_ = call.by_message;
  log_request(call.call.request, call.step, answer);
  resume(vm::Event{vm::EventKind::Answer, answer});
  drain();
  return true;
}

bool Session::fail(const std::string& id, const std::string& error) {
  return complete(id, vm::Value::object(
                          {{"ok", vm::Value::boolean(false)}, {"error", vm::Value::text(error)}}));
}

std::vector<PendingRequest> Session::pending() const {
  std::vector<PendingRequest> out;
  out.reserve(pending_.size());
  for (const Pending& p : pending_) {
    out.push_back(p.call);
  }
  return out;
}

std::vector<Event> Session::take_events() {
  std::vector<Event> out = std::move(events_);
  events_.clear();
  return out;
}

void Session::prepend_events(std::vector<Event> earlier) {
  earlier.insert(earlier.end(), std::make_move_iterator(events_.begin()),
                 std::make_move_iterator(events_.end()));
  events_ = std::move(earlier);
}

void Session::schedule(TimerKind kind, std::int64_t at, std::uint32_t step, std::string text) {
  Timer t;
  t.at = at;
  t.seq = ++timer_seq_;
  t.kind = kind;
  t.run = run_number_;
  t.step = step;
  t.text = std::move(text);
  timers_.push_back(std::move(t));
}

void Session::cancel_wait_timers() {
  std::erase_if(timers_, [](const Timer& t) {
    return t.kind == TimerKind::Reminder || t.kind == TimerKind::Timeout;
  });
}

std::vector<TimerInfo> Session::timers() const {
  static constexpr const char* kNames[] = {"reminder", "timeout", "delay", "buffer"};
  std::vector<Timer> sorted = timers_;
  std::sort(sorted.begin(), sorted.end(), [](const Timer& a, const Timer& b) {
    return std::tie(a.at, a.seq) < std::tie(b.at, b.seq);
  });
  std::vector<TimerInfo> out;
  for (const Timer& t : sorted) {
    out.push_back(TimerInfo{t.at, kNames[static_cast<int>(t.kind)]});
  }
  return out;
}

std::optional<std::int64_t> Session::next_timer_ms() const {
  std::optional<std::int64_t> next;
  for (const Timer& t : timers_) {
    if (!next || t.at < *next) {
      next = t.at;
    }
  }
  return next;
}

void Session::advance(std::int64_t ms) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const std::int64_t step = std::max<std::int64_t>(ms, 0);
  advance_to(now_ > kMax - step ? kMax : now_ + step);
}

void Session::advance_to(std::int64_t utc_ms) {
  const std::int64_t target = std::max(now_, utc_ms);
  for (;;) {
    auto next =
        std::min_element(timers_.begin(), timers_.end(), [](const Timer& a, const Timer& b) {
          return std::tie(a.at, a.seq) < std::tie(b.at, b.seq);
        });
    if (next == timers_.end() || next->at > target) {
      break;
    }
    const Timer timer = *next;
    timers_.erase(next);
    now_ = std::max(now_, timer.at);
    if (timer.run != run_number_ || !active()) {
      continue;  // Set by a run that has moved on since: nothing to do.
    }
    handling_message_ = false;
    fire(timer);
    drain();
  }
  now_ = target;
}

void Session::fire(const Timer& timer) {
  static constexpr const char* kNames[] = {"reminder", "timeout", "delay", "buffer"};
  Event& fired = log(EventKind::Timer, {}, kNames[static_cast<int>(timer.kind)]);
  fired.step = timer.step;
  switch (timer.kind) {
    case TimerKind::Reminder: {
      const vm::Value payload = vm::Value::object(
          {{"type", vm::Value::text("text")}, {"text", vm::Value::text(timer.text)}});
      Event& e = log(EventKind::Effect, payload);
      e.effect = EffectKind::Send;
      e.step = timer.step;
      remember(false, timer.text);
      break;
    }
    case TimerKind::Timeout:
      cancel_wait_timers();
      resume(vm::Event{vm::EventKind::Timeout, {}});
      break;
    case TimerKind::Delay:
      resume(
          vm::Event{vm::EventKind::Answer, vm::Value::object({{"ok", vm::Value::boolean(true)}})});
      break;
    case TimerKind::Buffer: {
      buffering_ = false;
      std::vector<vm::Value> turn = std::move(buffer_);
      buffer_.clear();
      if (turn.empty() && !last_message_.is_null()) {
        turn.push_back(last_message_);  // Nothing new: the contact's last message.
      }
      if (const std::optional<vm::Value> answer = ask_responder(buffer_effect_, std::move(turn))) {
        resume(vm::Event{vm::EventKind::Answer, *answer});
      }
      break;
    }
  }
}

void Session::drain() {
  while (!active() && !paused_) {
    if (!held_.empty()) {
      const vm::Value message = held_.front();
      held_.erase(held_.begin());
      route(message);
    } else if (!queued_starts_.empty()) {
      const std::uint32_t flow = queued_starts_.front();
      queued_starts_.erase(queued_starts_.begin());
      start(flow);
    } else {
      return;
    }
  }
}

vm::Value Session::lookup(std::string_view path) const {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '.') {
      parts.emplace_back(path.substr(begin, i - begin));
      begin = i + 1;
    }
  }
  std::size_t next = 1;
  vm::Value value;
  if (parts.size() > 1 && parts[0] == "contact") {
    next = 2;
    if (const vm::Value* v = contact_vars_.find(parts[1])) {
      value = *v;
    } else if (const vm::Value* f = context(bytecode::kNone).contact.field(parts[1])) {
      value = *f;
    }
  } else if (parts.size() > 1 && parts[0] == "conversation") {
    next = 2;
    if (const vm::Value* v = run_.conversation.find(parts[1])) {
      value = *v;
    }
  } else {
    for (auto it = run_.frames.rbegin(); it != run_.frames.rend(); ++it) {
      if (const vm::Value* v = it->vars.find(parts[0])) {
        value = *v;
        break;
      }
    }
  }
  for (; next < parts.size() && !value.is_null(); ++next) {
    const vm::Value* f = value.field(parts[next]);
    value = f != nullptr ? *f : vm::Value();
  }
  return value;
}

}  // namespace waflow::host
