// AI step checks: extract fields without a type (WF0601), classify without intents
// (WF0602), duplicate intent, field and tool parameter names (WF0603), extract
// without fields (WF0604), tools the flow does not declare (WF0211), and AI options
// out of range (WF0314: temperature 0..2, history 0..100, max_tokens above 0; the
// other uses of WF0314 belong to the type checks).

#include <algorithm>
#include <map>

#include "compiler/checks/passes.h"
#include "compiler/ir/walk.h"

namespace waflow::checks {

namespace {

constexpr double kMaxTemperature = 2.0;
constexpr int kMaxHistory = 100;

SourceSpan or_else(SourceSpan span, SourceSpan fallback) {
  return span.valid() ? span : fallback;
}

// Reports the second and later uses of a name, pointing back at the first.
class UniqueNames {
 public:
  explicit UniqueNames(Diagnostics& diags) : diags_(diags) {}

  void add(const std::string& name, SourceSpan span) {
    auto [it, inserted] = first_.emplace(name, span);
    if (!inserted) {
      diags_.report(DiagnosticKind::DuplicateName, span, name)
          .notes.push_back(Note{false, "first declared here", it->second});
    }
  }

 private:
  Diagnostics& diags_;
  std::map<std::string, SourceSpan> first_;
};

class AiChecks {
 public:
  explicit AiChecks(Diagnostics& diags) : diags_(diags) {}

  void flow(const ir::Flow& flow) {
    tool_names_.clear();
    for (const ir::Tool& tool : flow.tools) {
      tool_names_.push_back(tool.name);
      UniqueNames params(diags_);
      for (const ir::ToolParam& param : tool.params) {
        params.add(param.name, param.span);
      }
    }
    ir::for_each_step(flow.steps, [&](const ir::Step& step) { this->step(step); });
  }

 private:
  Diagnostics& diags_;
  std::vector<std::string> tool_names_;

  void step(const ir::Step& step) {
    if (const auto* reply = std::get_if<ir::AiReplyStep>(&step.body)) {
      options(step, reply->ai);
    } else if (const auto* extract = std::get_if<ir::AiExtractStep>(&step.body)) {
      options(step, extract->ai);
      if (extract->fields.empty()) {
        diags_.report(DiagnosticKind::NoFields, step.span)
            .notes.push_back(Note{true, "add 'field NAME: TYPE \"description\"'", {}});
      }
      UniqueNames names(diags_);
      for (const ir::ExtractField& field : extract->fields) {
        names.add(field.name, field.span);
        if (!field.type) {
          diags_.report(DiagnosticKind::FieldWithoutType, field.span, field.name)
              .notes.push_back(Note{true,
                                    fmt::format("declare it as 'field {}: text' (or number, "
                                                "email, phone, date, url, yesno...)",
                                                field.name),
                                    {}});
        }
      }
    } else if (const auto* classify = std::get_if<ir::AiClassifyStep>(&step.body)) {
      options(step, classify->ai);
      if (classify->intents.empty()) {
        diags_.report(DiagnosticKind::NoIntents, step.span)
            .notes.push_back(Note{true, "add 'intent NAME \"description\"' for each route", {}});
      }
      UniqueNames names(diags_);
      for (const ir::Intent& intent : classify->intents) {
        names.add(intent.name, intent.span);
      }
    }
  }

  void options(const ir::Step& step, const ir::AiOptions& ai) {
    for (std::size_t i = 0; i < ai.tools.size(); ++i) {
      const std::string& name = ai.tools[i];
      if (std::find(tool_names_.begin(), tool_names_.end(), name) == tool_names_.end()) {
        const SourceSpan span = i < ai.tool_spans.size() ? ai.tool_spans[i] : step.span;
        Diagnostic& d = diags_.report(DiagnosticKind::UnknownTool, span, name);
        suggest(d, name, tool_names_);
      }
    }
    if (ai.temperature && (*ai.temperature < 0 || *ai.temperature > kMaxTemperature)) {
      diags_.report(DiagnosticKind::OutOfRange, or_else(ai.temperature_span, step.span),
                    "temperature", "between 0 and 2");
    }
    if (ai.history && (*ai.history < 0 || *ai.history > kMaxHistory)) {
      diags_.report(DiagnosticKind::OutOfRange, or_else(ai.history_span, step.span), "history",
                    "between 0 and 100 messages");
    }
    if (ai.max_tokens && *ai.max_tokens <= 0) {
      diags_.report(DiagnosticKind::OutOfRange, or_else(ai.max_tokens_span, step.span),
                    "max_tokens", "greater than 0");
    }
  }
};

}  // namespace

void check_ai(const ir::Project& project, Diagnostics& diags) {
  AiChecks checks(diags);
  for (const ir::Module& module : project.modules) {
    for (const ir::Flow& flow : module.flows) {
      checks.flow(flow);
    }
  }
}

}  // namespace waflow::checks
