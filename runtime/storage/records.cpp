#include "runtime/storage/records.h"

#include "runtime/storage/turn.h"

namespace waflow::storage {

// These spellings are stored in the database: never change one.
const char* to_string(InboxKind kind) {
  switch (kind) {
    case InboxKind::Message:
      return "message";
    case InboxKind::Answer:
      return "answer";
    case InboxKind::Timer:
      return "timer";
    case InboxKind::Start:
      return "start";
    case InboxKind::Handback:
      return "handback";
    case InboxKind::Send:
      return "send";
  }
  return "message";
}

const char* to_string(OutboxStatus status) {
  switch (status) {
    case OutboxStatus::Pending:
      return "pending";
    case OutboxStatus::Inflight:
      return "inflight";
    case OutboxStatus::Sent:
      return "sent";
    case OutboxStatus::Failed:
      return "failed";
    case OutboxStatus::Dead:
      return "dead";
  }
  return "pending";
}

std::optional<InboxKind> parse_inbox_kind(std::string_view text) {
  for (InboxKind kind : {InboxKind::Message, InboxKind::Answer, InboxKind::Timer, InboxKind::Start,
                         InboxKind::Handback, InboxKind::Send}) {
    if (text == to_string(kind)) {
      return kind;
    }
  }
  return std::nullopt;
}

std::optional<OutboxStatus> parse_outbox_status(std::string_view text) {
  for (OutboxStatus status : {OutboxStatus::Pending, OutboxStatus::Inflight, OutboxStatus::Sent,
                              OutboxStatus::Failed, OutboxStatus::Dead}) {
    if (text == to_string(status)) {
      return status;
    }
  }
  return std::nullopt;
}

}  // namespace waflow::storage
