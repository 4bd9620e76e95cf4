// The fast reader of the plain YAML subset (runtime/base/yaml_fast.h) against
// yaml-cpp: for every text of a corpus (the YAML files of the repository, the
// YAML examples of the docs, the benchmark's transcripts, hand-written edge
// cases and thousands of mutations of all of them), whenever the fast reader
// takes a text its tree is the one the yaml-cpp path builds, field by field,
// and whenever yaml-cpp reports an error the fast reader gave up.

#include "runtime/base/yaml_fast.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/base/yaml_tree.h"
#include "tests/unit/base/tree_difference.h"

namespace {

using waflow::yaml::difference;
using waflow::yaml::read_plain_subset;
using waflow::yaml::Tree;
using waflow::yaml::TreeOptions;

// The options of the flow reader and of the transcript reader.
std::vector<TreeOptions> option_sets() {
  TreeOptions flow;
  flow.file = 7;
  flow.offset = 3;
  TreeOptions transcript;
  transcript.max_depth = 0;
  transcript.unclosed_quote_is_error = false;
  transcript.one_document = false;
  return {flow, transcript};
}

struct Tally {
  std::size_t texts = 0;
  std::size_t taken = 0;  // By the fast reader.
  std::vector<std::string> failures;
};

// Compares the fast reader with yaml-cpp on one text, under both option sets.
void compare(const std::string& text, Tally& tally) {
  ++tally.texts;
  for (TreeOptions options : option_sets()) {
    options.fast = false;
    const Tree slow = waflow::yaml::build_tree(text, options);
    const std::optional<Tree> fast = read_plain_subset(text, options);
    std::string why;
    if (fast && slow.error) {
      why = "the fast reader took a text yaml-cpp refuses (" + slow.error->message + ")";
    } else if (fast) {
      why = difference(*fast, slow);
      ++tally.taken;
    }
    if (why.empty()) {
      // Through build_tree: the fallback gives yaml-cpp's result, errors included.
      options.fast = true;
      why = difference(waflow::yaml::build_tree(text, options), slow);
    }
    if (!why.empty() && tally.failures.size() < 10) {
      tally.failures.push_back(why + "\n--- text ---\n" + text + "\n------------");
    }
  }
}

void require_no_failures(const Tally& tally) {
  for (const std::string& failure : tally.failures) {
    UNSCOPED_INFO(failure);
  }
  REQUIRE(tally.failures.empty());
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The YAML files of the repository, and the ```yaml examples of the docs.
std::vector<std::string> repository_texts() {
  namespace fs = std::filesystem;
  const fs::path root = WAFLOW_SOURCE_DIR;
  std::vector<std::string> texts;
  for (const char* dir : {"examples", "tests", "docs"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
      const fs::path& p = entry.path();
      if (!entry.is_regular_file()) {
        continue;
      }
      if (p.extension() == ".yaml" || p.extension() == ".yml") {
        texts.push_back(read_file(p));
      } else if (p.extension() == ".md") {
        const std::string md = read_file(p);
        for (std::size_t at = md.find("```yaml\n"); at != std::string::npos;
             at = md.find("```yaml\n", at + 1)) {
          const std::size_t begin = at + 8;
          const std::size_t end = md.find("\n```", begin);
          if (end != std::string::npos) {
            texts.push_back(md.substr(begin, end - begin + 1));
          }
        }
      }
    }
  }
  return texts;
}

// The transcripts bench/test_bench.py writes, `count` conversations.
std::string bench_transcript(int count) {
  std::string text = "flows: pizza.wf\ntests:\n";
  for (int i = 0; i < count; ++i) {
    const int n = i + 1;
    const std::string pizza = i % 2 == 0 ? "Margherita" : "Pepperoni";
    const std::string address =
        std::to_string(n) + " Baker Street, flat " + std::to_string(i % 7 + 1);
    const std::string answer = i % 4 == 3 ? "no" : "yes";
    std::string phone = std::to_string(n);
    phone.insert(0, 7 - std::min<std::size_t>(7, phone.size()), '0');
    text += "  - name: conversation " + std::to_string(n) + "\n";
    text += "    contact: {name: User " + std::to_string(n) + ", phone: \"+1555" + phone + "\"}\n";
    text += "    steps:\n";
    text += "      - user: hi\n";
    text += "      - expect: Welcome to Pizza Bot, User " + std::to_string(n) + "!\n";
    text += "      - expect: {text: \"What would you like?\", buttons: [Margherita, Pepperoni]}\n";
    text += "      - tap: " + pizza + "\n";
    text += "      - expect: \"Great choice: " + pizza + ". What is your address?\"\n";
    text += "      - user: " + address + "\n";
    text += "      - expect: \"Order for " + pizza + " to " + address + ". Confirm? (yes/no)\"\n";
    text += "      - user: \"" + answer + "\"\n";
    text += answer == "yes" ? "      - expect: {pattern: \"Order placed! Reference: .+\"}\n"
                            : "      - expect: Order cancelled.\n";
    text += "      - end: true\n";
  }
  return text;
}

// Texts at the edges of the subset, on both sides of them.
const std::vector<std::string>& edge_cases() {
  static const std::vector<std::string> cases = {
      "a: b\n",
      "a: b",
      "a:\n",
      "a:",
      "a:\nb: 1\n",
      "a:\nnull: 1\n",
      "a:\n~: 1\n",
      "- a\n- b\n",
      "-\n- b\n",
      "- -\n",
      "- - a\n  - b\n- c\n",
      "-\n",
      "- \n",
      "-",
      "key: a: b\n",
      "a#b: c #d\n",
      "a: b#c\n",
      "a: b # c\n",
      "a: 'it''s'\n",
      "a: \"x\\ty\\u00e9\\U0001F600\\x41\"\n",
      "a: \"\\N\"\n",
      "a: \"\\_\\L\\P\"\n",
      "a:b\n",
      "a: b:\n",
      "a: -\n",
      "a: - b\n",
      "- a: 1\n  b: 2\n- c: 3\n",
      "a:\n- x\n- y\nb: 2\n",
      "a:\n  - x\n  b: 1\n",
      "a: [1, 2, [3, {b: c}]]\n",
      "a: {k: v, l: [x, y]}\n",
      "a: []\nb: {}\n",
      "[a, b]\n",
      "{a: b}\n",
      "a: [a, b,]\n",
      "a: {a}\n",
      "a: {a: }\n",
      "a: [a: b]\n",
      "a: {\"x\":1}\n",
      "a: {x:1}\n",
      "a: {x: 1,}\n",
      "---\na: 1\n",
      "--- a\n",
      "a: 1\n...\n",
      "a: 1\n---\nb: 2\n",
      "a: 1\r\nb: 2\r\n",
      "a: 1\r\n",
      "a:\r\n  - b\r\n",
      "a: b  \n",
      "a: b  ",
      "a: héllo wörld ✓\n",
      "ключ: значение\n",
      "\"a b\": 1\n",
      "'a': 1\n",
      "\"a\" : 1\n",
      "a : 1\n",
      "a   :   1   \n",
      "? a\n: b\n",
      "a: &x 1\nb: *x\n",
      "a: !t x\n",
      "a: |\n  x\n",
      "a: >\n  x\n",
      "a: b\n  c\n",
      "a:\n  b\n",
      "a:\n  b\n  c: 1\n",
      "a:\n\tb: 1\n",
      "a: \"x\n  y\"\n",
      "a: 'x\n y'\n",
      "  a: 1\n  b: 2\n",
      "  a: 1\nb: 2\n",
      "a:\n    b: 1\n  c: 2\n",
      "- a\n -b\n",
      "~\n",
      "null\n",
      "~",
      "a: ~\nb: Null\nc: NULL\nd: nul\n",
      "# only a comment\n",
      "",
      "\n\n",
      "   \n",
      "a: 1 # c\n# c2\n\n",
      "a: 1\n# c\n  # indented comment\nb: 2\n",
      "-1: -2\n",
      "- -1\n",
      "a: \"unclosed\n",
      "a: 'unclosed\n",
      "a: \"unclosed",
      "a: [unclosed\n",
      "a: {b: [c}]\n",
      "a: b]\n",
      "a: b}\n",
      "a: ,b\n",
      "a: b,c\n",
      "a: 'x'y\n",
      "a: \"x\" # c\n",
      "a: \"x\"#c\n",
      "a: [x] # c\n",
      "a: [x]#c\n",
      "- [a, b]: c\n",
      "a: x\n- y\n",
      "- a\nb: 1\n",
      "a:\n-\nb: 1\n",
      "a:\n  -\n  - x\n",
      "a: { b: c }\n",
      "a: [ b , c ]\n",
      "a: [\"x, y\", 'z']\n",
      "a: [-x, -1]\n",
      "a: [- x]\n",
      "a: [-]\n",
      "a: \"\\\"q\\\"\"\n",
      "a: \"\\/\"\n",
      "a: \"\\'\"\n",
      "a: \"\\q\"\n",
      "a: \"\\x4\"\n",
      "a: \"\\xe9\"\n",
      "a: \"\\uD800\"\n",
      "a: \"\\U00110000\"\n",
      "a: 'a\\b'\n",
      "a: \"a\\\n  b\"\n",
      "a: http://example.com/x?y=z#f\n",
      "url: [http://x]\n",
      "a: b?c\n",
      "a: [b?c]\n",
      "a: 0x1F\n",
      "a: 1.5e3\n",
      "a: yes\n",
      "a: ''\n",
      "a: \"\"\n",
      "'': 1\n",
      "\"\": 1\n",
      "a: '  spaced  '\n",
      "a:\n\n\n  b: 1\n\n",
      "a: 1\n\n\n",
      "a: 1\n  \n",
      "a: \"x\"\n  b: 1\n",
      "- a: 1\n  - b\n",
      "- - - a\n",
      "-   a: 1\n    b: 2\n",
      "a:   \n  - b\n",
      "a: [[[[[1]]]]]\n",
      "%YAML 1.2\n---\na: 1\n",
      "@a: 1\n",
      "a: `x`\n",
      "a: @x\n",
      "a: %x\n",
      "*a\n",
      "&a b\n",
      "!!str a\n",
      "a: !!str b\n",
      "- a # c\n- b\n",
      "a:# c\n",
      "a: 1\nb\n",
      "a\n",
      "a b c\n",
      "\"a\"\n",
      "'a'\n",
      "[]\n",
      "{}\n",
      "a: [a, [b, c], {d: e}]\n",
      "a: {b: [1, 2], c: {d: e}}\n",
      "\xEF\xBB\xBF"
      "a: 1\n",
      "a: \x01\n",
      "a: b\x7F\n",
      "a: \xC3\n",
      "a: \xE2\x80\xA8\n",
      "a: 1\rb: 2\n",
      "a: \xC2\x85\n",
      "a:\n  b:\n    c:\n      d: 1\n",
      "a:\n  - b: 1\n    c: 2\n  - d\n",
      "a: 1\n a: 2\n",
      "a: 1\na: 2\n",
      "a:\n- b\n  c: 1\n",
      "key with spaces: value with spaces\n",
      "a: x   # c\n",
      "a: x#\n",
      "a: :x\n",
      "a: ?x\n",
      "a: x:\n",
      "a: -x\n",
      "a: --x\n",
      "a: ---\n",
      "---\n",
      "--- \n",
      "---\n# c\n",
      "---\n---\n",
      "---",
      "...\n",
      "a: 1\n--- \n",
      "a: [a, b]x\n",
      "a: {b: c}: d\n",
      "[a]: b\n",
      "{a: b}: c\n",
      "\"a\": \"b\": c\n",
      "a: \"b\": c\n",
      "- \"a\": 1\n  'b': 2\n",
      "- 'a''b': 1\n",
      "a: ['', \"\"]\n",
      "a: [~, null, Null]\n",
      "a: {~: 1}\n",
      "a: {null: x}\n",
      "a: [a , b ]\n",
      "a: [a,b]\n",
      "a: {a: b,c: d}\n",
      "a: [a,]\n",
      "a: [,a]\n",
      "a: {,}\n",
      "a: [\n  b]\n",
      "a: {b: c\n  }\n",
      "a: [b] [c]\n",
      "- a\n-b\n",
      "- a\n- \n- c\n",
      "-\n  a: 1\n-\n  - b\n",
      "a:\n  # c\n  b: 1\n",
      "a: 1 #c\nb: 2 # c\n",
      "a:\n- b\n-\n- c\n",
      "a:\n  b:\n- c\n",
      "a:\n  b:\n  - c\nd: 1\n",
      "a:\n  b:\n  c:\n",
      "a: 'x' \n",
      "a: \"x\"  \n",
      "a: \"x\\\\\"\n",
      "a: \"\\0\"\n",
      "a: \"\\e\\a\\b\\v\\f\\r\\n\\ \"\n",
      "a: \"\\u0000\"\n",
      "a: \"\\u20AC\\u00FF\\x7F\"\n",
      "- [a, {b: [c, {d: e}]}]\n",
      "a: 'x'': y'\n",
      "a: x 'y' \"z\"\n",
      "a: x: y\n",
      "a: b #: c\n",
      "a#: b\n",
      "#a: b\n",
      "a: #\n",
      "a: b\n#\n",
      "a:\n#\n  b: 1\n",
      // Literal block scalars.
      "a: |\n  x\n",
      "a: |-\n  x\n  y\n",
      "a: |\n  x\n\n  y\n\n\nb: 1\n",
      "a: |\n  x",
      "a: |\n  x\n    y\n  z\n",
      "a: | # c\n  x\n",
      "a: |-#c\n  x\n",
      "a: |+\n  x\n\n",
      "a: |2\n   x\n",
      "a: |\n\n  x\n",
      "a: |\n  \n  x\n",
      "a: |\n  x\n   \n  y\n",
      "a: |\n  x\n \n  y\n",
      "a: |\nb: 1\n",
      "a: |\n",
      "a: |",
      "a: |\n  # not a comment\n",
      "- |\n  x\n- |-\n  y\n",
      "- a: |\n    x\n  b: 1\n",
      "- a: |\n   x\n",
      "- a: |\n  x\n",
      "a:\n  b: |\n    x: y\n    - z\n  c: 1\n",
      "a: |\n  x\n # c\nb: 1\n",
      "a: >\n  x\n  y\n",
      "a: |\r\n  x\r\n\r\n  y\r\n",
      "a: |\n  x\n  ---\n",
      "a: |\n  x\n---\n",
      "a: |x\n  y\n",
      "a: |\n  x\nb\n",
      "a: |\n  x\n  b: c\n d: e\n",
      "a: |\n  x\n...\n",
      "|\n  x\n",
      "a: |\n  x\n\n",
      "a: |-\n  x\n\n\n",
      "a: |\n  x\n  \n",
      "a: |\n  é ✓\n",
      "a: |\n x\n\n",
      "a: |\n  x\n   \n",
      "a: |\n  x\n     ",
      "a: |\n  x\n  ",
      "a: |\n  x\n\n  ",
      // Flow collections over several lines.
      "a: [\n  b,\n  c\n]\n",
      "a: [\nb]\n",
      "a: [b # c\n  , c]\n",
      "- a: [x,\n  y]\n",
      "a:\n  [x,\n y]\n",
      "a: [\n\n  b\n\n]\n",
      "a: {\n  b: c\n}\n",
      "a: [b,\n  c\n  d]\n",
      "a: [b, # c\n  c]\n",
      "a: [b,\n# c\n  c]\n",
      "a: {b: c # x\n }\n",
      "a: [b]\n]\n",
      "a: [b,\n---\n c]\n",
      "- [a,\nb]\n",
      "a:\n  b: [c,\n d]\n",
      "a: [b\n]\nc: 1\n",
      "a: [b, \n  c  ]   # x\nd: 2\n",
      "a: {b: [1,\n 2], c: d}\n",
      "a: {b:\n c}\n",
      "a: {b\n : c}\n",
      "a: [\"x\",\n  'y']\n",
      "a: [b,\n  c]d\n",
      "a: [b,\n  c\n",
      "a: [b,\n",
      "a: [b,\r\n  c]\r\n",
      "a: [b,#c\n  c]\n",
      "[\n  a\n]\n",
      "{\n}\n",
      "a: [\n]\n",
  };
  return cases;
}

// Nested too deep for the flow reader's limit, or for the subset reader's.
std::vector<std::string> deep_texts() {
  std::vector<std::string> texts;
  for (int depth : {50, 99, 100, 150, 199, 200, 201, 250}) {
    texts.push_back("a: " + std::string(static_cast<std::size_t>(depth), '[') + "x" +
                    std::string(static_cast<std::size_t>(depth), ']') + "\n");
    std::string block;
    for (int i = 0; i < depth; ++i) {
      block += std::string(static_cast<std::size_t>(i), ' ') + "k:\n";
    }
    texts.push_back(block);
    std::string dashes;
    for (int i = 0; i < depth; ++i) {
      dashes += "- ";
    }
    texts.push_back(dashes + "x\n");
  }
  return texts;
}

// A copy of `text` with one to three small changes: characters deleted,
// duplicated, replaced or inserted (the ones YAML cares about most), lines
// indented more or less, or two lines swapped.
std::string mutate(const std::string& text, std::mt19937& random) {
  static const std::string kChars = ":#-\"'[]{},? \n~&*!|>\\\r\t\xC3\xA9";
  std::string s = text;
  const int changes = 1 + static_cast<int>(random() % 3);
  for (int c = 0; c < changes && !s.empty(); ++c) {
    const std::size_t at = random() % s.size();
    const char ch = kChars[random() % kChars.size()];
    switch (random() % 6) {
      case 0:
        s.erase(at, 1);
        break;
      case 1:
        s.insert(at, 1, s[at]);
        break;
      case 2:
        s.insert(at, 1, ch);
        break;
      case 3:
        s[at] = ch;
        break;
      case 4: {
        const std::size_t line = s.rfind('\n', at) == std::string::npos ? 0 : s.rfind('\n', at) + 1;
        if (random() % 2 == 0) {
          s.insert(line, random() % 2 == 0 ? " " : "  ");
        } else if (s[line] == ' ') {
          s.erase(line, 1);
        }
        break;
      }
      default: {
        const std::size_t line = s.rfind('\n', at) == std::string::npos ? 0 : s.rfind('\n', at) + 1;
        const std::size_t next = s.find('\n', line);
        if (next == std::string::npos || next + 1 >= s.size()) {
          break;
        }
        const std::size_t after = s.find('\n', next + 1);
        const std::size_t end = after == std::string::npos ? s.size() : after;
        const std::string first = s.substr(line, next - line);
        const std::string second = s.substr(next + 1, end - next - 1);
        s.replace(line, end - line, second + "\n" + first);
        break;
      }
    }
  }
  return s;
}

// A mutation of a long file changes one spot; a few kilobytes around it do as well.
std::string shorten(const std::string& text, std::size_t limit) {
  if (text.size() <= limit) {
    return text;
  }
  const std::size_t cut = text.rfind('\n', limit);
  return text.substr(0, cut == std::string::npos ? limit : cut + 1);
}

}  // namespace

TEST_CASE("the fast YAML reader builds yaml-cpp's tree for the repository's YAML") {
  Tally tally;
  const std::vector<std::string> texts = repository_texts();
  REQUIRE(texts.size() > 20);
  for (const std::string& text : texts) {
    compare(text, tally);
  }
  require_no_failures(tally);
  // Most of them are in the subset (the rest use anchors, block scalars, ...);
  // each text is read under two option sets.
  CHECK(tally.taken > tally.texts);
}

TEST_CASE("the fast YAML reader reads the benchmark's transcripts itself") {
  const std::string text = bench_transcript(40);
  TreeOptions options;
  options.max_depth = 0;
  REQUIRE(read_plain_subset(text, options).has_value());
  Tally tally;
  compare(text, tally);
  require_no_failures(tally);
}

TEST_CASE("the fast YAML reader agrees with yaml-cpp on edge cases") {
  Tally tally;
  for (const std::string& text : edge_cases()) {
    compare(text, tally);
  }
  for (const std::string& text : deep_texts()) {
    compare(text, tally);
  }
  require_no_failures(tally);
  CHECK(tally.taken > 0);
}

TEST_CASE("the fast YAML reader leaves what is outside the subset to yaml-cpp") {
  for (const char* text :
       {"a: &x 1\nb: *x\n", "a: !t x\n", "a: >\n  x\n", "a: b\n  c\n", "? a\n: b\n",
        "%YAML 1.2\n---\na: 1\n", "a: 1\n---\nb: 2\n", "a:\n\tb: 1\n", "a: \"x\n  y\"\n",
        "a: [b,\n  c\n  d]\n", "", "# only a comment\n", "a: b: c\n", "a: \"unclosed\n"}) {
    INFO(text);
    CHECK_FALSE(read_plain_subset(text, TreeOptions{}).has_value());
  }
  // And takes what is inside it.
  for (const char* text : {"a: b\n", "- a\n- b: [c, {d: 'e'}]\n", "---\na:\n- \"x\"\n",
                           "a: |-\n  x\nb: 1\n", "a: [\n  b,\n  c\n]\n"}) {
    INFO(text);
    CHECK(read_plain_subset(text, TreeOptions{}).has_value());
  }
}

TEST_CASE("the fast YAML reader agrees with yaml-cpp on mutated texts") {
  std::vector<std::string> seeds = repository_texts();
  for (std::string& text : seeds) {
    text = shorten(text, 3000);
  }
  seeds.push_back(bench_transcript(3));
  for (const std::string& text : edge_cases()) {
    seeds.push_back(text);
  }
  // WAFLOW_YAML_MUTATIONS=N (and WAFLOW_YAML_SEED) run a longer search by hand.
  const char* count = std::getenv("WAFLOW_YAML_MUTATIONS");
  const char* seed = std::getenv("WAFLOW_YAML_SEED");
  const long mutations = count != nullptr ? std::atol(count) : 6000;
  std::mt19937 random(seed != nullptr ? static_cast<unsigned>(std::atol(seed)) : 20240611U);
  Tally tally;
  for (long i = 0; i < mutations; ++i) {
    compare(mutate(seeds[random() % seeds.size()], random), tally);
  }
  require_no_failures(tally);
  UNSCOPED_INFO("taken by the fast reader: " << tally.taken << " of " << 2 * tally.texts);
  CHECK(tally.taken > 1000);
}
