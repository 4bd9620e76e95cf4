#pragma once

// Mock answers for AI, HTTP and store effects: the Responder of the test runner
// and of the simulator.
//
// Each mock says which calls it answers (an AI step by id or by a pattern over
// its prompt, an HTTP request by URL pattern and method, a store by collection)
// and what the answer is. The mock added last wins, so a test can change the
// answer of a step halfway through by adding a mock before the message that
// reaches it. A call no mock answers gets a placeholder answer (a note for an AI
// reply, no intent for a classification, a failure otherwise) and is recorded as
// a problem, which fails a test, unless an AI fallback takes AI calls no mock
// answers (real models: `waflow test --ai-config`). Stores answer by themselves
// with generated ids.

#include <optional>
#include <string>
#include <vector>

#include "runtime/host/session.h"

namespace waflow::host {

struct Mock {
  enum class Kind : std::uint8_t { Ai, Http, Store };
  Kind kind = Kind::Ai;
  int line = 0;  // Where it is written, for messages (0: unknown).
  // Which calls it answers ("" matches any).
  std::string flow;        // AI: the flow of the step.
  std::string step;        // AI: the step id.
  std::string pattern;     // AI: regex searched in prompt, system and input; HTTP: in the URL.
  std::string method;      // HTTP: GET, POST, ...
  std::string collection;  // Store.
  // The answer.
  std::optional<std::string> reply;     // ai reply: the model's text.
  std::optional<std::string> intent;    // ai classify: the intent ("other": none).
  std::optional<vm::Value> extract;     // ai extract: field values.
  std::optional<std::string> question;  // ai extract: the follow-up question.
  std::optional<std::string> error;     // Any: the call fails with this message.
  double status = 200;                  // http
  vm::Value body;                       // http
  std::optional<std::string> id;        // store: the record's id.

  // "ai mock for step 'x' (line 12)", for messages.
  std::string describe() const;
};

class MockResponder : public Responder {
 public:
  void add(Mock mock) { mocks_.push_back(std::move(mock)); }
  // Answers the AI calls no mock answers, instead of a placeholder and a problem.
  // HTTP and store calls never go to it. Kept alive by the caller; null: none.
  void set_ai_fallback(Responder* fallback) { ai_fallback_ = fallback; }
  vm::Value answer(const Request& request) override;
  // Problems since the last call: calls no mock answered, mocks that do not fit
  // the step they answered.
  std::vector<std::string> take_problems();
  // How many records each collection got: ids are <collection>-<n>.
  const std::vector<std::pair<std::string, vm::Value>>& stored() const { return stored_; }

 private:
  std::vector<Mock> mocks_;
  Responder* ai_fallback_ = nullptr;
  std::vector<std::string> problems_;
  std::vector<std::pair<std::string, vm::Value>> stored_;

  const Mock* find(const Request& request) const;
  vm::Value answer_ai(const Request& request, const Mock* mock);
  vm::Value answer_http(const Request& request, const Mock* mock);
  vm::Value answer_store(const Request& request, const Mock* mock);
};

// Completes an ai extract answer from field values, as a model adapter does:
// each value is validated like an ask of the field's type; when a required
// field is missing or invalid the answer is incomplete, with `question` (or a
// question about the first missing field).
vm::Value extraction_answer(const vm::Value& fields, const vm::Value& values,
                            const std::optional<std::string>& question, const Request& request);

}  // namespace waflow::host
