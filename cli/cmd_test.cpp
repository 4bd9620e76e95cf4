// waflow test [FILES|DIRS...]: runs transcript tests (*.test.yaml) against the
// flows next to them, with node and edge coverage.
//
// Each transcript builds the flows of its folder (or the files its `flows:` key
// names) in-process, once per distinct set of files, and runs every test on a
// fresh host session (runtime/host). Coverage joins what the runs went through
// (host::CoverageRecorder) with what the flows could go through: the steps and
// edges of each flow's control-flow graph, from the compiler. The flows counted
// are those the tests built and, for folders given on the command line, every
// flow file of every folder holding a transcript, so an untested flow shows up
// at 0%.
//
// With --ai-config, the AI steps no mock answers call the models of the file's
// `ai:` section (cli/serve_ai.h, as `waflow sim` and `waflow serve` do), and each
// test waits for their answers; a transcript's AI mocks still answer the steps
// they fit.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "cli/commands.h"
#include "cli/serve_ai.h"
#include "cli/version.h"
#include "compiler/checks/cfg.h"
#include "compiler/checks/checks.h"
#include "compiler/codegen/codegen.h"
#include "compiler/frontend.h"
#include "compiler/ir/walk.h"
#include "compiler/render.h"
#include "runtime/host/runner.h"

namespace waflow::cli {

namespace {

namespace fs = std::filesystem;

struct TestOptions {
  std::vector<std::string> paths;
  std::string junit;
  bool coverage = false;
  std::string coverage_json;
  double min_coverage = -1;
  std::string filter;
  std::string ai_config;
};

bool is_transcript(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.ends_with(".test.yaml") || name.ends_with(".test.yml");
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

// The flow files directly in a folder (transcripts excluded), sorted.
std::vector<std::string> flow_files_in(const fs::path& dir) {
  std::set<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string path = entry.path().lexically_normal().string();
    if (entry.is_regular_file() && !is_transcript(entry.path()) &&
        format_of_path(path) != SourceFormat::Unknown) {
      files.insert(path);
    }
  }
  return {files.begin(), files.end()};
}

// A compiled set of flow files, shared by the transcripts that name the same files.
struct Build {
  std::vector<std::string> files;
  bool ok = false;
  std::string diagnostics;
  std::size_t errors = 0;
  bytecode::Bundle bundle;
  std::map<std::string, std::string> flow_file;  // Flow name -> its file.
  host::CoverageRecorder coverage;
};

std::unique_ptr<Build> build(const std::vector<std::string>& files) {
  auto b = std::make_unique<Build>();
  b->files = files;
  SourceManager sources;
  Diagnostics diags;
  const ir::Project project = load_project(files, sources, diags);
  check_project(project, sources, diags);
  diags.sort(sources);
  b->errors = diags.error_count();
  if (diags.has_errors()) {
    std::vector<Diagnostic> errors;
    for (const Diagnostic& d : diags.all()) {
      if (d.severity == Severity::Error) {
        errors.push_back(d);
      }
    }
    b->diagnostics = render_diagnostics(errors, sources, RenderOptions{});
    return b;
  }
  for (const ir::Module& m : project.modules) {
    for (const ir::Flow& f : m.flows) {
      b->flow_file[f.name] = sources.file(m.file).path;
    }
  }
  Result<bytecode::Bundle> loaded = bytecode::load_bundle(
      bytecode::write_bundle(generate_bundle(project, sources, std::string("waflow ") + kVersion)));
  if (!loaded) {
    b->diagnostics =
        "internal error: the bundle fails verification: " + loaded.error().message + "\n";
    b->errors = 1;
    return b;
  }
  b->bundle = std::move(loaded).value();
  b->ok = true;
  return b;
}

// --- Coverage ---------------------------------------------------------------------

using Edge = std::pair<std::string, std::string>;

struct FlowTotals {
  std::string file;
  std::string flow;
  std::vector<std::string> steps;  // In source order.
  std::vector<Edge> edges;         // In source order; "" is the exit.
  std::set<std::string> seen_steps;
  std::set<Edge> seen_edges;
};

// Every step and edge of each flow of `file`, from its control-flow graph.
void add_universe(const std::string& file,
                  std::map<std::pair<std::string, std::string>, FlowTotals>& out) {
  SourceManager sources;
  Diagnostics diags;
  const ir::Project project = load_project({file}, sources, diags);
  for (const ir::Module& m : project.modules) {
    for (const ir::Flow& f : m.flows) {
      FlowTotals& t = out[{file, f.name}];
      t.file = file;
      t.flow = f.name;
      t.steps.clear();
      t.edges.clear();
      const checks::Cfg cfg = checks::build_cfg(f);
      std::set<Edge> unique;
      for (std::size_t n = 0; n < cfg.nodes.size(); ++n) {
        const ir::Step* step = cfg.nodes[n].step;
        if (step == nullptr) {
          continue;
        }
        t.steps.push_back(step->id);
        for (const checks::CfgEdge& e : cfg.nodes[n].successors) {
          const ir::Step* to = cfg.nodes[e.to].step;
          const Edge edge{step->id, to != nullptr ? to->id : std::string()};
          if (unique.insert(edge).second) {
            t.edges.push_back(edge);
          }
        }
      }
    }
  }
}

double percent(std::size_t covered, std::size_t total) {
  return total == 0 ? 100.0 : 100.0 * static_cast<double>(covered) / static_cast<double>(total);
}

std::size_t covered_steps(const FlowTotals& t) {
  std::size_t n = 0;
  for (const std::string& s : t.steps) {
    n += t.seen_steps.count(s);
  }
  return n;
}

std::size_t covered_edges(const FlowTotals& t) {
  std::size_t n = 0;
  for (const Edge& e : t.edges) {
    n += t.seen_edges.count(e);
  }
  return n;
}

// One row per flow: steps and edges covered, and the steps never reached.
void print_coverage(const std::vector<const FlowTotals*>& flows) {
  int flow_width = 5;
  int file_width = 4;
  for (const FlowTotals* t : flows) {
    flow_width = std::max(flow_width, static_cast<int>(t->flow.size()));
    file_width = std::max(file_width, static_cast<int>(t->file.size()));
  }
  std::printf("\ncoverage\n  %-*s  %-*s  %-16s  %s\n", flow_width, "flow", file_width, "file",
              "steps", "edges");
  auto row = [&](const std::string& flow, const std::string& file, std::size_t s, std::size_t st,
                 std::size_t e, std::size_t et) {
    char cell_s[32];
    char cell_e[32];
    std::snprintf(cell_s, sizeof cell_s, "%zu/%zu", s, st);
    std::snprintf(cell_e, sizeof cell_e, "%zu/%zu", e, et);
    std::printf("  %-*s  %-*s  %-8s %6.1f%%  %-8s %6.1f%%\n", flow_width, flow.c_str(), file_width,
                file.c_str(), cell_s, percent(s, st), cell_e, percent(e, et));
  };
  std::size_t steps = 0;
  std::size_t all_steps = 0;
  std::size_t edges = 0;
  std::size_t all_edges = 0;
  for (const FlowTotals* t : flows) {
    const std::size_t s = covered_steps(*t);
    const std::size_t e = covered_edges(*t);
    row(t->flow, t->file, s, t->steps.size(), e, t->edges.size());
    if (s < t->steps.size() && s > 0) {
      std::string missed;
      for (const std::string& id : t->steps) {
        if (t->seen_steps.count(id) == 0) {
          missed += (missed.empty() ? "" : ", ") + id;
        }
      }
      std::printf("    never reached: %s\n", missed.c_str());
    }
    steps += s;
    all_steps += t->steps.size();
    edges += e;
    all_edges += t->edges.size();
  }
  row("total", "", steps, all_steps, edges, all_edges);
}

bool write_coverage_json(const std::vector<const FlowTotals*>& flows, const std::string& path) {
  using vm::Value;
  auto summary = [](std::size_t covered, std::size_t total, Value::List missed) {
    return Value::object({{"covered", Value::number(static_cast<double>(covered))},
                          {"total", Value::number(static_cast<double>(total))},
                          {"percent", Value::number(std::round(percent(covered, total) * 10) / 10)},
                          {"missed", Value::list(std::move(missed))}});
  };
  Value::List list;
  std::size_t steps = 0;
  std::size_t all_steps = 0;
  std::size_t edges = 0;
  std::size_t all_edges = 0;
  for (const FlowTotals* t : flows) {
    Value::List missed_steps;
    for (const std::string& s : t->steps) {
      if (t->seen_steps.count(s) == 0) {
        missed_steps.push_back(Value::text(s));
      }
    }
    Value::List missed_edges;
    for (const Edge& e : t->edges) {
      if (t->seen_edges.count(e) == 0) {
        missed_edges.push_back(
            Value::object({{"from", Value::text(e.first)},
                           {"to", e.second.empty() ? Value() : Value::text(e.second)}}));
      }
    }
    const std::size_t s = covered_steps(*t);
    const std::size_t e = covered_edges(*t);
    list.push_back(
        Value::object({{"file", Value::text(t->file)},
                       {"flow", Value::text(t->flow)},
                       {"steps", summary(s, t->steps.size(), std::move(missed_steps))},
                       {"edges", summary(e, t->edges.size(), std::move(missed_edges))}}));
    steps += s;
    all_steps += t->steps.size();
    edges += e;
    all_edges += t->edges.size();
  }
  const Value doc =
      Value::object({{"flows", Value::list(std::move(list))},
                     {"total", Value::object({{"steps", summary(steps, all_steps, {})},
                                              {"edges", summary(edges, all_edges, {})}})}});
  std::ofstream out(path, std::ios::trunc);
  out << vm::to_json(doc) << "\n";
  return static_cast<bool>(out);
}

// --- JUnit --------------------------------------------------------------------------

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

struct CaseResult {
  std::string name;
  bool passed = true;
  std::string message;  // One line.
  std::string details;  // The full report.
  double seconds = 0;
};

struct SuiteResult {
  std::string path;
  std::vector<CaseResult> cases;
};

bool write_junit(const std::vector<SuiteResult>& suites, const std::string& path) {
  std::size_t tests = 0;
  std::size_t failures = 0;
  for (const SuiteResult& s : suites) {
    for (const CaseResult& c : s.cases) {
      ++tests;
      failures += c.passed ? 0 : 1;
    }
  }
  std::ofstream out(path, std::ios::trunc);
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuites name=\"waflow test\" tests=\"" << tests << "\" failures=\"" << failures
      << "\">\n";
  for (const SuiteResult& s : suites) {
    std::size_t f = 0;
    for (const CaseResult& c : s.cases) {
      f += c.passed ? 0 : 1;
    }
    out << "  <testsuite name=\"" << xml_escape(s.path) << "\" tests=\"" << s.cases.size()
        << "\" failures=\"" << f << "\">\n";
    for (const CaseResult& c : s.cases) {
      char time[32];
      std::snprintf(time, sizeof time, "%.3f", c.seconds);
      out << "    <testcase classname=\"" << xml_escape(s.path) << "\" name=\""
          << xml_escape(c.name) << "\" time=\"" << time << "\"";
      if (c.passed) {
        out << "/>\n";
      } else {
        out << ">\n      <failure message=\"" << xml_escape(c.message) << "\">"
            << xml_escape(c.details) << "</failure>\n    </testcase>\n";
      }
    }
    out << "  </testsuite>\n";
  }
  out << "</testsuites>\n";
  return static_cast<bool>(out);
}

// --- Running ------------------------------------------------------------------------

std::string failure_report(const std::string& path, const host::TestOutcome& o) {
  std::string r = path + ":" + std::to_string(o.line) + ": " + o.message + "\n";
  if (!o.transcript.empty()) {
    r += "  conversation so far:\n";
    for (const std::string& line : o.transcript) {
      r += "    " + line + "\n";
    }
  }
  if (!o.expected.empty() || !o.actual.empty()) {
    r += "  - expected\n  + actual\n";
    for (const std::string& line : o.expected) {
      r += "    - " + line + "\n";
    }
    for (const std::string& line : o.actual) {
      r += "    + " + line + "\n";
    }
  }
  return r;
}

int run_tests(const TestOptions& options) {
  // Declared first, so the router shuts down before the client it sends through; made only
  // for --ai-config, so plain runs start no HTTP thread.
  std::unique_ptr<http::HttpClient> client;
  AiRuntime ai;
  std::unique_ptr<ModelResponder> models;
  if (!options.ai_config.empty()) {
    client = std::make_unique<http::HttpClient>();
    Result<server::AiConfig> config = server::load_ai_config(options.ai_config);
    Result<AiRuntime> made =
        config ? make_ai_runtime(config.value(), *client) : Result<AiRuntime>(config.error());
    if (!made) {
      std::fprintf(stderr, "waflow: error: %s\n", made.error().message.c_str());
      return kExitErrors;
    }
    ai = std::move(made).value();
    if (ai.runner) {
      models = std::make_unique<ModelResponder>(*ai.runner);
    }
  }
  host::RunOptions run_options;
  run_options.ai_fallback = models.get();
  const std::vector<std::string> paths =
      options.paths.empty() ? std::vector<std::string>{"."} : options.paths;
  std::set<std::string> transcripts;
  std::set<std::string> scanned;  // Transcripts found in folders (not named one by one).
  int status = kExitOk;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (auto it = fs::recursive_directory_iterator(p, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file() && is_transcript(it->path())) {
          transcripts.insert(it->path().lexically_normal().string());
          scanned.insert(it->path().lexically_normal().string());
        }
      }
    } else if (fs::is_regular_file(p, ec)) {
      transcripts.insert(fs::path(p).lexically_normal().string());
    } else {
      std::fprintf(stderr, "waflow: error: %s: no such file or directory\n", p.c_str());
      status = kExitErrors;
    }
  }
  if (transcripts.empty()) {
    std::fprintf(stderr, "waflow: error: no transcript tests (*.test.yaml) found\n");
    return kExitErrors;
  }
  const bool want_coverage =
      options.coverage || !options.coverage_json.empty() || options.min_coverage >= 0;
  std::map<std::vector<std::string>, std::unique_ptr<Build>> builds;
  std::map<std::pair<std::string, std::string>, FlowTotals> totals;
  std::set<std::string> universe;
  std::vector<SuiteResult> suites;
  std::size_t passed = 0;
  std::size_t failed = 0;
  for (const std::string& path : transcripts) {
    SuiteResult suite{path, {}};
    std::string text;
    if (!read_file(path, text)) {
      std::fprintf(stderr, "%s: error: cannot read the file\n", path.c_str());
      suite.cases.push_back(CaseResult{"(transcript)", false, "cannot read the file", "", 0});
      ++failed;
      suites.push_back(std::move(suite));
      continue;
    }
    const host::TranscriptParse parsed = host::parse_transcript(text);
    for (const host::TranscriptError& e : parsed.errors) {
      const std::string line = path + ":" + std::to_string(e.line) + ":" +
                               std::to_string(e.column) + ": error: " + e.message;
      std::fprintf(stderr, "%s\n", line.c_str());
      suite.cases.push_back(CaseResult{"(transcript)", false, e.message, line, 0});
      ++failed;
    }
    if (parsed.transcript.tests.empty()) {
      suites.push_back(std::move(suite));
      continue;
    }
    const fs::path dir =
        fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path();
    std::vector<std::string> files;
    for (const std::string& f : parsed.transcript.flows) {
      files.push_back((dir / f).lexically_normal().string());
    }
    const std::vector<std::string> folder = flow_files_in(dir);
    if (scanned.count(path) != 0) {
      universe.insert(folder.begin(), folder.end());
    }
    if (files.empty()) {
      files = folder;
    }
    universe.insert(files.begin(), files.end());
    std::printf("%s\n", path.c_str());
    auto found = builds.find(files);
    if (found == builds.end()) {
      found = builds.emplace(files, build(files)).first;
    }
    Build& b = *found->second;
    for (const host::TranscriptTest& test : parsed.transcript.tests) {
      if (!options.filter.empty() && test.name.find(options.filter) == std::string::npos) {
        continue;
      }
      CaseResult result;
      result.name = test.name;
      if (!b.ok) {
        result.passed = false;
        result.message = "the flows do not build (" + std::to_string(b.errors) + " errors)";
        result.details = b.diagnostics;
      } else {
        const auto start = std::chrono::steady_clock::now();
        const host::TestOutcome outcome = host::run_test(
            b.bundle, parsed.transcript, test, want_coverage ? &b.coverage : nullptr, run_options);
        result.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        result.passed = outcome.passed;
        if (!outcome.passed) {
          result.message = "line " + std::to_string(outcome.line) + ": " + outcome.message;
          result.details = failure_report(path, outcome);
        }
      }
      std::printf("  %-4s %s\n", result.passed ? "ok" : "FAIL", test.name.c_str());
      if (!result.passed) {
        std::fputs(result.details.c_str(), stdout);
      }
      (result.passed ? passed : failed) += 1;
      suite.cases.push_back(std::move(result));
    }
    suites.push_back(std::move(suite));
  }
  std::printf("\n%zu passed, %zu failed\n", passed, failed);
  if (failed > 0) {
    status = kExitErrors;
  }
  if (!options.junit.empty() && !write_junit(suites, options.junit)) {
    std::fprintf(stderr, "waflow: error: cannot write '%s'\n", options.junit.c_str());
    status = kExitErrors;
  }
  if (!want_coverage) {
    return status;
  }
  for (const std::string& file : universe) {
    add_universe(file, totals);
  }
  for (const auto& [files, b] : builds) {
    for (const auto& [flow, seen] : b->coverage.flows()) {
      auto file = b->flow_file.find(flow);
      if (file == b->flow_file.end()) {
        continue;
      }
      auto t = totals.find({file->second, flow});
      if (t != totals.end()) {
        t->second.seen_steps.insert(seen.steps.begin(), seen.steps.end());
        t->second.seen_edges.insert(seen.edges.begin(), seen.edges.end());
      }
    }
  }
  std::vector<const FlowTotals*> flows;
  for (const auto& [key, t] : totals) {
    flows.push_back(&t);
  }
  if (options.coverage && !flows.empty()) {
    print_coverage(flows);
  }
  if (!options.coverage_json.empty() && !write_coverage_json(flows, options.coverage_json)) {
    std::fprintf(stderr, "waflow: error: cannot write '%s'\n", options.coverage_json.c_str());
    status = kExitErrors;
  }
  if (options.min_coverage >= 0) {
    for (const FlowTotals* t : flows) {
      const std::size_t s = covered_steps(*t);
      const double p = percent(s, t->steps.size());
      if (p + 1e-9 < options.min_coverage) {
        std::string missed;
        for (const std::string& id : t->steps) {
          if (t->seen_steps.count(id) == 0) {
            missed += (missed.empty() ? "" : ", ") + id;
          }
        }
        std::fprintf(stderr,
                     "waflow: error: flow %s (%s) covers %zu of %zu steps (%.1f%%), below "
                     "--min-coverage %g; never reached: %s\n",
                     t->flow.c_str(), t->file.c_str(), s, t->steps.size(), p, options.min_coverage,
                     missed.c_str());
        status = kExitErrors;
      }
    }
  }
  return status;
}

}  // namespace

void add_test_command(CLI::App& app, int& status) {
  auto options = std::make_shared<TestOptions>();
  CLI::App* cmd = app.add_subcommand("test", "Run transcript tests (*.test.yaml) with coverage");
  cmd->add_option("paths", options->paths, "Transcript files or directories (default: .)");
  cmd->add_option("--junit", options->junit, "Write the results as JUnit XML to FILE");
  cmd->add_flag("--coverage", options->coverage, "Print step and edge coverage per flow");
  cmd->add_option("--coverage-json", options->coverage_json, "Write coverage as JSON to FILE");
  cmd->add_option("--min-coverage", options->min_coverage,
                  "Fail when a flow's step coverage is below this percentage")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("-k,--filter", options->filter, "Run only the tests whose name contains TEXT");
  cmd->add_option("--ai-config", options->ai_config,
                  "Answer AI steps no mock answers with the models of this file's ai: section "
                  "(YAML)");
  cmd->callback([options, &status] { status = run_tests(*options); });
}

}  // namespace waflow::cli
