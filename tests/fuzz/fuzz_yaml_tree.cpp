// libFuzzer target of the YAML tree's fast reader (runtime/base/yaml_fast.h):
// whenever it takes a text, its tree must be the one yaml-cpp's events build,
// field by field, and yaml-cpp must not refuse that text; when it gives up,
// build_tree must give yaml-cpp's result, errors included. Any difference aborts.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/base/yaml_fast.h"
#include "runtime/base/yaml_tree.h"
#include "tests/unit/base/tree_difference.h"

namespace {

[[noreturn]] void differ(std::string_view text, const std::string& why) {
  std::fprintf(stderr, "fast reader differs from yaml-cpp: %s\n--- text ---\n%.*s\n---\n",
               why.c_str(), static_cast<int>(text.size()), text.data());
  std::abort();
}

void compare(std::string_view text, waflow::yaml::TreeOptions options) {
  options.fast = false;
  const waflow::yaml::Tree slow = waflow::yaml::build_tree(text, options);
  const std::optional<waflow::yaml::Tree> fast = waflow::yaml::read_plain_subset(text, options);
  if (fast && slow.error) {
    differ(text, "taken, but yaml-cpp refuses it: " + slow.error->message);
  }
  if (fast) {
    if (const std::string why = waflow::yaml::difference(*fast, slow); !why.empty()) {
      differ(text, why);
    }
  }
  options.fast = true;
  if (const std::string why =
          waflow::yaml::difference(waflow::yaml::build_tree(text, options), slow);
      !why.empty()) {
    differ(text, "through build_tree: " + why);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The flow reader's options, then the transcript reader's.
  waflow::yaml::TreeOptions flow;
  flow.file = 1;
  compare(text, flow);
  waflow::yaml::TreeOptions transcript;
  transcript.max_depth = 0;
  transcript.unclosed_quote_is_error = false;
  transcript.one_document = false;
  compare(text, transcript);
  return 0;
}
