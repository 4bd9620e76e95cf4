// Node types and handles of the visual format.

#include "compiler/visual/node_types.h"

namespace waflow::visual {

const std::vector<std::string>& node_type_names() {
  static const std::vector<std::string> names = {
      "start",      "message",   "image",       "audio",       "video",     "document",
      "sticker",    "location",  "template",    "typing",      "buttons",   "list",
      "user_reply", "ai_prompt", "ai_question", "ai_classify", "condition", "switch",
      "set",        "api_call",  "store",       "delay",       "stage",     "tag",
      "handoff",    "call",      "goto",        "return",      "end"};
  return names;
}

std::string node_type_of(const ir::StepBody& body) {
  struct Visitor {
    std::string operator()(const ir::SayStep&) const { return "message"; }
    std::string operator()(const ir::MediaStep& s) const { return ir::media_kind_name(s.kind); }
    std::string operator()(const ir::LocationStep&) const { return "location"; }
    std::string operator()(const ir::TemplateStep&) const { return "template"; }
    std::string operator()(const ir::TypingStep&) const { return "typing"; }
    std::string operator()(const ir::AskStep& s) const {
      if (!s.options.buttons.empty()) {
        return "buttons";
      }
      return s.options.has_list() ? "list" : "user_reply";
    }
    std::string operator()(const ir::AiReplyStep&) const { return "ai_prompt"; }
    std::string operator()(const ir::AiExtractStep&) const { return "ai_question"; }
    std::string operator()(const ir::AiClassifyStep&) const { return "ai_classify"; }
    std::string operator()(const ir::IfStep&) const { return "condition"; }
    std::string operator()(const ir::MatchStep&) const { return "switch"; }
    std::string operator()(const ir::SetStep&) const { return "set"; }
    std::string operator()(const ir::GotoStep&) const { return "goto"; }
    std::string operator()(const ir::CallStep&) const { return "call"; }
    std::string operator()(const ir::ReturnStep&) const { return "return"; }
    std::string operator()(const ir::StageStep&) const { return "stage"; }
    std::string operator()(const ir::TagStep&) const { return "tag"; }
    std::string operator()(const ir::HttpStep&) const { return "api_call"; }
    std::string operator()(const ir::StoreStep&) const { return "store"; }
    std::string operator()(const ir::DelayStep&) const { return "delay"; }
    std::string operator()(const ir::HandoffStep&) const { return "handoff"; }
    std::string operator()(const ir::EndStep&) const { return "end"; }
  };
  return std::visit(Visitor{}, body);
}

NodeShape shape_of(const ir::StepBody& body) {
  if (std::holds_alternative<ir::GotoStep>(body) || std::holds_alternative<ir::EndStep>(body) ||
      std::holds_alternative<ir::ReturnStep>(body)) {
    return NodeShape::Terminal;
  }
  if (std::holds_alternative<ir::IfStep>(body) || std::holds_alternative<ir::MatchStep>(body) ||
      std::holds_alternative<ir::AiClassifyStep>(body)) {
    return NodeShape::Branching;
  }
  if (std::holds_alternative<ir::AskStep>(body) || std::holds_alternative<ir::AiReplyStep>(body) ||
      std::holds_alternative<ir::AiExtractStep>(body) ||
      std::holds_alternative<ir::HttpStep>(body)) {
    return NodeShape::Fixed;
  }
  return NodeShape::Linear;
}

std::vector<HandleSpec> exit_handles(const ir::StepBody& body) {
  std::vector<HandleSpec> out;
  if (const auto* ask = std::get_if<ir::AskStep>(&body)) {
    if (ask->has_invalid) {
      out.push_back({"invalid", ExitRole::Optional});
    }
    if (ask->timeout) {
      out.push_back({"timeout", ExitRole::Optional});
    }
  } else if (const auto* reply = std::get_if<ir::AiReplyStep>(&body)) {
    if (reply->has_error) {
      out.push_back({"error", ExitRole::Optional});
    }
  } else if (const auto* http = std::get_if<ir::HttpStep>(&body)) {
    if (http->has_error) {
      out.push_back({"error", ExitRole::Optional});
    }
  } else if (const auto* extract = std::get_if<ir::AiExtractStep>(&body)) {
    if (extract->has_invalid) {
      out.push_back({"invalid", ExitRole::Optional});
    }
    if (extract->has_error) {
      out.push_back({"error", ExitRole::Optional});
    }
  } else if (const auto* classify = std::get_if<ir::AiClassifyStep>(&body)) {
    for (const ir::Intent& intent : classify->intents) {
      // An intent may have no steps (the run carries on after the classifier).
      out.push_back({"intent-" + intent.name, ExitRole::Optional});
    }
    out.push_back({"other", ExitRole::Default});
    if (classify->has_error) {
      out.push_back({"error", ExitRole::Optional});
    }
  } else if (const auto* branch = std::get_if<ir::IfStep>(&body)) {
    for (std::size_t i = 0; i < branch->branches.size(); ++i) {
      out.push_back(
          {i == 0 ? std::string("then") : "elif-" + std::to_string(i), ExitRole::Mandatory});
    }
    out.push_back({"else", ExitRole::Default});
  } else if (const auto* match = std::get_if<ir::MatchStep>(&body)) {
    for (std::size_t i = 0; i < match->cases.size(); ++i) {
      out.push_back({"case-" + std::to_string(i), ExitRole::Mandatory});
    }
    out.push_back({"else", ExitRole::Default});
  }
  return out;
}

}  // namespace waflow::visual
