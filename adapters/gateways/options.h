#pragma once

// Buttons and lists on gateways that cannot show them: the options go out as numbered text, and
// a reply that is just a number is read back as a tap of that option. The numbering is the one
// the VM uses for typed numbers (buttons in order, then the rows of every section in order).

#include <optional>
#include <string>
#include <string_view>

#include "runtime/vm/value.h"

namespace waflow::gateways {

// The text of a "buttons" or "list" send payload with its options numbered:
//   [*header*\n\n]text\n\n1. Small\n2. Medium[\n\n_footer_]
// List rows show their description after a dash; titled sections of a list with more than one
// section get their title as a line of their own. Other payloads: their text as is.
std::string numbered_text(const vm::Value& payload);

// When `reply` is an option number of `last_sent` (a "buttons" or "list" payload), the
// message a tap of that option would have been: {type: "button" | "list", payload: id,
// text: title, title}. "2", " 2 ", "2." and "2)" all pick the second option; anything else,
// or a number out of range, gives nothing (the text goes to the flow as typed).
std::optional<vm::Value> numbered_reply(const vm::Value& last_sent, std::string_view reply);

}  // namespace waflow::gateways
