#include "compiler/frontend.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "compiler/ir/walk.h"

namespace waflow {

namespace fs = std::filesystem;

SourceFormat format_of_path(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".wf") {
    return SourceFormat::Dsl;
  }
  if (ext == ".yaml" || ext == ".yml") {
    return SourceFormat::Yaml;
  }
  if (ext == ".json") {
    return SourceFormat::Visual;
  }
  return SourceFormat::Unknown;
}

ir::Module parse_source(const SourceManager& sources, FileId file, SourceFormat format,
                        Diagnostics& diags) {
  const std::string& text = sources.file(file).text;
  const std::size_t bad = utf8_invalid_offset(text);
  if (bad != std::string::npos) {
    const auto at = static_cast<std::uint32_t>(bad);
    diags.report(DiagnosticKind::InvalidUtf8, SourceSpan{file, at, at + 1});
    ir::Module empty;
    empty.file = file;
    return empty;
  }
  switch (format) {
    case SourceFormat::Dsl:
      return parse_dsl(sources, file, diags);
    case SourceFormat::Yaml:
      return parse_yaml(sources, file, diags);
    case SourceFormat::Visual:
      return parse_visual(sources, file, diags);
    case SourceFormat::Unknown:
      diags.report(DiagnosticKind::UnknownFileType, SourceSpan{}, sources.file(file).path);
      break;
  }
  ir::Module empty;
  empty.file = file;
  return empty;
}

std::vector<std::string> expand_paths(const std::vector<std::string>& paths, Diagnostics& diags) {
  std::set<std::string> files;
  for (const std::string& path : paths) {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      diags.report(DiagnosticKind::CannotRead, SourceSpan{}, path, "no such file or directory");
      continue;
    }
    if (fs::is_directory(status)) {
      for (auto it = fs::recursive_directory_iterator(path, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        // Transcript tests (*.test.yaml, docs/testing.md) live next to flows but are not flows.
        const std::string name = it->path().filename().string();
        if (it->is_regular_file() && !name.ends_with(".test.yaml") &&
            !name.ends_with(".test.yml") &&
            format_of_path(it->path().string()) != SourceFormat::Unknown) {
          files.insert(it->path().lexically_normal().string());
        }
      }
      if (ec) {
        diags.report(DiagnosticKind::CannotRead, SourceSpan{}, path, ec.message());
      }
      continue;
    }
    if (format_of_path(path) == SourceFormat::Unknown) {
      diags.report(DiagnosticKind::UnknownFileType, SourceSpan{}, path);
      continue;
    }
    files.insert(fs::path(path).lexically_normal().string());
  }
  return {files.begin(), files.end()};
}

ir::Project load_project(const std::vector<std::string>& paths, SourceManager& sources,
                         Diagnostics& diags) {
  ir::Project project;
  for (const std::string& path : expand_paths(paths, diags)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      diags.report(DiagnosticKind::CannotRead, SourceSpan{}, path, "cannot open the file");
      continue;
    }
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg()));
    if (size > kMaxSourceBytes) {
      const FileId id = sources.add(path, "");
      diags.report(DiagnosticKind::FileTooLarge, SourceSpan{id, 0, 0}, size, kMaxSourceBytes);
      continue;
    }
    in.seekg(0);
    std::string text(size, '\0');
    in.read(text.data(), static_cast<std::streamsize>(size));
    const FileId id = sources.add(path, std::move(text));
    project.modules.push_back(parse_source(sources, id, format_of_path(path), diags));
  }
  assign_step_ids(project);
  return project;
}

namespace {

struct DerivedBase {
  std::string operator()(const ir::AskStep& s) const { return "ask_" + s.var.name; }
  std::string operator()(const ir::HttpStep& s) const {
    return s.var ? "http_" + s.var->name : "http";
  }
  std::string operator()(const ir::AiExtractStep& s) const { return "extract_" + s.var.name; }
  std::string operator()(const ir::AiClassifyStep& s) const { return "classify_" + s.var.name; }
  std::string operator()(const ir::StoreStep& s) const {
    return s.var ? "store_" + s.var->name : "store";
  }
  std::string operator()(const ir::AiReplyStep&) const { return "ai_reply"; }
  std::string operator()(const auto& s) const { return ir::step_keyword(ir::StepBody(s)); }
};

std::string derived_base(const ir::Step& step) {
  return std::visit(DerivedBase{}, step.body);
}

}  // namespace

void assign_step_ids(ir::Flow& flow) {
  std::set<std::string> taken;
  ir::for_each_step(flow.steps, [&](ir::Step& step) {
    if (step.explicit_id) {
      taken.insert(step.id);
    }
  });
  std::map<std::string, int> counters;
  ir::for_each_step(flow.steps, [&](ir::Step& step) {
    if (step.explicit_id) {
      return;
    }
    std::string base = derived_base(step);
    std::replace(base.begin(), base.end(), ' ', '_');
    const bool numbered = base.find('_') == std::string::npos || base == "ai_reply";
    std::string id;
    do {
      const int n = ++counters[base];
      id = numbered ? base + "_" + std::to_string(n)
                    : (n == 1 ? base : base + "_" + std::to_string(n));
    } while (taken.count(id) != 0);
    taken.insert(id);
    step.id = id;
  });
}

void assign_step_ids(ir::Project& project) {
  for (ir::Module& module : project.modules) {
    for (ir::Flow& flow : module.flows) {
      assign_step_ids(flow);
    }
  }
}

}  // namespace waflow
