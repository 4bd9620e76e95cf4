#pragma once

// Which flow an inbound message starts, when no run of the contact is waiting.
//
// Candidates are the message-matching triggers (keyword, exact, regex, any,
// first_contact, payload). The highest priority wins; between equal priorities
// the more specific kind (exact, payload, first_contact, then keyword and regex,
// then any); then the first declared (bundle order, which is sorted file order).

#include <cstdint>
#include <optional>

#include "runtime/bytecode/bundle.h"
#include "runtime/vm/value.h"

namespace waflow::vm {

struct TriggerMatch {
  std::uint32_t flow = 0;
  std::uint32_t trigger = 0;
};

std::optional<TriggerMatch> match_trigger(const bytecode::Bundle& bundle, const Value& message,
                                          bool first_contact);

}  // namespace waflow::vm
