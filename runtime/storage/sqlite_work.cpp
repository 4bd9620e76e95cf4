// The SQLite Store's conversation side: ingress with dedup, the inbox, leases,
// turn commits, contacts and timers.

#include <algorithm>
#include <string>
#include <utility>

#include "runtime/storage/sqlite_store_impl.h"

namespace waflow::storage {
namespace {

Error invalid(std::string message) {
  return Error{ErrorCode::InvalidInput, std::move(message)};
}

Error lease_lost(std::int64_t contact_id) {
  return Error{ErrorCode::NotFound, "the lease on conversation " + std::to_string(contact_id) +
                                        " was lost (it expired or another worker claimed it)"};
}

std::string describe(const ConversationKey& key) {
  return key.device + "/" + key.contact;
}

// Status updates can arrive out of order (read before delivered); only a later
// state replaces an earlier one. "failed" is final.
int delivery_rank(std::string_view status) {
  if (status == "sent") {
    return 1;
  }
  if (status == "delivered") {
    return 2;
  }
  if (status == "read") {
    return 3;
  }
  if (status == "failed") {
    return 4;
  }
  return 0;
}

// A contact's name, pause and session, from `q`'s columns from `first` on
// (name, paused, session, bundle_hash).
void read_holder(sql::Query& q, int first, Claim& claim) {
  claim.name = q.text(first);
  claim.paused = q.i64(first + 1) != 0;
  if (!q.is_null(first + 2)) {
    claim.session = StoredSession{q.blob(first + 2), q.text(first + 3)};
  }
}

}  // namespace

std::int64_t SqliteStore::contact_id(sql::Db& db, const ConversationKey& key, Millis now_ms) {
  {
    sql::Query find = db.query("SELECT id FROM contacts WHERE device = ? AND contact = ?");
    find.bind(1, key.device).bind(2, key.contact);
    if (find.next()) {
      return find.i64(0);
    }
  }
  return add_contact(db, key, now_ms);
}

std::int64_t SqliteStore::add_contact(sql::Db& db, const ConversationKey& key, Millis now_ms) {
  db.query("INSERT INTO contacts (device, contact, created_ms, updated_ms) VALUES (?, ?, ?, ?)")
      .bind(1, key.device)
      .bind(2, key.contact)
      .bind(3, now_ms)
      .bind(4, now_ms)
      .run();
  return db.last_insert_id();
}

std::int64_t SqliteStore::arrival(sql::Db& db, const Inbound& item, const ClaimRequest& claims,
                                  std::optional<Claim>& free) {
  free.reset();
  auto claim_of = [&](std::int64_t id) -> Claim& {
    Claim& claim = free.emplace();
    claim.contact_id = id;
    claim.key = item.key;
    claim.worker_id = claims.worker_id;
    claim.rows.push_back(
        InboxRow{0, item.kind, item.provider_message_id, "", item.payload, item.received_ms});
    return claim;
  };
  {
    sql::Query find = db.query(
        "SELECT id, lease_until <= ?3 AND pending_since IS NULL, lease_token, name, paused, "
        "session, bundle_hash FROM contacts WHERE device = ?1 AND contact = ?2");
    find.bind(1, item.key.device).bind(2, item.key.contact).bind(3, claims.now_ms);
    if (find.next()) {
      const std::int64_t id = find.i64(0);
      if (find.i64(1) != 0) {
        Claim& claim = claim_of(id);
        claim.token = find.i64(2);
        read_holder(find, 3, claim);
      }
      return id;
    }
  }
  return claim_of(add_contact(db, item.key, item.received_ms)).contact_id;
}

std::int64_t SqliteStore::add_inbox(sql::Db& db, std::int64_t contact, const NewInbox& row) {
  db.query(
        "INSERT INTO inbox (contact_id, kind, ref, detail, payload, received_ms) "
        "VALUES (?, ?, ?, ?, ?, ?)")
      .bind(1, contact)
      .bind(2, to_string(row.kind))
      .bind(3, row.ref)
      .bind(4, row.detail)
      .bind(5, row.payload)
      .bind(6, row.received_ms)
      .run();
  const std::int64_t id = db.last_insert_id();
  db.query("UPDATE contacts SET pending_since = min(coalesce(pending_since, ?1), ?1) WHERE id = ?2")
      .bind(1, row.received_ms)
      .bind(2, contact)
      .run();
  return id;
}

std::optional<Error> SqliteStore::check_ingest(const std::vector<Inbound>& batch,
                                               const ClaimRequest& claims) {
  if ((claims.max > 0 || claims.turn) && (claims.worker_id.empty() || claims.lease_ms <= 0)) {
    return invalid("claims at ingest need a worker id and a positive lease");
  }
  // Refuse the whole batch before writing anything: a message that cannot be
  // deduplicated or routed is a bug in the adapter that produced it.
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const Inbound& item = batch[i];
    const std::string where = "inbound item " + std::to_string(i + 1) + ": ";
    if (item.provider_message_id.empty()) {
      return invalid(where + "no provider message id");
    }
    if (item.type == Inbound::Type::Message &&
        (item.gateway.empty() || item.key.device.empty() || item.key.contact.empty())) {
      return invalid(where + "a message needs a gateway, a device and a contact");
    }
    if (item.type == Inbound::Type::Status && delivery_rank(item.status) == 0) {
      return invalid(where + "unknown status '" + item.status +
                     "' (expected sent, delivered, read or failed)");
    }
  }
  return std::nullopt;
}

Result<IngestResult> SqliteStore::ingest(const std::vector<Inbound>& batch,
                                         const ClaimRequest& claims) {
  if (std::optional<Error> refused = check_ingest(batch, claims)) {
    return *refused;
  }
  return write<IngestResult>("ingest", [&](sql::Db& db) { return ingest_in(db, batch, claims); });
}

void SqliteStore::ingest_async(std::vector<Inbound> batch, ClaimRequest claims,
                               std::function<void(Result<IngestResult>)> done) {
  if (std::optional<Error> refused = check_ingest(batch, claims)) {
    done(*refused);
    return;
  }
  write_async<IngestResult>(
      "ingest",
      [this, batch = std::move(batch), claims = std::move(claims)](sql::Db& db) {
        return ingest_in(db, batch, claims);
      },
      std::move(done));
}

Result<IngestResult> SqliteStore::ingest_in(sql::Db& db, const std::vector<Inbound>& batch,
                                            const ClaimRequest& claims) {
  IngestResult result;
  std::vector<IngestOutcome>& outcomes = result.outcomes;
  outcomes.reserve(batch.size());
  // Contacts that got rows, in order of first arrival, for the claims; their
  // turn may run here unless it was declined or failed here already.
  struct Fresh {
    std::int64_t contact;
    const ConversationKey* key;
    bool inline_ok;
  };
  std::vector<Fresh> fresh;
  const int max_claims = claims.turn ? static_cast<int>(batch.size()) : claims.max;
  // The claim's turn, run and written here; false when declined or not written.
  auto run_inline = [&](const Claim& claim, bool leased) {
    std::optional<InlineTurn> turn = claims.turn(claim);
    if (!turn) {
      return false;
    }
    turn->outcome.emplace(commit_inline(db, turn->commit, leased));
    const bool written = turn->outcome->ok();
    result.turns.push_back(std::move(*turn));
    return written;
  };
  for (const Inbound& item : batch) {
    if (item.type == Inbound::Type::Status) {
      sql::Query find =
          db.query("SELECT id, delivery_status FROM outbox WHERE provider_message_id = ?");
      find.bind(1, item.provider_message_id);
      if (!find.next()) {
        outcomes.push_back(IngestOutcome::StatusUnknown);
        continue;
      }
      const std::int64_t id = find.i64(0);
      const bool later = delivery_rank(item.status) > delivery_rank(find.text(1));
      if (later) {
        db.query("UPDATE outbox SET delivery_status = ?, delivery_ms = ? WHERE id = ?")
            .bind(1, item.status)
            .bind(2, item.received_ms)
            .bind(3, id)
            .run();
      }
      outcomes.push_back(IngestOutcome::StatusApplied);
      continue;
    }
    const std::int64_t inserted =
        db.query(
              "INSERT INTO seen (gateway, account, message_id, seen_ms) VALUES (?, ?, ?, ?) "
              "ON CONFLICT DO NOTHING")
            .bind(1, item.gateway)
            .bind(2, item.account)
            .bind(3, item.provider_message_id)
            .bind(4, item.received_ms)
            .run();
    if (inserted == 0) {
      outcomes.push_back(IngestOutcome::Duplicate);
      continue;
    }
    // A message to a contact no one holds and with nothing pending has its
    // turn at once, and is stored only if the turn is not written.
    std::optional<Claim> free;
    const std::int64_t contact =
        claims.turn ? arrival(db, item, claims, free) : contact_id(db, item.key, item.received_ms);
    outcomes.push_back(IngestOutcome::New);
    if (free && run_inline(*free, false)) {
      continue;
    }
    add_inbox(db, contact,
              NewInbox{item.key, item.kind, item.provider_message_id, "", item.payload,
                       item.received_ms});
    if (static_cast<int>(fresh.size()) < max_claims &&
        std::none_of(fresh.begin(), fresh.end(),
                     [&](const Fresh& f) { return f.contact == contact; })) {
      // A turn declined or failed here already goes to a worker next.
      fresh.push_back(Fresh{contact, &item.key, claims.turn && !free});
    }
  }
  for (const Fresh& f : fresh) {
    std::optional<Claim> claim =
        lease_contact(db, f.contact, *f.key, claims.worker_id, claims.now_ms, claims.lease_ms);
    if (!claim) {
      continue;
    }
    if (f.inline_ok && run_inline(*claim, true)) {
      continue;
    }
    result.claims.push_back(std::move(*claim));
  }
  if (claims.hand_over && !result.claims.empty()) {
    // Last, so that nothing after it can roll this request back: the turns
    // handed over join this transaction (run_batch waits for them).
    if (options_.turn_join_us > 0) {
      for (const Claim& c : result.claims) {
        joining_.push_back(c.contact_id);
      }
    }
    claims.hand_over(std::move(result.claims));
    result.claims.clear();
  }
  return Result<IngestResult>(std::move(result));
}

Result<std::vector<std::int64_t>> SqliteStore::enqueue(const std::vector<NewInbox>& rows) {
  for (const NewInbox& row : rows) {
    if (row.key.device.empty() || row.key.contact.empty()) {
      return invalid("an inbox row needs a device and a contact");
    }
  }
  return write<std::vector<std::int64_t>>("enqueue", [&](sql::Db& db) {
    std::vector<std::int64_t> ids;
    for (const NewInbox& row : rows) {
      ids.push_back(add_inbox(db, contact_id(db, row.key, row.received_ms), row));
    }
    return Result<std::vector<std::int64_t>>(std::move(ids));
  });
}

Result<PruneResult> SqliteStore::prune(Millis now_ms) {
  return write<PruneResult>("prune", [&](sql::Db& db) {
    PruneResult result;
    result.seen = db.query("DELETE FROM seen WHERE seen_ms < ?")
                      .bind(1, now_ms - options_.dedup_horizon_ms)
                      .run();
    result.outbox = db.query("DELETE FROM outbox WHERE finished_ms IS NOT NULL AND finished_ms < ?")
                        .bind(1, now_ms - options_.outbox_horizon_ms)
                        .run();
    return Result<PruneResult>(result);
  });
}

Result<std::optional<Claim>> SqliteStore::claim(const std::string& worker_id, Millis now_ms,
                                                Millis lease_ms) {
  if (worker_id.empty() || lease_ms <= 0) {
    return invalid("claim needs a worker id and a positive lease");
  }
  using Out = std::optional<Claim>;
  return write<Out>("claim", [&](sql::Db& db) -> Result<Out> {
    // Oldest pending row first: a conversation waits no longer than the ones
    // that got messages after it. The second row, if any, tells the worker
    // to come back at once.
    std::int64_t id = 0;
    ConversationKey key;
    bool more = false;
    {
      sql::Query ready = db.query(
          "SELECT id, device, contact FROM contacts WHERE pending_since IS NOT NULL "
          "AND lease_until <= ? ORDER BY pending_since, id LIMIT 2");
      ready.bind(1, now_ms);
      if (!ready.next()) {
        return Out();
      }
      id = ready.i64(0);
      key = ConversationKey{ready.text(1), ready.text(2)};
      more = ready.next();
    }
    Out claim = lease_contact(db, id, key, worker_id, now_ms, lease_ms);
    WAFLOW_CHECK(claim.has_value(), "the contact just selected is free");
    claim->more = more;
    return claim;
  });
}

void SqliteStore::joined(std::int64_t contact_id) {
  joining_.erase(std::remove(joining_.begin(), joining_.end(), contact_id), joining_.end());
}

std::optional<Claim> SqliteStore::lease_contact(sql::Db& db, std::int64_t contact_id,
                                                const ConversationKey& key,
                                                const std::string& worker_id, Millis now_ms,
                                                Millis lease_ms) {
  Claim claim;
  claim.contact_id = contact_id;
  claim.key = key;
  claim.worker_id = worker_id;
  claim.lease_until = now_ms + lease_ms;
  {
    sql::Query lease = db.query(
        "UPDATE contacts SET lease_owner = ?, lease_token = lease_token + 1, lease_until = ? "
        "WHERE id = ? AND lease_until <= ? RETURNING lease_token, name, paused, session, "
        "bundle_hash");
    lease.bind(1, worker_id).bind(2, claim.lease_until).bind(3, contact_id).bind(4, now_ms);
    if (!lease.next()) {
      return std::nullopt;
    }
    claim.token = lease.i64(0);
    read_holder(lease, 1, claim);
    lease.run();
  }
  sql::Query rows = db.query(
      "SELECT id, kind, ref, detail, payload, received_ms FROM inbox WHERE contact_id = ? "
      "ORDER BY id");
  rows.bind(1, contact_id);
  while (rows.next()) {
    InboxRow row;
    row.id = rows.i64(0);
    row.kind = parse_inbox_kind(rows.text(1)).value_or(InboxKind::Message);
    row.ref = rows.text(2);
    row.detail = rows.text(3);
    row.payload = rows.text(4);
    row.received_ms = rows.i64(5);
    claim.rows.push_back(std::move(row));
  }
  return claim;
}

Result<Millis> SqliteStore::renew(const Claim& claim, Millis now_ms, Millis lease_ms) {
  return write<Millis>("renew", [&](sql::Db& db) -> Result<Millis> {
    const Millis until = now_ms + lease_ms;
    const std::int64_t changed =
        db.query(
              "UPDATE contacts SET lease_until = ? WHERE id = ? AND lease_owner = ? "
              "AND lease_token = ? AND lease_until > ?")
            .bind(1, until)
            .bind(2, claim.contact_id)
            .bind(3, claim.worker_id)
            .bind(4, claim.token)
            .bind(5, now_ms)
            .run();
    if (changed == 0) {
      return lease_lost(claim.contact_id);
    }
    return until;
  });
}

Result<bool> SqliteStore::release(const Claim& claim) {
  return write<bool>("release", [&](sql::Db& db) {
    joined(claim.contact_id);
    const std::int64_t changed =
        db.query(
              "UPDATE contacts SET lease_owner = NULL, lease_until = 0 WHERE id = ? "
              "AND lease_owner = ? AND lease_token = ?")
            .bind(1, claim.contact_id)
            .bind(2, claim.worker_id)
            .bind(3, claim.token)
            .run();
    return Result<bool>(changed == 1);
  });
}

std::optional<Error> SqliteStore::check_turn(const TurnCommit& turn) {
  for (const TimerCancel& cancel : turn.cancel_timers) {
    if (!cancel.id && cancel.kind.empty() && cancel.tag.empty()) {
      return invalid("a timer cancellation needs an id, a kind or a tag");
    }
  }
  for (const ConversationUpdate& update : turn.conversations) {
    if (update.run.empty() || (update.op == ConversationUpdate::Op::Start && update.flow.empty())) {
      return invalid("a conversation update needs a run id (and a flow to start)");
    }
  }
  return std::nullopt;
}

Result<TurnResult> SqliteStore::commit_turn(const TurnCommit& turn) {
  if (std::optional<Error> refused = check_turn(turn)) {
    return *refused;
  }
  return write<TurnResult>("commit turn", [&](sql::Db& db) { return commit_turn_in(db, turn); });
}

Result<TurnResult> SqliteStore::commit_inline(sql::Db& db, const TurnCommit& turn, bool leased) {
  if (std::optional<Error> refused = check_turn(turn)) {
    return *refused;
  }
  static const std::string kSavepoint = "SAVEPOINT turn";
  static const std::string kRollbackTo = "ROLLBACK TO turn";
  static const std::string kRelease = "RELEASE turn";
  db.query(kSavepoint).run();
  Result<TurnResult> committed = commit_turn_in(db, turn, leased);
  if (!committed) {
    db.query(kRollbackTo).run();
  }
  db.query(kRelease).run();
  return committed;
}

Result<TurnResult> SqliteStore::commit_turn_in(sql::Db& db, const TurnCommit& turn, bool leased) {
  const std::int64_t contact = turn.contact_id;
  joined(contact);
  ConversationKey key;
  std::int64_t seq = 0;
  bool same_bundle = false;
  {
    // Without a lease the contact must still be free: nothing else can have
    // taken it within this transaction, but the check costs one indexed read.
    static const std::string kSelect =
        "SELECT device, contact, outbox_seq, bundle_hash FROM contacts WHERE id = ?1 AND ";
    static const std::string kLeased =
        kSelect + "lease_owner = ?2 AND lease_token = ?3 AND lease_until > ?4";
    static const std::string kFree = kSelect + "lease_until <= ?4 AND pending_since IS NULL";
    sql::Query q = db.query(leased ? kLeased : kFree);
    q.bind(1, contact).bind(4, turn.now_ms);
    if (leased) {
      q.bind(2, turn.worker_id).bind(3, turn.token);
    }
    if (!q.next()) {
      return lease_lost(contact);
    }
    key = ConversationKey{q.text(0), q.text(1)};
    seq = q.i64(2);
    same_bundle = !q.is_null(3) && q.text(3) == turn.session.bundle_hash;
  }
  TurnResult result;

  for (std::int64_t id : turn.consumed) {
    if (!leased && id == 0) {
      continue;  // The message that came with the claim, never stored.
    }
    const std::int64_t gone = db.query("DELETE FROM inbox WHERE id = ? AND contact_id = ?")
                                  .bind(1, id)
                                  .bind(2, contact)
                                  .run();
    if (gone == 0) {
      return invalid("inbox row " + std::to_string(id) + " is not pending for " + describe(key));
    }
  }

  if (turn.contact_name) {
    db.query("UPDATE contacts SET name = ? WHERE id = ? AND name <> ?1")
        .bind(1, *turn.contact_name)
        .bind(2, contact)
        .run();
  }

  for (const TimerCancel& cancel : turn.cancel_timers) {
    if (cancel.id) {
      result.timers_cancelled += db.query("DELETE FROM timers WHERE id = ? AND contact_id = ?")
                                     .bind(1, *cancel.id)
                                     .bind(2, contact)
                                     .run();
      continue;
    }
    result.timers_cancelled +=
        db.query(
              "DELETE FROM timers WHERE contact_id = ? AND (?2 = '' OR kind = ?2) "
              "AND (?3 = '' OR tag = ?3)")
            .bind(1, contact)
            .bind(2, cancel.kind)
            .bind(3, cancel.tag)
            .run();
  }
  for (const NewTimer& timer : turn.timers) {
    db.query(
          "INSERT INTO timers (contact_id, due_ms, kind, tag, payload, created_ms) "
          "VALUES (?, ?, ?, ?, ?, ?)")
        .bind(1, contact)
        .bind(2, timer.due_ms)
        .bind(3, timer.kind)
        .bind(4, timer.tag)
        .bind(5, timer.payload)
        .bind(6, turn.now_ms)
        .run();
    result.timer_ids.push_back(db.last_insert_id());
  }

  // A record with its id (0: the table numbers it) and the outbox row that
  // answers its step (0: answered within the turn).
  auto add_record = [&](const NewRecord& r, std::int64_t outbox_id) {
    db.query(
          "INSERT INTO records (id, collection, contact_id, device, contact, flow, step, run, "
          "data, outbox_id, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, r.id > 0 ? std::optional<std::int64_t>(r.id) : std::nullopt)
        .bind(2, r.collection)
        .bind(3, contact)
        .bind(4, key.device)
        .bind(5, key.contact)
        .bind(6, r.flow)
        .bind(7, r.step)
        .bind(8, r.run)
        .bind(9, r.data)
        .bind(10, outbox_id)
        .bind(11, turn.now_ms)
        .run();
    if (r.id == 0) {
      // Numbered by the table: reserved ids count on from it.
      const std::int64_t id = db.last_insert_id();
      std::int64_t last = last_record_id_.load();
      while (last < id && !last_record_id_.compare_exchange_weak(last, id)) {
      }
    }
  };
  for (const NewRecord& r : turn.records) {
    add_record(r, 0);
  }
  // The turn's first row goes out at once when it is due and nothing of the
  // conversation's is unfinished: it is written leased already (what
  // lease_next_outbox would do to it next), a row update less per turn.
  bool lease_first = false;
  bool open_before = false;
  if (turn.dispatch_lease_ms > 0 && !turn.outbox.empty()) {
    sql::Query open = db.query(
        "SELECT 1 FROM outbox WHERE contact_id = ? AND status IN ('pending', 'inflight') "
        "LIMIT 1");
    open.bind(1, contact);
    open_before = open.next();
    lease_first = !open_before && turn.outbox.front().not_before_ms <= turn.now_ms;
  }
  for (const NewOutbox& row : turn.outbox) {
    const bool out_now = lease_first && result.outbox_ids.empty();
    const Millis next_attempt =
        out_now ? turn.now_ms + turn.dispatch_lease_ms : std::max(row.not_before_ms, turn.now_ms);
    static const std::string kInsert =
        "INSERT INTO outbox (contact_id, seq, kind, payload, status, attempts, "
        "next_attempt_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    db.query(kInsert)
        .bind(1, contact)
        .bind(2, ++seq)
        .bind(3, row.kind)
        .bind(4, row.payload)
        .bind(5, out_now ? "inflight" : "pending")
        .bind(6, out_now ? 1 : 0)
        .bind(7, next_attempt)
        .bind(8, turn.now_ms)
        .run();
    const std::int64_t outbox_id = db.last_insert_id();
    result.outbox_ids.push_back(outbox_id);
    if (out_now) {
      OutboxRow out;
      out.id = outbox_id;
      out.contact_id = contact;
      out.key = key;
      out.seq = seq;
      out.kind = row.kind;
      out.payload = row.payload;
      out.status = OutboxStatus::Inflight;
      out.attempts = 1;
      out.next_attempt_ms = next_attempt;
      out.created_ms = turn.now_ms;
      result.dispatch = std::move(out);
    }
    if (row.record) {
      add_record(*row.record, outbox_id);
    }
  }

  for (const LogMessage& m : turn.messages) {
    db.query(
          "INSERT INTO messages (contact_id, device, contact, outbound, at_ms, flow, step, "
          "kind, text, payload, run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, contact)
        .bind(2, key.device)
        .bind(3, key.contact)
        .bind(4, m.direction == LogMessage::Direction::Out ? 1 : 0)
        .bind(5, m.at_ms)
        .bind(6, m.flow)
        .bind(7, m.step)
        .bind(8, m.kind)
        .bind(9, m.text)
        .bind(10, m.payload)
        .bind(11, m.run)
        .run();
  }

  for (const ConversationUpdate& u : turn.conversations) {
    const Millis at = u.at_ms != 0 ? u.at_ms : turn.now_ms;
    if (u.op == ConversationUpdate::Op::Start) {
      const std::int64_t added =
          db.query(
                "INSERT INTO conversations (contact_id, device, contact, run, flow, "
                "bundle_hash, status, last_step, started_ms, updated_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?) ON CONFLICT DO NOTHING")
              .bind(1, contact)
              .bind(2, key.device)
              .bind(3, key.contact)
              .bind(4, u.run)
              .bind(5, u.flow)
              .bind(6, u.bundle_hash)
              .bind(7, u.last_step)
              .bind(8, at)
              .bind(9, at)
              .run();
      if (added == 0) {
        return invalid("conversation run '" + u.run + "' of " + describe(key) +
                       " was already started");
      }
      continue;
    }
    const bool end = u.op == ConversationUpdate::Op::End;
    const std::string status = end && u.status.empty() ? "completed" : u.status;
    const std::int64_t changed =
        db.query(
              "UPDATE conversations SET last_step = CASE WHEN ?1 = '' THEN last_step "
              "ELSE ?1 END, status = CASE WHEN ?2 = '' THEN status ELSE ?2 END, "
              "updated_ms = ?3, ended_ms = CASE WHEN ?4 THEN ?3 ELSE ended_ms END "
              "WHERE contact_id = ?5 AND run = ?6")
            .bind(1, u.last_step)
            .bind(2, status)
            .bind(3, at)
            .bind(4, end ? 1 : 0)
            .bind(5, contact)
            .bind(6, u.run)
            .run();
    if (changed == 0) {
      return invalid("conversation run '" + u.run + "' of " + describe(key) + " was never started");
    }
  }

  // The turn is done: the lease ends with it. One statement writes the
  // session, the outbox sequence and when the oldest row still pending came
  // (rows that arrived during the turn), since each rewrites the whole row.
  // bundle_hash is left out of it when it stays: setting it, even to the
  // same value, rewrites its index entry (a page more per commit).
  {
    const bool keep = turn.session_change == TurnCommit::SessionChange::Keep;
    const bool put = turn.session_change == TurnCommit::SessionChange::Put;
    const bool bundle_stays = keep || (put && same_bundle);
    static const std::string kSession =
        "UPDATE contacts SET session = CASE WHEN ?1 THEN session WHEN ?2 THEN ?3 END, ";
    static const std::string kRest =
        "outbox_seq = ?5, lease_owner = NULL, lease_until = 0, updated_ms = ?6, pending_since = "
        "(SELECT min(received_ms) FROM inbox WHERE contact_id = ?7) WHERE id = ?7 "
        "RETURNING pending_since IS NOT NULL";
    static const std::string kKeepBundle = kSession + kRest;
    static const std::string kSetBundle = kSession + "bundle_hash = ?4, " + kRest;
    sql::Query q = db.query(bundle_stays ? kKeepBundle : kSetBundle);
    q.bind(1, keep ? 1 : 0).bind(2, put ? 1 : 0);
    if (put) {
      q.bind_blob(3, turn.session.blob).bind(4, turn.session.bundle_hash);
    } else {
      q.bind_null(3).bind_null(4);
    }
    q.bind(5, seq).bind(6, turn.now_ms).bind(7, contact);
    WAFLOW_CHECK(q.next(), "the leased contact exists");
    result.still_pending = q.i64(0) != 0;
    q.run();
  }
  if (open_before) {
    result.dispatch =
        lease_next_outbox(db, contact, turn.now_ms, turn.dispatch_lease_ms, result.outbox_waiting);
  } else if (!result.dispatch) {
    result.outbox_waiting = !turn.outbox.empty();
  }
  return result;
}

Result<std::optional<Contact>> SqliteStore::contact(const ConversationKey& key) {
  using Out = std::optional<Contact>;
  return read<Out>("read contact", [&](sql::Db& db) -> Result<Out> {
    sql::Query q =
        db.query("SELECT name, paused, bundle_hash FROM contacts WHERE device = ? AND contact = ?");
    q.bind(1, key.device).bind(2, key.contact);
    if (!q.next()) {
      return Out();
    }
    Contact c;
    c.key = key;
    c.name = q.text(0);
    c.paused = q.i64(1) != 0;
    if (!q.is_null(2)) {
      c.bundle_hash = q.text(2);
    }
    return Out(std::move(c));
  });
}

Result<bool> SqliteStore::set_paused(const ConversationKey& key, bool paused, Millis now_ms) {
  if (key.device.empty() || key.contact.empty()) {
    return invalid("a contact needs a device and a contact");
  }
  return write<bool>("set paused", [&](sql::Db& db) {
    const std::int64_t id = contact_id(db, key, now_ms);
    const std::int64_t changed =
        db.query("UPDATE contacts SET paused = ?, updated_ms = ? WHERE id = ? AND paused <> ?1")
            .bind(1, paused ? 1 : 0)
            .bind(2, now_ms)
            .bind(3, id)
            .run();
    return Result<bool>(changed == 1);
  });
}

Result<std::int64_t> SqliteStore::fire_due_timers(Millis now_ms, int limit) {
  if (limit < 1) {
    return invalid("fire_due_timers needs a positive limit");
  }
  return write<std::int64_t>("fire timers", [&](sql::Db& db) {
    struct Due {
      std::int64_t id, contact;
      NewInbox row;
    };
    std::vector<Due> due;
    {
      sql::Query q = db.query(
          "SELECT id, contact_id, kind, tag, payload, due_ms FROM timers WHERE due_ms <= ? "
          "ORDER BY due_ms, id LIMIT ?");
      q.bind(1, now_ms).bind(2, limit);
      while (q.next()) {
        // The row carries the due time, so the conversation's clock moves to
        // when the timer was meant to fire, however late it is processed.
        due.push_back(
            Due{q.i64(0), q.i64(1),
                NewInbox{{}, InboxKind::Timer, q.text(3), q.text(2), q.text(4), q.i64(5)}});
      }
    }
    for (const Due& d : due) {
      db.query("DELETE FROM timers WHERE id = ?").bind(1, d.id).run();
      add_inbox(db, d.contact, d.row);
    }
    return Result<std::int64_t>(static_cast<std::int64_t>(due.size()));
  });
}

Result<std::optional<Millis>> SqliteStore::next_timer_due() {
  using Out = std::optional<Millis>;
  return read<Out>("next timer", [](sql::Db& db) {
    sql::Query q = db.query("SELECT min(due_ms) FROM timers");
    return Result<Out>(q.next() ? q.opt_i64(0) : Out());
  });
}

Result<std::vector<TimerRow>> SqliteStore::timers(const ConversationKey& key) {
  return read<std::vector<TimerRow>>("list timers", [&](sql::Db& db) {
    std::vector<TimerRow> rows;
    sql::Query q = db.query(
        "SELECT t.id, t.due_ms, t.kind, t.tag, t.payload, t.created_ms FROM timers t "
        "JOIN contacts c ON c.id = t.contact_id WHERE c.device = ? AND c.contact = ? "
        "ORDER BY t.due_ms, t.id");
    q.bind(1, key.device).bind(2, key.contact);
    while (q.next()) {
      rows.push_back(TimerRow{q.i64(0), key, q.i64(1), q.text(2), q.text(3), q.text(4), q.i64(5)});
    }
    return Result<std::vector<TimerRow>>(std::move(rows));
  });
}

}  // namespace waflow::storage
