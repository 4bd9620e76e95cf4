#pragma once

// Helpers of the host tests: compiling flow text into a bundle, and reading what
// a session sent.

#include <string>
#include <vector>

#include "runtime/bytecode/bundle.h"
#include "runtime/host/session.h"

namespace waflow::host::testing {

// Compiles flow source text (one .wf file); fails the running test on errors.
bytecode::Bundle compile(const std::string& text);

// The texts of the messages sent in session events [from, end).
std::vector<std::string> sent(const Session& session, std::size_t from = 0);

// A tap on a button: {type: button, payload: id, text: title}.
vm::Value tap(const std::string& id, const std::string& title);

}  // namespace waflow::host::testing
