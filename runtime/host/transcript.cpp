// The transcript reader (see transcript.h): the YAML tree of
// runtime/base/yaml_tree.h, built from yaml-cpp's events, into the transcript
// model. It is strict, so a typo in a key is an error with its line instead of a
// check that silently never runs. A plain YAML scalar becomes null, a yes/no
// (true/false only), a number or a text; a quoted scalar is always a text.
// Errors give the line and column yaml-cpp gives the node at fault.

#include "runtime/host/transcript.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <map>
#include <memory>
#include <regex>
#include <unordered_set>

#include "runtime/base/civil_time.h"
#include "runtime/base/duration.h"
#include "runtime/base/yaml_tree.h"

namespace waflow::host {

namespace {

using vm::Value;
using Kind = TranscriptStep::Kind;
using yaml::Node;
using yaml::NodeKind;
using Keys = std::initializer_list<std::string_view>;

// Thrown inside the reader only, caught at its entry points.
struct Invalid {
  TranscriptError error;
};
// A mistake that ends the reading of the whole file, not only of one test: a
// key that is a list or a mapping.
struct Abort {
  TranscriptError error;
};

TranscriptError error_at(const Node& node, std::string message) {
  return TranscriptError{node.line >= 0 ? node.line + 1 : 0, node.column >= 0 ? node.column + 1 : 0,
                         std::move(message)};
}

[[noreturn]] void fail(const Node& node, std::string message) {
  throw Invalid{error_at(node, std::move(message))};
}

int line_of(const Node& node) {
  return node.line >= 0 ? node.line + 1 : 0;
}

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) {
    out += p;
  }
  return out;
}

std::string join(Keys words) {
  std::string out;
  for (std::string_view w : words) {
    if (!out.empty()) {
      out += ", ";
    }
    out += w;
  }
  return out;
}

// A key as text: a null key reads as "null"; a list or mapping as a key ends
// the reading.
const std::string& key_text(const Node& key) {
  static const std::string kNull = "null";
  if (key.kind == NodeKind::Null) {
    return kNull;
  }
  if (key.kind != NodeKind::Scalar) {
    throw Abort{error_at(key, "bad conversion")};
  }
  return key.value;
}

void check_keys(const Node& map, std::string_view what, Keys allowed) {
  if (!map.is_map()) {
    fail(map, cat({what, " must be a mapping (key: value)"}));
  }
  for (const auto& [key_node, value] : map.entries) {
    const std::string& key = key_text(*key_node);
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      fail(*key_node,
           cat({"unknown key '", key, "' in ", what, "; expected one of: ", join(allowed)}));
    }
  }
}

const std::string& scalar(const Node& node, std::string_view what) {
  if (!node.is_scalar()) {
    fail(node, cat({what, " must be a text"}));
  }
  return node.value;
}

// What yaml-cpp's Scalar() gives: the value of a scalar, else nothing.
std::string_view scalar_or_empty(const Node& node) {
  return node.is_scalar() ? std::string_view(node.value) : std::string_view();
}

bool boolean(const Node& node, std::string_view what) {
  const std::string_view s = scalar_or_empty(node);
  if (s == "true") {
    return true;
  }
  if (s == "false") {
    return false;
  }
  fail(node, cat({what, " must be true or false"}));
}

std::vector<std::string> texts(const Node& node, std::string_view what) {
  if (!node.is_sequence()) {
    fail(node, cat({what, " must be a list"}));
  }
  std::vector<std::string> out;
  out.reserve(node.items.size());
  for (const yaml::NodePtr& item : node.items) {
    if (!item->is_scalar()) {
      fail(*item, cat({"an item of ", what, " must be a text"}));
    }
    out.push_back(item->value);
  }
  return out;
}

bool parse_number(std::string_view s, double& out) {
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (begin != end && *begin == '+') {
    ++begin;
  }
  auto [ptr, ec] = std::from_chars(begin, end, out);
  return ec == std::errc() && ptr == end && begin != end && std::isfinite(out);
}

Value to_value(const Node& node) {
  switch (node.kind) {
    case NodeKind::Sequence: {
      Value::List items;
      items.reserve(node.items.size());
      for (const yaml::NodePtr& item : node.items) {
        items.push_back(to_value(*item));
      }
      return Value::list(std::move(items));
    }
    case NodeKind::Mapping: {
      Value::Object fields;
      fields.reserve(node.entries.size());
      for (const auto& [key, value] : node.entries) {
        fields.emplace_back(key_text(*key), to_value(*value));
      }
      return Value::object(std::move(fields));
    }
    case NodeKind::Scalar: {
      const std::string& s = node.value;
      if (node.tag == "!") {
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
    case NodeKind::Null:
      break;
  }
  return {};
}

std::int64_t duration(const Node& node) {
  std::int64_t ms = 0;
  if (!node.is_scalar() || !parse_duration(node.value, ms)) {
    fail(node, "not a duration: write it like 30s, 5m, 2h, 1d or 1h30m");
  }
  return ms;
}

// Compiles a pattern of the file, or fails at `node`. A suite repeats its
// patterns from test to test; each is compiled once.
std::shared_ptr<const std::regex> check_regex(const Node& node, const std::string& pattern) {
  thread_local std::map<std::string, std::shared_ptr<const std::regex>, std::less<>> compiled;
  if (auto found = compiled.find(pattern); found != compiled.end()) {
    return found->second;
  }
  std::shared_ptr<const std::regex> re;
  try {
    re = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    fail(node, "not a valid regular expression: " + pattern);
  }
  // Bounded: a file of all different patterns does not grow it for ever.
  if (compiled.size() >= 256) {
    compiled.clear();
  }
  compiled.emplace(pattern, re);
  return re;
}

Mock read_mock(std::string_view kind, const Node& node) {
  Mock m;
  m.line = line_of(node);
  if (kind == "ai") {
    check_keys(node, "an ai mock",
               {"step", "flow", "prompt", "reply", "intent", "extract", "question", "error"});
    if (const Node* step = node.find("step")) {
      m.step = scalar(*step, "step");
      // "flow.step" names a step of one flow.
      if (const std::size_t dot = m.step.find('.'); dot != std::string::npos) {
        m.flow = m.step.substr(0, dot);
        m.step = m.step.substr(dot + 1);
      }
    }
    if (const Node* flow = node.find("flow")) {
      m.flow = scalar(*flow, "flow");
    }
    if (const Node* prompt = node.find("prompt")) {
      m.pattern = scalar(*prompt, "prompt");
      check_regex(*prompt, m.pattern);
    }
    if (const Node* reply = node.find("reply")) {
      m.reply = scalar(*reply, "reply");
    }
    if (const Node* intent = node.find("intent")) {
      m.intent = scalar(*intent, "intent");
    }
    if (const Node* extract = node.find("extract")) {
      if (!extract->is_map()) {
        fail(*extract, "extract must map field names to values");
      }
      m.extract = to_value(*extract);
    }
    if (const Node* question = node.find("question")) {
      m.question = scalar(*question, "question");
    }
    if (const Node* error = node.find("error")) {
      m.error = scalar(*error, "error");
    }
    if (!m.reply && !m.intent && !m.extract && !m.question && !m.error) {
      fail(node, "an ai mock needs an answer: reply, intent, extract, question or error");
    }
  } else if (kind == "http") {
    m.kind = Mock::Kind::Http;
    check_keys(node, "an http mock", {"url", "method", "status", "body", "error"});
    const Node* url = node.find("url");
    if (url == nullptr) {
      fail(node, "an http mock needs url: a pattern of the URLs it answers");
    }
    m.pattern = scalar(*url, "url");
    check_regex(*url, m.pattern);
    if (const Node* method = node.find("method")) {
      m.method = scalar(*method, "method");
    }
    if (const Node* status_node = node.find("status")) {
      double status = 0;
      if (!status_node->is_scalar() || !parse_number(status_node->value, status) || status < 100 ||
          status > 599) {
        fail(*status_node, "status must be an HTTP status between 100 and 599");
      }
      m.status = status;
    }
    if (const Node* body = node.find("body")) {
      m.body = to_value(*body);
    }
    if (const Node* error = node.find("error")) {
      m.error = scalar(*error, "error");
    }
  } else {
    m.kind = Mock::Kind::Store;
    check_keys(node, "a store mock", {"collection", "id", "error"});
    if (const Node* collection = node.find("collection")) {
      m.collection = scalar(*collection, "collection");
    }
    if (const Node* id = node.find("id")) {
      m.id = scalar(*id, "id");
    }
    if (const Node* error = node.find("error")) {
      m.error = scalar(*error, "error");
    }
  }
  return m;
}

std::vector<Mock> read_mocks(const Node& node) {
  if (!node.is_sequence()) {
    fail(node, "mocks must be a list such as - ai: {...} or - http: {...}");
  }
  std::vector<Mock> out;
  for (const yaml::NodePtr& item : node.items) {
    if (!item->is_map() || item->size() != 1) {
      fail(*item, "each mock is one of ai:, http: or store:");
    }
    const auto& [key, value] = item->entries.front();
    const std::string& kind = key_text(*key);
    if (kind != "ai" && kind != "http" && kind != "store") {
      fail(*key, "unknown mock '" + kind + "'; expected ai, http or store");
    }
    out.push_back(read_mock(kind, *value));
  }
  return out;
}

Value message_object(Value::Object fields) {
  return Value::object(std::move(fields), vm::Tag::Message);
}

Value text_message(const std::string& text) {
  return message_object({{"type", Value::text("text")}, {"text", Value::text(text)}});
}

// user: "text" or {text, id}.
void read_user(const Node& node, TranscriptStep& step) {
  if (node.is_map()) {
    check_keys(node, "a user message", {"text", "id"});
    const Node* text = node.find("text");
    if (text == nullptr) {
      fail(node, "a user message needs text");
    }
    step.message = text_message(scalar(*text, "text"));
    if (const Node* id = node.find("id")) {
      step.id = scalar(*id, "id");
    }
    return;
  }
  step.message = text_message(scalar(node, "user"));
}

void read_media(const Node& node, TranscriptStep& step) {
  check_keys(node, "a media message", {"type", "url", "caption", "mime", "filename", "id"});
  const Node* type_node = node.find("type");
  if (type_node == nullptr || node.find("url") == nullptr) {
    fail(node, "a media message needs type (image, audio, video, document, sticker) and url");
  }
  const std::string& type = scalar(*type_node, "type");
  if (type != "image" && type != "audio" && type != "video" && type != "document" &&
      type != "sticker") {
    fail(*type_node,
         "unknown media type '" + type + "'; expected image, audio, video, document or sticker");
  }
  Value::Object fields = {{"type", Value::text(type)}};
  for (const char* key : {"url", "caption", "mime", "filename"}) {
    if (const Node* value = node.find(key)) {
      fields.emplace_back(key, Value::text(scalar(*value, key)));
    }
  }
  step.message = message_object(std::move(fields));
  if (const Node* id = node.find("id")) {
    step.id = scalar(*id, "id");
  }
}

void read_location(const Node& node, TranscriptStep& step) {
  check_keys(node, "a location", {"latitude", "longitude", "name", "address", "id"});
  Value::Object fields = {{"type", Value::text("location")}};
  for (const char* key : {"latitude", "longitude"}) {
    double v = 0;
    const Node* value = node.find(key);
    if (value == nullptr || !value->is_scalar() || !parse_number(value->value, v)) {
      fail(node, std::string("a location needs a number ") + key);
    }
    fields.emplace_back(key, Value::number(v));
  }
  for (const char* key : {"name", "address"}) {
    if (const Node* value = node.find(key)) {
      fields.emplace_back(key, Value::text(scalar(*value, key)));
    }
  }
  step.message = message_object(std::move(fields));
  if (const Node* id = node.find("id")) {
    step.id = scalar(*id, "id");
  }
}

void read_tap(const Node& node, TranscriptStep& step) {
  if (!node.is_map()) {
    step.text = scalar(node, "tap");
    return;
  }
  check_keys(node, "a tap", {"option", "payload", "title", "id"});
  if (const Node* id = node.find("id")) {
    step.id = scalar(*id, "id");
  }
  if (const Node* option = node.find("option")) {
    step.text = scalar(*option, "option");
    return;
  }
  const Node* payload_node = node.find("payload");
  if (payload_node == nullptr) {
    fail(node, "a tap needs option (a button or row of a message the bot sent) or payload");
  }
  const std::string& payload = scalar(*payload_node, "payload");
  const Node* title = node.find("title");
  step.message =
      message_object({{"type", Value::text("button")},
                      {"payload", Value::text(payload)},
                      {"text", Value::text(title != nullptr ? scalar(*title, "title") : payload)}});
}

MessageExpectation read_expectation(const Node& node) {
  MessageExpectation x;
  if (node.is_scalar()) {
    x.text = node.value;
    return x;
  }
  check_keys(node, "an expect",
             {"text", "pattern", "buttons", "list", "header", "footer", "media", "template",
              "params", "location"});
  if (node.size() == 0) {
    fail(node,
         "an expect needs at least one of text, pattern, buttons, list, media, template, location");
  }
  if (const Node* text = node.find("text")) {
    x.text = scalar(*text, "text");
  }
  if (const Node* pattern = node.find("pattern")) {
    x.pattern = scalar(*pattern, "pattern");
    x.pattern_regex = check_regex(*pattern, *x.pattern);
  }
  if (const Node* buttons = node.find("buttons")) {
    x.buttons = texts(*buttons, "buttons");
  }
  if (const Node* list = node.find("list")) {
    x.list = texts(*list, "list");
  }
  if (const Node* header = node.find("header")) {
    x.header = scalar(*header, "header");
  }
  if (const Node* footer = node.find("footer")) {
    x.footer = scalar(*footer, "footer");
  }
  if (const Node* media = node.find("media")) {
    if (media->is_scalar()) {
      x.media = Value::object({{"type", Value::text(media->value)}});
    } else {
      check_keys(*media, "an expected media", {"type", "url", "caption", "filename", "mime"});
      x.media = to_value(*media);
    }
  }
  if (const Node* name = node.find("template")) {
    x.template_name = scalar(*name, "template");
  }
  if (const Node* params = node.find("params")) {
    x.params = texts(*params, "params");
  }
  if (const Node* location = node.find("location")) {
    check_keys(*location, "an expected location", {"latitude", "longitude", "name", "address"});
    x.location = to_value(*location);
  }
  return x;
}

std::vector<std::pair<std::string, Value>> read_vars(const Node& node, std::string_view what) {
  if (!node.is_map()) {
    fail(node, cat({what, " must map variable names to values"}));
  }
  std::vector<std::pair<std::string, Value>> out;
  out.reserve(node.entries.size());
  for (const auto& [key, value] : node.entries) {
    out.emplace_back(key_text(*key), to_value(*value));
  }
  return out;
}

// The step keys, as the error for an unknown one lists them.
constexpr std::string_view kStepKeys =
    "user, tap, media, location, burst, redeliver, advance, handback, start, ai, http, store, "
    "expect, expect_none, vars, end, waiting, failed, stage, tags, handoff";

// Reads into `step`, a new (default) step in place in its test: a step is large.
void read_step(const Node& node, TranscriptStep& step) {
  step.line = line_of(node);
  // Bare words for the steps that need no value.
  if (node.is_scalar()) {
    if (node.value == "expect_none") {
      step.kind = Kind::ExpectNone;
    } else if (node.value == "handback") {
      step.kind = Kind::HandBack;
    } else {
      fail(node, cat({"unknown step '", node.value, "'; expected one of: ", kStepKeys}));
    }
    return;
  }
  if (!node.is_map() || node.size() != 1) {
    fail(node, "each step is one key such as user:, tap:, expect: or advance:");
  }
  const Node& key_node = *node.entries.front().first;
  const Node& value = *node.entries.front().second;
  const std::string& key = key_text(key_node);
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
    if (!value.is_sequence() || value.size() == 0) {
      fail(value, "a burst is a list of messages");
    }
    for (const yaml::NodePtr& item : value.items) {
      TranscriptStep one;
      read_user(*item, one);
      step.burst.push_back(std::move(one.message));
      step.burst_ids.push_back(std::move(one.id));
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
    step.text = value.is_scalar() && value.value == "true" ? "" : scalar(value, "failed");
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
    if (value.is_scalar() && (value.value == "true" || value.value == "false")) {
      step.flag = value.value == "true";
    } else {
      step.text = scalar(value, "handoff");
    }
  } else {
    fail(key_node, cat({"unknown step '", key, "'; expected one of: ", kStepKeys}));
  }
}

ContactProfile read_contact(const Node& node, ContactProfile contact) {
  check_keys(node, "contact", {"name", "phone", "new"});
  if (const Node* name = node.find("name")) {
    contact.name = scalar(*name, "name");
  }
  if (const Node* phone = node.find("phone")) {
    contact.phone = scalar(*phone, "phone");
    if (contact.phone.find_first_of("0123456789") == std::string::npos) {
      fail(*phone, "a phone number needs digits, such as +15550000001");
    }
  }
  if (const Node* first = node.find("new")) {
    contact.first_contact = boolean(*first, "new");
  }
  return contact;
}

std::int64_t timestamp(const Node& node) {
  std::int64_t ms = 0;
  if (!node.is_scalar() || !parse_timestamp(node.value, ms)) {
    fail(node, "not a time: write it like 2025-01-06T09:00:00Z or 2025-01-06T10:00+01:00");
  }
  return ms;
}

TranscriptTest read_test(const Node& node, const ContactProfile& contact, std::int64_t now) {
  check_keys(node, "a test", {"name", "contact", "vars", "now", "mocks", "steps"});
  TranscriptTest test;
  test.line = line_of(node);
  const Node* name = node.find("name");
  if (name == nullptr) {
    fail(node, "a test needs a name");
  }
  test.name = scalar(*name, "name");
  const Node* contact_node = node.find("contact");
  test.contact = contact_node != nullptr ? read_contact(*contact_node, contact) : contact;
  const Node* now_node = node.find("now");
  test.start_ms = now_node != nullptr ? timestamp(*now_node) : now;
  if (const Node* vars = node.find("vars")) {
    for (auto& [var, value] : read_vars(*vars, "vars")) {
      if (var.rfind("contact.", 0) != 0) {
        fail(*vars, "a test starts with contact variables only (contact." + var +
                        "); the others belong to runs");
      }
      test.vars.emplace_back(var.substr(8), std::move(value));
    }
  }
  if (const Node* mocks = node.find("mocks")) {
    test.mocks = read_mocks(*mocks);
  }
  const Node* steps = node.find("steps");
  if (steps == nullptr || !steps->is_sequence() || steps->size() == 0) {
    fail(node, "a test needs steps: a list such as - user: hi, - expect: \"Hello!\"");
  }
  test.steps.reserve(steps->items.size());
  for (const yaml::NodePtr& item : steps->items) {
    read_step(*item, test.steps.emplace_back());
  }
  return test;
}

// The document as yaml-cpp's YAML::Load read it before: its first document
// only, a quote left open running to the end, nesting limited by yaml-cpp alone.
// An empty text is a null document without a position.
yaml::NodePtr load(std::string_view text) {
  yaml::TreeOptions options;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    // yaml-cpp skips a byte order mark without counting it in its marks.
    text.remove_prefix(3);
    options.offset = 3;
  }
  options.max_depth = 0;
  options.unclosed_quote_is_error = false;
  options.one_document = false;
  yaml::Tree tree = yaml::build_tree(text, options);
  if (tree.error) {
    const yaml::TreeError& e = *tree.error;
    std::string message = e.message;
    if (e.kind == yaml::TreeError::Kind::Syntax || e.kind == yaml::TreeError::Kind::TooDeep) {
      // The most common slips: plain texts end at ': ', and inside {...} or [...]
      // also at '?' and ','.
      if (message == "unknown token" || message.find("flow") != std::string::npos) {
        message += " (inside {...} or [...], quote texts that hold '?', ',' or ': ')";
      } else if (message == "illegal map value") {
        message += " (quote texts that hold ': ')";
      }
    }
    throw Invalid{TranscriptError{e.line >= 0 ? e.line + 1 : 0, e.column >= 0 ? e.column + 1 : 0,
                                  std::move(message)}};
  }
  if (tree.root == nullptr) {
    return std::make_shared<const Node>();
  }
  // Aliases share subtrees, and reading them repeats the work.
  if (tree.root->weight > tree.weight_limit()) {
    throw Invalid{TranscriptError{1, 1,
                                  "aliases expand this document to more than " +
                                      std::to_string(tree.weight_limit()) + " nodes"}};
  }
  return std::move(tree.root);
}

}  // namespace

TranscriptParse parse_transcript(std::string_view text) {
  TranscriptParse out;
  try {
    const yaml::NodePtr root_ptr = load(text);
    const Node& root = *root_ptr;
    check_keys(root, "a transcript file", {"flows", "contact", "now", "mocks", "tests"});
    if (const Node* flows = root.find("flows")) {
      out.transcript.flows =
          flows->is_scalar() ? std::vector<std::string>{flows->value} : texts(*flows, "flows");
    }
    const Node* contact_node = root.find("contact");
    const ContactProfile contact =
        contact_node != nullptr ? read_contact(*contact_node, ContactProfile{}) : ContactProfile{};
    const Node* now_node = root.find("now");
    const std::int64_t now = now_node != nullptr ? timestamp(*now_node) : kDefaultStartMs;
    if (const Node* mocks = root.find("mocks")) {
      out.transcript.mocks = read_mocks(*mocks);
    }
    const Node* tests = root.find("tests");
    if (tests == nullptr || !tests->is_sequence() || tests->size() == 0) {
      fail(root, "a transcript file needs tests: a list of tests, each with a name and steps");
    }
    out.transcript.tests.reserve(tests->items.size());
    std::unordered_set<std::string> names;
    for (const yaml::NodePtr& item : tests->items) {
      // One bad test does not hide the others' errors.
      try {
        TranscriptTest test = read_test(*item, contact, now);
        if (!names.insert(test.name).second) {
          fail(*item->find("name"), "a second test named '" + test.name + "'");
        }
        out.transcript.tests.push_back(std::move(test));
      } catch (const Invalid& e) {
        out.errors.push_back(e.error);
      }
    }
  } catch (const Invalid& e) {
    out.errors.push_back(e.error);
  } catch (const Abort& e) {
    out.errors.push_back(e.error);
  }
  return out;
}

std::vector<Mock> parse_mocks(std::string_view text, std::vector<TranscriptError>& errors) {
  try {
    const yaml::NodePtr root = load(text);
    if (root->is_map()) {
      check_keys(*root, "a mocks file", {"mocks"});
      const Node* mocks = root->find("mocks");
      if (mocks == nullptr) {
        fail(*root, "a mocks file needs mocks: a list");
      }
      return read_mocks(*mocks);
    }
    return read_mocks(*root);
  } catch (const Invalid& e) {
    errors.push_back(e.error);
  } catch (const Abort& e) {
    errors.push_back(e.error);
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
  const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  ms = days * 86'400'000 + h * 3'600'000LL + mi * 60'000LL + s * 1000LL - offset;
  return true;
}

}  // namespace waflow::host
