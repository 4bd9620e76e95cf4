// The transcript reader: every kind of step and mock, defaults from the file,
// durations and times, and errors that name the line of the mistake.

#include "runtime/host/transcript.h"

#include <catch2/catch.hpp>

namespace {

using namespace waflow::host;  // NOLINT(google-build-using-namespace)
using Kind = TranscriptStep::Kind;

TranscriptError only_error(const std::string& text) {
  const TranscriptParse p = parse_transcript(text);
  REQUIRE(p.errors.size() == 1);
  return p.errors[0];
}

}  // namespace

TEST_CASE("host transcript: a file with every kind of step", "[host][transcript]") {
  const TranscriptParse p = parse_transcript(R"(flows: [a.wf, b.wf]
contact: {name: Ada, phone: "+34600111222"}
now: 2025-06-14T09:30:00Z
mocks:
  - ai: {step: support.classify_topic, intent: billing}
tests:
  - name: everything
    contact: {new: false}
    vars: {contact.language: es}
    mocks:
      - http: {url: "/orders/", method: GET, status: 200, body: {id: 7, ok: true, tags: [a, b]}}
    steps:
      - user: hi
      - user: {text: "yes", id: m1}
      - tap: Margherita
      - tap: {payload: book_demo, title: Book a demo}
      - media: {type: image, url: "https://x/y.jpg", caption: damaged}
      - location: {latitude: 40.4, longitude: -3.7, name: Home}
      - burst: [one, {text: two, id: m2}]
      - redeliver: m1
      - advance: 1h30m
      - handback
      - start: news
      - store: {collection: orders, id: A-1}
      - expect: Hello
      - expect: {text: "What?", buttons: [A, B], footer: f}
      - expect: {media: image}
      - expect: {template: reminder, params: [x, "2"]}
      - expect_none
      - vars: {choice: Margherita, n: 2, ok: true, gone: ~}
      - end: true
      - waiting: false
      - failed: "division"
      - stage: booked
      - tags: [vip, customer]
      - handoff: sales
)");
  REQUIRE(p.errors.empty());
  const Transcript& t = p.transcript;
  CHECK(t.flows == std::vector<std::string>{"a.wf", "b.wf"});
  REQUIRE(t.mocks.size() == 1);
  CHECK(t.mocks[0].flow == "support");
  CHECK(t.mocks[0].step == "classify_topic");
  REQUIRE(t.tests.size() == 1);
  const TranscriptTest& test = t.tests[0];
  CHECK(test.contact.name == "Ada");
  CHECK_FALSE(test.contact.first_contact);
  CHECK(test.start_ms == 1749893400000);
  REQUIRE(test.vars.size() == 1);
  CHECK(test.vars[0].first == "language");
  REQUIRE(test.mocks.size() == 1);
  CHECK(test.mocks[0].kind == Mock::Kind::Http);
  CHECK(test.mocks[0].body.field("id")->as_number() == 7);
  CHECK(test.mocks[0].body.field("ok")->as_bool());
  const auto& s = test.steps;
  REQUIRE(s.size() == 24);
  CHECK(s[0].kind == Kind::Send);
  CHECK(s[0].message.field("text")->to_text() == "hi");
  CHECK(s[1].id == "m1");
  CHECK(s[2].kind == Kind::Tap);
  CHECK(s[2].text == "Margherita");
  CHECK(s[3].message.field("payload")->to_text() == "book_demo");
  CHECK(s[4].message.field("type")->to_text() == "image");
  CHECK(s[5].message.field("latitude")->as_number() == 40.4);
  CHECK(s[6].burst.size() == 2);
  CHECK(s[6].burst_ids[1] == "m2");
  CHECK(s[7].kind == Kind::Redeliver);
  CHECK(s[8].ms == 5'400'000);
  CHECK(s[9].kind == Kind::HandBack);
  CHECK(s[10].text == "news");
  CHECK(s[11].kind == Kind::AddMock);
  CHECK(s[12].expect.text == "Hello");
  CHECK(s[13].expect.buttons == std::vector<std::string>{"A", "B"});
  CHECK(s[14].expect.media->field("type")->to_text() == "image");
  CHECK(s[15].expect.params == std::vector<std::string>{"x", "2"});
  CHECK(s[16].kind == Kind::ExpectNone);
  CHECK(s[17].vars.size() == 4);
  CHECK(s[17].vars[3].second.is_null());
  CHECK(s[18].kind == Kind::End);
  CHECK_FALSE(s[19].flag);
  CHECK(s[20].text == "division");
  CHECK(s[22].tags == std::vector<std::string>{"customer", "vip"});
  CHECK(s[23].text == "sales");
}

TEST_CASE("host transcript: mistakes are errors with their line", "[host][transcript]") {
  TranscriptError e = only_error("tests:\n  - name: t\n    steps:\n      - expects: hi\n");
  CHECK(e.line == 4);
  CHECK(e.message.find("unknown step 'expects'") == 0);
  e = only_error("tests:\n  - name: t\n    steps:\n      - advance: soon\n");
  CHECK(e.line == 4);
  CHECK(e.message == "not a duration: write it like 30s, 5m, 2h, 1d or 1h30m");
  e = only_error("tests:\n  - name: t\n    stesp:\n      - user: hi\n");
  CHECK(e.line == 3);
  CHECK(e.message.find("unknown key 'stesp' in a test") == 0);
  e = only_error("tests:\n  - name: t\n    steps:\n      - expect: {pattern: \"(\"}\n");
  CHECK(e.message == "not a valid regular expression: (");
  e = only_error("tests:\n  - name: t\n    vars: {language: es}\n    steps: [user: hi]\n");
  CHECK(e.message.find("a test starts with contact variables only") == 0);
  e = only_error("tests:\n  - name: t\n    steps:\n      - ai: {step: x}\n");
  CHECK(e.message == "an ai mock needs an answer: reply, intent, extract, question or error");
  e = only_error(
      "tests:\n  - name: t\n    steps:\n      - expect: {text: Which size?, buttons: [A]}\n");
  CHECK(e.line == 4);
  CHECK(e.message ==
        "unknown token (inside {...} or [...], quote texts that hold '?', ',' or ': ')");
  // One bad test does not hide another's mistakes; duplicate names are refused.
  const TranscriptParse p = parse_transcript(
      "tests:\n  - name: a\n    steps: [bogus]\n  - name: b\n    steps: [{user: hi}]\n"
      "  - name: b\n    steps: [{user: hi}]\n");
  REQUIRE(p.errors.size() == 2);
  CHECK(p.errors[1].message == "a second test named 'b'");
  CHECK(p.transcript.tests.size() == 1);
}

TEST_CASE("host transcript: durations and times", "[host][transcript]") {
  std::int64_t ms = 0;
  CHECK(parse_duration("500ms", ms));
  CHECK(ms == 500);
  CHECK(parse_duration("1w2d3h4m5s", ms));
  CHECK(ms == 604800000 + 2 * 86400000 + 3 * 3600000 + 4 * 60000 + 5000);
  CHECK_FALSE(parse_duration("", ms));
  CHECK_FALSE(parse_duration("2", ms));
  CHECK_FALSE(parse_duration("2x", ms));
  CHECK_FALSE(parse_duration("h", ms));
  CHECK(parse_timestamp("2025-01-06T09:00:00Z", ms));
  CHECK(ms == kDefaultStartMs);
  CHECK(parse_timestamp("2025-01-06T10:00+01:00", ms));
  CHECK(ms == kDefaultStartMs);
  CHECK(parse_timestamp("2025-01-06 09:00", ms));
  CHECK(ms == kDefaultStartMs);
  CHECK(parse_timestamp("2025-01-06", ms));
  CHECK(ms == kDefaultStartMs - 9 * 3600000);
  CHECK_FALSE(parse_timestamp("2025-13-01", ms));
  CHECK_FALSE(parse_timestamp("06/01/2025", ms));
  CHECK_FALSE(parse_timestamp("2025-01-06T25:00Z", ms));
}

TEST_CASE("host transcript: a mocks file for the simulator", "[host][transcript]") {
  std::vector<TranscriptError> errors;
  auto mocks = parse_mocks("mocks:\n  - ai: {reply: hello}\n  - store: {id: X}\n", errors);
  CHECK(errors.empty());
  CHECK(mocks.size() == 2);
  mocks = parse_mocks("- http: {url: x, status: 700}\n", errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message == "status must be an HTTP status between 100 and 599");
}

TEST_CASE("host transcript: anchors, aliases and yaml-cpp's positions", "[host][transcript]") {
  // An anchored contact and steps shared by two tests.
  TranscriptParse p = parse_transcript(
      "\xEF\xBB\xBF"
      "tests:\n  - name: a\n    contact: &c {name: Ann, phone: \"+15550000001\"}\n"
      "    steps: &s [user: hi, {expect: Hello}]\n"
      "  - name: b\n    contact: *c\n    steps: *s\n");
  REQUIRE(p.errors.empty());
  REQUIRE(p.transcript.tests.size() == 2);
  CHECK(p.transcript.tests[1].contact.name == "Ann");
  CHECK(p.transcript.tests[1].steps.size() == 2);
  CHECK(p.transcript.tests[1].steps[1].expect.text == "Hello");
  // An alias inside the node it names would make the document endless.
  TranscriptError e = only_error("tests:\n  - name: t\n    steps: &s [user: hi, *s]\n");
  CHECK(e.line == 3);
  CHECK(e.column == 26);
  CHECK(e.message == "an alias cannot refer to the node that contains it");
  // A null key reads as 'null'; a list as a key stops the reading at its position.
  e = only_error("tests:\n  - name: t\n    ~: x\n    steps: [user: hi]\n");
  CHECK(e.line == 3);
  CHECK(e.column == 5);
  CHECK(e.message.find("unknown key 'null' in a test") == 0);
  e = only_error("tests:\n  - name: t\n    [a]: x\n    steps: [user: hi]\n");
  CHECK(e.line == 3);
  CHECK(e.column == 5);
  CHECK(e.message == "bad conversion");
  // An empty file has no position.
  e = only_error("");
  CHECK(e.line == 0);
  CHECK(e.message == "a transcript file must be a mapping (key: value)");
  // A quoted scalar is a text however it reads; a plain one may be a number.
  p = parse_transcript(
      "tests:\n  - name: t\n    steps:\n      - vars: {a: \"5\", b: 5, c: ~, d: \"true\"}\n");
  REQUIRE(p.errors.empty());
  const auto& vars = p.transcript.tests[0].steps[0].vars;
  REQUIRE(vars.size() == 4);
  CHECK(vars[0].second.type() == waflow::vm::Value::Type::Text);
  CHECK(vars[1].second.type() == waflow::vm::Value::Type::Number);
  CHECK(vars[2].second.is_null());
  CHECK(vars[3].second.type() == waflow::vm::Value::Type::Text);
}
