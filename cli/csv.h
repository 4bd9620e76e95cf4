#pragma once

// CSV as spreadsheets write it (RFC 4180), for `waflow send --to-file`: a header
// row, then one record per row. A field in double quotes may hold commas, line
// breaks and doubled quotes (""). CRLF and LF both end a record; a UTF-8 byte
// order mark at the start and blank lines are ignored. A record with another
// number of fields than the header is an error naming the line it starts on.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/result.h"

namespace waflow::cli {

struct CsvRecord {
  std::size_t line = 0;  // 1-based line of the file the record starts on.
  std::vector<std::string> fields;
};

struct CsvTable {
  std::vector<std::string> header;  // Names trimmed of surrounding spaces.
  std::vector<CsvRecord> rows;
};

// `name` prefixes error messages ("contacts.csv:7: ...").
Result<CsvTable> parse_csv(std::string_view text, const std::string& name);

}  // namespace waflow::cli
