#pragma once

// How a conversation reads in a terminal: the messages the bot sends, the
// user's messages and notes on what else happened (a stage, a tag, an HTTP
// call, the run ending). The test runner prints failing transcripts this way and
// the simulator shows the chat with it, numbering options so a digit taps them.

#include <string>
#include <utility>
#include <vector>

#include "runtime/host/session.h"

namespace waflow::host {

struct Option {
  std::string id;
  std::string title;
};

// The buttons or list rows of a message the bot sent, in order.
std::vector<Option> message_options(const vm::Value& payload);

// A bot message as lines: its text, then header/footer, options, media,
// template or location. With `numbered`, options read "1. Margherita".
std::vector<std::string> describe_message(const vm::Value& payload, bool numbered = false);

// A user message on one line: "hi", "[tap] Margherita", "[image] https://...".
std::string describe_inbound(const vm::Value& message);

struct RenderStyle {
  std::string user = "> ";    // Before user messages.
  std::string bot = "< ";     // Before the first line of bot messages.
  std::string more = "  ";    // Before further lines of a bot message.
  std::string note = "  · ";  // Before notes.
  bool numbered = false;      // Number options.
  bool show_user = true;      // Print user messages (the simulator's terminal already shows them).
};

// The lines of one event (none for bookkeeping events such as steps).
std::vector<std::string> render_event(const Session& session, const Event& event,
                                      const RenderStyle& style);

// "2h", "1h30m", "45s", "500ms" for a number of milliseconds.
std::string format_duration(std::int64_t ms);
// "2025-01-06 09:00 UTC".
std::string format_utc(std::int64_t utc_ms);

}  // namespace waflow::host
