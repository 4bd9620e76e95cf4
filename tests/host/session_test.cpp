// The host session: the pizza conversation, duplicates, first contact, the
// priority of a waiting run, reminders and timeouts on the virtual clock, delays
// that keep messages, AI buffers, handoffs, queued flow starts, time zones and
// variable lookup.

#include "runtime/host/session.h"

#include <algorithm>

#include <catch2/catch.hpp>

#include "runtime/host/mocks.h"
#include "tests/host/helpers.h"

namespace {

using namespace waflow;        // NOLINT(google-build-using-namespace)
using namespace waflow::host;  // NOLINT(google-build-using-namespace)
using testing::compile;
using testing::sent;
using Texts = std::vector<std::string>;

constexpr std::int64_t kMinute = 60'000;

const char* kPizza = R"wf(flow pizza "Pizza orders"
  trigger exact "hi"
  say "Welcome to Pizza Bot, {{contact.name}}!"
  ask choice "What would you like?"
    button margherita "Margherita"
    button pepperoni "Pepperoni"
    on invalid retry 2
      end
    on timeout 1d
      end
  ask address: text "Great choice: {{choice}}. What is your address?"
    on timeout 1d
      end
  ask confirm: text "Order for {{choice}} to {{address}}. Confirm? (yes/no)"
    on timeout 1d
      end
  if lower(trim(confirm)) == "yes"
    store order = orders {pizza: choice.title, address: address}
    say "Order placed! Reference: {{order.id}}"
  else
    say "Order cancelled."
)wf";

// Records every request and answers AI replies with a fixed text.
class Recorder : public Responder {
 public:
  std::vector<Request> requests;
  vm::Value answer(const Request& request) override {
    requests.push_back(request);
    return vm::Value::object(
        {{"ok", vm::Value::boolean(true)}, {"text", vm::Value::text("answer")}});
  }
};

}  // namespace

TEST_CASE("host session: the pizza conversation, twice in a row", "[host][session]") {
  const bytecode::Bundle bundle = compile(kPizza);
  MockResponder mocks;
  SessionOptions options;
  options.contact.name = "User 1";
  Session session(bundle, mocks, options);
  session.receive(text_message("hi"));
  CHECK(sent(session) == Texts{"Welcome to Pizza Bot, User 1!", "What would you like?"});
  std::size_t mark = session.events().size();
  session.receive(testing::tap("pepperoni", "Pepperoni"));
  CHECK(sent(session, mark) == Texts{"Great choice: Pepperoni. What is your address?"});
  mark = session.events().size();
  session.receive(text_message("1 Baker Street, flat 1"));
  session.receive(text_message(" YES "));
  CHECK(sent(session, mark) ==
        Texts{"Order for Pepperoni to 1 Baker Street, flat 1. Confirm? (yes/no)",
              "Order placed! Reference: orders-1"});
  CHECK_FALSE(session.active());
  CHECK(session.lookup("address").to_text() == "1 Baker Street, flat 1");
  mark = session.events().size();
  session.receive(text_message("hello"));
  CHECK(session.events().back().kind == EventKind::Unmatched);
  session.receive(text_message("hi"));
  session.receive(text_message("2"));
  session.receive(text_message("2 Baker Street"));
  session.receive(text_message("yes"));
  CHECK(sent(session, mark).back() == "Order placed! Reference: orders-2");
  CHECK(mocks.take_problems().empty());
}

TEST_CASE("host session: a waiting run takes the message before any trigger", "[host][session]") {
  const bytecode::Bundle bundle = compile(kPizza);
  MockResponder mocks;
  Session session(bundle, mocks);
  session.receive(text_message("hi"));
  session.receive(testing::tap("margherita", "Margherita"));
  const std::size_t mark = session.events().size();
  session.receive(text_message("hi"));
  CHECK(sent(session, mark) == Texts{"Order for Margherita to hi. Confirm? (yes/no)"});
}

TEST_CASE("host session: duplicate deliveries are ignored, first contact is the first message",
          "[host][session]") {
  const bytecode::Bundle bundle = compile(R"wf(flow welcome
  trigger first_contact
  say "Welcome!"
flow echo
  trigger keyword "ping"
  say "pong"
)wf");
  MockResponder mocks;
  Session session(bundle, mocks);
  session.receive(text_message("ping"), "wamid.1");
  session.receive(text_message("ping"), "wamid.1");
  session.receive(text_message("ping"), "wamid.2");
  CHECK(sent(session) == Texts{"Welcome!", "pong"});
  const auto& events = session.events();
  CHECK(std::count_if(events.begin(), events.end(),
                      [](const Event& e) { return e.kind == EventKind::Duplicate; }) == 1);

  SessionOptions known;
  known.contact.first_contact = false;
  Session returning(bundle, mocks, known);
  returning.receive(text_message("ping"));
  CHECK(sent(returning) == Texts{"pong"});
}

TEST_CASE("host session: reminders and the timeout fire in time order", "[host][session]") {
  const bytecode::Bundle bundle = compile(R"wf(flow nudge
  trigger keyword "start"
  ask name "What's your name?"
    remind after 10m "Still there?"
    remind after 30m "Just your first name is fine."
    on timeout 1h
      say "Bye for now."
      end
  say "Hi {{name}}"
)wf");
  MockResponder mocks;
  Session session(bundle, mocks);
  session.receive(text_message("start"));
  CHECK(session.timers().size() == 3);
  std::size_t mark = session.events().size();
  session.advance(15 * kMinute);
  CHECK(sent(session, mark) == Texts{"Still there?"});
  mark = session.events().size();
  session.advance(2 * 60 * kMinute);
  CHECK(sent(session, mark) == Texts{"Just your first name is fine.", "Bye for now."});
  CHECK_FALSE(session.active());
  CHECK(session.timers().empty());

  // An answer cancels the timers of the wait.
  session.receive(text_message("start"));
  session.advance(5 * kMinute);
  mark = session.events().size();
  session.receive(text_message("Ada"));
  session.advance(2 * 60 * kMinute);
  CHECK(sent(session, mark) == Texts{"Hi Ada"});
}

TEST_CASE("host session: a message during a delay answers the next wait", "[host][session]") {
  const bytecode::Bundle bundle = compile(R"wf(flow tips
  trigger keyword "tips"
  say "Tip 1"
  delay 20m
  ask more: yesno "More tips? (yes/no)"
    on invalid retry 1
      end
    on timeout 1h
      end
  if more
    say "Tip 2"
)wf");
  MockResponder mocks;
  Session session(bundle, mocks);
  session.receive(text_message("tips"));
  session.receive(text_message("yes"));
  CHECK(session.events().back().kind == EventKind::Held);
  CHECK(sent(session) == Texts{"Tip 1"});
  session.advance(19 * kMinute);
  CHECK(sent(session) == Texts{"Tip 1"});
  session.advance(kMinute);
  CHECK(sent(session) == Texts{"Tip 1", "More tips? (yes/no)", "Tip 2"});
  CHECK_FALSE(session.active());
}

TEST_CASE("host session: an AI buffer collects a burst into one turn", "[host][session]") {
  const bytecode::Bundle bundle = compile(R"wf(flow assistant
  trigger any
  ai reply
    buffer 4s
    on error
      say "Sorry."
)wf");
  Recorder recorder;
  Session session(bundle, recorder);
  session.receive(text_message("hi"));
  session.advance(1000);
  session.receive(text_message("I need"));
  session.advance(2000);
  session.receive(text_message("help please"));
  session.advance(3000);
  CHECK(recorder.requests.empty());
  session.advance(1000);
  REQUIRE(recorder.requests.size() == 1);
  CHECK(recorder.requests[0].input == "hi\nI need\nhelp please");
  CHECK(recorder.requests[0].turn.size() == 3);
  CHECK(sent(session) == Texts{"answer"});
  CHECK_FALSE(session.active());
}

TEST_CASE("host session: a buffer reached by a timer collects only later messages",
          "[host][session]") {
  const bytecode::Bundle bundle = compile(R"wf(flow late
  trigger keyword "later"
  say "Let me think."
  delay 1m
  ai reply
    buffer 4s
    on error
      say "Sorry."
)wf");
  Recorder recorder;
  Session session(bundle, recorder);
  session.receive(text_message("later"));
  session.advance(kMinute + 1000);
  session.receive(text_message("actually, never mind"));
  session.advance(4000);
  REQUIRE(recorder.requests.size() == 1);
  CHECK(recorder.requests[0].input == "actually, never mind");
  // The history has both sides of the conversation, oldest first.
  const auto& history = recorder.requests[0].history;
  REQUIRE(history.size() == 3);
  CHECK((history[0].from_user && history[0].text == "later"));
  CHECK((!history[1].from_user && history[1].text == "Let me think."));
  CHECK(history[2].text == "actually, never mind");
  // With nothing new, the turn is the contact's last message.
  session.receive(text_message("later"));
  session.advance(kMinute + 4000);
  REQUIRE(recorder.requests.size() == 2);
  CHECK(recorder.requests[1].input == "later");
}

TEST_CASE("host session: a handoff pauses the bot until it is handed back", "[host][session]") {
  const bytecode::Bundle bundle = compile(R"wf(flow human
  trigger keyword "agent"
  handoff "asked for a person" queue "support"
  say "Welcome back!"
flow other
  trigger any
  say "bot here"
)wf");
  MockResponder mocks;
  Session session(bundle, mocks);
  CHECK_FALSE(session.hand_back());
  session.receive(text_message("agent"));
  CHECK(session.paused());
  CHECK(session.handoff().field("queue")->to_text() == "support");
  session.receive(text_message("hello?"));
  CHECK(session.events().back().kind == EventKind::Paused);
  CHECK(sent(session).empty());
  CHECK(session.hand_back());
  CHECK(sent(session) == Texts{"Welcome back!"});
  CHECK_FALSE(session.paused());
}

TEST_CASE("host session: a flow started by name waits for the active run", "[host][session]") {
  const bytecode::Bundle bundle = compile(R"wf(flow ask_name
  trigger keyword "name"
  ask name "Name?"
    on timeout 1h
      end
  say "Thanks {{name}}"
flow news
  trigger api
  say "News!"
)wf");
  MockResponder mocks;
  Session session(bundle, mocks);
  CHECK_FALSE(session.start_flow("missing"));
  session.receive(text_message("name"));
  CHECK(session.start_flow("news"));
  CHECK(sent(session) == Texts{"Name?"});
  session.receive(text_message("Ada"));
  CHECK(sent(session) == Texts{"Name?", "Thanks Ada", "News!"});
}

TEST_CASE("host session: now reads in the flow's time zone", "[host][session]") {
  const bytecode::Bundle bundle = compile(R"wf(timezone "Europe/Madrid"
flow clock
  trigger keyword "time"
  say "{{format_date(now, 'YYYY-MM-DD HH:mm')}}"
)wf");
  MockResponder mocks;
  SessionOptions options;
  options.start_ms = 1752580800000;  // 2025-07-15T12:00Z
  Session session(bundle, mocks, options);
  session.receive(text_message("time"));
  session.advance(183 * 24 * 60 * kMinute);  // 2026-01-14: winter.
  session.receive(text_message("time"));
  CHECK(sent(session) == Texts{"2025-07-15 14:00", "2026-01-14 13:00"});
}

TEST_CASE("host session: a flow without a time zone reads now in the host's default",
          "[host][session]") {
  const bytecode::Bundle bundle = compile(R"wf(flow clock
  trigger keyword "time"
  say "{{format_date(now, 'YYYY-MM-DD HH:mm')}}"
)wf");
  MockResponder mocks;
  SessionOptions options;
  options.start_ms = 1752580800000;  // 2025-07-15T12:00Z
  Session utc(bundle, mocks, options);
  utc.receive(text_message("time"));
  CHECK(sent(utc) == Texts{"2025-07-15 12:00"});
  options.default_zone = "Asia/Tokyo";
  Session tokyo(bundle, mocks, options);
  tokyo.receive(text_message("time"));
  CHECK(sent(tokyo) == Texts{"2025-07-15 21:00"});
}

TEST_CASE("host session: variables are looked up by scope and member", "[host][session]") {
  const bytecode::Bundle bundle = compile(R"wf(flow vars
  trigger keyword "go"
  set contact.language = "es"
  set conversation.count = 2
  set place = {city: "Madrid", zip: "28013"}
  ask more "More?"
    on timeout 1h
      end
)wf");
  MockResponder mocks;
  Session session(bundle, mocks);
  session.receive(text_message("go"));
  CHECK(session.lookup("contact.language").to_text() == "es");
  CHECK(session.lookup("contact.name").to_text() == "Test User");
  CHECK(session.lookup("conversation.count").as_number() == 2);
  CHECK(session.lookup("place.city").to_text() == "Madrid");
  CHECK(session.lookup("place.nothing").is_null());
  CHECK(session.lookup("missing").is_null());
  CHECK(session.active());
}
