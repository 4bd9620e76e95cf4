#pragma once

// Read-side records: deployments, conversation and message queries with cursor
// pagination, and the numbers behind `waflow query stats` and the API.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/storage/records.h"

namespace waflow::storage {

struct BundleMeta {
  std::string author;
  std::string comment;
  Millis created_ms = 0;
};

struct BundleInfo {
  std::string hash;  // SHA-256 of the bytes, 64 lower-case hex digits.
  std::int64_t size = 0;
  BundleMeta meta;
  bool active = false;
  std::optional<Millis> last_activated_ms;
};

struct StoredBundle {
  BundleInfo info;
  std::string bytes;
};

// Filters shared by the conversation and message queries. Empty strings and
// absent times do not filter. Results are newest first; `cursor` is the
// next_cursor of the previous page (opaque; empty for the first page).
struct QueryFilter {
  std::string device;
  std::string contact;
  std::string flow;
  std::optional<Millis> since_ms;  // Inclusive.
  std::optional<Millis> until_ms;  // Exclusive.
  std::optional<bool> outbound;    // Messages only: true for out, false for in.
  std::string collection;          // Records only.
  int limit = 50;                  // 1..1000.
  std::string cursor;
};

struct ConversationRecord {
  std::int64_t id = 0;
  ConversationKey key;
  std::string run;
  std::string flow;
  std::string bundle_hash;
  std::string status;  // "active" until it ends.
  std::string last_step;
  Millis started_ms = 0;
  Millis updated_ms = 0;
  std::optional<Millis> ended_ms;
};

struct MessageRecord {
  std::int64_t id = 0;
  ConversationKey key;
  bool outbound = false;
  Millis at_ms = 0;
  std::string flow;
  std::string step;
  std::string kind;
  std::string text;
  std::string payload;
  std::string run;
};

// A record a `store` step kept. Records are the flows' business data: the
// store keeps them (no retention horizon prunes them).
// How flows and the API name a record: "<collection>-<id>" ("orders-17").
inline std::string record_ref(const std::string& collection, std::int64_t id) {
  return collection + "-" + std::to_string(id);
}

struct StoredRecord {
  std::int64_t id = 0;
  std::string collection;
  ConversationKey key;
  std::string flow;
  std::string step;
  std::string run;
  std::string data;  // JSON text (an object).
  Millis created_ms = 0;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;  // Empty when this is the last page.
};

struct StatsFilter {
  std::string device;
  std::string flow;
  std::optional<Millis> since_ms;
  std::optional<Millis> until_ms;
};

struct DayCount {
  std::string day;  // "2024-05-01" (UTC).
  std::int64_t in = 0;
  std::int64_t out = 0;
};

struct FlowCount {
  std::string flow;
  std::int64_t started = 0;
  std::int64_t completed = 0;
  std::int64_t active = 0;
};

// Per step: conversations that ended there without completing (dropped) and
// conversations still waiting there (active).
struct StepCount {
  std::string flow;
  std::string step;
  std::int64_t dropped = 0;
  std::int64_t active = 0;
};

// AI steps of one UTC day and one model (as the config names it).
struct AiUsageCount {
  std::string day;  // "2024-05-01" (UTC).
  std::string provider;
  std::string model;
  std::int64_t calls = 0;   // Steps answered.
  std::int64_t errors = 0;  // Of those, the ones that took their error exit.
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t latency_p50_ms = 0;  // The median step (the lower middle one of an even count).
  std::int64_t latency_mean_ms = 0;
};

struct Stats {
  std::vector<DayCount> messages_per_day;  // Oldest day first.
  std::vector<FlowCount> flows;            // By flow name.
  std::vector<StepCount> steps;            // By flow, then most dropped first.
  std::vector<AiUsageCount> ai_usage;      // Oldest day first, then by provider and model.
};

struct Health {
  bool reachable = false;
  int schema_version = 0;
  int expected_version = 0;
  bool migrated() const { return reachable && schema_version == expected_version; }
};

// Counters of the store itself, for /metrics and tests.
struct StoreStats {
  std::int64_t write_transactions = 0;  // Committed write transactions.
  std::int64_t write_requests = 0;      // Requests those transactions carried.
  std::int64_t largest_batch = 0;
  // Times a transaction stayed open and took in more requests while turns of
  // conversations handed over early were on their way.
  std::int64_t joined_rounds = 0;
  std::int64_t queued_writes = 0;  // Waiting for the writer right now.
};

// What waits, for /metrics: rows not handled yet and how old the oldest is.
struct QueueStats {
  std::int64_t inbox_pending = 0;
  std::optional<Millis> inbox_oldest_ms;   // received_ms of the oldest pending row.
  std::int64_t outbox_open = 0;            // Pending or in flight.
  std::optional<Millis> outbox_oldest_ms;  // created_ms of the oldest open row.
  std::int64_t timers_due = 0;             // Due at `now` and not fired yet.
  std::optional<Millis> timers_oldest_due_ms;
  // Stored sessions per bundle hash (a bundle is kept while any uses it).
  std::vector<std::pair<std::string, std::int64_t>> sessions_by_bundle;
};

struct PruneResult {
  std::int64_t seen = 0;    // Dedup keys older than the horizon.
  std::int64_t outbox = 0;  // Finished outbox rows older than the horizon.
};

}  // namespace waflow::storage
