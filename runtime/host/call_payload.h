#pragma once

// A deferred call as a server keeps it in its outbox and a transport performs
// it: one description, built here, for the server's outbox rows and for hosts
// that answer calls with the same transports (the simulator with real models).

#include "runtime/host/session.h"
#include "runtime/vm/value.h"

namespace waflow::host {

// {id, effect, flow, step, input, request: <the effect's payload>} and, for the
// AI effects, what the model sees besides the input: history (the step's
// `history N` window as [{role: "user" | "assistant", text}], oldest first,
// without the turn's own messages, which are the input), now_ms and
// tz_offset_ms.
vm::Value call_payload(const Request& request);

}  // namespace waflow::host
