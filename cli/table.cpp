// Tables and cells of the remote commands' human output.

#include "cli/table.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace waflow::cli {

namespace {

bool continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::size_t width(const std::string& text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return !continuation(c); }));
}

std::string one_line(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      c = ' ';
    }
  }
  return out;
}

}  // namespace

std::string render_table(const TableRow& header, const std::vector<TableRow>& rows) {
  std::vector<std::size_t> widths(header.size(), 0);
  const auto measure = [&](const TableRow& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], width(one_line(row[i])));
    }
  };
  measure(header);
  for (const TableRow& row : rows) {
    measure(row);
  }
  std::string out;
  const auto write = [&](const TableRow& row) {
    std::string line;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string text = i < row.size() ? one_line(row[i]) : "";
      line += text;
      if (i + 1 < widths.size()) {
        line.append(widths[i] - width(text) + 2, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out += line + '\n';
  };
  write(header);
  for (const TableRow& row : rows) {
    write(row);
  }
  return out;
}

std::string cell(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) {
    return "";
  }
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return "";
  }
  if (it->is_string()) {
    return it->get<std::string>();
  }
  return it->dump();
}

std::string shorten(const std::string& text, std::size_t max) {
  max = std::max<std::size_t>(max, 4);
  if (width(text) <= max) {
    return text;
  }
  std::string out;
  std::size_t points = 0;
  for (const char c : text) {
    if (!continuation(c)) {
      if (points == max - 3) {
        break;
      }
      ++points;
    }
    out += c;
  }
  return out + "...";
}

}  // namespace waflow::cli
