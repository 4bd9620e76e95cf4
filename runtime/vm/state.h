#pragma once

// The state of one run (a conversation with a flow) as a value: where it is,
// its call frames with their variables, the conversation's variables, and the
// bundle it is pinned to. It serializes to a compact, versioned blob that the
// host stores between messages; contact variables are kept apart, because they
// outlive conversations.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/base/result.h"
#include "runtime/vm/value.h"

namespace waflow::vm {

enum class RunStatus : std::uint8_t {
  Ready,         // Created, not started.
  WaitingInput,  // Suspended at a `wait`: the next user message resumes it.
  Awaiting,      // Suspended at an `await`: the host's answer resumes it.
  Ended,         // Finished normally.
  Failed,        // Ended by a run-time error.
};

struct Frame {
  std::uint32_t flow = 0;
  std::uint32_t return_pc = 0;  // Where the caller continues; unused for the first frame.
  VarMap vars;                  // The flow's own variables.

  bool operator==(const Frame& other) const = default;
};

struct RunState {
  std::array<std::uint8_t, 32> bundle_hash{};
  RunStatus status = RunStatus::Ready;
  std::uint32_t pc = 0;              // The suspending instruction while suspended.
  std::uint32_t step = 0xFFFFFFFFU;  // The step last entered.
  std::vector<Frame> frames;
  VarMap conversation;

  bool operator==(const RunState& other) const = default;
};

inline constexpr std::uint8_t kStateVersion = 1;

std::string serialize_state(const RunState& state);
Result<RunState> deserialize_state(std::string_view blob);

// Variables of one contact, kept across conversations.
std::string serialize_vars(const VarMap& vars);
Result<VarMap> deserialize_vars(std::string_view blob);

}  // namespace waflow::vm
