#pragma once

// Runs transcript tests against a bundle: a fresh Session per test, mocks from
// the file and the test, and the test's steps in order. Checks are strict: every
// message the bot sends must be expected, in order, before the next action (or
// the end of the test); a run failure fails the test unless a `failed:` step
// expects it; a call no mock answers fails it too. The first failing step stops
// the test, with the conversation so far and what differed.

#include <string>
#include <vector>

#include "runtime/host/coverage.h"
#include "runtime/host/transcript.h"

namespace waflow::host {

struct TestOutcome {
  bool passed = true;
  int line = 0;                         // The step that failed.
  std::string message;                  // Why, in one sentence.
  std::vector<std::string> expected;    // What the test expected...
  std::vector<std::string> actual;      // ...and what happened instead.
  std::vector<std::string> transcript;  // The conversation up to the failure.
};

// How to run a test. The first options must not change a test's outcome: they
// check that the session behaves the same under a server's lifecycle. The last,
// `ai_fallback`, answers AI steps with real models.
struct RunOptions {
  // Save the session and restore it from the blob after every step.
  bool round_trip = false;
  // Defer every call (AI, HTTP, store) and answer it from the mocks as soon as
  // the session returns, firing timers one instant at a time, as a server with
  // an instant network would.
  bool defer = false;
  // When set, gets the session's whole event log at the end of the test.
  std::vector<Event>* events = nullptr;
  // Answers the AI steps no mock of the transcript answers (real models, for
  // `waflow test --ai-config`), where such a step would otherwise fail the test.
  // A mock that fits a step still answers it; HTTP and store calls keep their
  // mocks. The host knows it only as a Responder; null: mocks only.
  Responder* ai_fallback = nullptr;
};

TestOutcome run_test(const bytecode::Bundle& bundle, const Transcript& file,
                     const TranscriptTest& test, CoverageRecorder* coverage = nullptr,
                     const RunOptions& options = {});

// Whether `actual` has the value a transcript expects (see docs/testing.md: a
// choice matches its id or title, texts match what the value prints as, objects
// match the fields given).
bool value_matches(const vm::Value& actual, const vm::Value& expected);

}  // namespace waflow::host
