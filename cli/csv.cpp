// The CSV reader of `waflow send --to-file`: one pass, a small state machine.

#include "cli/csv.h"

namespace waflow::cli {

namespace {

std::string trim(const std::string& text) {
  const std::size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) {
    return "";
  }
  const std::size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

Error fail(const std::string& name, std::size_t line, const std::string& message) {
  return Error{ErrorCode::InvalidInput, name + ":" + std::to_string(line) + ": " + message};
}

}  // namespace

Result<CsvTable> parse_csv(std::string_view text, const std::string& name) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    text.remove_prefix(3);
  }
  std::vector<CsvRecord> records;
  CsvRecord record;
  std::string field;
  std::size_t line = 1;
  record.line = 1;
  bool in_quotes = false;
  bool quoted = false;  // The current field was quoted: only spaces may follow the quote.
  bool after_quote = false;
  std::size_t quote_line = 0;
  const auto end_record = [&] {
    record.fields.push_back(std::move(field));
    field.clear();
    // A blank line is one empty unquoted field: no record.
    if (!(record.fields.size() == 1 && record.fields[0].empty() && !quoted)) {
      records.push_back(std::move(record));
    }
    record = CsvRecord{};
    quoted = false;
    after_quote = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
          after_quote = true;
        }
      } else {
        if (c == '\n') {
          ++line;
        }
        field += c;
      }
      continue;
    }
    if (c == ',') {
      record.fields.push_back(std::move(field));
      field.clear();
      quoted = false;
      after_quote = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
      end_record();
      ++line;
      record.line = line;
    } else if (c == '"') {
      if (quoted || !trim(field).empty()) {
        return fail(name, line,
                    "a quote inside an unquoted field (quote the whole field and double the "
                    "quotes inside: \"say \"\"hi\"\"\")");
      }
      field.clear();  // Spaces before the opening quote do not count.
      in_quotes = true;
      quoted = true;
      quote_line = line;
    } else if (after_quote) {
      if (c != ' ' && c != '\t') {
        return fail(name, line, "text after the closing quote of a field");
      }
    } else {
      field += c;
    }
  }
  if (in_quotes) {
    return fail(name, quote_line, "a quoted field is not closed before the end of the file");
  }
  if (!field.empty() || !record.fields.empty() || quoted) {
    end_record();
  }
  if (records.empty()) {
    return Error{ErrorCode::InvalidInput, name + ": the file is empty (expected a header row)"};
  }
  CsvTable table;
  for (const std::string& column : records[0].fields) {
    table.header.push_back(trim(column));
  }
  for (std::size_t i = 0; i < table.header.size(); ++i) {
    if (table.header[i].empty()) {
      return fail(name, records[0].line,
                  "column " + std::to_string(i + 1) + " of the header has no name");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (table.header[j] == table.header[i]) {
        return fail(name, records[0].line,
                    "the header names the column '" + table.header[i] + "' twice");
      }
    }
  }
  for (std::size_t r = 1; r < records.size(); ++r) {
    if (records[r].fields.size() != table.header.size()) {
      return fail(name, records[r].line,
                  "the row has " + std::to_string(records[r].fields.size()) +
                      (records[r].fields.size() == 1 ? " field" : " fields") + "; the header has " +
                      std::to_string(table.header.size()));
    }
    table.rows.push_back(std::move(records[r]));
  }
  return table;
}

}  // namespace waflow::cli
