// Saved sessions: every example transcript runs the same when the session goes
// through its blob after every step and when every call is deferred; the pizza
// conversation stays under 1 KB; peek; pinning to a bundle; damaged blobs are
// refused (truncated at every byte), never crash (bytes flipped), and do not
// restore onto a bundle they do not fit.

#include "runtime/host/session_blob.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "compiler/checks/checks.h"
#include "compiler/codegen/codegen.h"
#include "compiler/frontend.h"
#include "runtime/host/mocks.h"
#include "runtime/host/runner.h"
#include "runtime/host/session.h"
#include "tests/host/helpers.h"

namespace {

using namespace waflow;        // NOLINT(google-build-using-namespace)
using namespace waflow::host;  // NOLINT(google-build-using-namespace)
namespace fs = std::filesystem;
using testing::compile;
using testing::sent;
using testing::tap;

constexpr std::int64_t kDay = 86'400'000;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bytecode::Bundle build(const std::vector<std::string>& paths) {
  SourceManager sources;
  Diagnostics diags;
  const ir::Project project = load_project(paths, sources, diags);
  check_project(project, sources, diags);
  REQUIRE_FALSE(diags.has_errors());
  auto loaded =
      bytecode::load_bundle(bytecode::write_bundle(generate_bundle(project, sources, "test")));
  REQUIRE(loaded.ok());
  return std::move(loaded).value();
}

// Events as one comparable line each.
std::vector<std::string> lines(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const Event& e : events) {
    out.push_back(std::to_string(static_cast<int>(e.kind)) + " " + std::to_string(e.at_ms) + " " +
                  std::to_string(e.run) + " " + std::to_string(e.step) + " " +
                  std::to_string(static_cast<int>(e.effect)) + " " + vm::to_json(e.payload) + " " +
                  vm::to_json(e.answer) + " " + e.text);
  }
  return out;
}

const fs::path kExamples = fs::path(WAFLOW_SOURCE_DIR) / "examples" / "flows";

// Whether a session answers like a server: every call deferred.
class Deferring : public Responder {
 public:
  bool defer(const Request& /*request*/) override { return true; }
  vm::Value answer(const Request& /*request*/) override { return {}; }
};

// The pizza flow of the examples, a session waiting for the address.
struct Pizza {
  bytecode::Bundle bundle = build({(kExamples / "pizza.wf").string()});
  MockResponder mocks;
};

}  // namespace

TEST_CASE("host session blob: every example transcript runs the same through save and restore",
          "[host][session][blob]") {
  std::size_t tests = 0;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kExamples)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 10 && name.substr(name.size() - 10) == ".test.yaml") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 5);
  for (const fs::path& file : files) {
    TranscriptParse parsed = parse_transcript(read_file(file));
    REQUIRE(parsed.errors.empty());
    std::vector<std::string> flows;
    for (const std::string& f : parsed.transcript.flows) {
      flows.push_back((file.parent_path() / f).string());
    }
    if (flows.empty()) {
      flows.push_back(file.parent_path().string());
    }
    const bytecode::Bundle bundle = build(flows);
    for (const TranscriptTest& test : parsed.transcript.tests) {
      INFO(file.filename().string() + ": " + test.name);
      std::vector<Event> plain;
      RunOptions options;
      options.events = &plain;
      const TestOutcome expected = run_test(bundle, parsed.transcript, test, nullptr, options);
      REQUIRE(expected.passed);
      for (const auto& [round_trip, defer] :
           {std::pair{true, false}, std::pair{false, true}, std::pair{true, true}}) {
        INFO("round trip " << round_trip << ", deferred calls " << defer);
        std::vector<Event> events;
        const RunOptions mode{round_trip, defer, &events};
        const TestOutcome outcome = run_test(bundle, parsed.transcript, test, nullptr, mode);
        INFO(outcome.message);
        CHECK(outcome.passed);
        CHECK(lines(events) == lines(plain));
      }
      ++tests;
    }
  }
  CHECK(tests >= 20);
}

TEST_CASE("host session blob: a pizza conversation stays under 1 KB", "[host][session][blob]") {
  Pizza p;
  SessionOptions options;
  options.contact.name = "User 1";
  options.bundle_hash = bytecode::sha256("pizza");
  Session session(p.bundle, p.mocks, options);
  std::size_t largest = 0;
  const auto step = [&](const vm::Value& message, const std::string& id) {
    session.receive(message, id);
    const std::string blob = session.save();
    largest = std::max(largest, blob.size());
    auto back = Session::restore(p.bundle, p.mocks, blob, options);
    REQUIRE(back.ok());
    CHECK(back.value().save() == blob);
  };
  // Ids as Meta's Cloud API writes them.
  step(text_message("hi"), "wamid.HBgLMTU1NTAwMDAwMDEVAgASGBQzQUY0RjI3QjE2QkE0RTFBM0UwNwA=");
  step(tap("margherita", "Margherita"),
       "wamid.HBgLMTU1NTAwMDAwMDEVAgASGBQzQUJGMzVEMzFBNTVGMDdBNkRGMQA=");
  step(text_message("1 Baker Street, flat 1"),
       "wamid.HBgLMTU1NTAwMDAwMDEVAgASGBQzQTk1NTk3MkE0MjE3NTI0RTY2OQA=");
  step(text_message("yes"), "wamid.HBgLMTU1NTAwMDAwMDEVAgASGBQzQTBCRjBFNkEzNUI0QTY2QkQ1MQA=");
  CHECK(sent(session).back() == "Order placed! Reference: orders-1");
  CHECK_FALSE(session.active());
  INFO("largest blob: " << largest << " bytes");
  CHECK(largest < 1024);
}

TEST_CASE("host session blob: peek tells the bundle and whether a run is active",
          "[host][session][blob]") {
  Pizza p;
  SessionOptions options;
  options.bundle_hash = bytecode::sha256("version 1");
  Session session(p.bundle, p.mocks, options);
  auto fresh = peek_session(session.save());
  REQUIRE(fresh.ok());
  CHECK_FALSE(fresh.value().active);

  session.receive(text_message("hi"));
  auto waiting = peek_session(session.save());
  REQUIRE(waiting.ok());
  CHECK(waiting.value().active);
  CHECK(waiting.value().bundle_hash == options.bundle_hash);

  session.advance(kDay);  // The choice times out: the run ends.
  auto ended = peek_session(session.save());
  REQUIRE(ended.ok());
  CHECK_FALSE(ended.value().active);
  CHECK(ended.value().bundle_hash == options.bundle_hash);

  CHECK_FALSE(peek_session("").ok());
  CHECK_FALSE(peek_session("WH").ok());
}

TEST_CASE("host session blob: a run in progress stays on its bundle, a new one starts on any",
          "[host][session][blob]") {
  Pizza p;
  SessionOptions v1;
  v1.bundle_hash = bytecode::sha256("version 1");
  SessionOptions v2;
  v2.bundle_hash = bytecode::sha256("version 2");
  Session session(p.bundle, p.mocks, v1);
  session.contact_vars().set("language", vm::Value::text("en"));
  session.receive(text_message("hi"));
  const std::string waiting = session.save();

  auto refused = Session::restore(p.bundle, p.mocks, waiting, v2);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("the conversation runs on bundle sha256:") &&
                                          Catch::Contains("restore it with that bundle"));
  REQUIRE(Session::restore(p.bundle, p.mocks, waiting, v1).ok());

  // Once the run is over, the next one starts on the new bundle, and what the
  // contact carries (variables, tags, stage) goes along.
  const bytecode::Bundle next = compile(R"wf(flow greet
  trigger exact "hi"
  stage greeted
  tag regular
  say "Hello again!"
)wf");
  session.advance(kDay);
  REQUIRE_FALSE(session.active());
  auto moved = Session::restore(next, p.mocks, session.save(), v2);
  REQUIRE(moved.ok());
  Session s = std::move(moved).value();
  s.receive(text_message("hi"));
  CHECK(sent(s) == std::vector<std::string>{"Hello again!"});
  CHECK(s.lookup("contact.language") == vm::Value::text("en"));
  CHECK(s.stage() == "greeted");
  CHECK(s.tags() == std::set<std::string>{"regular"});
  auto peek = peek_session(s.save());
  REQUIRE(peek.ok());
  CHECK(peek.value().bundle_hash == v2.bundle_hash);
}

TEST_CASE("host session blob: a restored session carries on as the original",
          "[host][session][blob]") {
  const bytecode::Bundle bundle = compile(R"wf(flow busy
  trigger exact "go"
  stage started
  tag busy
  say "Working on it."
  delay 10m
  ask name: text "Your name?"
    remind after 5m "Still there?"
    on timeout 1h
      say "Bye."
      end
  say "Thanks {{name}}."
)wf");
  MockResponder mocks;
  Session original(bundle, mocks);
  original.contact_vars().set("tier", vm::Value::text("gold"));
  original.receive(text_message("go"), "m1");
  original.receive(text_message("Ana"), "m2");  // Held during the delay.
  original.start_flow("busy");                  // Queued.
  const std::string blob = original.save();
  auto restored = Session::restore(bundle, mocks, blob);
  REQUIRE(restored.ok());
  Session copy = std::move(restored).value();
  CHECK(copy.save() == blob);
  CHECK(copy.now_ms() == original.now_ms());
  CHECK(copy.stage() == "started");
  CHECK(copy.tags() == original.tags());
  CHECK(copy.lookup("contact.tier") == vm::Value::text("gold"));
  CHECK(copy.timers().size() == original.timers().size());
  CHECK(copy.next_timer_ms() == original.next_timer_ms());

  // The same inputs make the same events from here on.
  original.take_events();
  for (Session* s : {&original, &copy}) {
    s->receive(text_message("go"), "m1");  // A duplicate, in both.
    s->advance(10 * 60'000);
    s->advance(2 * 3'600'000);
  }
  CHECK(lines(copy.events()) == lines(original.events()));
  CHECK(sent(copy) == std::vector<std::string>{"Your name?", "Thanks Ana.", "Working on it.",
                                               "Your name?", "Still there?", "Bye."});
}

TEST_CASE("host session blob: history and seen ids are bounded", "[host][session][blob]") {
  const bytecode::Bundle bundle = compile(R"wf(flow ask_ai
  trigger exact "ai"
  ai reply
    history 100
    on error
      say "Sorry."
)wf");
  class Recorder : public Responder {
   public:
    std::vector<Request> requests;
    vm::Value answer(const Request& request) override {
      requests.push_back(request);
      return vm::Value::object({{"ok", vm::Value::boolean(true)}, {"text", vm::Value::text("ok")}});
    }
  } recorder;
  Session session(bundle, recorder);
  for (int i = 0; i < 150; ++i) {
    session.receive(text_message("line " + std::to_string(i)), "id" + std::to_string(i));
  }
  session.receive(text_message("ai"));
  REQUIRE(recorder.requests.size() == 1);
  const std::vector<HistoryEntry>& history = recorder.requests[0].history;
  REQUIRE(history.size() == Session::kHistoryLimit);
  CHECK(history.front().text == "line 51");
  CHECK(history.back().text == "ai");
  // The last 64 ids are remembered; an older one counts as new.
  session.receive(text_message("again"), "id149");
  CHECK(session.events().back().kind == EventKind::Duplicate);
  session.receive(text_message("again"), "id10");
  CHECK(session.events().back().kind != EventKind::Duplicate);
}

TEST_CASE("host session blob: damaged blobs are refused with a reason, never a crash",
          "[host][session][blob]") {
  Pizza p;
  Deferring deferring;
  SessionOptions options;
  options.bundle_hash = bytecode::sha256("v1");
  // A session with something in every field: timers, a pending call, held
  // messages, tags, history, seen ids.
  const bytecode::Bundle bundle = compile(R"wf(flow rich
  trigger exact "go"
  tag vip
  stage busy
  ask name: text "Name?"
    on timeout 1h
      end
  http check = GET "https://api.example.com/check/{{name}}"
    on error
      say "Down."
      end
  say "Checked {{name}}."
)wf");
  Session session(bundle, deferring, options);
  session.receive(text_message("go"), "a");
  session.receive(text_message("Ana"), "b");
  session.receive(text_message("held"), "c");
  REQUIRE(session.pending().size() == 1);
  const std::string blob = session.save();
  REQUIRE(Session::restore(bundle, deferring, blob, options).ok());

  SECTION("truncated at every byte") {
    for (std::size_t n = 0; n < blob.size(); ++n) {
      auto r = Session::restore(bundle, deferring, blob.substr(0, n), options);
      INFO("length " << n);
      REQUIRE_FALSE(r.ok());
      CHECK_FALSE(r.error().message.empty());
    }
    CHECK_FALSE(Session::restore(bundle, deferring, blob + "x", options).ok());
  }
  SECTION("bytes flipped") {
    std::size_t refused = 0;
    for (std::size_t i = 0; i < blob.size(); ++i) {
      for (const unsigned mask : {0x01U, 0x80U, 0xFFU}) {
        std::string bad = blob;
        bad[i] = static_cast<char>(static_cast<unsigned char>(bad[i]) ^ mask);
        auto r = Session::restore(bundle, deferring, bad, options);
        if (!r.ok()) {
          ++refused;
          CHECK_FALSE(r.error().message.empty());
          continue;
        }
        // What restores must also run.
        Session s = std::move(r).value();
        s.receive(text_message("more"));
        for (const PendingRequest& call : s.pending()) {
          s.complete(call.id, vm::Value::object({{"ok", vm::Value::boolean(true)},
                                                 {"status", vm::Value::number(200)}}));
        }
        s.advance(kDay);
        CHECK_FALSE(s.save().empty());
      }
    }
    CHECK(refused > 0);
  }
  SECTION("named refusals") {
    std::string magic = blob;
    magic[0] = 'X';
    auto r = Session::restore(bundle, deferring, magic, options);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "unreadable session state: not a saved session (bad magic)");

    std::string newer = blob;
    newer[2] = static_cast<char>(kSessionBlobVersion + 1);
    auto later = Session::restore(bundle, deferring, newer, options);
    REQUIRE_FALSE(later.ok());
    CHECK(later.error().code == ErrorCode::Unsupported);
    CHECK(later.error().message == "session state version 2 is newer than this waflow reads (1)");
    CHECK_FALSE(peek_session(newer).ok());

    // A conversation waiting in one bundle does not fit another with the
    // same hash (a host that does not track hashes).
    auto other = Session::restore(p.bundle, deferring, blob, options);
    REQUIRE_FALSE(other.ok());
    CHECK_THAT(other.error().message,
               Catch::StartsWith("the saved session does not fit the bundle"));
  }
}
