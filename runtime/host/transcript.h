#pragma once

// Transcript tests (*.test.yaml): the model and its YAML reader.
//
// A file holds tests; a test is a list of steps that either act as the user
// (a message, a tap, a burst, the clock moving, an operator handing back) or
// check what the bot did (the next message it sent, that it stayed silent, the
// variables, whether the run ended). docs/testing.md is the reference, and
// schemas/transcript.schema.json describes the same format for editors.
// yaml-cpp stays inside runtime/base/yaml_tree.cpp.

#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/host/mocks.h"
#include "runtime/host/session.h"

namespace waflow::host {

struct TranscriptError {
  int line = 0;  // 1-based; 0 when unknown.
  int column = 0;
  std::string message;
};

// What the next message the bot sends must look like; only the given parts are
// compared.
struct MessageExpectation {
  std::optional<std::string> text;     // Exactly this text (a media caption).
  std::optional<std::string> pattern;  // A regex the whole text matches.
  // `pattern` compiled by the reader, once for all the tests that use the same
  // one (null: the runner compiles it).
  std::shared_ptr<const std::regex> pattern_regex;
  std::optional<std::vector<std::string>> buttons;  // Button titles, in order.
  std::optional<std::vector<std::string>> list;     // Row titles of all sections, in order.
  std::optional<std::string> header;
  std::optional<std::string> footer;
  std::optional<vm::Value> media;  // {type, url, caption, filename, mime}: the given fields.
  std::optional<std::string> template_name;
  std::optional<std::vector<std::string>> params;
  std::optional<vm::Value> location;  // {latitude, longitude, name, address}: the given fields.
};

struct TranscriptStep {
  enum class Kind : std::uint8_t {
    // Actions.
    Send,       // user, media, location: `message` (with `id`).
    Tap,        // Tap the option `text` (id or title) of a message the bot sent,
                // or, with `message` set, send that tap as it is.
    Burst,      // Several messages at once: `burst`, `burst_ids`.
    Redeliver,  // Deliver the message with id `id` again.
    Advance,    // Move the clock `ms` forward.
    HandBack,   // An operator hands the conversation back to the bot.
    Start,      // Start flow `text` (api and schedule triggers).
    AddMock,    // `mock` answers from now on.
    // Checks.
    Expect,      // `expect` matches the next message.
    ExpectNone,  // The bot sent nothing more.
    Vars,        // `vars` have these values.
    End,         // The run ended (`flag`) or is still going (!flag).
    Waiting,     // The run waits for the user (`flag`).
    Failed,      // The run failed with a message that `text` (a regex) finds.
    Stage,       // The contact's stage is `text`.
    Tags,        // The contact's tags are exactly `tags`.
    Handoff,     // The bot is paused (`flag`), for queue `text` if given.
  };
  Kind kind = Kind::Send;
  int line = 0;
  vm::Value message;
  std::string id;
  std::string text;
  std::vector<vm::Value> burst;
  std::vector<std::string> burst_ids;
  std::int64_t ms = 0;
  bool flag = true;
  Mock mock;
  MessageExpectation expect;
  std::vector<std::pair<std::string, vm::Value>> vars;
  std::vector<std::string> tags;
};

struct TranscriptTest {
  std::string name;
  int line = 0;
  ContactProfile contact;
  std::int64_t start_ms = 0;
  std::vector<std::pair<std::string, vm::Value>> vars;  // Contact variables to start with.
  std::vector<Mock> mocks;
  std::vector<TranscriptStep> steps;
};

struct Transcript {
  std::vector<std::string> flows;  // Flow files to build (relative); empty: the whole folder.
  std::vector<Mock> mocks;         // For every test, before the test's own.
  std::vector<TranscriptTest> tests;
};

struct TranscriptParse {
  Transcript transcript;
  std::vector<TranscriptError> errors;
};

TranscriptParse parse_transcript(std::string_view text);

// A mocks file (for the simulator): `mocks: [...]`, or the list alone.
std::vector<Mock> parse_mocks(std::string_view text, std::vector<TranscriptError>& errors);

// "2h", "1h30m", "500ms" (units ms, s, m, h, d, w) in milliseconds.
bool parse_duration(std::string_view text, std::int64_t& ms);
// "2025-01-06T09:00:00Z", "2025-01-06T10:00+01:00", "2025-01-06 09:00", "2025-01-06"
// in milliseconds since the epoch; without a zone the time is UTC.
bool parse_timestamp(std::string_view text, std::int64_t& ms);

// The default start of a test's clock: Monday 2025-01-06 09:00 UTC.
inline constexpr std::int64_t kDefaultStartMs = 1736154000000;

}  // namespace waflow::host
