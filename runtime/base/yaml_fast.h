#pragma once

// The fast reader behind build_tree (internal to waflow_yaml_tree and its tests).
//
// yaml-cpp's scanner runs regular expressions over every character, and reading
// ten thousand transcripts spent a third of its time there. Nearly every flow and
// transcript is written in a small part of YAML: block mappings and sequences,
// one-line plain and quoted scalars, literal block scalars, flow collections,
// comments. This reader knows that part only, and sends the events yaml-cpp's
// parser would send for it, with the same marks, to the same tree builder; so
// the tree is the same one. It never reports an error: on anything else
// (anchors, tags, folded or multi-line plain scalars, tabs, a second document,
// any doubt) it gives up, and build_tree reads the text with yaml-cpp, whose
// errors and messages stay the only ones.

#include <cstddef>
#include <optional>
#include <string_view>

#include "runtime/base/yaml_tree.h"

namespace YAML {
class EventHandler;
}

namespace waflow::yaml {

// The tree of `text` when the fast reader knows all of it; nullopt when it gave
// up (build_tree then reads the text with yaml-cpp). Never holds an error.
std::optional<Tree> read_plain_subset(std::string_view text, const TreeOptions& options);

namespace detail {

// Sends yaml-cpp's parser events for the first document of `text` to `handler`
// and returns true, or returns false (with some events maybe sent) when the
// text is not in the subset. Collections are never nested `depth_limit` deep.
bool send_plain_subset(std::string_view text, std::size_t depth_limit, YAML::EventHandler& handler);

}  // namespace detail

}  // namespace waflow::yaml
