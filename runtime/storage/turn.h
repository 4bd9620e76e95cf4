#pragma once

// What one turn of a conversation writes (TurnCommit) and the outbox and timer
// rows it creates. A turn is committed in one transaction or not at all.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/result.h"
#include "runtime/storage/records.h"

namespace waflow::storage {

// An external effect to perform after the commit: a gateway send, an AI or HTTP
// call, an event webhook. Rows of one conversation are delivered in order.
// A record a flow's `store` step keeps (docs/language.md § store): written in
// the transaction of the turn that asked for it. The step was answered with
// the record's id within the turn (TurnCommit::records, `id` from
// Store::reserve_record_id()), or, for a step asked by an older version, by
// the outbox row it is written next to (NewOutbox::record, `id` 0: numbered
// by the store).
struct NewRecord {
  std::int64_t id = 0;
  std::string collection;
  std::string data;  // JSON text: the record, an object.
  std::string flow;
  std::string step;
  std::string run;
};

struct NewOutbox {
  std::string kind;          // "send", "ai", "http", "webhook", ...
  std::string payload;       // JSON text.
  Millis not_before_ms = 0;  // 0: as soon as possible.
  std::optional<NewRecord> record =
      std::nullopt;  // A `store` step's record, kept in the records table.
};

enum class OutboxStatus : std::uint8_t {
  Pending,   // Waiting for its first attempt or a retry.
  Inflight,  // Claimed by a dispatcher until its lease ends.
  Sent,      // Done.
  Failed,    // Refused for good (an error that retrying cannot fix).
  Dead,      // Retries exhausted.
};
const char* to_string(OutboxStatus status);
std::optional<OutboxStatus> parse_outbox_status(std::string_view text);

struct OutboxRow {
  std::int64_t id = 0;
  std::int64_t contact_id = 0;
  ConversationKey key;
  std::int64_t seq = 0;  // Order within the conversation, from 1.
  std::string kind;
  std::string payload;
  OutboxStatus status = OutboxStatus::Pending;
  int attempts = 0;            // Claims so far, this one included.
  Millis next_attempt_ms = 0;  // Pending: when it is due; inflight: when the lease ends.
  std::string provider_message_id;
  std::string last_error;
  Millis created_ms = 0;
  std::string delivery_status;  // The latest status the gateway reported ("read", ...).
};

struct NewTimer {
  Millis due_ms = 0;
  std::string kind;     // "timeout", "reminder", "delay", "buffer", ...
  std::string tag;      // The caller's id for it, returned as the inbox row's ref.
  std::string payload;  // JSON text.
};

// Cancels this conversation's timers that match: by id, or else by kind and/or
// tag (an empty field matches anything, but not both empty).
struct TimerCancel {
  std::optional<std::int64_t> id;
  std::string kind;
  std::string tag;
};

struct TimerRow {
  std::int64_t id = 0;
  ConversationKey key;
  Millis due_ms = 0;
  std::string kind;
  std::string tag;
  std::string payload;
  Millis created_ms = 0;
};

// A line of the message log, for queries and stats.
struct LogMessage {
  enum class Direction : std::uint8_t { In, Out };
  Direction direction = Direction::In;
  Millis at_ms = 0;
  std::string flow;
  std::string step;
  std::string kind;  // "text", "buttons", "image", ...
  std::string text;
  std::string payload;  // JSON text.
  std::string run;      // The conversation (run) it belongs to, if any.
};

// A conversation is one run of a flow for a contact, named by the caller's run
// id (unique per contact).
struct ConversationUpdate {
  enum class Op : std::uint8_t { Start, Update, End };
  Op op = Op::Update;
  std::string run;
  std::string flow;         // Start only.
  std::string bundle_hash;  // Start only.
  std::string last_step;    // Empty: unchanged.
  std::string status;       // End: "completed", "ended", "failed", "expired"...; else unchanged.
  Millis at_ms = 0;
};

struct TurnCommit {
  // The claim being committed; the commit fails if its lease was lost.
  std::int64_t contact_id = 0;
  std::string worker_id;
  std::int64_t token = 0;
  Millis now_ms = 0;

  std::vector<std::int64_t> consumed;  // Inbox row ids the turn handled.

  enum class SessionChange : std::uint8_t { Keep, Put, Delete };
  SessionChange session_change = SessionChange::Keep;
  StoredSession session;  // For Put.

  std::vector<NewOutbox> outbox;
  std::vector<NewRecord> records;  // Of `store` steps answered within the turn.
  std::vector<NewTimer> timers;
  std::vector<TimerCancel> cancel_timers;  // Applied before `timers` are added.
  std::vector<LogMessage> messages;
  std::vector<ConversationUpdate> conversations;
  // The contact's name, when the turn's messages brought a new one.
  std::optional<std::string> contact_name;

  // > 0: the conversation's next outbox row, when it is due and no earlier row
  // is unfinished, is leased for this long in the same transaction and comes
  // back in TurnResult::dispatch, so the caller delivers it without a
  // claim_outbox of its own.
  Millis dispatch_lease_ms = 0;
};

// What commit_turn created, so the server can wake dispatchers or log.
struct TurnResult {
  std::vector<std::int64_t> outbox_ids;
  std::vector<std::int64_t> timer_ids;
  std::int64_t timers_cancelled = 0;
  // The row leased for delivery (TurnCommit::dispatch_lease_ms).
  std::optional<OutboxRow> dispatch;
  // The conversation has unfinished outbox rows that were not leased (an
  // earlier one is still out, or they are not due yet).
  bool outbox_waiting = false;
  // Inbox rows arrived during the turn and are pending still.
  bool still_pending = false;
};

// A turn run inside the ingest's transaction (ClaimRequest::turn): the store
// writes `commit` as commit_turn would, and sets `outcome`; the caller of
// ingest then calls finish(), once it has the ingest's result (so after the
// commit is durable).
struct InlineTurn {
  TurnCommit commit;
  std::function<void(const TurnCommit&, Result<TurnResult>)> done;
  std::optional<Result<TurnResult>> outcome;

  void finish() { done(commit, std::move(*outcome)); }
};

// What ingest may lease besides: up to `max` of the conversations the batch
// gave new rows, to `worker_id`, when no one holds them already, so that the
// caller hands them to idle workers without a claim() each.
struct ClaimRequest {
  std::string worker_id;
  Millis now_ms = 0;
  Millis lease_ms = 0;
  int max = 0;
  // When set, the claims go to this function as soon as they are made, before
  // the batch is durable, and IngestResult::claims stays empty. Their turns
  // commit no earlier than the ingest: SQLite keeps the transaction open for
  // them a moment (SqliteOptions::turn_join_us), so that a message and the
  // turn it started are written by one commit. Called on the store's thread:
  // it must only hand the claims over, never wait for the store.
  std::function<void(std::vector<Claim>)> hand_over;
  // When set, every conversation the batch gave rows to is leased if no one
  // holds it (`max` does not count; one with no row pending before gets a
  // claim without a lease and its message unstored, see Claim), and each
  // claim is offered
  // to this function first, on the store's thread inside the ingest's
  // transaction: the turn it returns is written by that transaction, so a
  // message and the turn it started cost one commit and no hand-over to
  // another thread, and comes back in IngestResult::turns. A claim it
  // declines (nullopt), or whose turn cannot be written (a turn's error rolls
  // back only the turn), goes on as without it. It must never wait for the
  // store's writes. A store that writes synchronously may ignore it.
  std::function<std::optional<InlineTurn>(const Claim&)> turn;
};

struct IngestResult {
  std::vector<IngestOutcome> outcomes;  // One per item, in order.
  std::vector<Claim> claims;
  std::vector<InlineTurn> turns;  // Run by ClaimRequest::turn, each with its outcome.
};

// mark_sent's outcome with the conversation's next row (mark_sent_next).
struct SentResult {
  bool marked = false;  // False: the row was finished already.
  std::optional<OutboxRow> next;
  bool outbox_waiting = false;  // Unfinished rows left that were not leased.
};

}  // namespace waflow::storage
