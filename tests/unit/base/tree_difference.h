#pragma once

// Field-by-field comparison of two YAML trees, for the tests and the fuzz target
// that hold the fast reader (runtime/base/yaml_fast.h) against yaml-cpp.

#include <cstddef>
#include <sstream>
#include <string>

#include "runtime/base/yaml_tree.h"

namespace waflow::yaml {

// The first difference between two trees, or "" when they are the same.
inline std::string difference(const Node* a, const Node* b, const std::string& path) {
  if (a == nullptr || b == nullptr) {
    return a == b ? "" : path + ": one side has no node";
  }
  std::ostringstream out;
  auto field = [&](const char* name, const auto& x, const auto& y) {
    if (!(x == y) && out.tellp() == 0) {
      out << path << ": " << name << " " << x << " != " << y;
    }
  };
  field("kind", static_cast<int>(a->kind), static_cast<int>(b->kind));
  field("value", a->value, b->value);
  field("tag", a->tag, b->tag);
  field("style", static_cast<int>(a->style), static_cast<int>(b->style));
  field("flow", a->flow, b->flow);
  field("line", a->line, b->line);
  field("column", a->column, b->column);
  field("span.file", a->span.file, b->span.file);
  field("span.begin", a->span.begin, b->span.begin);
  field("span.end", a->span.end, b->span.end);
  field("weight", a->weight, b->weight);
  field("items", a->items.size(), b->items.size());
  field("entries", a->entries.size(), b->entries.size());
  if (out.tellp() != 0) {
    return out.str();
  }
  for (std::size_t i = 0; i < a->items.size(); ++i) {
    std::string d =
        difference(a->items[i].get(), b->items[i].get(), path + "[" + std::to_string(i) + "]");
    if (!d.empty()) {
      return d;
    }
  }
  for (std::size_t i = 0; i < a->entries.size(); ++i) {
    const std::string at = path + "{" + std::to_string(i) + "}";
    std::string d = difference(a->entries[i].first.get(), b->entries[i].first.get(), at + ".key");
    if (d.empty()) {
      d = difference(a->entries[i].second.get(), b->entries[i].second.get(), at + ".value");
    }
    if (!d.empty()) {
      return d;
    }
  }
  return "";
}

inline std::string difference(const Tree& a, const Tree& b) {
  if (a.created != b.created) {
    return "created " + std::to_string(a.created) + " != " + std::to_string(b.created);
  }
  if (a.error.has_value() != b.error.has_value()) {
    return "one side has an error";
  }
  if (a.error) {
    const TreeError& x = *a.error;
    const TreeError& y = *b.error;
    if (x.kind != y.kind || x.message != y.message || x.line != y.line || x.column != y.column ||
        x.span.begin != y.span.begin || x.span.end != y.span.end) {
      return "errors differ: " + x.message + " / " + y.message;
    }
  }
  return difference(a.root.get(), b.root.get(), "root");
}

}  // namespace waflow::yaml
