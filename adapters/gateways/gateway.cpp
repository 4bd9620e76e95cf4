#include "adapters/gateways/gateway.h"

namespace waflow::gateways {

std::string_view outcome_name(SendOutcome outcome) {
  switch (outcome) {
    case SendOutcome::Sent:
      return "sent";
    case SendOutcome::Retry:
      return "retry";
    case SendOutcome::RateLimited:
      return "rate limited";
    case SendOutcome::OutsideWindow:
      return "outside window";
    case SendOutcome::Permanent:
      return "permanent";
  }
  return "unknown";
}

Result<OutboundRequest> Gateway::media_request(const vm::Value& /*message*/) const {
  return Error{ErrorCode::Unsupported,
               "the " + std::string(kind()) + " gateway does not download media"};
}

MediaAnswer Gateway::read_media(int /*step*/, int /*http_status*/, std::string_view /*body*/,
                                std::string_view /*content_type*/) const {
  MediaAnswer out;
  out.error = "the " + std::string(kind()) + " gateway does not download media";
  return out;
}

MediaAnswer media_failure(int http_status, std::string_view what) {
  MediaAnswer out;
  out.kind = MediaAnswer::Kind::Failed;
  // No answer, a timeout, a rate limit or a server error may pass; the rest will not.
  out.transient =
      http_status == 0 || http_status == 408 || http_status == 429 || http_status >= 500;
  out.error = std::string(what) +
              (http_status == 0 ? ": no answer" : ": HTTP status " + std::to_string(http_status));
  return out;
}

}  // namespace waflow::gateways
