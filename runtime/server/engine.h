#pragma once

// The engine of `waflow serve` (DESIGN.md §4): everything between a verified
// webhook and a delivered reply, on top of the Store and the host Session.
//
//   ingest      normalised messages and statuses -> store.ingest (dedup): with
//               a store that writes asynchronously (SQLite) straight to its
//               writer, else through ingest threads that batch them; the
//               caller answers the webhook 2xx once `done` runs
//   workers     claim one conversation -> restore its Session (pinned bundle,
//               or the active one) -> advance_to(now) -> feed the inbox rows ->
//               sends, calls, the next timer, the message log and the
//               conversation's progress -> commit_turn, all in ONE transaction
//               (with an asynchronous store the ingest runs the turns of the
//               free conversations it leases itself, on the store's thread in
//               its own transaction, so a message reaches no worker at all;
//               else it leases them for idle workers, without a claim each)
//   dispatcher  claim_outbox -> Transport (gateway sends, HTTP calls) or a local
//               answer (store records; AI is not configured yet) -> mark_sent /
//               mark_retry (exponential backoff with jitter, Retry-After) /
//               mark_failed; a circuit breaker and a rate limit per device
//               (a turn's commit leases its first reply and a sent mark the
//               contact's next, so replies go out without a claim between; an
//               asynchronous store's writer starts that next one itself)
//   timers      fire_due_timers(now), sleeping until next_timer_due
//
// Nothing is kept in memory between turns but loaded bundles, so a crash loses
// nothing the store acknowledged: leases run out and another worker (or the
// next process) redoes the turn. No transaction is ever held across a network
// call: sends happen after the turn that wrote them committed.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/base/result.h"
#include "runtime/server/clock.h"
#include "runtime/server/config.h"
#include "runtime/server/log.h"
#include "runtime/server/media.h"
#include "runtime/server/metrics.h"
#include "runtime/server/transport.h"
#include "runtime/storage/store.h"
#include "runtime/vm/value.h"

namespace waflow::server {

struct IncomingMessage {
  std::string device;   // The configured device (our number) that received it.
  std::string gateway;  // "meta", "waha", ...
  std::string account;
  std::string provider_message_id;
  std::string contact;
  std::string contact_name;
  std::int64_t timestamp_ms = 0;
  vm::Value message;  // {type, text, payload, ...} as the VM reads `message.*`.
};

struct IncomingStatus {
  std::string gateway;
  std::string account;
  std::string provider_message_id;  // Of the message we sent.
  std::string status;               // "sent", "delivered", "read", "failed".
};

struct IngestSummary {
  int accepted = 0;    // New inbox rows.
  int duplicates = 0;  // Seen before: no second turn.
  int statuses = 0;    // Recorded against a known outbound message.
  int unknown_statuses = 0;
};

// What an API call asks of a conversation. It goes through the same door as a
// webhook (deduplicated on ("api", device, id) for as long as message ids are)
// and is handled in the conversation's turn, in order with its messages.
struct ApiAction {
  std::string device;
  std::string contact;
  std::string id;  // Idempotency key; one is made up when empty.
  storage::InboxKind kind = storage::InboxKind::Send;  // Send, Start or Handback.
  // Send: {"message": {type, text, url, ...}} as a flow's say produces it.
  // Start: {"flow": NAME, "variables": {...}} (set as contact.* variables).
  std::string payload;
};

struct ApiQueued {
  std::string id;
  bool duplicate = false;  // The id was seen before: nothing new was queued.
};

// A live event for the API's event stream (GET /api/v1/events). `json` is the
// whole event object as text: {"type": ..., "device": ..., ...}.
struct EngineEvent {
  std::string type;  // message_in, message_out, delivered, delivery_failed, status,
                     // conversation_started, conversation_ended
  std::string device;
  std::string contact;
  std::string json;
};

struct EngineOptions {
  std::string instance = "waflow";  // Prefix of worker ids (leases).
  // Workers and apply threads spend their time waiting for the store's writer;
  // many of them let one group commit carry many turns (SQLite has one writer
  // anyway, so this costs threads, not contention).
  int workers = 16;
  int ingest_threads = 2;  // Only for stores that write synchronously.
  // Record delivery outcomes; concurrent, so they group-commit. A store that
  // writes asynchronously records sent replies without them.
  int apply_threads = 16;
  std::int64_t lease_ms = 30'000;
  std::int64_t outbox_lease_ms = 30'000;  // Twice the send timeout.
  int outbox_batch = 64;
  int max_inflight = 512;                      // Deliveries started and not recorded yet.
  double rate_per_device = 80;                 // Sends per second; 0: unlimited.
  std::map<std::string, double> device_rates;  // Per device, overriding rate_per_device.
  int breaker_failures = 5;                    // Consecutive failures that open a device's breaker.
  std::int64_t breaker_open_ms = 30'000;       // How long it stays open.
  std::int64_t backoff_base_ms = 1'000;        // First retry; doubles per attempt...
  std::int64_t backoff_max_ms = 300'000;       // ...up to this.
  std::int64_t idle_poll_ms = 1'000;           // Longest sleep of an idle loop.
  std::int64_t prune_every_ms = 3'600'000;     // Dedup keys and old outbox rows are pruned.
  std::string timezone;  // The business time zone of flows that name none; "" is UTC.
  // Devices' AI fallback chatbots (fallback.h), by device name; the rest stay silent when no
  // flow takes a message.
  std::map<std::string, AiFallbackConfig> ai_fallbacks;
  // Devices that transcribe voice notes and describe images before flows see them (media.h),
  // by device name.
  std::map<std::string, DeviceMedia> media;
  Metrics* metrics = nullptr;  // Where the engine's metrics go; none: kept to itself.
};

struct EngineCounters {
  std::int64_t turns = 0;
  std::int64_t turn_errors = 0;
  std::int64_t sent = 0;
  std::int64_t retried = 0;
  std::int64_t failed = 0;
  std::int64_t timers_fired = 0;
};

class Engine {
 public:
  Engine(storage::Store& store, Clock& clock, Transport& transport, JsonLog& log,
         EngineOptions options = {});
  ~Engine();  // stop()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Stores a bundle (verified first) and makes it the active one if it is not
  // already; returns its hash. New conversations start on it; conversations in
  // progress stay on the bundle they started with.
  Result<std::string> deploy(const std::string& bytes, const std::string& author,
                             const std::string& comment);
  // The active bundle's hash, or "" when none is deployed.
  std::string active_hash() const;
  // The flows of the active bundle: (name, title) pairs, in bundle order.
  std::vector<std::pair<std::string, std::string>> active_flows() const;
  // Makes a stored bundle the active one (NotFound for an unknown hash; true also
  // when it was active already).
  Result<bool> activate(const std::string& hash, const std::string& author);
  // Back to the bundle active before; returns its hash (NotFound when there is none).
  Result<std::string> rollback(const std::string& author);

  // Queues an API action; `done` runs once it is durable (or refused), on an
  // engine thread. Never blocks the caller.
  void submit(ApiAction action, std::function<void(Result<ApiQueued>)> done);

  // Live events, delivered on engine threads after the change is durable.
  // Listeners must be quick and must not call back into the engine.
  std::uint64_t subscribe(std::function<void(const EngineEvent&)> listener);
  void unsubscribe(std::uint64_t id);

  // Starts the threads. The store must have an active bundle by then for
  // conversations to make progress (rows wait otherwise).
  void start();
  // Queues a webhook's content; `done` runs once it is durable (or refused),
  // on an engine thread. Never blocks the caller.
  void ingest(std::vector<IncomingMessage> messages, std::vector<IncomingStatus> statuses,
              std::function<void(Result<IngestSummary>)> done);
  // Something changed outside (the clock moved): look for due timers now.
  void wake();
  // Readiness fails from now on; nothing else changes.
  void drain();
  // Graceful stop: no new claims, turns in flight finish, deliveries in flight
  // are recorded, queued ingests are written. Idempotent.
  void stop();

  bool ready() const;
  EngineCounters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace waflow::server
