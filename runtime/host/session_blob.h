#pragma once

// The saved form of a Session: what the server stores per contact between turns
// (Session::save() and Session::restore()).
//
//   +------+---------+--------------------+------------------------+-----------------+
//   | "WH" | version | varint n, run state | varint n, contact vars | session fields  |
//   +------+---------+--------------------+------------------------+-----------------+
//     2 B     1 B      vm::serialize_state   vm::serialize_vars       vm::serialize_vars
//
// The run state comes first so that peek_session() can tell which bundle a
// conversation is pinned to, and whether it is still going on, without decoding
// the rest. The session's own fields are a name -> value map in the VM's value
// encoding, absent when they hold their default (no timers, not paused...), so a
// quiet contact costs a few bytes and a later version can add a field that an
// older one skips. Fields:
//
//   clock     the session's time (ms since the epoch, UTC)
//   first     true while the contact has never written
//   runs      runs started so far (the number of the last one)
//   tseq      timers set so far (orders timers due at the same instant)
//   rseq      calls asked so far (the <n> of request ids "<run>:<n>")
//   timers    [[at, seq, kind (0 reminder, 1 timeout, 2 delay, 3 buffer), run, step, text]]
//   held      messages kept during a delay or a deferred call, oldest first
//   queued    flows (indexes) to start when the run ends
//   buffer    [ms, effect kind, step, effect payload, [messages]] while an AI step buffers
//   paused    true after a handoff, until hand back; handoff: its payload
//   last      the contact's last message
//   history   the last Session::kHistoryLimit lines' texts; from: one 'u' (contact)
//             or 'b' (bot) per line
//   tags, stage
//   seen      FNV-1a hashes of the last Session::kSeenIds message ids, 8 bytes each
//   pending   [[id, step, by message, kind, payload, flow, step id, [turn], input,
//               [history texts], history from, now, tz offset]]
//   host      what the host keeps outside the run (Session::host_state()), any value
//
// A blob is refused, never half-read: bad magic, a newer version, a length past
// the end, trailing bytes, a field of the wrong shape, or (at restore) a run
// that does not fit the bundle.

#include <array>
#include <cstdint>
#include <string_view>

#include "runtime/base/result.h"

namespace waflow::host {

inline constexpr std::uint8_t kSessionBlobVersion = 1;

struct SessionPeek {
  std::array<std::uint8_t, 32> bundle_hash{};  // The bundle the last run started on.
  bool active = false;                         // A run is in progress: restore it on that bundle.
};

// Reads a blob's header and run state only. A server restores a session whose
// run is active on the bundle of `bundle_hash`; otherwise on the active bundle.
Result<SessionPeek> peek_session(std::string_view blob);

}  // namespace waflow::host
