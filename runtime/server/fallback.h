#pragma once

// The AI fallback chatbot of a device (`devices[].ai_fallback`, docs/ai.md): the
// pieces the engine puts together in a turn, kept apart so they can be tested
// without threads.
//
// A message that no run waits for and no trigger matches (the session logs it
// as Unmatched) is answered by the device's model. The call goes through the
// outbox like an `ai reply` step: an "ai" row whose payload has the step's shape
// ({id, effect: "ai_reply", request, history, input, ...}) and the id
// "fallback:<n>", so its answer comes back as an inbox Answer row that the
// engine recognises by that prefix (a run's calls are named "<run>:<n>").
//
// One call per contact at a time. Unmatched messages that arrive while a call
// is out are queued, in order, and become the input of the next call, made
// when the answer comes (its history then holds the answer). What is pending
// and queued lives in the session's host state, so it survives restarts with
// the rest of the contact's state:
//
//   host_state = {fallback: {pending: "fallback:3", queued: ["hi", "?"], seq: 3}}
//
// When the answer comes while a run is active (a message started a flow
// meanwhile), the flow wins: the answer is dropped and so is the queue.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/host/session.h"
#include "runtime/server/config.h"
#include "runtime/vm/value.h"

namespace waflow::server {

inline constexpr std::string_view kFallbackPrefix = "fallback:";
// The step name of fallback calls in their payloads (and so in `ai_call` log lines).
inline constexpr std::string_view kFallbackStep = "ai_fallback";

// Whether an Answer row's ref names a fallback call.
bool is_fallback_ref(std::string_view ref);

struct FallbackState {
  std::string pending;              // The call out, "" when none.
  std::vector<std::string> queued;  // Texts of messages that wait for the next call.
  std::int64_t seq = 0;             // Calls made so far (the <n> of their ids).
};

// Reads the state from a session's host state; a missing or odd one is empty.
FallbackState read_fallback_state(const vm::Value& host_state);
// Writes it back, leaving the host state's other members alone; an empty state
// removes its member.
void write_fallback_state(vm::Value& host_state, const FallbackState& state);

// What the model reads of one message: its text, else its caption, else its
// kind in brackets ("[image]").
std::string fallback_text(const vm::Value& message);

// The system prompt with {{now}} (local time, "2025-01-06 10:00 Europe/Berlin"),
// {{contact.name}} and {{contact.phone}} filled in; other text stays as written.
std::string fill_fallback_prompt(std::string_view system, std::int64_t now_ms,
                                 std::int64_t tz_offset_ms, std::string_view zone,
                                 const host::ContactProfile& contact);

struct FallbackCall {
  std::string id;
  std::vector<std::string> input;           // The messages it answers, oldest first.
  std::vector<host::HistoryEntry> history;  // The session's history.
  std::int64_t now_ms = 0;
  std::int64_t tz_offset_ms = 0;
  std::string zone;  // For {{now}}; "" is UTC.
  host::ContactProfile contact;
};

// The outbox payload of a call: an ai_reply step's shape (host::call_payload),
// with the configured system prompt, model, temperature and max_tokens. Its
// history is the last `config.history` lines before the input (the input's own
// lines are taken out of the session's history, from the end).
vm::Value fallback_payload(const AiFallbackConfig& config, const FallbackCall& call);

}  // namespace waflow::server
