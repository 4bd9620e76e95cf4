// Saving and restoring sessions (the format is drawn in session_blob.h). The run
// state and the variables reuse the VM's encoders, which check every length and
// the nesting depth; this file adds the header, the session's own fields and a
// check that a restored run fits its bundle, so a damaged blob is refused here
// instead of sending the VM to an instruction that is not one.

#include "runtime/host/session_blob.h"

#include <cmath>
#include <utility>

#include "runtime/bytecode/opcodes.h"
#include "runtime/host/session.h"
#include "runtime/vm/state.h"

namespace waflow::host {

namespace {

using bytecode::EffectKind;
using bytecode::Op;
using vm::Value;

constexpr char kMagic[2] = {'W', 'H'};
constexpr std::size_t kHeaderSize = 3;
// Integers travel as numbers (doubles): exact up to 2^53.
constexpr double kMaxExact = 9007199254740992.0;

Error corrupt(const std::string& why) {
  return Error{ErrorCode::InvalidInput, "unreadable session state: " + why};
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>(static_cast<std::uint8_t>(v | 0x80U));
    v >>= 7U;
  }
  out += static_cast<char>(static_cast<std::uint8_t>(v));
}

// A length-prefixed part at `pos`, or false when it runs past the end.
bool get_part(std::string_view blob, std::size_t& pos, std::string_view& part) {
  std::uint64_t n = 0;
  for (unsigned shift = 0;; shift += 7) {
    if (shift >= 64 || pos >= blob.size()) {
      return false;
    }
    const auto b = static_cast<std::uint8_t>(blob[pos++]);
    n |= static_cast<std::uint64_t>(b & 0x7FU) << shift;
    if ((b & 0x80U) == 0) {
      break;
    }
  }
  if (n > blob.size() - pos) {
    return false;
  }
  part = blob.substr(pos, n);
  pos += n;
  return true;
}

struct Parts {
  std::string_view run;
  std::string_view contact;
  std::string_view fields;
};

Result<Parts> split(std::string_view blob) {
  if (blob.size() < kHeaderSize || blob[0] != kMagic[0] || blob[1] != kMagic[1]) {
    return corrupt("not a saved session (bad magic)");
  }
  const auto version = static_cast<std::uint8_t>(blob[2]);
  if (version > kSessionBlobVersion) {
    return Error{ErrorCode::Unsupported, "session state version " + std::to_string(version) +
                                             " is newer than this waflow reads (" +
                                             std::to_string(kSessionBlobVersion) + ")"};
  }
  if (version == 0) {
    return corrupt("version 0");
  }
  Parts parts;
  std::size_t pos = kHeaderSize;
  if (!get_part(blob, pos, parts.run) || !get_part(blob, pos, parts.contact)) {
    return corrupt("truncated");
  }
  parts.fields = blob.substr(pos);
  return parts;
}

bool is_active(vm::RunStatus status) {
  return status == vm::RunStatus::WaitingInput || status == vm::RunStatus::Awaiting;
}

std::string hex(const std::array<std::uint8_t, 32>& hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : hash) {
    out += kDigits[b >> 4U];
    out += kDigits[b & 0xFU];
  }
  return out;
}

Value integer(std::int64_t v) {
  return Value::number(static_cast<double>(v));
}

Value texts(const std::vector<std::string>& items) {
  Value::List list;
  list.reserve(items.size());
  for (const std::string& s : items) {
    list.push_back(Value::text(s));
  }
  return Value::list(std::move(list));
}

// Typed reads of decoded values. The first mismatch is kept as the error; later
// reads return defaults, so a decoder reads on and checks ok() once.
class Reader {
 public:
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  void fail(const std::string& what) {
    if (error_.empty()) {
      error_ = what;
    }
  }
  std::int64_t number(const Value* v, const char* what, std::int64_t min, std::int64_t max) {
    if (v == nullptr) {
      return 0;
    }
    const double d = v->is_number() ? v->as_number() : NAN;
    if (!std::isfinite(d) || std::floor(d) != d || d < -kMaxExact || d > kMaxExact ||
        d < static_cast<double>(min) || d > static_cast<double>(max)) {
      fail(std::string(what) + " is not a whole number in range");
      return 0;
    }
    return static_cast<std::int64_t>(d);
  }
  std::uint32_t index(const Value* v, const char* what) {
    return static_cast<std::uint32_t>(number(v, what, 0, 0xFFFFFFFFLL));
  }
  std::string text(const Value* v, const char* what) {
    if (v == nullptr) {
      return {};
    }
    if (!v->is_text()) {
      fail(std::string(what) + " is not a text");
      return {};
    }
    return v->as_text();
  }
  bool flag(const Value* v, const char* what) {
    if (v == nullptr) {
      return false;
    }
    if (v->type() != Value::Type::Bool) {
      fail(std::string(what) + " is not true or false");
      return false;
    }
    return v->as_bool();
  }
  // The items of a list (none when absent), each checked by the caller.
  const Value::List& list(const Value* v, const char* what) {
    static const Value::List kEmpty;
    if (v == nullptr) {
      return kEmpty;
    }
    if (v->type() != Value::Type::List) {
      fail(std::string(what) + " is not a list");
      return kEmpty;
    }
    return v->as_list();
  }
  // A list of exactly `n` items (a record), or nullptr.
  const Value::List* record(const Value& v, const char* what, std::size_t n) {
    if (v.type() != Value::Type::List || v.as_list().size() != n) {
      fail(std::string(what) + " has the wrong shape");
      return nullptr;
    }
    return &v.as_list();
  }
  EffectKind await_kind(const Value* v, const char* what) {
    const auto kind = static_cast<EffectKind>(number(v, what, 0, 255));
    if (ok() && (!bytecode::is_await_effect(kind) || kind > EffectKind::Delay)) {
      fail(std::string(what) + " is not a call");
    }
    return kind;
  }
  std::vector<Value> values(const Value* v, const char* what) {
    const Value::List& items = list(v, what);
    return {items.begin(), items.end()};
  }
  std::vector<HistoryEntry> history(const Value* lines, const Value* from, const char* what) {
    const Value::List& items = list(lines, what);
    const std::string who = text(from, what);
    if (ok() && who.size() != items.size()) {
      fail(std::string(what) + " and its speakers differ in length");
      return {};
    }
    std::vector<HistoryEntry> out;
    for (std::size_t i = 0; i < items.size() && ok(); ++i) {
      if (who[i] != 'u' && who[i] != 'b') {
        fail(std::string(what) + " names an unknown speaker");
      }
      out.push_back(HistoryEntry{who[i] == 'u', text(&items[i], what)});
    }
    return out;
  }

 private:
  std::string error_;
};

void put_history(Value::List& out, const std::vector<HistoryEntry>& history) {
  Value::List lines;
  std::string who;
  lines.reserve(history.size());
  for (const HistoryEntry& h : history) {
    lines.push_back(Value::text(h.text));
    who += h.from_user ? 'u' : 'b';
  }
  out.push_back(Value::list(std::move(lines)));
  out.push_back(Value::text(std::move(who)));
}

// Whether `pc` starts an instruction of [begin, end); `before` gets the
// instruction before it (kNone for the first).
bool instruction_at(const bytecode::Bundle& bundle, std::uint32_t begin, std::uint32_t end,
                    std::uint32_t pc, std::uint32_t& before) {
  before = bytecode::kNone;
  for (std::uint32_t p = begin; p < end && p < bundle.code.size();) {
    if (p == pc) {
      return true;
    }
    before = p;
    p += bytecode::instruction_size(static_cast<Op>(bundle.code[p]));
  }
  return false;
}

std::uint32_t operand(const bytecode::Bundle& bundle, std::uint32_t pc) {
  std::uint32_t v = 0;
  for (unsigned i = 0; i < 4 && pc + 1 + i < bundle.code.size(); ++i) {
    v |= static_cast<std::uint32_t>(bundle.code[pc + 1 + i]) << (8U * i);
  }
  return v;
}

}  // namespace

// Reads and writes a Session's private fields (a friend of Session).
class SessionCodec {
 public:
  static std::string save(const Session& s);
  static std::string load(Session& s, const vm::VarMap& fields);
  static std::string check(const Session& s);
};

std::string SessionCodec::save(const Session& s) {
  vm::VarMap f;
  f.set("clock", integer(s.now_));
  if (s.options_.contact.first_contact) {
    f.set("first", Value::boolean(true));
  }
  if (s.run_number_ != 0) {
    f.set("runs", integer(s.run_number_));
  }
  if (s.timer_seq_ != 0) {
    f.set("tseq", integer(static_cast<std::int64_t>(s.timer_seq_)));
  }
  if (s.request_seq_ != 0) {
    f.set("rseq", integer(static_cast<std::int64_t>(s.request_seq_)));
  }
  if (!s.timers_.empty()) {
    Value::List timers;
    for (const Session::Timer& t : s.timers_) {
      timers.push_back(Value::list({integer(t.at), integer(static_cast<std::int64_t>(t.seq)),
                                    integer(static_cast<int>(t.kind)), integer(t.run),
                                    integer(t.step), Value::text(t.text)}));
    }
    f.set("timers", Value::list(std::move(timers)));
  }
  if (!s.held_.empty()) {
    f.set("held", Value::list(s.held_));
  }
  if (!s.queued_starts_.empty()) {
    Value::List queued;
    for (std::uint32_t flow : s.queued_starts_) {
      queued.push_back(integer(flow));
    }
    f.set("queued", Value::list(std::move(queued)));
  }
  if (s.buffering_) {
    f.set("buffer",
          Value::list({integer(s.buffer_ms_), integer(static_cast<int>(s.buffer_effect_.kind)),
                       integer(s.buffer_effect_.step), s.buffer_effect_.payload,
                       Value::list(s.buffer_)}));
  }
  if (s.paused_) {
    f.set("paused", Value::boolean(true));
    f.set("handoff", s.handoff_);
  }
  f.set("last", s.last_message_);
  if (!s.history_.empty()) {
    Value::List parts;
    put_history(parts, s.history_);
    f.set("history", parts[0]);
    f.set("from", parts[1]);
  }
  if (!s.tags_.empty()) {
    f.set("tags", texts({s.tags_.begin(), s.tags_.end()}));
  }
  if (!s.stage_.empty()) {
    f.set("stage", Value::text(s.stage_));
  }
  if (!s.seen_ids_.empty()) {
    std::string seen;
    for (std::uint64_t h : s.seen_ids_) {
      for (unsigned i = 0; i < 8; ++i) {
        seen += static_cast<char>((h >> (8U * i)) & 0xFFU);
      }
    }
    f.set("seen", Value::text(std::move(seen)));
  }
  if (!s.pending_.empty()) {
    Value::List pending;
    for (const Session::Pending& p : s.pending_) {
      const Request& r = p.call.request;
      Value::List item = {Value::text(p.call.id),
                          integer(p.step),
                          Value::boolean(p.by_message),
                          integer(static_cast<int>(r.kind)),
                          r.payload,
                          Value::text(r.flow),
                          Value::text(r.step),
                          Value::list(r.turn),
                          Value::text(r.input)};
      put_history(item, r.history);
      item.push_back(integer(r.now_ms));
      item.push_back(integer(r.tz_offset_ms));
      pending.push_back(Value::list(std::move(item)));
    }
    f.set("pending", Value::list(std::move(pending)));
  }
  if (!s.host_state_.is_null()) {
    f.set("host", s.host_state_);
  }

  const std::string run = vm::serialize_state(s.run_);
  const std::string contact = vm::serialize_vars(s.contact_vars_);
  const std::string fields = vm::serialize_vars(f);
  std::string out;
  out.reserve(kHeaderSize + 8 + run.size() + contact.size() + fields.size());
  out += kMagic[0];
  out += kMagic[1];
  out += static_cast<char>(kSessionBlobVersion);
  put_varint(out, run.size());
  out += run;
  put_varint(out, contact.size());
  out += contact;
  out += fields;
  return out;
}

std::string SessionCodec::load(Session& s, const vm::VarMap& f) {
  Reader r;
  constexpr std::int64_t kMin = -static_cast<std::int64_t>(kMaxExact);
  constexpr std::int64_t kMax = static_cast<std::int64_t>(kMaxExact);
  s.now_ = r.number(f.find("clock"), "clock", kMin, kMax);
  s.options_.contact.first_contact = r.flag(f.find("first"), "first");
  s.run_number_ = r.index(f.find("runs"), "runs");
  s.timer_seq_ = static_cast<std::uint64_t>(r.number(f.find("tseq"), "tseq", 0, kMax));
  s.request_seq_ = static_cast<std::uint64_t>(r.number(f.find("rseq"), "rseq", 0, kMax));
  for (const Value& item : r.list(f.find("timers"), "timers")) {
    const Value::List* t = r.record(item, "a timer", 6);
    if (t == nullptr) {
      break;
    }
    Session::Timer timer;
    timer.at = r.number(&(*t)[0], "a timer's time", kMin, kMax);
    timer.seq = static_cast<std::uint64_t>(r.number(&(*t)[1], "a timer's order", 0, kMax));
    timer.kind = static_cast<Session::TimerKind>(r.number(&(*t)[2], "a timer's kind", 0, 3));
    timer.run = r.index(&(*t)[3], "a timer's run");
    timer.step = r.index(&(*t)[4], "a timer's step");
    timer.text = r.text(&(*t)[5], "a timer's text");
    s.timers_.push_back(std::move(timer));
  }
  s.held_ = r.values(f.find("held"), "held");
  for (const Value& flow : r.list(f.find("queued"), "queued")) {
    s.queued_starts_.push_back(r.index(&flow, "a queued flow"));
  }
  if (const Value* buffer = f.find("buffer")) {
    if (const Value::List* b = r.record(*buffer, "buffer", 5)) {
      s.buffering_ = true;
      s.buffer_ms_ = r.number(&(*b)[0], "the buffer's length", 0, kMax);
      s.buffer_effect_.kind = r.await_kind(&(*b)[1], "the buffer's step kind");
      s.buffer_effect_.step = r.index(&(*b)[2], "the buffer's step");
      s.buffer_effect_.payload = (*b)[3];
      s.buffer_ = r.values(&(*b)[4], "the buffer's messages");
    }
  }
  s.paused_ = r.flag(f.find("paused"), "paused");
  if (const Value* handoff = f.find("handoff")) {
    s.handoff_ = *handoff;
  }
  if (const Value* last = f.find("last")) {
    s.last_message_ = *last;
  }
  s.history_ = r.history(f.find("history"), f.find("from"), "history");
  if (s.history_.size() > Session::kHistoryLimit) {
    r.fail("history is longer than kept");
  }
  for (const Value& tag : r.list(f.find("tags"), "tags")) {
    s.tags_.insert(r.text(&tag, "a tag"));
  }
  s.stage_ = r.text(f.find("stage"), "stage");
  const std::string seen = r.text(f.find("seen"), "seen");
  if (seen.size() % 8 != 0 || seen.size() / 8 > Session::kSeenIds) {
    r.fail("seen has the wrong size");
  }
  for (std::size_t i = 0; r.ok() && i + 8 <= seen.size(); i += 8) {
    std::uint64_t h = 0;
    for (unsigned k = 0; k < 8; ++k) {
      h |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(seen[i + k])) << (8U * k);
    }
    s.seen_ids_.push_back(h);
  }
  for (const Value& item : r.list(f.find("pending"), "pending")) {
    const Value::List* p = r.record(item, "a pending call", 13);
    if (p == nullptr) {
      break;
    }
    Session::Pending call;
    call.call.id = r.text(&(*p)[0], "a call's id");
    call.step = r.index(&(*p)[1], "a call's step");
    call.by_message = r.flag(&(*p)[2], "a call's cause");
    Request& req = call.call.request;
    req.id = call.call.id;
    req.kind = r.await_kind(&(*p)[3], "a call's kind");
    req.payload = (*p)[4];
    req.flow = r.text(&(*p)[5], "a call's flow");
    req.step = r.text(&(*p)[6], "a call's step id");
    req.turn = r.values(&(*p)[7], "a call's messages");
    req.input = r.text(&(*p)[8], "a call's input");
    req.history = r.history(&(*p)[9], &(*p)[10], "a call's history");
    req.now_ms = r.number(&(*p)[11], "a call's time", kMin, kMax);
    req.tz_offset_ms = r.number(&(*p)[12], "a call's time zone", kMin, kMax);
    s.pending_.push_back(std::move(call));
  }
  if (const Value* host = f.find("host")) {
    s.host_state_ = *host;
  }
  return r.error();
}

std::string SessionCodec::check(const Session& s) {
  const bytecode::Bundle& b = s.bundle_;
  const vm::RunState& run = s.run_;
  auto step_ok = [&](std::uint32_t step) {
    return step == bytecode::kNone || step < b.steps.size();
  };
  for (std::uint32_t flow : s.queued_starts_) {
    if (flow >= b.flows.size()) {
      return "a queued flow is not in the bundle";
    }
  }
  for (const Session::Timer& t : s.timers_) {
    if (!step_ok(t.step)) {
      return "a timer's step is not in the bundle";
    }
    if (t.run != s.run_number_) {
      return "a timer belongs to another run";  // They go when their run ends.
    }
  }
  if (!is_active(run.status)) {
    if (!s.timers_.empty() || !s.pending_.empty() || s.paused_ || s.buffering_) {
      return "no run is active, but timers, calls or a handoff wait for one";
    }
    return {};
  }
  if (run.frames.empty()) {
    return "an active run has no frames";
  }
  for (const vm::Frame& frame : run.frames) {
    if (frame.flow >= b.flows.size()) {
      return "the run is in a flow that is not in the bundle";
    }
  }
  // The run resumes at its suspending instruction, and each called flow
  // returns just after the call that started it.
  const bytecode::FlowInfo& top = b.flows[run.frames.back().flow];
  std::uint32_t before = 0;
  if (!instruction_at(b, top.code_begin, top.code_end, run.pc, before)) {
    return "the run stops outside its flow's code";
  }
  const auto op = static_cast<Op>(b.code[run.pc]);
  const bool waiting = run.status == vm::RunStatus::WaitingInput;
  if (op != (waiting ? Op::Wait : Op::Await)) {
    return "the run stops at an instruction that does not wait";
  }
  for (std::size_t i = 1; i < run.frames.size(); ++i) {
    const bytecode::FlowInfo& caller = b.flows[run.frames[i - 1].flow];
    const std::uint32_t at = run.frames[i].return_pc;
    if (!instruction_at(b, caller.code_begin, caller.code_end, at, before) ||
        before == bytecode::kNone || static_cast<Op>(b.code[before]) != Op::CallFlow ||
        operand(b, before) != run.frames[i].flow) {
      return "a called flow returns to no call";
    }
  }
  const auto kind = static_cast<EffectKind>(operand(b, run.pc));
  bool delayed = false;
  for (const Session::Timer& t : s.timers_) {
    const bool wait_timer =
        t.kind == Session::TimerKind::Reminder || t.kind == Session::TimerKind::Timeout;
    delayed = delayed || t.kind == Session::TimerKind::Delay;
    if (wait_timer != waiting || (t.kind == Session::TimerKind::Buffer && !s.buffering_)) {
      return "a timer does not fit what the run waits for";
    }
  }
  const int reasons = (s.paused_ ? 1 : 0) + (s.buffering_ ? 1 : 0) + (delayed ? 1 : 0) +
                      (s.pending_.empty() ? 0 : 1);
  // A run waits at an await for exactly one thing: a delay, a person, a burst or
  // a deferred call (any other call was answered on the spot).
  if (reasons != (waiting ? 0 : 1)) {
    return "what the run waits for is not what its instruction waits for";
  }
  if ((s.paused_ && kind != EffectKind::Handoff) || (delayed && kind != EffectKind::Delay) ||
      (s.buffering_ && kind != s.buffer_effect_.kind) || s.pending_.size() > 1 ||
      (!s.pending_.empty() && kind != s.pending_.front().call.request.kind)) {
    return "what the run waits for is not what its instruction waits for";
  }
  if (!step_ok(s.buffer_effect_.step) ||
      (!s.pending_.empty() && !step_ok(s.pending_.front().step))) {
    return "a step is not in the bundle";
  }
  return {};
}

std::string Session::save() const {
  return SessionCodec::save(*this);
}

Result<Session> Session::restore(const bytecode::Bundle& bundle, Responder& responder,
                                 std::string_view blob, SessionOptions options) {
  Result<Parts> parts = split(blob);
  if (!parts) {
    return parts.error();
  }
  Result<vm::RunState> run = vm::deserialize_state(parts.value().run);
  if (!run) {
    return run.error();
  }
  Result<vm::VarMap> contact = vm::deserialize_vars(parts.value().contact);
  if (!contact) {
    return corrupt("contact variables: " + contact.error().message);
  }
  Result<vm::VarMap> fields = vm::deserialize_vars(parts.value().fields);
  if (!fields) {
    return corrupt("session fields: " + fields.error().message);
  }
  if (is_active(run.value().status) && run.value().bundle_hash != options.bundle_hash) {
    return Error{ErrorCode::InvalidInput,
                 "the conversation runs on bundle sha256:" + hex(run.value().bundle_hash) +
                     "; restore it with that bundle, not sha256:" + hex(options.bundle_hash)};
  }
  Session s(bundle, responder, std::move(options));
  s.run_ = std::move(run).value();
  s.contact_vars_ = std::move(contact).value();
  if (std::string error = SessionCodec::load(s, fields.value()); !error.empty()) {
    return corrupt(error);
  }
  if (std::string error = SessionCodec::check(s); !error.empty()) {
    return Error{ErrorCode::InvalidInput, "the saved session does not fit the bundle: " + error};
  }
  return s;
}

Result<SessionPeek> peek_session(std::string_view blob) {
  Result<Parts> parts = split(blob);
  if (!parts) {
    return parts.error();
  }
  Result<vm::RunState> run = vm::deserialize_state(parts.value().run);
  if (!run) {
    return run.error();
  }
  SessionPeek peek;
  peek.bundle_hash = run.value().bundle_hash;
  peek.active = is_active(run.value().status);
  return peek;
}

}  // namespace waflow::host
