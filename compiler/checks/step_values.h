#pragma once

// What one step reads and writes, for the variable and type checks.
//
// for_each_step_value visits the texts ({{templates}}) and top-level expressions a
// step evaluates itself, not those of its nested blocks, in the order it evaluates
// them. step_writes lists the variables a step sets. An http step without a
// variable sets each `map NAME` as a flow variable NAME; with one, the mappings
// are fields of that variable.

#include <vector>

#include "compiler/ir/flow.h"

namespace waflow::checks {

enum class WriteKind { Ask, Set, Http, Mapping, Store, AiReply, AiExtract, AiClassify };

struct StepWrite {
  ir::VarRef var;
  WriteKind kind;
};

template <typename OnText, typename OnExpr>
void for_each_options_value(const ir::Options& options, const OnText& on_text,
                            const OnExpr& /*on_expr*/) {
  for (const ir::Button& b : options.buttons) {
    on_text(b.title);
  }
  on_text(options.list_button);
  for (const ir::ListSection& s : options.sections) {
    on_text(s.title);
    for (const ir::ListRow& r : s.rows) {
      on_text(r.title);
      on_text(r.description);
    }
  }
}

template <typename OnText>
void for_each_ai_text(const ir::AiOptions& ai, const OnText& on_text) {
  on_text(ai.system);
  on_text(ai.prompt);
}

// Calls on_text(const ir::Text&) and on_expr(const ir::Expr&) for each value the
// step itself evaluates. Empty texts are passed too; callers skip them.
template <typename OnText, typename OnExpr>
void for_each_step_value(const ir::Step& step, const OnText& on_text, const OnExpr& on_expr) {
  std::visit(
      [&](const auto& s) {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, ir::SayStep>) {
          on_text(s.header);
          on_text(s.text);
          on_text(s.footer);
          for_each_options_value(s.options, on_text, on_expr);
        } else if constexpr (std::is_same_v<T, ir::MediaStep>) {
          on_text(s.source);
          on_text(s.caption);
          on_text(s.filename);
        } else if constexpr (std::is_same_v<T, ir::LocationStep>) {
          on_expr(s.latitude);
          on_expr(s.longitude);
          on_text(s.name);
          on_text(s.address);
        } else if constexpr (std::is_same_v<T, ir::TemplateStep>) {
          for (const ir::Text& p : s.params) {
            on_text(p);
          }
        } else if constexpr (std::is_same_v<T, ir::AskStep>) {
          on_text(s.prompt);
          for_each_options_value(s.options, on_text, on_expr);
          on_text(s.reprompt);
          for (const ir::Reminder& r : s.reminders) {
            on_text(r.text);
          }
        } else if constexpr (std::is_same_v<T, ir::AiReplyStep>) {
          for_each_ai_text(s.ai, on_text);
        } else if constexpr (std::is_same_v<T, ir::AiExtractStep>) {
          for_each_ai_text(s.ai, on_text);
          for (const ir::ExtractField& f : s.fields) {
            on_text(f.description);
          }
        } else if constexpr (std::is_same_v<T, ir::AiClassifyStep>) {
          for_each_ai_text(s.ai, on_text);
          if (s.input) {
            on_expr(*s.input);
          }
          for (const ir::Intent& i : s.intents) {
            on_text(i.description);
          }
        } else if constexpr (std::is_same_v<T, ir::IfStep>) {
          for (const ir::Branch& b : s.branches) {
            on_expr(b.condition);
          }
        } else if constexpr (std::is_same_v<T, ir::MatchStep>) {
          on_expr(s.subject);
          for (const ir::Case& c : s.cases) {
            for (const ir::Expr& v : c.values) {
              on_expr(v);
            }
          }
        } else if constexpr (std::is_same_v<T, ir::SetStep>) {
          on_expr(s.value);
        } else if constexpr (std::is_same_v<T, ir::HttpStep>) {
          on_text(s.url);
          for (const ir::Header& h : s.headers) {
            on_text(h.value);
          }
          if (s.json) {
            on_expr(*s.json);
          }
          on_text(s.body);
        } else if constexpr (std::is_same_v<T, ir::StoreStep>) {
          on_expr(s.record);
        } else if constexpr (std::is_same_v<T, ir::HandoffStep>) {
          on_text(s.note);
        }
      },
      step.body);
}

// The variables a step sets, in order.
inline std::vector<StepWrite> step_writes(const ir::Step& step) {
  std::vector<StepWrite> out;
  std::visit(
      [&](const auto& s) {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, ir::AskStep>) {
          out.push_back({s.var, WriteKind::Ask});
        } else if constexpr (std::is_same_v<T, ir::SetStep>) {
          out.push_back({s.var, WriteKind::Set});
        } else if constexpr (std::is_same_v<T, ir::HttpStep>) {
          if (s.var) {
            out.push_back({*s.var, WriteKind::Http});
          } else {
            for (const ir::Mapping& m : s.mappings) {
              out.push_back({ir::VarRef{ir::Scope::Flow, m.name, m.span}, WriteKind::Mapping});
            }
          }
        } else if constexpr (std::is_same_v<T, ir::StoreStep>) {
          if (s.var) {
            out.push_back({*s.var, WriteKind::Store});
          }
        } else if constexpr (std::is_same_v<T, ir::AiReplyStep>) {
          if (s.into) {
            out.push_back({*s.into, WriteKind::AiReply});
          }
        } else if constexpr (std::is_same_v<T, ir::AiExtractStep>) {
          out.push_back({s.var, WriteKind::AiExtract});
        } else if constexpr (std::is_same_v<T, ir::AiClassifyStep>) {
          out.push_back({s.var, WriteKind::AiClassify});
        }
      },
      step.body);
  return out;
}

// Calls on_text and on_expr for the values of a flow outside its steps: variable
// initialisers and default reminders. Tools are visited separately (their
// parameters are in scope inside them).
template <typename OnText, typename OnExpr>
void for_each_flow_value(const ir::Flow& flow, const OnText& on_text, const OnExpr& on_expr) {
  for (const ir::VarDecl& decl : flow.vars) {
    if (decl.init) {
      on_expr(*decl.init);
    }
  }
  for (const ir::Reminder& r : flow.reminders) {
    on_text(r.text);
  }
}

// The request values of a tool: URL, header values and JSON body.
template <typename OnText, typename OnExpr>
void for_each_tool_value(const ir::Tool& tool, const OnText& on_text, const OnExpr& on_expr) {
  on_text(tool.url);
  for (const ir::Header& h : tool.headers) {
    on_text(h.value);
  }
  if (tool.json) {
    on_expr(*tool.json);
  }
}

}  // namespace waflow::checks
