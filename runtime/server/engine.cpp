// The engine of `waflow serve` (engine.h): ingest batches, workers, the
// outbox dispatcher and the timer loop.

#include "runtime/server/engine.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "runtime/base/thread_name.h"
#include "runtime/bytecode/bundle.h"
#include "runtime/host/call_payload.h"
#include "runtime/host/session.h"
#include "runtime/host/session_blob.h"
#include "runtime/host/tz.h"
#include "runtime/server/fallback.h"
#include "runtime/server/media.h"
#include "runtime/server/values.h"

namespace waflow::server {

namespace {

using storage::Millis;
using vm::Value;

struct LoadedBundle {
  bytecode::Bundle bundle;
  std::array<std::uint8_t, 32> hash{};
  std::string hex;
};

std::optional<std::array<std::uint8_t, 32>> hash_from_hex(const std::string& hex) {
  if (hex.size() != 64) {
    return std::nullopt;
  }
  std::array<std::uint8_t, 32> out{};
  for (std::size_t i = 0; i < 32; ++i) {
    const std::string byte = hex.substr(2 * i, 2);
    char* end = nullptr;
    const unsigned long v = std::strtoul(byte.c_str(), &end, 16);
    if (end != byte.c_str() + 2) {
      return std::nullopt;
    }
    out[i] = static_cast<std::uint8_t>(v);
  }
  return out;
}

std::string hex_of(const std::array<std::uint8_t, 32>& hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (const std::uint8_t b : hash) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// JSON text -> a value; a message gets the tag the VM gives messages.
std::optional<Value> value_of(const std::string& json, vm::Tag tag = vm::Tag::None) {
  Value v;
  if (!vm::from_json(json, v)) {
    return std::nullopt;
  }
  if (tag != vm::Tag::None && v.type() == Value::Type::Object) {
    return Value::object(v.as_object(), tag);
  }
  return v;
}

// A `store` step's record, written to the records table with the turn.
storage::NewRecord record_of(const host::Request& request) {
  storage::NewRecord r;
  r.collection = text_field(request.payload, "collection");
  const Value* data = request.payload.field("record");
  r.data = vm::to_json(data != nullptr && data->type() == Value::Type::Object
                           ? *data
                           : Value::object({{"value", data != nullptr ? *data : Value()}}));
  r.flow = request.flow;
  r.step = request.step;
  r.run = request.id.substr(0, request.id.find(':'));
  return r;
}

// A turn's responder. Every call that needs the network is deferred: the
// server answers it later, from the dispatcher, through an inbox row
// (Session::complete()). A `store` step needs none: its record gets an id at
// once, the step goes on with {ok, id} in the same turn, and the record is
// written by the turn's commit (`records`). Only when no id can be had is it
// deferred too, and answered by the outbox row its record is written next to.
class TurnResponder final : public host::Responder {
 public:
  explicit TurnResponder(storage::Store& store) : store_(store) {}

  bool defer(const host::Request& request) override {
    if (request.kind != bytecode::EffectKind::StoreRecord) {
      return true;
    }
    Result<std::int64_t> id = store_.reserve_record_id();
    if (!id) {
      return true;
    }
    reserved_ = id.value();
    return false;
  }

  Value answer(const host::Request& request) override {
    storage::NewRecord r = record_of(request);
    r.id = reserved_;
    Value answer = Value::object({{"ok", Value::boolean(true)},
                                  {"id", Value::text(storage::record_ref(r.collection, r.id))}});
    records.push_back(std::move(r));
    return answer;
  }

  std::vector<storage::NewRecord> records;  // Of the steps answered, in order.

 private:
  storage::Store& store_;
  std::int64_t reserved_ = 0;
};

const char* outbox_kind(bytecode::EffectKind kind) {
  switch (kind) {
    case bytecode::EffectKind::AiReply:
    case bytecode::EffectKind::AiExtract:
    case bytecode::EffectKind::AiClassify:
      return "ai";
    case bytecode::EffectKind::Http:
      return "http";
    case bytecode::EffectKind::StoreRecord:
      return "store";
    default:
      return "call";
  }
}

// An outbox row's outcome, recorded by an apply thread.
struct Applied {
  storage::OutboxRow row;
  DeliveryResult result;
  bool through_transport = false;
};

struct Breaker {
  int failures = 0;
  Millis open_until = 0;
};

struct Bucket {
  double tokens = -1;  // -1: full on first use.
  Millis last_ms = 0;
};

}  // namespace

struct Engine::Impl {
  storage::Store& store;
  Clock& clock;
  Transport& transport;
  JsonLog& log;
  EngineOptions options;

  std::atomic<bool> running{false};
  std::atomic<bool> stopping{false};
  std::atomic<bool> draining{false};
  std::atomic<bool> stopped{false};

  // Bundles by hash; the active hash.
  mutable std::mutex bundles_mutex;
  std::map<std::string, std::shared_ptr<const LoadedBundle>> bundles;
  std::string active;

  // Work signal for workers: a generation counter avoids lost wake-ups.
  // `handed` are claims the ingest transaction leased for idle workers, so
  // that a message reaches a worker with no claim() of its own.
  std::mutex work_mutex;
  std::condition_variable work_cv;
  std::uint64_t work_gen = 0;
  std::deque<storage::Claim> handed;
  // Conversations known to have rows that no claim holds (the ingest found no
  // idle worker for them, timers fired, an answer came back): each is worth
  // one claim. A worker woken with none to take and nothing handed goes back
  // to sleep; only its idle poll looks in the store unasked.
  std::size_t claimable = 0;
  std::atomic<int> idle_workers{0};

  // Outbox signal for the dispatcher (look in the store for due rows), and
  // the rows turns and delivery outcomes leased for it in their own
  // transactions (deliver at once); timers signal for the timer loop.
  std::mutex outbox_mutex;
  std::condition_variable outbox_cv;
  std::uint64_t outbox_gen = 0;
  std::deque<storage::OutboxRow> handed_rows;
  bool dispatcher_gone = false;  // Rows handed from now on are started by the hander.
  std::mutex timer_mutex;
  std::condition_variable timer_cv;
  std::uint64_t timer_gen = 0;
  // When the timer loop looks next on its own; the largest value while it is
  // looking (a turn's new timer then wakes it to look again).
  std::atomic<Millis> timer_next_look{std::numeric_limits<Millis>::max()};

  // Ingest queue.
  struct IngestJob {
    std::vector<storage::Inbound> items;
    std::function<void(Result<IngestSummary>)> done;
  };
  std::mutex ingest_mutex;
  std::condition_variable ingest_cv;
  std::deque<IngestJob> ingest_queue;
  bool ingest_closed = false;
  // Webhooks handed to a store that writes asynchronously and not answered
  // yet (under ingest_mutex; stop() waits for none).
  std::int64_t ingests_in_flight = 0;
  // One store call's jobs, their items and what it handed over.
  struct IngestRun {
    std::vector<IngestJob> jobs;
    // The items as the store got them, for the status events; empty when they
    // went to an asynchronous store with no status among them.
    std::vector<storage::Inbound> batch;
    std::size_t leased = 0;
  };

  // Delivery outcomes waiting to be recorded.
  std::mutex apply_mutex;
  std::condition_variable apply_cv;    // Appliers wait here for outcomes.
  std::condition_variable drained_cv;  // stop() waits here for inflight to reach 0.
  std::deque<Applied> apply_queue;
  std::int64_t inflight = 0;  // Started and not recorded yet (under apply_mutex).
  bool apply_closed = false;

  std::mutex breaker_mutex;
  std::map<std::string, Breaker> breakers;
  std::map<std::string, Bucket> buckets;  // Dispatcher thread only.

  mutable std::mutex counters_mutex;
  EngineCounters counters;

  // Live event listeners (the API's event stream). `listening` spares the
  // building of events nobody reads.
  std::mutex listeners_mutex;
  std::map<std::uint64_t, std::function<void(const EngineEvent&)>> listeners;
  std::uint64_t next_listener = 1;
  std::atomic<bool> listening{false};

  std::mutex rng_mutex;
  std::mt19937_64 rng{std::random_device{}()};

  host::TimeZone zone;  // options.timezone, for the fallback's {{now}} and tz_offset_ms.

  std::vector<std::thread> workers;
  std::vector<std::thread> ingesters;
  std::vector<std::thread> appliers;
  std::thread dispatcher;
  std::thread timer_thread;

  // The process's registry (EngineOptions::metrics), or one of its own.
  Metrics own_metrics;
  Metrics& metrics;
  Counter& turns_committed;
  Counter& turns_lost;
  Counter& turns_failed;
  Histogram& turn_seconds;
  Counter& duplicates;
  Counter& timers_fired;
  Counter& leases_expired;
  // Outcomes of outbox rows by kind and result, registered once so that
  // recording one takes no lock (other kinds, if any, go through the registry).
  static constexpr std::array<const char*, 5> kDeliveryKinds = {"send", "http", "ai", "store",
                                                                "call"};
  enum Delivered : std::uint8_t { kSent, kRetry, kDead, kFailed, kDeliveredCount };
  static constexpr std::array<const char*, kDeliveredCount> kDeliveredNames = {"sent", "retry",
                                                                               "dead", "failed"};
  std::array<std::array<Counter*, kDeliveredCount>, kDeliveryKinds.size()> deliveries{};

  Impl(storage::Store& s, Clock& c, Transport& t, JsonLog& l, EngineOptions o)
      : store(s),
        clock(c),
        transport(t),
        log(l),
        options(std::move(o)),
        metrics(options.metrics != nullptr ? *options.metrics : own_metrics),
        turns_committed(metrics.counter("waflow_conversation_turns_total", "Turns run, by result",
                                        {{"result", "committed"}})),
        turns_lost(
            metrics.counter("waflow_conversation_turns_total", "", {{"result", "lease_lost"}})),
        turns_failed(metrics.counter("waflow_conversation_turns_total", "", {{"result", "error"}})),
        turn_seconds(metrics.histogram(
            "waflow_conversation_turn_duration_seconds",
            "From a conversation's claim to its commit: restore, run, save, commit")),
        duplicates(metrics.counter("waflow_inbound_duplicates_total",
                                   "Webhook messages and API actions seen before: no second turn")),
        timers_fired(metrics.counter("waflow_timers_fired_total", "Timers that came due")),
        leases_expired(metrics.counter(
            "waflow_leases_expired_total",
            "Work whose lease ran out before it was recorded (another worker redoes it)")) {
    for (std::size_t k = 0; k < kDeliveryKinds.size(); ++k) {
      for (std::size_t r = 0; r < kDeliveredCount; ++r) {
        deliveries[k][r] = &delivery_counter(kDeliveryKinds[k], kDeliveredNames[r]);
      }
    }
    metrics.collect([this](GaugeWriter& w) { collect(w); });
    if (!options.timezone.empty()) {
      if (Result<host::TimeZone> z = host::TimeZone::load(options.timezone)) {
        zone = std::move(z).value();
      }
    }
  }

  Counter& delivery_counter(const std::string& kind, const char* result) {
    return metrics.counter("waflow_outbox_deliveries_total",
                           "Outbox rows handled: gateway sends and calls, by kind and result",
                           {{"kind", kind}, {"result", result}});
  }

  // Outcomes of outbox rows by kind (send, http, ai, store) and result.
  void count_delivery(const std::string& kind, Delivered result) {
    for (std::size_t k = 0; k < kDeliveryKinds.size(); ++k) {
      if (kind == kDeliveryKinds[k]) {
        deliveries[k][static_cast<std::size_t>(result)]->inc();
        return;
      }
    }
    delivery_counter(kind, kDeliveredNames[static_cast<std::size_t>(result)]).inc();
  }

  // Gauges read from the store at scrape time.
  void collect(GaugeWriter& w) {
    const Millis now = clock.now_ms();
    Result<storage::QueueStats> q = store.queue_stats(now);
    if (!q) {
      log.warn("metrics_store_failed", {{"error", q.error().message}});
      return;
    }
    const storage::QueueStats& v = q.value();
    const auto age = [now](const std::optional<Millis>& since) {
      return since ? static_cast<double>(std::max<Millis>(0, now - *since)) / 1000.0 : 0.0;
    };
    const std::string depth_help =
        "Rows waiting: inbox (not handled by a turn yet), outbox "
        "(not delivered yet), timers (due, not fired yet)";
    w.gauge("waflow_queue_depth", depth_help, {{"queue", "inbox"}},
            static_cast<double>(v.inbox_pending));
    w.gauge("waflow_queue_depth", depth_help, {{"queue", "outbox"}},
            static_cast<double>(v.outbox_open));
    w.gauge("waflow_queue_depth", depth_help, {{"queue", "timers"}},
            static_cast<double>(v.timers_due));
    const std::string age_help = "Age of the oldest waiting row, 0 when none waits";
    w.gauge("waflow_oldest_pending_age_seconds", age_help, {{"queue", "inbox"}},
            age(v.inbox_oldest_ms));
    w.gauge("waflow_oldest_pending_age_seconds", age_help, {{"queue", "outbox"}},
            age(v.outbox_oldest_ms));
    w.gauge("waflow_timers_overdue_seconds", "How late the most overdue timer is", {},
            age(v.timers_oldest_due_ms));
    for (const auto& [hash, count] : v.sessions_by_bundle) {
      w.gauge("waflow_flow_version_open_runs",
              "Stored conversations pinned to each deployed bundle (its hash's first 12 digits)",
              {{"version", hash.substr(0, 12)}}, static_cast<double>(count));
    }
    const storage::StoreStats st = store.store_stats();
    w.gauge("waflow_store_queued_writes", "Write requests waiting for the store's writer", {},
            static_cast<double>(st.queued_writes));
    w.gauge("waflow_ready", "1 when the server takes work (readiness), else 0", {},
            running.load() && !draining.load() && !stopping.load() ? 1 : 0);
  }

  void bump(std::int64_t EngineCounters::*field, std::int64_t n = 1) {
    const std::lock_guard lock(counters_mutex);
    counters.*field += n;
  }

  static void signal(std::mutex& m, std::condition_variable& cv, std::uint64_t& gen) {
    {
      const std::lock_guard lock(m);
      ++gen;
    }
    cv.notify_all();
  }
  void wake_workers() { wake_workers(static_cast<std::size_t>(options.workers)); }

  void publish(const std::string& type, const storage::ConversationKey& key,
               std::vector<std::pair<std::string, Value>> fields) {
    std::vector<std::pair<std::string, Value>> all;
    all.reserve(fields.size() + 3);
    all.emplace_back("type", Value::text(type));
    if (!key.device.empty()) {
      all.emplace_back("device", Value::text(key.device));
      all.emplace_back("contact", Value::text(key.contact));
    }
    for (auto& f : fields) {
      all.push_back(std::move(f));
    }
    EngineEvent e{type, key.device, key.contact, vm::to_json(Value::object(std::move(all)))};
    const std::lock_guard lock(listeners_mutex);
    for (const auto& [id, listener] : listeners) {
      listener(e);
    }
  }

  // The events of a committed turn: its messages and its conversations' starts and ends.
  void publish_turn(const storage::ConversationKey& key, const storage::TurnCommit& turn) {
    for (const storage::LogMessage& m : turn.messages) {
      const bool in = m.direction == storage::LogMessage::Direction::In;
      publish(in ? "message_in" : "message_out", key,
              {{"at_ms", Value::number(static_cast<double>(m.at_ms))},
               {"flow", Value::text(m.flow)},
               {"step", Value::text(m.step)},
               {"kind", Value::text(m.kind)},
               {"text", Value::text(m.text)}});
    }
    for (const storage::ConversationUpdate& u : turn.conversations) {
      if (u.op == storage::ConversationUpdate::Op::Start) {
        publish("conversation_started", key,
                {{"at_ms", Value::number(static_cast<double>(u.at_ms))},
                 {"flow", Value::text(u.flow)},
                 {"run", Value::text(u.run)}});
      } else if (u.op == storage::ConversationUpdate::Op::End) {
        publish("conversation_ended", key,
                {{"at_ms", Value::number(static_cast<double>(u.at_ms))},
                 {"run", Value::text(u.run)},
                 {"status", Value::text(u.status)}});
      }
    }
  }
  // Wakes as many workers as there are conversations with new work, each to
  // claim one: every claim costs a request in the writer's queue.
  void wake_workers(std::size_t conversations) {
    if (conversations == 0) {
      return;
    }
    {
      const std::lock_guard lock(work_mutex);
      ++work_gen;
      claimable += conversations;
    }
    if (conversations >= static_cast<std::size_t>(options.workers)) {
      work_cv.notify_all();
      return;
    }
    for (std::size_t i = 0; i < conversations; ++i) {
      work_cv.notify_one();
    }
  }
  void wake_dispatcher() { signal(outbox_mutex, outbox_cv, outbox_gen); }
  void wake_timers() { signal(timer_mutex, timer_cv, timer_gen); }

  // Waits until the generation moves past `seen`, `ms` pass or the engine stops.
  // True when woken (or stopping), false when the time ran out.
  static bool wait_for(std::mutex& m, std::condition_variable& cv, const std::uint64_t& gen,
                       std::uint64_t seen, std::int64_t ms, const std::atomic<bool>& stop) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, std::chrono::milliseconds(std::max<std::int64_t>(ms, 1)),
                       [&] { return gen != seen || stop.load(); });
  }

  // ---- bundles ----

  Result<std::shared_ptr<const LoadedBundle>> bundle(const std::string& hash) {
    {
      const std::lock_guard lock(bundles_mutex);
      auto it = bundles.find(hash);
      if (it != bundles.end()) {
        return it->second;
      }
    }
    Result<std::optional<storage::StoredBundle>> stored = store.bundle(hash);
    if (!stored) {
      return stored.error();
    }
    if (!stored.value()) {
      return Error{ErrorCode::NotFound, "bundle " + hash + " is not in the store"};
    }
    return remember(stored.value()->bytes, hash);
  }

  Result<std::shared_ptr<const LoadedBundle>> remember(const std::string& bytes,
                                                       const std::string& hash) {
    const std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
    Result<bytecode::Bundle> loaded = bytecode::load_bundle(data);
    if (!loaded) {
      return Error{ErrorCode::InvalidInput,
                   "bundle " + hash + " does not load: " + loaded.error().message};
    }
    auto b = std::make_shared<LoadedBundle>();
    b->bundle = std::move(loaded).value();
    const std::optional<std::array<std::uint8_t, 32>> h = hash_from_hex(hash);
    if (!h) {
      return Error{ErrorCode::InvalidInput, "bundle hash '" + hash + "' is not SHA-256 hex"};
    }
    b->hash = *h;
    b->hex = hash;
    const std::lock_guard lock(bundles_mutex);
    auto [it, inserted] = bundles.emplace(hash, std::move(b));
    return it->second;
  }

  Result<std::shared_ptr<const LoadedBundle>> active_bundle() {
    std::string hash;
    {
      const std::lock_guard lock(bundles_mutex);
      hash = active;
    }
    if (hash.empty()) {
      Result<std::optional<storage::StoredBundle>> stored = store.active_bundle();
      if (!stored) {
        return stored.error();
      }
      if (!stored.value()) {
        return Error{ErrorCode::NotFound, "no bundle is deployed"};
      }
      hash = stored.value()->info.hash;
      Result<std::shared_ptr<const LoadedBundle>> b = remember(stored.value()->bytes, hash);
      if (b) {
        const std::lock_guard lock(bundles_mutex);
        active = hash;
      }
      return b;
    }
    return bundle(hash);
  }

  // ---- ingest ----

  // A webhook's or an API call's items go to the store: directly when it
  // writes asynchronously (its writer answers them, no thread between), else
  // through the ingest threads, which gather what is queued into one call.
  void queue_ingest(IngestJob job) {
    const bool direct = store.writes_async();
    bool queued = false;
    {
      const std::lock_guard lock(ingest_mutex);
      if (!ingest_closed) {
        queued = true;
        if (direct) {
          ++ingests_in_flight;
        } else {
          ingest_queue.push_back(std::move(job));
        }
      }
    }
    if (!queued) {
      job.done(Error{ErrorCode::Io, "the server is stopping"});
      return;
    }
    if (direct) {
      ingest_direct(std::move(job));
      return;
    }
    // Notified after unlocking: the woken thread would find the lock still held.
    ingest_cv.notify_one();
  }

  void ingest_direct(IngestJob job) {
    auto run = std::make_shared<IngestRun>();
    const bool statuses = std::any_of(
        job.items.begin(), job.items.end(),
        [](const storage::Inbound& item) { return item.type == storage::Inbound::Type::Status; });
    std::vector<storage::Inbound> items;
    if (statuses) {
      run->batch = job.items;  // Kept for the status events.
      items = std::move(job.items);
    } else {
      // Moved element by element: the job keeps its count of items.
      items.reserve(job.items.size());
      for (storage::Inbound& item : job.items) {
        items.push_back(std::move(item));
      }
    }
    run->jobs.push_back(std::move(job));
    // The idle workers are counted when the writer gets to this ingest: the
    // ingests before it have handed their claims over by then.
    store.ingest_async(std::move(items), claims_for(run, std::nullopt),
                       [this, run](Result<storage::IngestResult> ingested) {
                         finish_ingest(*run, std::move(ingested));
                         bool last = false;
                         {
                           const std::lock_guard lock(ingest_mutex);
                           last = --ingests_in_flight == 0 && ingest_closed;
                         }
                         if (last) {
                           ingest_cv.notify_all();
                         }
                       });
  }

  // Conversations that are free get leased in the ingest's transaction:
  // `max` of them for the workers waiting, or, with no `max` (a store that
  // writes asynchronously), every one, its turn run on the store's thread in
  // that transaction (inline_turn). Claims go to the workers before the batch
  // is durable: their turns then commit with it (one commit for a message
  // and its replies).
  storage::ClaimRequest claims_for(const std::shared_ptr<IngestRun>& run, std::optional<int> max) {
    storage::ClaimRequest claims;
    if (max) {
      claims.max = *max;
      if (claims.max <= 0) {
        return claims;
      }
    } else {
      claims.turn = [this](const storage::Claim& c) {
        return inline_turn(c);
      };
    }
    claims.worker_id = options.instance + "-ingest";
    claims.now_ms = clock.now_ms();
    claims.lease_ms = options.lease_ms;
    claims.hand_over = [this, run](std::vector<storage::Claim> handed_now) {
      run->leased = handed_now.size();
      hand_claims(std::move(handed_now));
    };
    return claims;
  }

  // An idempotency key for an API call that brought none.
  std::string make_id() {
    const std::lock_guard lock(rng_mutex);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id = "api-";
    std::uniform_int_distribution<int> d(0, 15);
    for (int i = 0; i < 24; ++i) {
      id += kHex[d(rng)];
    }
    return id;
  }

  void ingest_loop() {
    for (;;) {
      std::vector<IngestJob> jobs;
      {
        std::unique_lock lock(ingest_mutex);
        ingest_cv.wait(lock, [&] { return !ingest_queue.empty() || ingest_closed; });
        if (ingest_queue.empty()) {
          return;
        }
        // Everything queued goes into one store call: one commit for a burst.
        while (!ingest_queue.empty() && jobs.size() < 256) {
          jobs.push_back(std::move(ingest_queue.front()));
          ingest_queue.pop_front();
        }
      }
      auto run = std::make_shared<IngestRun>();
      for (IngestJob& job : jobs) {
        for (storage::Inbound& item : job.items) {
          run->batch.push_back(std::move(item));
        }
      }
      run->jobs = std::move(jobs);
      Result<storage::IngestResult> ingested =
          store.ingest(run->batch, claims_for(run, std::max(0, idle_workers.load())));
      finish_ingest(*run, std::move(ingested));
    }
  }

  // Answers the run's jobs with the store's outcome, hands over the claims it
  // made and wakes workers for the rest.
  void finish_ingest(IngestRun& run, Result<storage::IngestResult> ingested) {
    if (!ingested) {
      log.error("ingest_failed", {{"error", ingested.error().message}});
      for (IngestJob& job : run.jobs) {
        job.done(ingested.error());
      }
      return;
    }
    storage::IngestResult result = std::move(ingested).value();
    std::size_t leased = run.leased + result.claims.size();
    for (storage::InlineTurn& turn : result.turns) {
      leased += turn.outcome->ok() ? 1U : 0U;
      turn.finish();
    }
    hand_claims(std::move(result.claims));
    const std::vector<storage::IngestOutcome>& outcomes = result.outcomes;
    const std::vector<storage::Inbound>& batch = run.batch;
    if (listening.load()) {
      for (std::size_t i = 0; i < batch.size() && i < outcomes.size(); ++i) {
        if (outcomes[i] == storage::IngestOutcome::StatusApplied) {
          publish("status", {},
                  {{"gateway", Value::text(batch[i].gateway)},
                   {"provider_message_id", Value::text(batch[i].provider_message_id)},
                   {"status", Value::text(batch[i].status)},
                   {"at_ms", Value::number(static_cast<double>(batch[i].received_ms))}});
        }
      }
    }
    std::size_t at = 0;
    std::size_t fresh = 0;
    for (IngestJob& job : run.jobs) {
      IngestSummary summary;
      const std::size_t n = job.items.size();
      for (std::size_t i = 0; i < n && at < outcomes.size(); ++i, ++at) {
        switch (outcomes[at]) {
          case storage::IngestOutcome::New:
            ++summary.accepted;
            ++fresh;
            break;
          case storage::IngestOutcome::Duplicate:
            ++summary.duplicates;
            duplicates.inc();
            break;
          case storage::IngestOutcome::StatusApplied:
            ++summary.statuses;
            break;
          case storage::IngestOutcome::StatusUnknown:
            ++summary.unknown_statuses;
            break;
        }
      }
      job.done(summary);
    }
    // Rows of conversations not handed over (held by a worker, or no worker
    // was idle) wait for a claim.
    if (fresh > leased) {
      wake_workers(fresh - leased);
    }
  }

  // ---- workers ----

  // Claims leased for the workers, one worker woken for each.
  void hand_claims(std::vector<storage::Claim> claims) {
    if (claims.empty()) {
      return;
    }
    {
      const std::lock_guard lock(work_mutex);
      for (storage::Claim& c : claims) {
        handed.push_back(std::move(c));
      }
      ++work_gen;
    }
    for (std::size_t i = 0; i < claims.size(); ++i) {
      work_cv.notify_one();
    }
  }

  void worker_loop(const std::string& worker_id) {
    // Whether to look in the store: at the start (rows left from before), when
    // told of claimable work, when the last claim or turn said more is ready,
    // and when an idle poll ran out.
    bool look = true;
    while (!stopping.load()) {
      std::uint64_t seen = 0;
      std::optional<storage::Claim> handed_claim;
      {
        const std::lock_guard lock(work_mutex);
        seen = work_gen;
        if (!handed.empty()) {
          handed_claim = std::move(handed.front());
          handed.pop_front();
        } else if (claimable > 0) {
          --claimable;
          look = true;
        }
      }
      storage::Claim c;
      if (handed_claim) {
        c = std::move(*handed_claim);
      } else {
        if (!look) {
          look = !idle_wait(seen);
          continue;
        }
        look = false;
        Result<std::optional<storage::Claim>> claim =
            store.claim(worker_id, clock.now_ms(), options.lease_ms);
        if (!claim) {
          log.error("claim_failed", {{"worker", worker_id}, {"error", claim.error().message}});
          wait_for(work_mutex, work_cv, work_gen, seen + 1, 200, stopping);
          look = true;
          continue;
        }
        if (!claim.value()) {
          continue;  // The next pass sleeps, unless work came meanwhile.
        }
        c = std::move(claim).value().value();
      }
      const auto began = std::chrono::steady_clock::now();
      bool more = c.more;
      const bool ran = run_turn(c, more);
      turn_seconds.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
      if (!ran) {
        turns_failed.inc();
        bump(&EngineCounters::turn_errors);
        // The rows stay pending; give the problem a moment before the next try.
        (void)store.release(c);
        wait_for(work_mutex, work_cv, work_gen, seen + 1, 1000, stopping);
        look = true;
        continue;
      }
      // Claim again at once only when work is known to be ready; otherwise
      // the next pass sleeps until woken.
      look = more;
    }
  }

  // A worker with nothing to do: counted as idle (ingest leases conversations
  // for that many) while it waits for a wake-up or the idle poll. True when
  // woken, false when the poll ran out.
  bool idle_wait(std::uint64_t seen) {
    idle_workers.fetch_add(1);
    const bool woken =
        wait_for(work_mutex, work_cv, work_gen, seen, options.idle_poll_ms, stopping);
    idle_workers.fetch_sub(1);
    return woken;
  }

  // Which bundle the conversation runs on, and its restored (or new) session.
  struct Opened {
    std::shared_ptr<const LoadedBundle> bundle;
    std::optional<host::Session> session;
    bool fresh = true;
  };

  Result<Opened> open_session(const storage::Claim& c, host::Responder& responder,
                              const host::ContactProfile& profile, Millis now) {
    Opened out;
    std::optional<std::string> pinned;
    if (c.session) {
      Result<host::SessionPeek> peek = host::peek_session(c.session->blob);
      if (peek && peek.value().active) {
        pinned = hex_of(peek.value().bundle_hash);
      } else if (!peek) {
        log.error("session_unreadable", {{"device", c.key.device},
                                         {"contact", c.key.contact},
                                         {"error", peek.error().message}});
      }
    }
    Result<std::shared_ptr<const LoadedBundle>> b = pinned ? bundle(*pinned) : active_bundle();
    if (!b) {
      return b.error();
    }
    out.bundle = std::move(b).value();
    host::SessionOptions so;
    so.contact = profile;
    so.start_ms = now;
    so.bundle_hash = out.bundle->hash;
    so.default_zone = options.timezone;
    if (c.session) {
      Result<host::Session> restored =
          host::Session::restore(out.bundle->bundle, responder, c.session->blob, so);
      if (restored) {
        out.session.emplace(std::move(restored).value());
        out.fresh = false;
        return out;
      }
      // A blob that cannot be restored would block the contact for ever; the
      // contact starts over instead, and the log says why.
      log.error("session_discarded", {{"device", c.key.device},
                                      {"contact", c.key.contact},
                                      {"error", restored.error().message}});
    }
    out.session.emplace(out.bundle->bundle, responder, so);
    return out;
  }

  // Runs and commits one turn; `more` becomes true when the conversation got
  // rows during the turn (the worker claims again at once).
  bool run_turn(const storage::Claim& c, bool& more) {
    std::optional<storage::TurnCommit> turn = prepare_turn(c);
    if (!turn) {
      return false;
    }
    return finish_turn(c.key, c.rows.size(), *turn, store.commit_turn(*turn), more);
  }

  // A conversation leased by an ingest whose turn runs on the store's thread
  // inside the ingest's transaction: nothing waits for a worker, and the
  // message and its turn are written by one commit. When the turn cannot be
  // prepared here, or not written, the claim goes to a worker as without it.
  std::optional<storage::InlineTurn> inline_turn(const storage::Claim& c) {
    if (stopping.load()) {
      return std::nullopt;
    }
    const auto began = std::chrono::steady_clock::now();
    std::optional<storage::TurnCommit> turn = prepare_turn(c);
    if (!turn) {
      return std::nullopt;  // Logged; the worker that gets the claim tries again.
    }
    storage::InlineTurn t;
    t.commit = std::move(*turn);
    t.done = [this, key = c.key, rows = c.rows.size(), began](
                 const storage::TurnCommit& commit, Result<storage::TurnResult> committed) {
      if (!committed) {
        return;  // Rolled back alone; the claim went to a worker, which runs it again.
      }
      bool more = false;
      finish_turn(key, rows, commit, std::move(committed), more);
      turn_seconds.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
      if (more) {
        wake_workers(1);
      }
    };
    return t;
  }

  // A claim's turn, ready to commit; nullopt (logged) when its session cannot
  // be opened.
  std::optional<storage::TurnCommit> prepare_turn(const storage::Claim& c) {
    const Millis now = clock.now_ms();
    TurnResponder responder(store);
    // The profile: the name the latest message carried, else the stored one.
    host::ContactProfile profile;
    profile.phone = c.key.contact;
    profile.name = c.name;
    // Messages' payloads, parsed once for the profile and whatever handles the row.
    std::vector<std::optional<Value>> payloads(c.rows.size());
    for (std::size_t i = 0; i < c.rows.size(); ++i) {
      if (c.rows[i].kind == storage::InboxKind::Message) {
        payloads[i] = value_of(c.rows[i].payload);
        const std::optional<Value>& p = payloads[i];
        if (p && !text_field(*p, "name").empty()) {
          profile.name = text_field(*p, "name");
        }
      }
    }
    Result<Opened> opened = open_session(c, responder, profile, now);
    if (!opened) {
      log.error("turn_failed", {{"device", c.key.device},
                                {"contact", c.key.contact},
                                {"error", opened.error().message}});
      return std::nullopt;
    }
    Opened op = std::move(opened).value();
    const LoadedBundle& bundle = *op.bundle;
    host::Session& session = *op.session;

    std::set<std::string> pending_before;
    for (const host::PendingRequest& p : session.pending()) {
      pending_before.insert(p.id);
    }
    storage::TurnCommit turn;
    turn.contact_id = c.contact_id;
    turn.worker_id = c.worker_id;
    turn.token = c.token;
    turn.now_ms = now;

    // The device's fallback chatbot looks at every message the session leaves
    // unmatched, wherever in the turn it comes from (a row, or a held message
    // routed when a run ended).
    Fallback fb{fallback_config(c.key.device), read_fallback_state(session.host_state())};
    const FallbackState fb_before = fb.state;
    Media md{media_config(c.key.device), read_media_state(session.host_state())};
    session.advance_to(now);
    fallback_scan(session, c, now, turn, fb);
    for (std::size_t i = 0; i < c.rows.size(); ++i) {
      const storage::InboxRow& row = c.rows[i];
      turn.consumed.push_back(row.id);
      if (row.kind == storage::InboxKind::Send) {
        send_for_api(c, row, now, turn);
        continue;
      }
      if (row.kind == storage::InboxKind::Message && c.paused) {
        log_for_people(c, row, payloads[i], now, turn);
        continue;
      }
      if (row.kind == storage::InboxKind::Answer && is_fallback_ref(row.ref)) {
        fallback_answer(session, c, row, now, turn, fb);
        continue;
      }
      if (row.kind == storage::InboxKind::Answer && is_media_ref(row.ref)) {
        media_answer(session, c, row, now, turn, fb, md);
        continue;
      }
      if (row.kind == storage::InboxKind::Message && media_hold(c, row, payloads[i], turn, md)) {
        continue;
      }
      feed(session, c, row, payloads[i]);
      fallback_scan(session, c, now, turn, fb);
    }
    if (fb.state.pending != fb_before.pending || fb.state.queued != fb_before.queued ||
        fb.state.seq != fb_before.seq) {
      write_fallback_state(session.host_state(), fb.state);
    }
    if (md.changed) {
      write_media_state(session.host_state(), md.state);
    }

    translate(session, bundle, c, now, pending_before, turn);
    turn.records = std::move(responder.records);
    turn.session_change = storage::TurnCommit::SessionChange::Put;
    turn.session.blob = session.save();
    turn.session.bundle_hash = bundle.hex;

    if (!profile.name.empty() && profile.name != c.name) {
      turn.contact_name = profile.name;
    }
    // The turn's first reply is leased for delivery in the same transaction,
    // unless the dispatcher has no room for more.
    if (room_for_delivery()) {
      turn.dispatch_lease_ms = options.outbox_lease_ms;
    }
    return turn;
  }

  // What follows a turn's commit: counters, events, the delivery of its first
  // row, the timer loop's wake-up. False when it failed and its rows stay
  // pending; a lost lease is no failure (another worker redoes the turn).
  bool finish_turn(const storage::ConversationKey& key, std::size_t rows,
                   const storage::TurnCommit& turn, Result<storage::TurnResult> committed,
                   bool& more) {
    if (!committed) {
      // A lost lease: another worker has the conversation and redoes the turn.
      log.warn(
          "turn_not_committed",
          {{"device", key.device}, {"contact", key.contact}, {"error", committed.error().message}});
      if (committed.error().code == ErrorCode::NotFound) {
        turns_lost.inc();
        leases_expired.inc();
        return true;
      }
      return false;
    }
    turns_committed.inc();
    bump(&EngineCounters::turns);
    if (listening.load()) {
      publish_turn(key, turn);
    }
    if (log.enabled(LogLevel::Debug)) {
      log.debug("turn", {{"device", key.device},
                         {"contact", key.contact},
                         {"rows", rows},
                         {"outbox", committed.value().outbox_ids.size()}});
    }
    if (committed.value().still_pending) {
      more = true;
    }
    if (committed.value().dispatch) {
      hand_row(std::move(*committed.value().dispatch));
    }
    if (committed.value().outbox_waiting) {
      wake_dispatcher();
    }
    if (!committed.value().timer_ids.empty()) {
      Millis due = std::numeric_limits<Millis>::max();
      for (const storage::NewTimer& t : turn.timers) {
        due = std::min(due, t.due_ms);
      }
      // The timer loop looks again by itself before a later timer is due.
      if (due < timer_next_look.load()) {
        wake_timers();
      }
    }
    return true;
  }

  // `payload` is a message row's payload, parsed already (nullopt if it is not JSON).
  void feed(host::Session& session, const storage::Claim& c, const storage::InboxRow& row,
            const std::optional<Value>& payload) {
    switch (row.kind) {
      case storage::InboxKind::Message: {
        const Value* m = payload ? payload->field("message") : nullptr;
        if (m == nullptr || m->type() != Value::Type::Object) {
          log.error("inbox_row_unreadable", {{"id", row.id}, {"contact", c.key.contact}});
          return;
        }
        session.receive(Value::object(m->as_object(), vm::Tag::Message), row.ref);
        return;
      }
      case storage::InboxKind::Answer: {
        std::optional<Value> answer = value_of(row.payload);
        if (!answer) {
          answer = failure("the answer is not JSON");
        }
        if (!session.complete(row.ref, *answer)) {
          log.warn("answer_not_pending", {{"request", row.ref}, {"contact", c.key.contact}});
        }
        return;
      }
      case storage::InboxKind::Timer:
        // advance_to(now) has fired whatever the session had due.
        return;
      case storage::InboxKind::Start: {
        std::optional<Value> p = value_of(row.payload);
        const std::string flow = p ? text_field(*p, "flow") : std::string();
        // The API's variables are the contact's, so the flow reads contact.NAME.
        const Value* vars = p ? p->field("variables") : nullptr;
        if (vars != nullptr && vars->type() == Value::Type::Object) {
          for (const auto& [name, value] : vars->as_object()) {
            session.contact_vars().set(name, value);
          }
        }
        if (!session.start_flow(flow)) {
          log.warn("start_unknown_flow", {{"flow", flow}, {"contact", c.key.contact}});
        }
        return;
      }
      case storage::InboxKind::Handback:
        session.hand_back();
        return;
      case storage::InboxKind::Send:
        return;  // run_turn sends these itself.
    }
  }

  // ---- the AI fallback chatbot (fallback.h) ----

  struct Fallback {
    const AiFallbackConfig* config = nullptr;  // None: the device has no fallback.
    FallbackState state;
    std::size_t scanned = 0;  // Session events looked at so far in this turn.
  };

  const AiFallbackConfig* fallback_config(const std::string& device) const {
    auto it = options.ai_fallbacks.find(device);
    return it != options.ai_fallbacks.end() ? &it->second : nullptr;
  }

  // Unmatched messages since the last look: the input of a new call, or queued
  // behind the one that is out.
  void fallback_scan(host::Session& session, const storage::Claim& c, Millis now,
                     storage::TurnCommit& turn, Fallback& fb) {
    const std::vector<host::Event>& events = session.events();
    std::vector<std::string> texts;
    for (; fb.scanned < events.size(); ++fb.scanned) {
      if (events[fb.scanned].kind == host::EventKind::Unmatched) {
        texts.push_back(fallback_text(events[fb.scanned].payload));
      }
    }
    if (texts.empty() || fb.config == nullptr) {
      return;
    }
    if (!fb.state.pending.empty()) {
      for (std::string& t : texts) {
        fb.state.queued.push_back(std::move(t));
      }
      return;
    }
    fallback_ask(session, c, now, turn, fb, std::move(texts));
  }

  void fallback_ask(host::Session& session, const storage::Claim& c, Millis now,
                    storage::TurnCommit& turn, Fallback& fb, std::vector<std::string> texts) {
    FallbackCall call;
    call.id = std::string(kFallbackPrefix) + std::to_string(++fb.state.seq);
    call.input = std::move(texts);
    call.history = session.history();
    call.now_ms = now;
    call.tz_offset_ms = zone.offset_ms(now);
    call.zone = options.timezone;
    call.contact = session.contact();
    storage::NewOutbox o;
    o.kind = "ai";
    o.payload = vm::to_json(fallback_payload(*fb.config, call));
    turn.outbox.push_back(std::move(o));
    fb.state.pending = call.id;
    if (log.enabled(LogLevel::Debug)) {
      log.debug("ai_fallback_call",
                {{"device", c.key.device}, {"contact", c.key.contact}, {"id", call.id}});
    }
  }

  // The model's answer to a fallback call: sent as text, unless a flow started
  // meanwhile (the flow wins) or the model failed (silence, and a log line).
  void fallback_answer(host::Session& session, const storage::Claim& c,
                       const storage::InboxRow& row, Millis now, storage::TurnCommit& turn,
                       Fallback& fb) {
    if (row.ref != fb.state.pending) {
      log.warn("answer_not_pending", {{"request", row.ref}, {"contact", c.key.contact}});
      return;
    }
    fb.state.pending.clear();
    if (fb.config == nullptr || session.active() || session.paused()) {
      log.info("ai_fallback_dropped", {{"device", c.key.device},
                                       {"contact", c.key.contact},
                                       {"why", fb.config == nullptr ? "the device has no fallback"
                                                                    : "a flow is running"}});
      fb.state.queued.clear();
      return;
    }
    std::optional<Value> answer = value_of(row.payload);
    const Value* ok = answer ? answer->field("ok") : nullptr;
    const std::string text = answer ? text_field(*answer, "text") : std::string();
    if (ok == nullptr || !ok->truthy() || text.empty()) {
      std::string error = answer ? text_field(*answer, "error") : "the answer is not JSON";
      log.warn("ai_fallback_failed",
               {{"device", c.key.device},
                {"contact", c.key.contact},
                {"error", error.empty() ? "the model answered no text" : error}});
    } else {
      const Value message =
          Value::object({{"type", Value::text("text")}, {"text", Value::text(text)}});
      storage::NewOutbox o;
      o.kind = "send";
      o.payload = vm::to_json(message);
      storage::LogMessage line;
      line.direction = storage::LogMessage::Direction::Out;
      line.at_ms = now;
      line.step = std::string(kFallbackStep);
      line.kind = "text";
      line.text = text;
      line.payload = o.payload;
      turn.outbox.push_back(std::move(o));
      turn.messages.push_back(std::move(line));
      session.remember_sent(text);
    }
    if (!fb.state.queued.empty()) {
      std::vector<std::string> texts = std::move(fb.state.queued);
      fb.state.queued.clear();
      fallback_ask(session, c, now, turn, fb, std::move(texts));
    }
  }

  // ---- media understanding (media.h) ----

  struct Media {
    const DeviceMedia* config = nullptr;  // None: the device leaves media as it comes.
    MediaState state;
    bool changed = false;
  };

  const DeviceMedia* media_config(const std::string& device) const {
    auto it = options.media.find(device);
    return it != options.media.end() ? &it->second : nullptr;
  }

  // Holds a message back from the session: behind a call that is out (in order), or because
  // it is media to understand first (a call goes out). False: feed it now.
  bool media_hold(const storage::Claim& c, const storage::InboxRow& row,
                  const std::optional<Value>& payload, storage::TurnCommit& turn, Media& md) {
    if (md.config == nullptr && md.state.pending.empty()) {
      return false;
    }
    const Value* m = payload ? payload->field("message") : nullptr;
    if (m == nullptr || m->type() != Value::Type::Object) {
      return false;  // feed() logs it.
    }
    if (!md.state.pending.empty()) {
      md.state.held.push_back(HeldMessage{*m, row.ref});
      md.changed = true;
      return true;
    }
    const std::string task = media_task(md.config->config, *m);
    if (task.empty()) {
      return false;
    }
    md.state.held.push_back(HeldMessage{*m, row.ref});
    media_ask(c, turn, md, task);
    return true;
  }

  // The call for the first held message.
  void media_ask(const storage::Claim& c, storage::TurnCommit& turn, Media& md,
                 const std::string& task) {
    const std::string id = std::string(kMediaPrefix) + std::to_string(++md.state.seq);
    storage::NewOutbox o;
    o.kind = "media";
    o.payload = vm::to_json(media_payload(md.config->config, id, task, md.config->max_bytes,
                                          md.state.held.front().message));
    turn.outbox.push_back(std::move(o));
    md.state.pending = id;
    md.changed = true;
    if (log.enabled(LogLevel::Debug)) {
      log.debug("media_call",
                {{"device", c.key.device}, {"contact", c.key.contact}, {"id", id}, {"task", task}});
    }
  }

  // The answer of a media call: the held message goes to the session, enriched (or as it
  // came, when the call failed), then those behind it, until one needs a call of its own.
  void media_answer(host::Session& session, const storage::Claim& c, const storage::InboxRow& row,
                    Millis now, storage::TurnCommit& turn, Fallback& fb, Media& md) {
    if (row.ref != md.state.pending || md.state.held.empty()) {
      log.warn("answer_not_pending", {{"request", row.ref}, {"contact", c.key.contact}});
      return;
    }
    md.state.pending.clear();
    md.changed = true;
    HeldMessage first = std::move(md.state.held.front());
    md.state.held.erase(md.state.held.begin());
    std::optional<Value> answer = value_of(row.payload);
    const std::string task =
        md.config != nullptr ? media_task(md.config->config, first.message) : std::string();
    std::string error;
    Value message = enrich(first.message, task.empty() ? "describe" : task,
                           answer ? *answer : failure("the answer is not JSON"), error);
    if (!error.empty()) {
      log.warn(
          "media_failed",
          {{"device", c.key.device}, {"contact", c.key.contact}, {"task", task}, {"error", error}});
    }
    session.receive(Value::object(message.as_object(), vm::Tag::Message), first.ref);
    fallback_scan(session, c, now, turn, fb);
    while (!md.state.held.empty()) {
      const HeldMessage& next = md.state.held.front();
      const std::string next_task =
          md.config != nullptr ? media_task(md.config->config, next.message) : std::string();
      if (!next_task.empty()) {
        media_ask(c, turn, md, next_task);
        return;
      }
      session.receive(Value::object(next.message.as_object(), vm::Tag::Message), next.ref);
      md.state.held.erase(md.state.held.begin());
      fallback_scan(session, c, now, turn, fb);
    }
  }

  // A message while a person has the conversation (the contact is paused): the
  // bot does not see it, the log keeps it for that person to read.
  void log_for_people(const storage::Claim& c, const storage::InboxRow& row,
                      const std::optional<Value>& payload, Millis now, storage::TurnCommit& turn) {
    const Value* m = payload ? payload->field("message") : nullptr;
    if (m == nullptr || m->type() != Value::Type::Object) {
      log.error("inbox_row_unreadable", {{"id", row.id}, {"contact", c.key.contact}});
      return;
    }
    storage::LogMessage line;
    line.direction = storage::LogMessage::Direction::In;
    line.at_ms = now;
    line.kind = text_field(*m, "type");
    line.text = text_field(*m, "text");
    line.payload = vm::to_json(*m);
    turn.messages.push_back(std::move(line));
  }

  // A message the API sends outside any flow: an outbox row and a log line, in
  // the conversation's order (also while a person has the conversation: the
  // API is how that person writes).
  void send_for_api(const storage::Claim& c, const storage::InboxRow& row, Millis now,
                    storage::TurnCommit& turn) {
    std::optional<Value> p = value_of(row.payload);
    const Value* m = p ? p->field("message") : nullptr;
    if (m == nullptr || m->type() != Value::Type::Object || text_field(*m, "type").empty()) {
      log.error("inbox_row_unreadable", {{"id", row.id}, {"contact", c.key.contact}});
      return;
    }
    storage::NewOutbox o;
    o.kind = "send";
    o.payload = vm::to_json(*m);
    storage::LogMessage line;
    line.direction = storage::LogMessage::Direction::Out;
    line.at_ms = now;
    line.kind = text_field(*m, "type");
    line.text = text_field(*m, "text");
    line.payload = o.payload;
    turn.outbox.push_back(std::move(o));
    turn.messages.push_back(std::move(line));
  }

  // The session's events and calls -> outbox rows, timers, log and progress.
  void translate(host::Session& session, const LoadedBundle& bundle, const storage::Claim& c,
                 Millis now, const std::set<std::string>& pending_before,
                 storage::TurnCommit& turn) {
    std::string flow;
    std::string step;
    for (const host::Event& e : session.take_events()) {
      const std::string run = e.run == 0 ? std::string() : std::to_string(e.run);
      switch (e.kind) {
        case host::EventKind::Received: {
          storage::LogMessage m;
          m.direction = storage::LogMessage::Direction::In;
          m.at_ms = e.at_ms;
          m.flow = flow;
          m.step = step;
          m.kind = text_field(e.payload, "type");
          m.text = text_field(e.payload, "text");
          m.payload = vm::to_json(e.payload);
          m.run = run;
          turn.messages.push_back(std::move(m));
          break;
        }
        case host::EventKind::Started: {
          flow = e.text;
          storage::ConversationUpdate u;
          u.op = storage::ConversationUpdate::Op::Start;
          u.run = run;
          u.flow = e.text;
          u.bundle_hash = bundle.hex;
          u.at_ms = e.at_ms;
          turn.conversations.push_back(std::move(u));
          break;
        }
        case host::EventKind::Step: {
          step = session.step_id(e.step);
          storage::ConversationUpdate u;
          u.op = storage::ConversationUpdate::Op::Update;
          u.run = run;
          u.last_step = step;
          u.at_ms = e.at_ms;
          turn.conversations.push_back(std::move(u));
          break;
        }
        case host::EventKind::Effect:
          if (e.effect == bytecode::EffectKind::Send) {
            storage::NewOutbox o;
            o.kind = "send";
            o.payload = vm::to_json(e.payload);
            turn.outbox.push_back(std::move(o));
            storage::LogMessage m;
            m.direction = storage::LogMessage::Direction::Out;
            m.at_ms = e.at_ms;
            m.flow = flow;
            m.step = step;
            m.kind = text_field(e.payload, "type");
            m.text = text_field(e.payload, "text");
            m.payload = turn.outbox.back().payload;
            m.run = run;
            turn.messages.push_back(std::move(m));
          }
          break;
        case host::EventKind::Ended:
        case host::EventKind::Failed: {
          storage::ConversationUpdate u;
          u.op = storage::ConversationUpdate::Op::End;
          u.run = run;
          u.status = e.kind == host::EventKind::Ended ? "completed" : "failed";
          u.at_ms = e.at_ms;
          turn.conversations.push_back(std::move(u));
          if (e.kind == host::EventKind::Failed) {
            log.warn("run_failed",
                     {{"device", c.key.device}, {"contact", c.key.contact}, {"why", e.text}});
          }
          break;
        }
        default:
          break;
      }
    }
    for (const host::PendingRequest& p : session.pending()) {
      if (pending_before.count(p.id) != 0) {
        continue;  // Asked in an earlier turn: its row is out already.
      }
      storage::NewOutbox o;
      o.kind = outbox_kind(p.request.kind);
      o.payload = vm::to_json(host::call_payload(p.request));
      if (p.request.kind == bytecode::EffectKind::StoreRecord) {
        o.record = record_of(p.request);
      }
      turn.outbox.push_back(std::move(o));
    }
    // One timer row per conversation stands for the session's earliest timer.
    storage::TimerCancel cancel;
    cancel.kind = "session";
    turn.cancel_timers.push_back(cancel);
    if (std::optional<std::int64_t> due = session.next_timer_ms()) {
      storage::NewTimer t;
      t.due_ms = std::max<std::int64_t>(*due, now);
      t.kind = "session";
      t.tag = "session";
      turn.timers.push_back(std::move(t));
    }
  }

  // ---- dispatcher ----

  Millis jitter(Millis ms) {
    const std::lock_guard lock(rng_mutex);
    std::uniform_real_distribution<double> d(0.5, 1.0);
    return static_cast<Millis>(static_cast<double>(ms) * d(rng));
  }

  Millis backoff(int attempts) {
    Millis ms = options.backoff_base_ms;
    for (int i = 1; i < attempts && ms < options.backoff_max_ms; ++i) {
      ms *= 2;
    }
    return jitter(std::min(ms, options.backoff_max_ms));
  }

  // Waits for a send token of the device (the dispatcher thread only).
  void take_token(const std::string& device) {
    const double rate = rate_of(device);
    if (rate <= 0) {
      return;
    }
    Bucket& b = buckets[device];
    for (;;) {
      const Millis now = clock.now_ms();
      if (b.tokens < 0) {
        b.tokens = rate;
        b.last_ms = now;
      }
      b.tokens = std::min(rate, b.tokens + static_cast<double>(now - b.last_ms) * rate / 1000.0);
      b.last_ms = now;
      if (b.tokens >= 1 || stopping.load()) {
        b.tokens -= 1;
        return;
      }
      const double wait = (1 - b.tokens) * 1000.0 / rate;
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<Millis>(wait) + 1));
    }
  }

  void push_applied(Applied a) {
    {
      const std::lock_guard lock(apply_mutex);
      apply_queue.push_back(std::move(a));
    }
    apply_cv.notify_one();
  }

  static std::string collection_of(const storage::OutboxRow& row) {
    std::optional<Value> p = value_of(row.payload);
    const Value* req = p ? p->field("request") : nullptr;
    return req != nullptr ? text_field(*req, "collection") : std::string();
  }

  // Answers a call the engine handles itself.
  DeliveryResult local(const storage::OutboxRow& row) {
    DeliveryResult r;
    r.outcome = DeliveryResult::Outcome::Sent;
    if (row.kind == "store") {
      // The record was written with the turn that asked for it; its id is the
      // step's answer.
      Result<std::optional<std::int64_t>> id = store.record_of_call(row.id);
      if (!id) {
        r.outcome = DeliveryResult::Outcome::Retry;
        r.error = id.error().message;
        r.device_fault = false;  // The store's trouble, not the device's.
        return r;
      }
      if (!id.value()) {
        r.answer = failure("the record was not stored");
        return r;
      }
      // "<collection>-<n>", the shape the simulator's and test runner's store
      // answers have too, so transcripts and the API show the same ids.
      r.answer = Value::object(
          {{"ok", Value::boolean(true)},
           {"id", Value::text(storage::record_ref(collection_of(row), *id.value()))}});
      return r;
    }
    r.answer = failure(row.kind == "ai" ? "not configured: no AI model is set up"
                                        : "not configured: '" + row.kind + "' calls");
    return r;
  }

  // Whether the dispatcher may take one more delivery (EngineOptions::max_inflight).
  bool room_for_delivery() {
    const std::lock_guard lock(apply_mutex);
    return inflight < options.max_inflight;
  }

  // The device's sends per second; 0 when nothing paces them.
  double rate_of(const std::string& device) const {
    auto configured = options.device_rates.find(device);
    return configured != options.device_rates.end() ? configured->second : options.rate_per_device;
  }

  // A row leased for delivery in a turn's or an outcome's transaction, counted
  // in flight from now on. It starts on this thread when no rate limit paces
  // it (a hop less), else the dispatcher starts it at once.
  void hand_row(storage::OutboxRow row) {
    {
      const std::lock_guard lock(apply_mutex);
      ++inflight;
    }
    if (row.kind != "send" || rate_of(row.key.device) <= 0) {
      start_delivery(std::move(row), false);
      return;
    }
    {
      std::unique_lock lock(outbox_mutex);
      if (!dispatcher_gone) {
        handed_rows.push_back(std::move(row));
        lock.unlock();
        outbox_cv.notify_one();
        return;
      }
    }
    // Stopping, and the dispatcher has left: delivered here, unpaced, so
    // that stop() still records it.
    start_delivery(std::move(row), false);
  }

  void dispatch_loop() {
    // Whether to look in the store for due rows: after a wake-up, when the
    // last look filled a whole batch, and when the sleep ran out (retries
    // come due). Rows handed over need no look.
    bool look = true;
    Millis sleep = options.idle_poll_ms;
    while (!stopping.load()) {
      std::uint64_t seen = 0;
      std::deque<storage::OutboxRow> ready;
      {
        std::unique_lock lock(outbox_mutex);
        if (!look) {
          const std::uint64_t before = outbox_gen;
          const bool woken = outbox_cv.wait_for(
              lock, std::chrono::milliseconds(std::max<Millis>(sleep, 1)),
              [&] { return outbox_gen != before || !handed_rows.empty() || stopping.load(); });
          look = !woken || outbox_gen != before;
        }
        seen = outbox_gen;
        ready.swap(handed_rows);
      }
      for (storage::OutboxRow& row : ready) {
        start_delivery(std::move(row));
      }
      if (!look || stopping.load()) {
        continue;
      }
      std::int64_t room = 0;
      {
        const std::lock_guard lock(apply_mutex);
        room = options.max_inflight - inflight;
      }
      if (room <= 0) {
        wait_for(outbox_mutex, outbox_cv, outbox_gen, seen, 50, stopping);
        continue;
      }
      const Millis now = clock.now_ms();
      const int limit = static_cast<int>(std::min<std::int64_t>(room, options.outbox_batch));
      Result<std::vector<storage::OutboxRow>> rows =
          store.claim_outbox(now, limit, options.outbox_lease_ms);
      if (!rows) {
        log.error("claim_outbox_failed", {{"error", rows.error().message}});
        wait_for(outbox_mutex, outbox_cv, outbox_gen, seen + 1, 500, stopping);
        continue;
      }
      std::vector<storage::OutboxRow> batch = std::move(rows).value();
      // A whole batch: there may be more. Otherwise sleep until woken or the
      // next row comes due; a wake-up since `seen` means look again.
      look = static_cast<int>(batch.size()) == limit;
      if (!look) {
        sleep = options.idle_poll_ms;
        Result<std::optional<Millis>> due = store.next_outbox_due();
        if (due && due.value()) {
          sleep = std::clamp<Millis>(*due.value() - clock.now_ms(), 1, options.idle_poll_ms);
        }
        const std::lock_guard lock(outbox_mutex);
        look = outbox_gen != seen;
      }
      {
        const std::lock_guard lock(apply_mutex);
        inflight += static_cast<std::int64_t>(batch.size());
      }
      for (storage::OutboxRow& row : batch) {
        start_delivery(std::move(row));
      }
    }
    // Rows handed over from now on are started by whoever hands them.
    std::deque<storage::OutboxRow> left;
    {
      const std::lock_guard lock(outbox_mutex);
      dispatcher_gone = true;
      left.swap(handed_rows);
    }
    for (storage::OutboxRow& row : left) {
      start_delivery(std::move(row), false);
    }
  }

  // Starts one delivery; `paced` (the dispatcher thread only) takes a token
  // of the device's rate limit first.
  void start_delivery(storage::OutboxRow row, bool paced = true) {
    if (log.enabled(LogLevel::Debug)) {
      log.debug("delivery_start", {{"id", row.id}, {"kind", row.kind}});
    }
    if (!transport.handles(row.kind)) {
      DeliveryResult r = local(row);
      push_applied(Applied{std::move(row), std::move(r), false});
      return;
    }
    const Millis now = clock.now_ms();
    {
      const std::lock_guard lock(breaker_mutex);
      const Breaker& b = breakers[row.key.device];
      if (b.open_until > now) {
        DeliveryResult r;
        r.outcome = DeliveryResult::Outcome::Retry;
        r.error = "circuit open for device " + row.key.device;
        r.retry_after_ms = b.open_until - now;
        push_applied(Applied{std::move(row), std::move(r), false});
        return;
      }
    }
    if (row.kind == "send" && paced) {
      take_token(row.key.device);
    }
    auto shared = std::make_shared<storage::OutboxRow>(std::move(row));
    transport.deliver(*shared, [this, shared](DeliveryResult r) {
      Applied a{std::move(*shared), std::move(r), true};
      if (!record_sent_async(a)) {
        push_applied(std::move(a));
      }
    });
  }

  // Records a delivery that went out without an apply thread when the store
  // writes asynchronously: the transport's thread queues the write, and the
  // store's writer, once it is durable, starts the conversation's next reply.
  // Two thread hops less per reply. False (and `a` untouched) otherwise.
  bool record_sent_async(Applied& a) {
    if (a.result.outcome != DeliveryResult::Outcome::Sent || !store.writes_async()) {
      return false;
    }
    note_breaker(a.row.key.device, false);
    const Millis now = clock.now_ms();
    std::optional<storage::NewInbox> answer = answer_of(a, now);
    const bool answered = answer.has_value();
    auto applied = std::make_shared<Applied>(std::move(a));
    store.mark_sent_next_async(applied->row.id, applied->result.provider_message_id, now,
                               std::move(answer), applied->result.ai_usage,
                               stopping.load() ? 0 : options.outbox_lease_ms,
                               [this, applied, answered, now](Result<storage::SentResult> marked) {
                                 after_sent(*applied, std::move(marked), answered, now);
                                 applied_one();
                               });
    return true;
  }

  void apply_loop() {
    for (;;) {
      Applied a;
      {
        std::unique_lock lock(apply_mutex);
        apply_cv.wait(lock, [&] { return !apply_queue.empty() || apply_closed; });
        if (apply_queue.empty()) {
          return;
        }
        a = std::move(apply_queue.front());
        apply_queue.pop_front();
      }
      apply(a);
      applied_one();
    }
  }

  // A delivery in flight was recorded.
  void applied_one() {
    bool drained = false;
    bool was_full = false;
    {
      const std::lock_guard lock(apply_mutex);
      was_full = inflight >= options.max_inflight;
      drained = --inflight <= 0;
    }
    // Only stop() waits for the count; waking every applier on each outcome
    // cost more futex calls than anything else in the server.
    if (drained) {
      drained_cv.notify_all();
    }
    // The dispatcher waits for room when it had none.
    if (was_full) {
      wake_dispatcher();
    }
  }

  void note_breaker(const std::string& device, bool failed) {
    const std::lock_guard lock(breaker_mutex);
    Breaker& b = breakers[device];
    if (!failed) {
      b.failures = 0;
      return;
    }
    if (++b.failures >= options.breaker_failures) {
      b.open_until = clock.now_ms() + options.breaker_open_ms;
      b.failures = 0;
      log.warn("circuit_open", {{"device", device}, {"ms", options.breaker_open_ms}});
    }
  }

  // What a call's answer puts in the conversation's inbox, with its sent mark.
  static std::optional<storage::NewInbox> answer_of(const Applied& a, Millis now) {
    if (!a.result.answer) {
      return std::nullopt;
    }
    std::optional<Value> p = value_of(a.row.payload);
    storage::NewInbox in;
    in.key = a.row.key;
    in.kind = storage::InboxKind::Answer;
    in.ref = p ? text_field(*p, "id") : std::string();
    in.payload = vm::to_json(*a.result.answer);
    in.received_ms = now;
    return in;
  }

  // What follows a delivery's sent mark: the conversation's next reply, which
  // the mark leased, goes out; counters, workers and listeners hear of it.
  // Runs on an apply thread or, for an asynchronous mark, on the store's
  // writer, so it writes nothing to the store.
  void after_sent(const Applied& a, Result<storage::SentResult> marked, bool answered, Millis now) {
    const storage::OutboxRow& row = a.row;
    if (!marked) {
      log.error("mark_sent_failed", {{"id", row.id}, {"error", marked.error().message}});
      wake_dispatcher();
      return;
    }
    if (marked.value().next) {
      hand_row(std::move(*marked.value().next));
    }
    if (marked.value().outbox_waiting || stopping.load()) {
      wake_dispatcher();
    }
    if (!marked.value().marked) {
      // The row's lease ran out and another dispatcher has it (or had it).
      log.warn("mark_sent_late", {{"id", row.id}, {"kind", row.kind}});
      leases_expired.inc();
    }
    bump(&EngineCounters::sent);
    count_delivery(row.kind, kSent);
    if (answered) {
      wake_workers(1);
    }
    if (row.kind == "send" && listening.load()) {
      publish("delivered", row.key,
              {{"at_ms", Value::number(static_cast<double>(now))},
               {"outbox_id", Value::number(static_cast<double>(row.id))},
               {"provider_message_id", Value::text(a.result.provider_message_id)}});
    }
  }

  void apply(const Applied& a) {
    const storage::OutboxRow& row = a.row;
    if (log.enabled(LogLevel::Debug)) {
      log.debug("delivery", {{"id", row.id}, {"outcome", static_cast<int>(a.result.outcome)}});
    }
    const DeliveryResult& r = a.result;
    const Millis now = clock.now_ms();
    using Outcome = DeliveryResult::Outcome;
    if (a.through_transport) {
      note_breaker(row.key.device, r.outcome == Outcome::Retry && r.device_fault);
    }
    if (r.outcome == Outcome::Sent) {
      std::optional<storage::NewInbox> answer = answer_of(a, now);
      const bool answered = answer.has_value();
      // The conversation's next reply is leased in the same transaction and
      // goes out at once: replies to a contact leave in order, one at a time.
      after_sent(a,
                 store.mark_sent_next(row.id, r.provider_message_id, now, answer, r.ai_usage,
                                      stopping.load() ? 0 : options.outbox_lease_ms),
                 answered, now);
      return;
    }
    if (r.outcome == Outcome::Permanent) {
      Result<bool> marked = store.mark_failed(row.id, r.error, now);
      wake_dispatcher();  // The contact's next row is free to go.
      log.warn("delivery_failed", {{"id", row.id},
                                   {"kind", row.kind},
                                   {"device", row.key.device},
                                   {"contact", row.key.contact},
                                   {"error", r.error}});
      if (!marked) {
        log.error("mark_failed_failed", {{"id", row.id}, {"error", marked.error().message}});
      }
      bump(&EngineCounters::failed);
      count_delivery(row.kind, kFailed);
      if (listening.load()) {
        publish("delivery_failed", row.key,
                {{"at_ms", Value::number(static_cast<double>(now))},
                 {"outbox_id", Value::number(static_cast<double>(row.id))},
                 {"kind", Value::text(row.kind)},
                 {"error", Value::text(r.error)}});
      }
      // A call the conversation waits on must still be answered, or it waits for ever.
      fail_waiting_call(row, r.error, now);
      return;
    }
    const Millis delay =
        r.retry_after_ms >= 0 ? r.retry_after_ms + jitter(250) : backoff(row.attempts);
    Result<storage::OutboxStatus> status = store.mark_retry(row.id, now + delay, r.error);
    wake_dispatcher();  // It plans its sleep around the retry (or the next row, if dead).
    if (!status) {
      log.error("mark_retry_failed", {{"id", row.id}, {"error", status.error().message}});
      return;
    }
    bump(&EngineCounters::retried);
    count_delivery(row.kind, status.value() == storage::OutboxStatus::Dead ? kDead : kRetry);
    log.info("delivery_retry", {{"id", row.id},
                                {"kind", row.kind},
                                {"device", row.key.device},
                                {"attempts", row.attempts},
                                {"in_ms", delay},
                                {"error", r.error}});
    if (status.value() == storage::OutboxStatus::Dead) {
      log.warn("delivery_dead", {{"id", row.id}, {"kind", row.kind}, {"error", r.error}});
      fail_waiting_call(
          row, "gave up after " + std::to_string(row.attempts) + " attempts: " + r.error, now);
    }
  }

  void fail_waiting_call(const storage::OutboxRow& row, const std::string& error, Millis now) {
    if (row.kind == "send") {
      return;
    }
    std::optional<Value> p = value_of(row.payload);
    storage::NewInbox in;
    in.key = row.key;
    in.kind = storage::InboxKind::Answer;
    in.ref = p ? text_field(*p, "id") : std::string();
    in.payload = vm::to_json(failure(error));
    in.received_ms = now;
    Result<std::vector<std::int64_t>> queued = store.enqueue({in});
    if (!queued) {
      log.error("enqueue_failed", {{"error", queued.error().message}});
      return;
    }
    wake_workers(1);
  }

  // ---- timers ----

  // Forgets dedup keys and finished outbox rows past their horizons (7 days).
  void prune(Millis now) {
    Result<storage::PruneResult> pruned = store.prune(now);
    if (!pruned) {
      log.error("prune_failed", {{"error", pruned.error().message}});
    } else if (pruned.value().seen > 0 || pruned.value().outbox > 0) {
      log.info("pruned", {{"dedup_keys", pruned.value().seen}, {"outbox", pruned.value().outbox}});
    }
  }

  void timer_loop() {
    Millis last_prune = 0;
    while (!stopping.load()) {
      std::uint64_t seen = 0;
      {
        const std::lock_guard lock(timer_mutex);
        seen = timer_gen;
      }
      const Millis now = clock.now_ms();
      if (now - last_prune >= options.prune_every_ms) {
        prune(now);
        last_prune = now;
      }
      Result<std::int64_t> fired = store.fire_due_timers(now, 512);
      if (!fired) {
        log.error("fire_timers_failed", {{"error", fired.error().message}});
      } else if (fired.value() > 0) {
        bump(&EngineCounters::timers_fired, fired.value());
        timers_fired.inc(fired.value());
        wake_workers(static_cast<std::size_t>(fired.value()));
        if (fired.value() == 512) {
          continue;  // More may be due.
        }
      }
      Millis sleep = options.idle_poll_ms;
      Result<std::optional<Millis>> due = store.next_timer_due();
      if (due && due.value()) {
        sleep = std::clamp<Millis>(*due.value() - clock.now_ms(), 1, options.idle_poll_ms);
      }
      // From here a timer due before the next look wakes the loop; one
      // committed since `next_timer_due` read the store finds it looking.
      timer_next_look.store(clock.now_ms() + sleep);
      wait_for(timer_mutex, timer_cv, timer_gen, seen, sleep, stopping);
      timer_next_look.store(std::numeric_limits<Millis>::max());
    }
  }
};

Engine::Engine(storage::Store& store, Clock& clock, Transport& transport, JsonLog& log,
               EngineOptions options)
    : impl_(std::make_unique<Impl>(store, clock, transport, log, std::move(options))) {}

Engine::~Engine() {
  stop();
}

Result<std::string> Engine::deploy(const std::string& bytes, const std::string& author,
                                   const std::string& comment) {
  const std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
  Result<bytecode::Bundle> check = bytecode::load_bundle(data);
  if (!check) {
    return Error{ErrorCode::InvalidInput, "the bundle does not load: " + check.error().message};
  }
  storage::BundleMeta meta;
  meta.author = author;
  meta.comment = comment;
  meta.created_ms = impl_->clock.now_ms();
  Result<std::string> hash = impl_->store.put_bundle(bytes, meta);
  if (!hash) {
    return hash.error();
  }
  Result<std::optional<storage::StoredBundle>> current = impl_->store.active_bundle();
  if (!current) {
    return current.error();
  }
  if (!current.value() || current.value()->info.hash != hash.value()) {
    Result<bool> activated = impl_->store.activate(hash.value(), impl_->clock.now_ms(), author);
    if (!activated) {
      return activated.error();
    }
  }
  Result<std::shared_ptr<const LoadedBundle>> loaded = impl_->remember(bytes, hash.value());
  if (!loaded) {
    return loaded.error();
  }
  {
    const std::lock_guard lock(impl_->bundles_mutex);
    impl_->active = hash.value();
  }
  return hash;
}

std::string Engine::active_hash() const {
  {
    const std::lock_guard lock(impl_->bundles_mutex);
    if (!impl_->active.empty()) {
      return impl_->active;
    }
  }
  // Nothing deployed by this process yet: the store may have an active bundle.
  Result<std::shared_ptr<const LoadedBundle>> b = impl_->active_bundle();
  return b ? b.value()->hex : std::string();
}

std::vector<std::pair<std::string, std::string>> Engine::active_flows() const {
  std::vector<std::pair<std::string, std::string>> flows;
  Result<std::shared_ptr<const LoadedBundle>> b = impl_->active_bundle();
  if (!b) {
    return flows;
  }
  const bytecode::Bundle& bundle = b.value()->bundle;
  for (const bytecode::FlowInfo& f : bundle.flows) {
    const std::string& name = bundle.str(f.name);
    flows.emplace_back(name, f.title == bytecode::kNone ? name : bundle.str(f.title));
  }
  return flows;
}

void Engine::start() {
  Impl& m = *impl_;
  if (m.running.exchange(true)) {
    return;
  }
  // A store that writes asynchronously takes webhooks directly (queue_ingest).
  const int ingesters = m.store.writes_async() ? 0 : std::max(1, m.options.ingest_threads);
  for (int i = 0; i < ingesters; ++i) {
    m.ingesters.emplace_back([&m] {
      name_this_thread("wf-ingest");
      m.ingest_loop();
    });
  }
  for (int i = 0; i < std::max(1, m.options.apply_threads); ++i) {
    m.appliers.emplace_back([&m] {
      name_this_thread("wf-apply");
      m.apply_loop();
    });
  }
  for (int i = 0; i < std::max(1, m.options.workers); ++i) {
    const std::string id = m.options.instance + "-w" + std::to_string(i);
    m.workers.emplace_back([&m, id] {
      name_this_thread("wf-worker");
      m.worker_loop(id);
    });
  }
  m.dispatcher = std::thread([&m] {
    name_this_thread("wf-dispatch");
    m.dispatch_loop();
  });
  m.timer_thread = std::thread([&m] {
    name_this_thread("wf-timers");
    m.timer_loop();
  });
}

void Engine::ingest(std::vector<IncomingMessage> messages, std::vector<IncomingStatus> statuses,
                    std::function<void(Result<IngestSummary>)> done) {
  Impl& m = *impl_;
  Impl::IngestJob job;
  const Millis now = m.clock.now_ms();
  for (IncomingMessage& in : messages) {
    storage::Inbound item;
    item.type = storage::Inbound::Type::Message;
    item.gateway = in.gateway;
    item.account = in.account;
    item.provider_message_id = in.provider_message_id;
    item.key = storage::ConversationKey{in.device, in.contact};
    item.payload =
        vm::to_json(Value::object({{"message", in.message},
                                   {"name", Value::text(in.contact_name)},
                                   {"ts", Value::number(static_cast<double>(in.timestamp_ms))}}));
    item.received_ms = now;
    job.items.push_back(std::move(item));
  }
  for (IncomingStatus& st : statuses) {
    storage::Inbound item;
    item.type = storage::Inbound::Type::Status;
    item.gateway = st.gateway;
    item.account = st.account;
    item.provider_message_id = st.provider_message_id;
    item.status = st.status;
    item.received_ms = now;
    job.items.push_back(std::move(item));
  }
  if (job.items.empty()) {
    done(IngestSummary{});
    return;
  }
  job.done = std::move(done);
  m.queue_ingest(std::move(job));
}

void Engine::submit(ApiAction action, std::function<void(Result<ApiQueued>)> done) {
  Impl& m = *impl_;
  if (action.id.empty()) {
    action.id = m.make_id();
  }
  storage::Inbound item;
  item.type = storage::Inbound::Type::Message;
  item.gateway = "api";
  item.account = action.device;
  item.provider_message_id = action.id;
  item.key = storage::ConversationKey{action.device, action.contact};
  item.kind = action.kind;
  item.payload = std::move(action.payload);
  item.received_ms = m.clock.now_ms();
  Impl::IngestJob job;
  job.items.push_back(std::move(item));
  job.done = [id = action.id, done = std::move(done)](Result<IngestSummary> r) {
    if (!r) {
      done(r.error());
      return;
    }
    done(ApiQueued{id, r.value().duplicates > 0});
  };
  m.queue_ingest(std::move(job));
}

Result<bool> Engine::activate(const std::string& hash, const std::string& author) {
  Impl& m = *impl_;
  Result<std::shared_ptr<const LoadedBundle>> loaded = m.bundle(hash);
  if (!loaded) {
    return loaded.error();
  }
  Result<bool> activated = m.store.activate(hash, m.clock.now_ms(), author);
  if (!activated) {
    return activated.error();
  }
  const std::lock_guard lock(m.bundles_mutex);
  m.active = hash;
  return true;  // Also when it was active already.
}

Result<std::string> Engine::rollback(const std::string& author) {
  Impl& m = *impl_;
  Result<std::string> hash = m.store.rollback(m.clock.now_ms(), author);
  if (!hash) {
    return hash.error();
  }
  const std::lock_guard lock(m.bundles_mutex);
  m.active = hash.value();
  return hash;
}

std::uint64_t Engine::subscribe(std::function<void(const EngineEvent&)> listener) {
  Impl& m = *impl_;
  const std::lock_guard lock(m.listeners_mutex);
  const std::uint64_t id = m.next_listener++;
  m.listeners.emplace(id, std::move(listener));
  m.listening.store(true);
  return id;
}

void Engine::unsubscribe(std::uint64_t id) {
  Impl& m = *impl_;
  const std::lock_guard lock(m.listeners_mutex);
  m.listeners.erase(id);
  m.listening.store(!m.listeners.empty());
}

void Engine::wake() {
  impl_->wake_timers();
  impl_->wake_workers();
  impl_->wake_dispatcher();
}

void Engine::drain() {
  impl_->draining.store(true);
}

bool Engine::ready() const {
  return impl_->running.load() && !impl_->draining.load() && !impl_->stopping.load() &&
         impl_->store.health().migrated();
}

EngineCounters Engine::counters() const {
  const std::lock_guard lock(impl_->counters_mutex);
  return impl_->counters;
}

void Engine::stop() {
  Impl& m = *impl_;
  if (!m.running.load() || m.stopped.exchange(true)) {
    return;
  }
  m.draining.store(true);
  // Queued webhooks are written first: they were promised an answer.
  {
    const std::lock_guard lock(m.ingest_mutex);
    m.ingest_closed = true;
  }
  m.ingest_cv.notify_all();
  for (std::thread& t : m.ingesters) {
    t.join();
  }
  {
    std::unique_lock lock(m.ingest_mutex);
    m.ingest_cv.wait(lock, [&] { return m.ingests_in_flight == 0; });
  }
  // No new claims; turns in flight finish and commit.
  m.stopping.store(true);
  m.wake_workers();
  m.wake_dispatcher();
  m.wake_timers();
  for (std::thread& t : m.workers) {
    t.join();
  }
  // Claims handed over and never started are given back, so the next start
  // need not wait for their leases to run out.
  for (const storage::Claim& c : m.handed) {
    (void)m.store.release(c);
  }
  m.handed.clear();
  m.dispatcher.join();
  m.timer_thread.join();
  // Deliveries in flight are recorded (transports time out, so this ends).
  {
    std::unique_lock lock(m.apply_mutex);
    m.drained_cv.wait(lock, [&] { return m.inflight <= 0; });
    m.apply_closed = true;
  }
  m.apply_cv.notify_all();
  for (std::thread& t : m.appliers) {
    t.join();
  }
  m.running.store(false);
}

}  // namespace waflow::server
