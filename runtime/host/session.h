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
//
// The server runs the same engine on the real clock, one contact at a time, and
// keeps nothing in memory between turns: it restores the contact's Session from
// a blob (session_blob.h), moves its clock to now with advance_to(), feeds it
// the event, takes the events it produced (take_events()) and the calls it must
// make (pending()), and saves it again, all in one transaction. Its Responder
// defers every call that needs the network; the answer comes back later as
// complete() or fail(), possibly in another process, and resumes the run
// exactly as an answer given on the spot would.

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/result.h"
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
  std::string id;  // "<run>:<n>": names the call until it is answered, across saves.
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
  // Asked first. True: the host answers later, with Session::complete() or fail()
  // (a server never blocks a worker on the network); answer() is not called.
  virtual bool defer(const Request& /*request*/) { return false; }
  virtual vm::Value answer(const Request& request) = 0;
};

// A call the run waits for, deferred by the Responder.
struct PendingRequest {
  std::string id;
  Request request;
};

enum class EventKind : std::uint8_t {
  Received,    // A user message (payload: the message).
  Duplicate,   // A message whose id was seen before: ignored.
  Unmatched,   // No run waits and no trigger matches: the bot stays silent.
  Paused,      // The bot is paused after a handoff: the message is for people.
  Held,        // The run is in a delay or waits for a deferred call: the message waits.
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
  // The business time zone of flows that name none (`now`, hours); "" is UTC.
  std::string default_zone;
  // The bundle's content hash (SHA-256 of its bytes). Runs started here are
  // pinned to it, and restore() refuses a blob whose active run is pinned to
  // another. All zeros when the host does not track bundles (tests, simulator).
  std::array<std::uint8_t, 32> bundle_hash{};
};

// A pending timer, for display (/state in the simulator).
struct TimerInfo {
  std::int64_t at_ms = 0;
  std::string kind;  // reminder, timeout, delay, buffer
};

class Session {
 public:
  Session(const bytecode::Bundle& bundle, Responder& responder, SessionOptions options = {});

  // A session saved with save() (the format is in session_blob.h), on `bundle`.
  // The contact's profile comes from `options`; whether this is their first
  // contact and the clock come from the blob. A truncated, corrupt or newer blob
  // is refused, and so is one whose active run is pinned to another bundle or
  // does not fit this one. With no run active any bundle will do: contact
  // variables, tags, stage and history carry over to the next run.
  static Result<Session> restore(const bytecode::Bundle& bundle, Responder& responder,
                                 std::string_view blob, SessionOptions options = {});
  // Everything the session keeps but the bundle, the responder, the options and
  // the event log. History keeps its last kHistoryLimit lines and duplicate
  // detection the last kSeenIds ids, in memory as in the blob.
  std::string save() const;

  // A user message ({type, text, payload, url, ...}). A non-empty `id` among the
  // last kSeenIds seen makes it a duplicate delivery, which is ignored.
  void receive(const vm::Value& message, const std::string& id = {});
  // Moves the clock forward, firing due timers in time order.
  void advance(std::int64_t ms);
  // Moves the clock to `utc_ms`, firing due timers in time order, each at its
  // own instant (a server calls it with the real time before every event, and at
  // next_timer_ms()). Time never goes back: an earlier instant fires nothing and
  // leaves the clock where it is, so events keep increasing timestamps.
  void advance_to(std::int64_t utc_ms);
  // When the earliest timer is due, if any.
  std::optional<std::int64_t> next_timer_ms() const;

  // Answers a deferred call: the run resumes as if the Responder had answered
  // on the spot, then the messages held meanwhile are handled. False (and
  // nothing happens) for an id that is not pending: late or repeated answers.
  bool complete(const std::string& id, const vm::Value& answer);
  // Answers a deferred call with a failure {ok: false, error}.
  bool fail(const std::string& id, const std::string& error);
  // The deferred calls the run waits for, oldest first.
  std::vector<PendingRequest> pending() const;

  // Removes and returns the events logged since the last call (or since the
  // start), for a host that hands them on rather than keeping the log.
  std::vector<Event> take_events();
  // Puts `earlier` in front of the log: the log of the session this one was
  // restored from, for a host that keeps one log across saves.
  void prepend_events(std::vector<Event> earlier);
  // An operator resumes the bot after a handoff. False if the bot is not paused.
  bool hand_back();
  // Starts a flow by name, as an api or schedule trigger does; if a run is
  // active, after it ends. False if there is no such flow.
  bool start_flow(const std::string& name);
  // A text the host sent outside any run (the server's AI fallback answer): it
  // joins the history that AI steps and the fallback read, as a bot line.
  void remember_sent(std::string text) { remember(false, std::move(text)); }

  const std::vector<Event>& events() const { return events_; }
  std::int64_t now_ms() const { return now_; }
  const ContactProfile& contact() const { return options_.contact; }
  const vm::RunState& run() const { return run_; }
  // A run is in progress (waiting for the user, the clock, a person or an answer).
  bool active() const;
  bool paused() const { return paused_; }
  const vm::Value& handoff() const { return handoff_; }
  vm::VarMap& contact_vars() { return contact_vars_; }
  // The last kHistoryLimit lines of the conversation, oldest first.
  const std::vector<HistoryEntry>& history() const { return history_; }
  // What the host keeps with the contact between turns outside the run (the
  // server's AI fallback: the call it waits for and the messages queued for the
  // next one). Saved in the blob; null by default; flows never see it.
  vm::Value& host_state() { return host_state_; }
  const vm::Value& host_state() const { return host_state_; }
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

  // The lines of history kept: the most an AI step may ask for (`history 100`).
  static constexpr std::size_t kHistoryLimit = 100;
  // How many message ids are remembered for duplicate detection; the server
  // also deduplicates at its door, for longer.
  static constexpr std::size_t kSeenIds = 64;

 private:
  friend class SessionCodec;
  enum class TimerKind : std::uint8_t { Reminder, Timeout, Delay, Buffer };
  struct Timer {
    std::int64_t at = 0;
    std::uint64_t seq = 0;
    TimerKind kind = TimerKind::Timeout;
    std::uint32_t run = 0;
    std::uint32_t step = bytecode::kNone;
    std::string text;
  };
  struct Pending {
    PendingRequest call;
    std::uint32_t step = bytecode::kNone;
    bool by_message = false;  // handling_message_ when it was asked.
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
  std::deque<std::uint64_t> seen_ids_;        // Hashes of the last kSeenIds ids, oldest first.
  std::vector<vm::Value> held_;               // Messages kept during a delay or a call.
  std::vector<std::uint32_t> queued_starts_;  // Flows to start when the run ends.
  std::vector<vm::Value> buffer_;             // Messages collected for a buffered AI step.
  bool buffering_ = false;
  vm::Effect buffer_effect_;  // The AI step waiting for the buffer.
  std::int64_t buffer_ms_ = 0;
  bool paused_ = false;
  vm::Value handoff_;
  vm::Value last_message_;
  bool handling_message_ = false;      // The VM runs because of a message (not a timer).
  std::vector<HistoryEntry> history_;  // The last kHistoryLimit lines.
  std::set<std::string> tags_;
  std::string stage_;
  std::vector<Pending> pending_;
  std::uint64_t request_seq_ = 0;
  vm::Value host_state_;

  vm::Context context(std::uint32_t flow) const;
  std::uint32_t current_flow() const;
  Event& log(EventKind kind, vm::Value payload = {}, std::string text = {});
  void route(const vm::Value& message);
  void start(std::uint32_t flow);
  void resume(const vm::Event& event);
  void process(vm::Outcome out);
  // The answer, or nothing when the Responder defers it (the call is pending).
  std::optional<vm::Value> ask_responder(const vm::Effect& effect, std::vector<vm::Value> turn);
  void log_request(const Request& request, std::uint32_t step, const vm::Value& answer);
  void remember(bool from_user, std::string text);
  // Whether `id` was seen before; remembers it.
  bool seen(const std::string& id);
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
