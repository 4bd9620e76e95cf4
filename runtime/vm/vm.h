#pragma once

// The VM: runs a flow's bytecode until the run needs the world, then suspends.
//
// It is pure: no I/O, no clock, no randomness. Everything it needs from outside
// comes in a Context (the time, the contact's profile, the message being
// handled) or an Event (the user's reply, the host's answer to an effect, a
// timeout). Everything it wants done comes out as Effects, in order. Its state
// is a RunState value the host keeps. The simulator, the test runner and the
// server are three hosts of this same class.

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/bytecode/bundle.h"
#include "runtime/bytecode/opcodes.h"
#include "runtime/vm/state.h"
#include "runtime/vm/value.h"

namespace waflow::vm {

struct Context {
  std::int64_t now_ms = 0;        // UTC, from the host's (possibly virtual) clock.
  std::int64_t tz_offset_ms = 0;  // Offset of the business time zone at now_ms.
  Value contact;                  // {id, name, phone}: the contact's profile.
  Value message;                  // The inbound message being handled, or null.
};

enum class EventKind : std::uint8_t {
  Message,  // A user message, for a run waiting for input.
  Answer,   // The host's answer to an await effect.
  Timeout,  // The wait's timeout fired.
};

struct Event {
  EventKind kind = EventKind::Message;
  Value value;
};

struct Effect {
  // Wait effects ask the host to wait for the user: payload {timeout_ms?, reminders?}.
  bool wait = false;
  bytecode::EffectKind kind = bytecode::EffectKind::Send;
  Value payload;
  std::uint32_t step = 0xFFFFFFFFU;  // The step that produced it.
};

struct RunError {
  std::string message;
  std::string file;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string step;
};

struct Outcome {
  std::vector<Effect> effects;
  std::vector<std::uint32_t> steps;  // Step indexes entered, in order.
  RunStatus status = RunStatus::Ready;
  RunError error;  // When status is Failed.
};

class Vm {
 public:
  explicit Vm(const bytecode::Bundle& bundle, std::array<std::uint8_t, 32> bundle_hash = {});

  // Starts flow `flow` in a fresh run.
  Outcome start(RunState& run, VarMap& contact, std::uint32_t flow, const Context& context);
  // Continues a suspended run.
  Outcome resume(RunState& run, VarMap& contact, const Event& event, const Context& context);

  const bytecode::Bundle& bundle() const { return bundle_; }
  // Most instructions one resume may run before the run is stopped as stuck.
  static constexpr std::uint64_t kInstructionBudget = 10'000'000;

 private:
  const bytecode::Bundle& bundle_;
  std::array<std::uint8_t, 32> hash_;

  Outcome execute(RunState& run, VarMap& contact, std::vector<Value> stack, const Context& context);
};

// Validates a user message as a capture type (ir::CaptureType order) against the
// prompt object (options, pattern). Sets `value` when valid.
bool validate_capture(std::uint32_t capture, const Value& message, const Value& prompt,
                      const Context& context, Value& value);

// Runs built-in function `fn` (functions.def order). Returns false with `error`
// set on a type error.
bool call_function(std::uint32_t fn, const std::vector<Value>& args, const Context& context,
                   const bytecode::FlowInfo& flow, const bytecode::Bundle& bundle, Value& result,
                   std::string& error);

// Fills the {{placeholders}} of `pattern` with `values`, in order.
std::string render_template(std::string_view pattern, const std::vector<Value>& values);

}  // namespace waflow::vm
