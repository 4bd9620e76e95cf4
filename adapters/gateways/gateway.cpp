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

}  // namespace waflow::gateways
