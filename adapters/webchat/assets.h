#pragma once

// The page, script and style sheet of the web chat, built into the binary from assets/ by
// embed_assets.py (so a deployed waflow is one file). Internal to waflow_webchat.

#include <span>
#include <string_view>

namespace waflow::webchat {

struct Asset {
  std::string_view name;  // The file name in assets/, e.g. "widget.js".
  std::string_view content_type;
  std::string_view etag;  // A quoted hash of the bytes, for If-None-Match.
  std::string_view body;
};

// Every embedded file (generated).
std::span<const Asset> embedded_assets();

// The file named `name`, or nullptr.
const Asset* find_asset(std::string_view name);

}  // namespace waflow::webchat
