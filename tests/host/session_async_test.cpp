// The session as a server hosts it: deferred AI and HTTP calls answered later
// (messages that arrive meanwhile are held, not lost), an AI buffer whose
// answer is deferred, late and repeated answers, pending calls across save and
// restore, the real clock (advance_to, next_timer_ms) and taking events.

#include <algorithm>

#include <catch2/catch.hpp>

#include "runtime/host/session.h"
#include "tests/host/helpers.h"

namespace {

using namespace waflow;        // NOLINT(google-build-using-namespace)
using namespace waflow::host;  // NOLINT(google-build-using-namespace)
using testing::compile;
using testing::sent;
using Texts = std::vector<std::string>;
using vm::Value;

constexpr std::int64_t kSecond = 1000;
constexpr std::int64_t kMinute = 60'000;

Value reply(const std::string& text) {
  return Value::object({{"ok", Value::boolean(true)}, {"text", Value::text(text)}});
}

Value http_ok(double status) {
  return Value::object({{"ok", Value::boolean(true)},
                        {"status", Value::number(status)},
                        {"body", Value::object({})}});
}

// Answers on the spot, or defers everything, as the test says; records requests.
class Switch : public Responder {
 public:
  bool deferring = true;
  std::vector<Request> requests;
  bool defer(const Request& request) override {
    requests.push_back(request);
    return deferring;
  }
  Value answer(const Request& request) override {
    return request.kind == bytecode::EffectKind::Http ? http_ok(200) : reply("Hello from AI");
  }
};

std::vector<EventKind> kinds(const std::vector<Event>& events) {
  std::vector<EventKind> out;
  for (const Event& e : events) {
    out.push_back(e.kind);
  }
  return out;
}

const char* kAssistant = R"wf(flow assistant
  trigger exact "hi"
  ai reply
    prompt "Greet the contact."
    on error
      say "Sorry, no AI."
  ask name: text "And your name?"
    on timeout 1h
      end
  say "Thanks {{name}}."
)wf";

}  // namespace

TEST_CASE("host session async: a deferred AI reply resumes the run as an answer on the spot",
          "[host][session][async]") {
  const bytecode::Bundle bundle = compile(kAssistant);
  Switch now_responder;
  now_responder.deferring = false;
  Session sync(bundle, now_responder);
  sync.receive(text_message("hi"));

  Switch later;
  Session session(bundle, later);
  session.receive(text_message("hi"));
  CHECK(sent(session).empty());
  CHECK(session.active());
  const std::vector<PendingRequest> pending = session.pending();
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].id == "1:1");
  CHECK(pending[0].request.id == "1:1");
  CHECK(pending[0].request.kind == bytecode::EffectKind::AiReply);
  CHECK(pending[0].request.input == "hi");
  CHECK(pending[0].request.step == "ai_reply_1");
  CHECK(session.next_timer_ms() == std::nullopt);  // A call is no timer.

  CHECK(session.complete("1:1", reply("Hello from AI")));
  CHECK(session.pending().empty());
  CHECK(sent(session) == Texts{"Hello from AI", "And your name?"});
  CHECK(session.events().size() == sync.events().size());
  for (std::size_t i = 0; i < sync.events().size() && i < session.events().size(); ++i) {
    CHECK(session.events()[i].kind == sync.events()[i].kind);
    CHECK(vm::to_json(session.events()[i].payload) == vm::to_json(sync.events()[i].payload));
  }
}

TEST_CASE("host session async: messages sent while a call is pending are held, then handled",
          "[host][session][async]") {
  const bytecode::Bundle bundle = compile(R"wf(flow order
  trigger exact "order"
  http check = GET "https://api.example.com/stock"
    on error
      say "The shop is down."
      end
  say "Status {{check.status}}."
  ask name: text "Name for the order?"
    on timeout 1h
      end
  say "Thanks {{name}}."

flow hello
  trigger exact "hello"
  say "Hello!"
)wf");
  Switch later;
  Session session(bundle, later);
  session.receive(text_message("order"), "m1");
  REQUIRE(session.pending().size() == 1);
  const std::string id = session.pending()[0].id;
  CHECK(session.pending()[0].request.kind == bytecode::EffectKind::Http);

  session.receive(text_message("Ana"), "m2");
  session.receive(text_message("hello"), "m3");
  session.receive(text_message("Ana"), "m2");  // A redelivery stays a duplicate.
  const auto& events = session.events();
  CHECK(events[events.size() - 4].kind == EventKind::Held);
  CHECK(events[events.size() - 2].kind == EventKind::Held);
  CHECK(events[events.size() - 1].kind == EventKind::Duplicate);
  CHECK(session.start_flow("hello"));  // Queued behind the run, after the held messages.
  CHECK(sent(session).empty());

  CHECK(session.complete(id, http_ok(200)));
  // "Ana" answers the ask; the run ends; "hello" goes to the triggers; then the
  // queued start.
  CHECK(sent(session) ==
        Texts{"Status 200.", "Name for the order?", "Thanks Ana.", "Hello!", "Hello!"});
  CHECK_FALSE(session.active());
}

TEST_CASE("host session async: late, repeated and unknown answers are ignored",
          "[host][session][async]") {
  const bytecode::Bundle bundle = compile(kAssistant);
  Switch later;
  Session session(bundle, later);
  session.receive(text_message("hi"));
  const std::string id = session.pending().at(0).id;
  CHECK(session.fail(id, "model overloaded"));
  CHECK(sent(session) == Texts{"Sorry, no AI.", "And your name?"});
  const std::size_t logged = session.events().size();
  CHECK_FALSE(session.complete(id, reply("too late")));
  CHECK_FALSE(session.fail(id, "again"));
  CHECK_FALSE(session.complete("7:7", reply("unknown")));
  CHECK(session.events().size() == logged);
  const auto request = std::find_if(session.events().begin(), session.events().end(),
                                    [](const Event& e) { return e.kind == EventKind::Request; });
  REQUIRE(request != session.events().end());
  CHECK(vm::to_json(request->answer) == R"({"ok":false,"error":"model overloaded"})");
}

TEST_CASE("host session async: a pending call survives save and restore",
          "[host][session][async]") {
  const bytecode::Bundle bundle = compile(kAssistant);
  Switch later;
  std::string blob;
  {
    Session session(bundle, later);
    session.receive(text_message("hi"), "m1");
    session.receive(text_message("Bea"), "m2");  // Held.
    blob = session.save();
  }
  auto restored = Session::restore(bundle, later, blob);
  REQUIRE(restored.ok());
  Session session = std::move(restored).value();
  const std::vector<PendingRequest> pending = session.pending();
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].id == "1:1");
  CHECK(pending[0].request.input == "hi");
  CHECK(pending[0].request.history.size() == 1);
  CHECK(pending[0].request.flow == "assistant");
  CHECK(session.complete("1:1", reply("Welcome back")));
  CHECK(sent(session) == Texts{"Welcome back", "And your name?", "Thanks Bea."});
  CHECK_FALSE(session.active());
}

TEST_CASE("host session async: an AI buffer collects a burst, then its answer is deferred",
          "[host][session][async]") {
  const bytecode::Bundle bundle = compile(R"wf(flow assistant
  trigger any
  ai reply
    buffer 4s
    on error
      say "Sorry."
  ask more: text "Anything else?"
    on timeout 1h
      end
  say "Noted: {{more}}."
)wf");
  Switch later;
  Session session(bundle, later);
  const std::int64_t start = session.now_ms();
  session.receive(text_message("hi"));
  CHECK(session.next_timer_ms() == start + 4 * kSecond);
  session.advance_to(start + 2 * kSecond);
  session.receive(text_message("I need help"));  // Collected: the buffer waits 4s more.
  CHECK(session.events().back().kind == EventKind::Buffered);
  CHECK(session.next_timer_ms() == start + 6 * kSecond);
  CHECK(later.requests.empty());

  session.advance_to(start + 6 * kSecond);
  REQUIRE(session.pending().size() == 1);
  CHECK(session.pending()[0].request.input == "hi\nI need help");
  session.receive(text_message("with my bike"));  // The buffer is closed: held.
  CHECK(session.events().back().kind == EventKind::Held);

  const std::string blob = session.save();
  auto restored = Session::restore(bundle, later, blob);
  REQUIRE(restored.ok());
  Session s = std::move(restored).value();
  CHECK(s.complete(s.pending().at(0).id, reply("Sure, tell me more.")));
  CHECK(sent(s) == Texts{"Sure, tell me more.", "Anything else?", "Noted: with my bike."});
}

TEST_CASE("host session async: the real clock moves forward only, and timers fire when due",
          "[host][session][async]") {
  const bytecode::Bundle bundle = compile(R"wf(flow pizza
  trigger exact "hi"
  ask choice: text "What would you like?"
    remind after 10m "Still hungry?"
    on timeout 30m
      say "Bye for now."
      end
  say "One {{choice}} coming."
)wf");
  Switch later;
  SessionOptions options;
  options.start_ms = 1'000'000;
  Session session(bundle, later, options);
  CHECK(session.next_timer_ms() == std::nullopt);
  session.advance_to(2'000'000);  // The server sets the time before a message.
  session.receive(text_message("hi"));
  CHECK(session.events().back().at_ms == 2'000'000);
  CHECK(session.next_timer_ms() == 2'000'000 + 10 * kMinute);

  // Time never goes back: an earlier instant leaves the clock where it is.
  session.advance_to(1'500'000);
  CHECK(session.now_ms() == 2'000'000);

  // A server fires a timer row by moving the clock to its due time.
  session.advance_to(*session.next_timer_ms());
  CHECK(sent(session).back() == "Still hungry?");
  CHECK(session.next_timer_ms() == 2'000'000 + 30 * kMinute);
  session.receive(text_message("a margherita"));
  CHECK(sent(session).back() == "One a margherita coming.");
  CHECK(session.next_timer_ms() == std::nullopt);

  // A stale timer row (the run moved on) finds nothing to fire.
  const std::size_t logged = session.events().size();
  session.advance_to(2'000'000 + 30 * kMinute);
  CHECK(session.events().size() == logged);
  CHECK(session.now_ms() == 2'000'000 + 30 * kMinute);
}

TEST_CASE("host session async: take_events hands over what happened since the last call",
          "[host][session][async]") {
  const bytecode::Bundle bundle = compile(kAssistant);
  Switch later;
  Session session(bundle, later);
  session.receive(text_message("hi"));
  const std::vector<Event> first = session.take_events();
  REQUIRE_FALSE(first.empty());
  CHECK(first.front().kind == EventKind::Received);
  CHECK(session.events().empty());
  CHECK(session.take_events().empty());

  session.complete("1:1", reply("Hi!"));
  const std::vector<Event> second = session.take_events();
  // The answer, the ask entered, the AI's message and the ask's, then the wait.
  CHECK(kinds(second) == std::vector<EventKind>{EventKind::Request, EventKind::Step,
                                                EventKind::Effect, EventKind::Effect,
                                                EventKind::Waiting});
  CHECK(sent(session).empty());
}
