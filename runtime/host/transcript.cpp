// The transcript reader (see transcript.h): yaml-cpp nodes into the transcript
// model. It is strict, so a typo in a key is an error with its line instead of a
// check that silently never runs. A plain YAML scalar becomes null, a yes/no
// (true/false only), a number or a text; a quoted scalar is always a text.

#include "runtime/host/transcript.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <regex>
#include <set>

#include <yaml-cpp/yaml.h>

#include "runtime/base/duration.h"

namespace waflow::host {

namespace {

using vm::Value;
using Kind = TranscriptStep::Kind;

// Thrown inside the reader only, caught at its entry points.
struct Invalid {
  TranscriptError error;
};

[[noreturn]] void fail(const YAML::Node& node, const std::string& message) {
  const YAML::Mark mark = node.Mark();
  throw Invalid{TranscriptError{mark.line >= 0 ? mark.line + 1 : 0,
                                mark.column >= 0 ? mark.column + 1 : 0, message}};
}

int line_of(const YAML::Node& node) {
  return node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    out += (out.empty() ? "" : ", ") + w;
  }
  return out;
}

void check_keys(const YAML::Node& map, const std::string& what,
                const std::vector<std::string>& allowed) {
  if (!map.IsMap()) {
    fail(map, what + " must be a mapping (key: value)");
  }
  for (const auto& item : map) {
    const std::string key = item.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      fail(item.first,
           "unknown key '" + key + "' in " + what + "; expected one of: " + join(allowed));
    }
  }
}

std::string scalar(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) {
    fail(node, what + " must be a text");
  }
  return node.Scalar();
}

bool boolean(const YAML::Node& node, const std::string& what) {
  const std::string s = node.IsScalar() ? node.Scalar() : "";
  if (s == "true") {
    return true;
  }
  if (s == "false") {
    return false;
  }
  fail(node, what + " must be true or false");
}

std::vector<std::string> texts(const YAML::Node& node, const std::string& what) {
  if (!node.IsSequence()) {
    fail(node, what + " must be a list");
  }
  std::vector<std::string> out;
  for (const auto& item : node) {
    out.push_back(scalar(item, "an item of " + what));
  }
  return out;
}

bool parse_number(const std::string& s, double& out) {
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (begin != end && *begin == '+') {
    ++begin;
  }
  auto [ptr, ec] = std::from_chars(begin, end, out);
  return ec == std::errc() && ptr == end && begin != end && std::isfinite(out);
}

Value to_value(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence: {
      Value::List items;
      for (const auto& item : node) {
        items.push_back(to_value(item));
      }
      return Value::list(std::move(items));
    }
    case YAML::NodeType::Map: {
      Value::Object fields;
      for (const auto& item : node) {
        fields.emplace_back(item.first.as<std::string>(), to_value(item.second));
      }
      return Value::object(std::move(fields));
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!") {
        return Value::text(s);
      }
      if (s == "~" || s == "null") {
        return {};
      }
      if (s == "true" || s == "false") {
        return Value::boolean(s == "true");
      }
      double n = 0;
      if (parse_number(s, n)) {
        return Value::number(n);
      }
      return Value::text(s);
    }
    default:
      return {};
  }
}

std::int64_t duration(const YAML::Node& node) {
  std::int64_t ms = 0;
  if (!node.IsScalar() || !parse_duration(node.Scalar(), ms)) {
    fail(node, "not a duration: write it like 30s, 5m, 2h, 1d or 1h30m");
  }
  return ms;
}

void check_regex(const YAML::Node& node, const std::string& pattern) {
  try {
    std::regex re(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    fail(node, "not a valid regular expression: " + pattern);
  }
}

Mock read_mock(const std::string& kind, const YAML::Node& node) {
  Mock m;
  m.line = line_of(node);
  if (kind == "ai") {
    check_keys(node, "an ai mock",
               {"step", "flow", "prompt", "reply", "intent", "extract", "question", "error"});
    if (node["step"]) {
      m.step = scalar(node["step"], "step");
      // "flow.step" names a step of one flow.
      if (const std::size_t dot = m.step.find('.'); dot != std::string::npos) {
        m.flow = m.step.substr(0, dot);
        m.step = m.step.substr(dot + 1);
      }
    }
    if (node["flow"]) {
      m.flow = scalar(node["flow"], "flow");
    }
    if (node["prompt"]) {
      m.pattern = scalar(node["prompt"], "prompt");
      check_regex(node["prompt"], m.pattern);
    }
    if (node["reply"]) {
      m.reply = scalar(node["reply"], "reply");
    }
    if (node["intent"]) {
      m.intent = scalar(node["intent"], "intent");
    }
    if (node["extract"]) {
      if (!node["extract"].IsMap()) {
        fail(node["extract"], "extract must map field names to values");
      }
      m.extract = to_value(node["extract"]);
    }
    if (node["question"]) {
      m.question = scalar(node["question"], "question");
    }
    if (node["error"]) {
      m.error = scalar(node["error"], "error");
    }
    if (!m.reply && !m.intent && !m.extract && !m.question && !m.error) {
      fail(node, "an ai mock needs an answer: reply, intent, extract, question or error");
    }
  } else if (kind == "http") {
    m.kind = Mock::Kind::Http;
    check_keys(node, "an http mock", {"url", "method", "status", "body", "error"});
    if (!node["url"]) {
      fail(node, "an http mock needs url: a pattern of the URLs it answers");
    }
    m.pattern = scalar(node["url"], "url");
    check_regex(node["url"], m.pattern);
    if (node["method"]) {
      m.method = scalar(node["method"], "method");
    }
    if (node["status"]) {
      double status = 0;
      if (!node["status"].IsScalar() || !parse_number(node["status"].Scalar(), status) ||
          status < 100 || status > 599) {
        fail(node["status"], "status must be an HTTP status between 100 and 599");
      }
      m.status = status;
    }
    if (node["body"]) {
      m.body = to_value(node["body"]);
    }
    if (node["error"]) {
      m.error = scalar(node["error"], "error");
    }
  } else {
    m.kind = Mock::Kind::Store;
    check_keys(node, "a store mock", {"collection", "id", "error"});
    if (node["collection"]) {
      m.collection = scalar(node["collection"], "collection");
    }
    if (node["id"]) {
      m.id = scalar(node["id"], "id");
    }
    if (node["error"]) {
      m.error = scalar(node["error"], "error");
    }
  }
  return m;
}

std::vector<Mock> read_mocks(const YAML::Node& node) {
  if (!node.IsSequence()) {
    fail(node, "mocks must be a list such as - ai: {...} or - http: {...}");
  }
  std::vector<Mock> out;
  for (const auto& item : node) {
    if (!item.IsMap() || item.size() != 1) {
      fail(item, "each mock is one of ai:, http: or store:");
    }
    const std::string kind = item.begin()->first.as<std::string>();
    if (kind != "ai" && kind != "http" && kind != "store") {
      fail(item.begin()->first, "unknown mock '" + kind + "'; expected ai, http or store");
    }
    out.push_back(read_mock(kind, item.begin()->second));
  }
  return out;
}

Value message_object(Value::Object fields) {
  return Value::object(std::move(fields), vm::Tag::Message);
}

// user: "text" or {text, id}.
void read_user(const YAML::Node& node, TranscriptStep& step) {
  if (node.IsMap()) {
    check_keys(node, "a user message", {"text", "id"});
    if (!node["text"]) {
      fail(node, "a user message needs text");
    }
    step.message = message_object(
        {{"type", Value::text("text")}, {"text", Value::text(scalar(node["text"], "text"))}});
    if (node["id"]) {
      step.id = scalar(node["id"], "id");
    }
    return;
  }
  step.message =
      message_object({{"type", Value::text("text")}, {"text", Value::text(scalar(node, "user"))}});
}

void read_media(const YAML::Node& node, TranscriptStep& step) {
  check_keys(node, "a media message", {"type", "url", "caption", "mime", "filename", "id"});
  if (!node["type"] || !node["url"]) {
    fail(node, "a media message needs type (image, audio, video, document, sticker) and url");
  }
  static const std::set<std::string> kTypes = {"image", "audio", "video", "document", "sticker"};
  const std::string type = scalar(node["type"], "type");
  if (kTypes.count(type) == 0) {
    fail(node["type"],
         "unknown media type '" + type + "'; expected image, audio, video, document or sticker");
  }
  Value::Object fields = {{"type", Value::text(type)}};
  for (const char* key : {"url", "caption", "mime", "filename"}) {
    if (node[key]) {
      fields.emplace_back(key, Value::text(scalar(node[key], key)));
    }
  }
  step.message = message_object(std::move(fields));
  if (node["id"]) {
    step.id = scalar(node["id"], "id");
  }
}

void read_location(const YAML::Node& node, TranscriptStep& step) {
  check_keys(node, "a location", {"latitude", "longitude", "name", "address", "id"});
  Value::Object fields = {{"type", Value::text("location")}};
  for (const char* key : {"latitude", "longitude"}) {
    double v = 0;
    if (!node[key] || !node[key].IsScalar() || !parse_number(node[key].Scalar(), v)) {
      fail(node, std::string("a location needs a number ") + key);
    }
    fields.emplace_back(key, Value::number(v));
  }
  for (const char* key : {"name", "address"}) {
    if (node[key]) {
      fields.emplace_back(key, Value::text(scalar(node[key], key)));
    }
  }
  step.message = message_object(std::move(fields));
  if (node["id"]) {
    step.id = scalar(node["id"], "id");
  }
}

void read_tap(const YAML::Node& node, TranscriptStep& step) {
  if (!node.IsMap()) {
    step.text = scalar(node, "tap");
    return;
  }
  check_keys(node, "a tap", {"option", "payload", "title", "id"});
  if (node["id"]) {
    step.id = scalar(node["id"], "id");
  }
  if (node["option"]) {
    step.text = scalar(node["option"], "option");
    return;
  }
  if (!node["payload"]) {
    fail(node, "a tap needs option (a button or row of a message the bot sent) or payload");
  }
  const std::string payload = scalar(node["payload"], "payload");
  const std::string title = node["title"] ? scalar(node["title"], "title") : payload;
  step.message = message_object({{"type", Value::text("button")},
                                 {"payload", Value::text(payload)},
                                 {"text", Value::text(title)}});
}

MessageExpectation read_expectation(const YAML::Node& node) {
  MessageExpectation x;
  if (node.IsScalar()) {
    x.text = node.Scalar();
    return x;
  }
  check_keys(node, "an expect",
             {"text", "pattern", "buttons", "list", "header", "footer", "media", "template",
              "params", "location"});
  if (node.size() == 0) {
    fail(node,
         "an expect needs at least one of text, pattern, buttons, list, media, template, location");
  }
  if (node["text"]) {
    x.text = scalar(node["text"], "text");
  }
  if (node["pattern"]) {
    x.pattern = scalar(node["pattern"], "pattern");
    check_regex(node["pattern"], *x.pattern);
  }
  if (node["buttons"]) {
    x.buttons = texts(node["buttons"], "buttons");
  }
  if (node["list"]) {
    x.list = texts(node["list"], "list");
  }
  if (node["header"]) {
    x.header = scalar(node["header"], "header");
  }
  if (node["footer"]) {
    x.footer = scalar(node["footer"], "footer");
  }
  if (node["media"]) {
    const YAML::Node media = node["media"];
    if (media.IsScalar()) {
      x.media = Value::object({{"type", Value::text(media.Scalar())}});
    } else {
      check_keys(media, "an expected media", {"type", "url", "caption", "filename", "mime"});
      x.media = to_value(media);
    }
  }
  if (node["template"]) {
    x.template_name = scalar(node["template"], "template");
  }
  if (node["params"]) {
    x.params = texts(node["params"], "params");
  }
  if (node["location"]) {
    check_keys(node["location"], "an expected location",
               {"latitude", "longitude", "name", "address"});
    x.location = to_value(node["location"]);
  }
  return x;
}

std::vector<std::pair<std::string, Value>> read_vars(const YAML::Node& node,
                                                     const std::string& what) {
  if (!node.IsMap()) {
    fail(node, what + " must map variable names to values");
  }
  std::vector<std::pair<std::string, Value>> out;
  for (const auto& item : node) {
    out.emplace_back(item.first.as<std::string>(), to_value(item.second));
  }
  return out;
}

const std::vector<std::string> kStepKeys = {
    "user",     "tap",   "media",   "location", "burst", "redeliver", "advance",
    "handback", "start", "ai",      "http",     "store", "expect",    "expect_none",
    "vars",     "end",   "waiting", "failed",   "stage", "tags",      "handoff"};

TranscriptStep read_step(const YAML::Node& node) {
  TranscriptStep step;
  step.line = line_of(node);
  // Bare words for the steps that need no value.
  if (node.IsScalar()) {
    if (node.Scalar() == "expect_none") {
      step.kind = Kind::ExpectNone;
    } else if (node.Scalar() == "handback") {
      step.kind = Kind::HandBack;
    } else {
      fail(node, "unknown step '" + node.Scalar() + "'; expected one of: " + join(kStepKeys));
    }
    return step;
  }
  if (!node.IsMap() || node.size() != 1) {
    fail(node, "each step is one key such as user:, tap:, expect: or advance:");
  }
  const std::string key = node.begin()->first.as<std::string>();
  const YAML::Node value = node.begin()->second;
  if (key == "user") {
    step.kind = Kind::Send;
    read_user(value, step);
  } else if (key == "tap") {
    step.kind = Kind::Tap;
    read_tap(value, step);
  } else if (key == "media") {
    step.kind = Kind::Send;
    read_media(value, step);
  } else if (key == "location") {
    step.kind = Kind::Send;
    read_location(value, step);
  } else if (key == "burst") {
    step.kind = Kind::Burst;
    if (!value.IsSequence() || value.size() == 0) {
      fail(value, "a burst is a list of messages");
    }
    for (const auto& item : value) {
      TranscriptStep one;
      read_user(item, one);
      step.burst.push_back(one.message);
      step.burst_ids.push_back(one.id);
    }
  } else if (key == "redeliver") {
    step.kind = Kind::Redeliver;
    step.id = scalar(value, "redeliver");
  } else if (key == "advance") {
    step.kind = Kind::Advance;
    step.ms = duration(value);
  } else if (key == "handback") {
    step.kind = Kind::HandBack;
    if (!boolean(value, "handback")) {
      fail(value, "handback: false does nothing; leave the step out");
    }
  } else if (key == "start") {
    step.kind = Kind::Start;
    step.text = scalar(value, "start");
  } else if (key == "ai" || key == "http" || key == "store") {
    step.kind = Kind::AddMock;
    step.mock = read_mock(key, value);
  } else if (key == "expect") {
    step.kind = Kind::Expect;
    step.expect = read_expectation(value);
  } else if (key == "expect_none") {
    step.kind = Kind::ExpectNone;
    if (!boolean(value, "expect_none")) {
      fail(value, "expect_none: false checks nothing; leave the step out");
    }
  } else if (key == "vars") {
    step.kind = Kind::Vars;
    step.vars = read_vars(value, "vars");
  } else if (key == "end" || key == "waiting") {
    step.kind = key == "end" ? Kind::End : Kind::Waiting;
    step.flag = boolean(value, key);
  } else if (key == "failed") {
    step.kind = Kind::Failed;
    step.text = value.IsScalar() && value.Scalar() == "true" ? "" : scalar(value, "failed");
    check_regex(value, step.text);
  } else if (key == "stage") {
    step.kind = Kind::Stage;
    step.text = scalar(value, "stage");
  } else if (key == "tags") {
    step.kind = Kind::Tags;
    step.tags = texts(value, "tags");
    std::sort(step.tags.begin(), step.tags.end());
  } else if (key == "handoff") {
    step.kind = Kind::Handoff;
    if (value.IsScalar() && (value.Scalar() == "true" || value.Scalar() == "false")) {
      step.flag = value.Scalar() == "true";
    } else {
      step.text = scalar(value, "handoff");
    }
  } else {
    fail(node.begin()->first, "unknown step '" + key + "'; expected one of: " + join(kStepKeys));
  }
  return step;
}

ContactProfile read_contact(const YAML::Node& node, ContactProfile contact) {
  check_keys(node, "contact", {"name", "phone", "new"});
  if (node["name"]) {
    contact.name = scalar(node["name"], "name");
  }
  if (node["phone"]) {
    contact.phone = scalar(node["phone"], "phone");
    if (contact.phone.find_first_of("0123456789") == std::string::npos) {
      fail(node["phone"], "a phone number needs digits, such as +15550000001");
    }
  }
  if (node["new"]) {
    contact.first_contact = boolean(node["new"], "new");
  }
  return contact;
}

std::int64_t timestamp(const YAML::Node& node) {
  std::int64_t ms = 0;
  if (!node.IsScalar() || !parse_timestamp(node.Scalar(), ms)) {
    fail(node, "not a time: write it like 2025-01-06T09:00:00Z or 2025-01-06T10:00+01:00");
  }
  return ms;
}

TranscriptTest read_test(const YAML::Node& node, const ContactProfile& contact, std::int64_t now) {
  check_keys(node, "a test", {"name", "contact", "vars", "now", "mocks", "steps"});
  TranscriptTest test;
  test.line = line_of(node);
  if (!node["name"]) {
    fail(node, "a test needs a name");
  }
  test.name = scalar(node["name"], "name");
  test.contact = node["contact"] ? read_contact(node["contact"], contact) : contact;
  test.start_ms = node["now"] ? timestamp(node["now"]) : now;
  if (node["vars"]) {
    for (auto& [name, value] : read_vars(node["vars"], "vars")) {
      if (name.rfind("contact.", 0) != 0) {
        fail(node["vars"], "a test starts with contact variables only (contact." + name +
                               "); the others belong to runs");
      }
      test.vars.emplace_back(name.substr(8), std::move(value));
    }
  }
  if (node["mocks"]) {
    test.mocks = read_mocks(node["mocks"]);
  }
  if (!node["steps"] || !node["steps"].IsSequence() || node["steps"].size() == 0) {
    fail(node, "a test needs steps: a list such as - user: hi, - expect: \"Hello!\"");
  }
  for (const auto& item : node["steps"]) {
    test.steps.push_back(read_step(item));
  }
  return test;
}

YAML::Node load(std::string_view text) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string message = e.msg;
    // The most common slips: plain texts end at ': ', and inside {...} or [...]
    // also at '?' and ','.
    if (message == "unknown token" || message.find("flow") != std::string::npos) {
      message += " (inside {...} or [...], quote texts that hold '?', ',' or ': ')";
    } else if (message == "illegal map value") {
      message += " (quote texts that hold ': ')";
    }
    throw Invalid{TranscriptError{e.mark.line >= 0 ? e.mark.line + 1 : 0,
                                  e.mark.column >= 0 ? e.mark.column + 1 : 0, message}};
  }
}

}  // namespace

TranscriptParse parse_transcript(std::string_view text) {
  TranscriptParse out;
  try {
    const YAML::Node root = load(text);
    check_keys(root, "a transcript file", {"flows", "contact", "now", "mocks", "tests"});
    if (root["flows"]) {
      out.transcript.flows = root["flows"].IsScalar()
                                 ? std::vector<std::string>{root["flows"].Scalar()}
                                 : texts(root["flows"], "flows");
    }
    const ContactProfile contact =
        root["contact"] ? read_contact(root["contact"], ContactProfile{}) : ContactProfile{};
    const std::int64_t now = root["now"] ? timestamp(root["now"]) : kDefaultStartMs;
    if (root["mocks"]) {
      out.transcript.mocks = read_mocks(root["mocks"]);
    }
    if (!root["tests"] || !root["tests"].IsSequence() || root["tests"].size() == 0) {
      fail(root, "a transcript file needs tests: a list of tests, each with a name and steps");
    }
    std::set<std::string> names;
    for (const auto& item : root["tests"]) {
      // One bad test does not hide the others' errors.
      try {
        TranscriptTest test = read_test(item, contact, now);
        if (!names.insert(test.name).second) {
          fail(item["name"], "a second test named '" + test.name + "'");
        }
        out.transcript.tests.push_back(std::move(test));
      } catch (const Invalid& e) {
        out.errors.push_back(e.error);
      }
    }
  } catch (const Invalid& e) {
    out.errors.push_back(e.error);
  } catch (const YAML::Exception& e) {
    out.errors.push_back(TranscriptError{e.mark.line + 1, e.mark.column + 1, e.msg});
  }
  return out;
}

std::vector<Mock> parse_mocks(std::string_view text, std::vector<TranscriptError>& errors) {
  try {
    const YAML::Node root = load(text);
    if (root.IsMap()) {
      check_keys(root, "a mocks file", {"mocks"});
      if (!root["mocks"]) {
        fail(root, "a mocks file needs mocks: a list");
      }
      return read_mocks(root["mocks"]);
    }
    return read_mocks(root);
  } catch (const Invalid& e) {
    errors.push_back(e.error);
  } catch (const YAML::Exception& e) {
    errors.push_back(TranscriptError{e.mark.line + 1, e.mark.column + 1, e.msg});
  }
  return {};
}

bool parse_duration(std::string_view text, std::int64_t& ms) {
  return waflow::parse_duration(text, ms) && ms > 0;
}

bool parse_timestamp(std::string_view text, std::int64_t& ms) {
  int y = 0;
  int mo = 0;
  int d = 0;
  int h = 0;
  int mi = 0;
  int s = 0;
  std::size_t i = 0;
  auto digits = [&](int count, int& out) {
    out = 0;
    for (int k = 0; k < count; ++k, ++i) {
      if (i >= text.size() || text[i] < '0' || text[i] > '9') {
        return false;
      }
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  auto eat = [&](char c) {
    if (i < text.size() && text[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  if (!digits(4, y) || !eat('-') || !digits(2, mo) || !eat('-') || !digits(2, d)) {
    return false;
  }
  std::int64_t offset = 0;
  if (eat('T') || eat(' ')) {
    if (!digits(2, h) || !eat(':') || !digits(2, mi)) {
      return false;
    }
    if (eat(':') && !digits(2, s)) {
      return false;
    }
    if (eat('Z')) {
    } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      const int sign = text[i++] == '-' ? -1 : 1;
      int oh = 0;
      int om = 0;
      if (!digits(2, oh) || !eat(':') || !digits(2, om)) {
        return false;
      }
      offset = sign * (oh * 3'600'000LL + om * 60'000LL);
    }
  }
  if (i != text.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) {
    return false;
  }
  // Days since the epoch (H. Hinnant's algorithm).
  const std::int64_t yy = y - (mo <= 2 ? 1 : 0);
  const std::int64_t era = yy / 400;
  const std::int64_t yoe = yy - era * 400;
  const std::int64_t mp = mo > 2 ? mo - 3 : mo + 9;
  const std::int64_t doy = (153 * mp + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = era * 146097 + doe - 719468;
  ms = days * 86'400'000 + h * 3'600'000LL + mi * 60'000LL + s * 1000LL - offset;
  return true;
}

}  // namespace waflow::host
