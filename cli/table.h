#pragma once

// Output of the commands that read a running server: aligned text tables for
// people, and the cell text of a JSON field.

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace waflow::cli {

using TableRow = std::vector<std::string>;

// Columns padded to their widest cell (counted in code points) and separated
// by two spaces; the last column is not padded. Control characters in cells
// are shown as spaces so one item stays on one line.
std::string render_table(const TableRow& header, const std::vector<TableRow>& rows);

// A field of a JSON object as table text: strings as they are, numbers and
// booleans written out, "" when missing or null, other values as JSON.
std::string cell(const nlohmann::json& object, const char* key);

// `text` cut to `max` code points, ending in "..." when cut.
std::string shorten(const std::string& text, std::size_t max);

}  // namespace waflow::cli
