#include "adapters/ai/chat.h"

namespace waflow::ai {

bool counts_against_target(const AiError& error) {
  switch (error.reason) {
    case Reason::RateLimit:
    case Reason::Overloaded:
    case Reason::Server:
    case Reason::Timeout:
    case Reason::Connection:
    case Reason::ModelUnavailable:
    case Reason::Auth:
    case Reason::Permission:
    case Reason::Billing:
    case Reason::Quota:
      return true;
    // These say something about one request (or nothing about the target at all).
    case Reason::Conflict:
    case Reason::ContextWindow:
    case Reason::ContentPolicy:
    case Reason::InvalidOutput:
    case Reason::BadRequest:
    case Reason::Unsupported:
    case Reason::NoTarget:
      return false;
  }
  return false;
}

bool may_fail_over(const AiError& error) {
  // A 400 means the request itself is wrong; the next model would be sent the same request
  // and billed for the same refusal. Every other failure belongs to the target (its account,
  // its health, its limits), and the next model has its own.
  return !(error.error_class == ErrorClass::Fatal && error.reason == Reason::BadRequest);
}

std::string_view class_name(ErrorClass c) {
  switch (c) {
    case ErrorClass::Retry:
      return "retry";
    case ErrorClass::Failover:
      return "failover";
    case ErrorClass::Fatal:
      return "fatal";
  }
  return "fatal";
}

std::string_view reason_name(Reason r) {
  switch (r) {
    case Reason::RateLimit:
      return "rate_limit";
    case Reason::Overloaded:
      return "overloaded";
    case Reason::Server:
      return "server_error";
    case Reason::Timeout:
      return "timeout";
    case Reason::Connection:
      return "connection";
    case Reason::Conflict:
      return "conflict";
    case Reason::ModelUnavailable:
      return "model_unavailable";
    case Reason::ContextWindow:
      return "context_window";
    case Reason::ContentPolicy:
      return "content_policy";
    case Reason::InvalidOutput:
      return "invalid_output";
    case Reason::BadRequest:
      return "bad_request";
    case Reason::Auth:
      return "auth";
    case Reason::Permission:
      return "permission";
    case Reason::Billing:
      return "billing";
    case Reason::Quota:
      return "quota";
    case Reason::Unsupported:
      return "unsupported";
    case Reason::NoTarget:
      return "no_target";
  }
  return "unknown";
}

std::string_view finish_name(FinishReason f) {
  switch (f) {
    case FinishReason::Stop:
      return "stop";
    case FinishReason::Length:
      return "length";
    case FinishReason::ToolCalls:
      return "tool_calls";
    case FinishReason::ContentFilter:
      return "content_filter";
    case FinishReason::Other:
      return "other";
  }
  return "other";
}

}  // namespace waflow::ai
