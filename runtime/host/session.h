#pragma once

// The host core: one contact talking to a bundle, on a virtual clock.
//
// A Session owns what a host keeps for one contact: the run state, the contact's
// variables, tags and stage, whether a person has taken over, and the timers of
// the run (wait timeouts, reminders, delays, AI buffers). Feed it user messages
// with receive() and move its clock with advance(); it picks the flow (the run
// that waits first, else the triggers), drives the VM, performs the effects and
// writes everything that happens to an event log. Await effects that need the
// world (AI, HTTP, store) are answered by a pluggable Responder: mocks in tests
// and the simulator, real clients in the server. Delays and handoffs are the
// session's own business.
//
// It is pure: no real clock, no I/O besides reading tzdata for time zones (and a
// caller may replace that too). The test runner and the simulator are thin
// layers over it; see docs/testing.md for the rules it follows.

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "runtime/bytecode/bundle.h"
#include "runtime/host/tz.h"
#include "runtime/vm/triggers.h"
#include "runtime/vm/vm.h"

namespace waflow::host {

struct ContactProfile {
  std::string name = "Test User";
  std::string phone = "+15550000001";
  bool first_contact = true;  // The contact has never written before.
};

// One line of the conversation, for AI history.
struct HistoryEntry {
  bool from_user = true;
  std::string text;
};

// An await effect the host must answer.
struct Request {
  bytecode::EffectKind kind = bytecode::EffectKind::AiReply;
  vm::Value payload;
  std::string flow;  // The flow's name.
  std::string step;  // The step's id.
  std::vector<vm::Value>
      turn;           // The user's messages this answer is for (a buffer collects several).
  std::string input;  // Their texts, one per line.
  std::vector<HistoryEntry> history;  // The conversation so far, oldest first.
  std::int64_t now_ms = 0;
  std::int64_t tz_offset_ms = 0;
};

// Answers await effects with the values codegen expects: {ok, text} for ai_reply,
// {ok, intent}, {ok, complete, value, question}, {ok, status, body}, {ok, id},
// and {ok: false, error} on failure.
class Responder {
 public:
  virtual ~Responder() = default;
  virtual vm::Value answer(const Request& request) = 0;
};

enum class EventKind : std::uint8_t {
  Received,    // A user message (payload: the message).
  Duplicate,   // A message whose id was seen before: ignored.
  Unmatched,   // No run waits and no trigger matches: the bot stays silent.
  Paused,      // The bot is paused after a handoff: the message is for people.
  Held,        // The run is in a delay: the message waits for the run's next wait.
  Buffered,    // An AI step is collecting a burst: the message joins it.
  Started,     // A run started (text: the flow's name).
  Step,        // A step was entered (step: its index in the bundle).
  Effect,      // A message, typing, stage, tag, untag or log (effect, payload).
  Request,     // An await effect answered (effect, payload, answer).
  Waiting,     // The run waits for the user (payload: {timeout_ms?, reminders?}).
  Sleeping,    // The run waits for the clock: a delay or an AI buffer (payload).
  HandedOff,   // The run waits at a handoff; the bot is paused (payload: {note?, queue?}).
  HandedBack,  // An operator handed the conversation back.
  Timer,       // A timer fired (text: reminder, timeout, delay or buffer).
  Ended,       // The run ended (payload: {depth}: how many flows were still running).
  Failed,      // The run failed (text: why; payload: {file, line, step}).
};

struct Event {
  EventKind kind = EventKind::Received;
  std::int64_t at_ms = 0;
  std::uint32_t run = 0;  // 1 for the session's first run; 0 outside runs.
  std::uint32_t step = bytecode::kNone;
  bytecode::EffectKind effect = bytecode::EffectKind::Send;
  vm::Value payload;
  vm::Value answer;
  std::string text;
};

struct SessionOptions {
  ContactProfile contact;
  std::int64_t start_ms = 1736154000000;  // 2025-01-06T09:00:00Z, a Monday.
  // The UTC offset of a zone at an instant; by default read from tzdata.
  std::function<std::int64_t(const std::string& zone, std::int64_t utc_ms)> tz_offset;
};

// A pending timer, for display (/state in the simulator).
struct TimerInfo {
  std::int64_t at_ms = 0;
  std::string kind;  // reminder, timeout, delay, buffer
};

class Session {
 public:
  Session(const bytecode::Bundle& bundle, Responder& responder, SessionOptions options = {});

  // A user message ({type, text, payload, url, ...}). A non-empty `id` that was
  // seen before makes it a duplicate delivery, which is ignored.
  void receive(const vm::Value& message, const std::string& id = {});
  // Moves the clock forward, firing due timers in time order.
  void advance(std::int64_t ms);
  // An operator resumes the bot after a handoff. False if the bot is not paused.
  bool hand_back();
  // Starts a flow by name, as an api or schedule trigger does; if a run is
  // active, after it ends. False if there is no such flow.
  bool start_flow(const std::string& name);

  const std::vector<Event>& events() const { return events_; }
  std::int64_t now_ms() const { return now_; }
  const ContactProfile& contact() const { return options_.contact; }
  const vm::RunState& run() const { return run_; }
  // A run is in progress (waiting for the user, the clock, a person or an answer).
  bool active() const;
  bool paused() const { return paused_; }
  const vm::Value& handoff() const { return handoff_; }
  vm::VarMap& contact_vars() { return contact_vars_; }
  const std::set<std::string>& tags() const { return tags_; }
  const std::string& stage() const { return stage_; }
  std::vector<TimerInfo> timers() const;
  const bytecode::Bundle& bundle() const { return bundle_; }

  // A variable as a flow reads it: "contact.language", "conversation.n",
  // "lead.company" (a flow variable of the running flow, then its callers).
  // Null when unset. Works after the run ended, on its last state.
  vm::Value lookup(std::string_view path) const;

  // The step id / flow name of bundle indexes, for display.
  std::string step_id(std::uint32_t step) const;
  std::string flow_name(std::uint32_t flow) const;

 private:
  enum class TimerKind : std::uint8_t { Reminder, Timeout, Delay, Buffer };
  struct Timer {
    std::int64_t at = 0;
    std::uint64_t seq = 0;
    TimerKind kind = TimerKind::Timeout;
    std::uint32_t run = 0;
    std::uint32_t step = bytecode::kNone;
    std::string text;
  };

  const bytecode::Bundle& bundle_;
  Responder& responder_;
  SessionOptions options_;
  vm::Vm vm_;
  mutable ZoneCache zones_;
  vm::RunState run_;
  vm::VarMap contact_vars_;
  std::uint32_t run_number_ = 0;
  std::int64_t now_ = 0;
  std::vector<Event> events_;
  std::vector<Timer> timers_;
  std::uint64_t timer_seq_ = 0;
  std::set<std::string> seen_ids_;
  std::vector<vm::Value> held_;               // Messages kept during a delay.
  std::vector<std::uint32_t> queued_starts_;  // Flows to start when the run ends.
  std::vector<vm::Value> buffer_;             // Messages collected for a buffered AI step.
  bool buffering_ = false;
  vm::Effect buffer_effect_;  // The AI step waiting for the buffer.
  std::int64_t buffer_ms_ = 0;
  bool paused_ = false;
  vm::Value handoff_;
  vm::Value last_message_;
  bool handling_message_ = false;  // The VM runs because of a message (not a timer).
  std::vector<HistoryEntry> history_;
  std::set<std::string> tags_;
  std::string stage_;

  vm::Context context(std::uint32_t flow) const;
  std::uint32_t current_flow() const;
  Event& log(EventKind kind, vm::Value payload = {}, std::string text = {});
  void route(const vm::Value& message);
  void start(std::uint32_t flow);
  void resume(const vm::Event& event);
  void process(vm::Outcome out);
  vm::Value ask_responder(const vm::Effect& effect, std::vector<vm::Value> turn);
  void schedule(TimerKind kind, std::int64_t at, std::uint32_t step = bytecode::kNone,
                std::string text = {});
  void cancel_wait_timers();
  void fire(const Timer& timer);
  // Routes held messages and queued starts once no run is active.
  void drain();
};

// The message a user sends: {type: "text", text}.
vm::Value text_message(const std::string& text);

}  // namespace waflow::host
