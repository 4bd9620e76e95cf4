// The SQLite Store's delivery side: the outbox that dispatchers drain, and the
// deployed bundles.

#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include <openssl/evp.h>

#include "runtime/storage/sqlite_store_impl.h"

namespace waflow::storage {
namespace {

constexpr const char* kOutboxColumns =
    "o.id, o.contact_id, c.device, c.contact, o.seq, o.kind, o.payload, o.status, o.attempts, "
    "o.next_attempt_ms, coalesce(o.provider_message_id, ''), o.last_error, o.created_ms, "
    "o.delivery_status";

OutboxRow read_outbox(const sql::Query& q) {
  OutboxRow row;
  row.id = q.i64(0);
  row.contact_id = q.i64(1);
  row.key = ConversationKey{q.text(2), q.text(3)};
  row.seq = q.i64(4);
  row.kind = q.text(5);
  row.payload = q.text(6);
  row.status = parse_outbox_status(q.text(7)).value_or(OutboxStatus::Pending);
  row.attempts = static_cast<int>(q.i64(8));
  row.next_attempt_ms = q.i64(9);
  row.provider_message_id = q.text(10);
  row.last_error = q.text(11);
  row.created_ms = q.i64(12);
  row.delivery_status = q.text(13);
  return row;
}

std::optional<OutboxRow> find_outbox(sql::Db& db, std::int64_t id) {
  sql::Query q = db.query(std::string("SELECT ") + kOutboxColumns +
                          " FROM outbox o JOIN contacts c ON c.id = o.contact_id WHERE o.id = ?");
  q.bind(1, id);
  if (!q.next()) {
    return std::nullopt;
  }
  return read_outbox(q);
}

std::string device_of(sql::Db& db, std::int64_t contact_id) {
  sql::Query q = db.query("SELECT device FROM contacts WHERE id = ?");
  q.bind(1, contact_id);
  return q.next() ? q.text(0) : std::string();
}

// Takes a due row out for delivery until the lease ends (then it is due again).
OutboxRow lease_outbox(sql::Db& db, std::int64_t id, Millis now_ms, Millis lease_ms) {
  db.query(
        "UPDATE outbox SET status = 'inflight', attempts = attempts + 1, next_attempt_ms = ? "
        "WHERE id = ?")
      .bind(1, now_ms + lease_ms)
      .bind(2, id)
      .run();
  return *find_outbox(db, id);
}

Error no_outbox_row(std::int64_t id) {
  return Error{ErrorCode::NotFound, "no outbox row " + std::to_string(id)};
}

Result<std::string> sha256_hex(const std::string& bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    return Error{ErrorCode::Io, "cannot compute SHA-256"};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

BundleInfo read_bundle_info(const sql::Query& q) {
  // Columns: hash, size, author, comment, created_ms, active, last_activated_ms.
  BundleInfo info;
  info.hash = q.text(0);
  info.size = q.i64(1);
  info.meta = BundleMeta{q.text(2), q.text(3), q.i64(4)};
  info.active = q.i64(5) != 0;
  info.last_activated_ms = q.opt_i64(6);
  return info;
}

constexpr const char* kActiveDeployment =
    "SELECT id, hash FROM deployments WHERE rolled_back = 0 ORDER BY id DESC LIMIT 1";

// The deployment rollback() would return to: the latest one before `current`
// with another bundle that still exists.
constexpr const char* kRollbackTarget =
    "SELECT d.id, d.hash FROM deployments d JOIN bundles b ON b.hash = d.hash "
    "WHERE d.rolled_back = 0 AND d.id < ? AND d.hash <> ? ORDER BY d.id DESC LIMIT 1";

constexpr const char* kBundleInfoSelect =
    "SELECT b.hash, b.size, b.author, b.comment, b.created_ms, "
    "b.hash = coalesce((SELECT hash FROM deployments WHERE rolled_back = 0 "
    "ORDER BY id DESC LIMIT 1), ''), "
    "(SELECT max(activated_ms) FROM deployments d WHERE d.hash = b.hash) ";

std::optional<StoredBundle> find_bundle(sql::Db& db, const std::string& hash) {
  sql::Query q =
      db.query(std::string(kBundleInfoSelect) + ", b.bytes FROM bundles b WHERE b.hash = ?");
  q.bind(1, hash);
  if (!q.next()) {
    return std::nullopt;
  }
  return StoredBundle{read_bundle_info(q), q.blob(7)};
}

}  // namespace

Result<std::vector<OutboxRow>> SqliteStore::claim_outbox(Millis now_ms, int limit,
                                                         Millis lease_ms) {
  if (limit < 1 || lease_ms <= 0) {
    return Error{ErrorCode::InvalidInput, "claim_outbox needs a positive limit and lease"};
  }
  return write<std::vector<OutboxRow>>("claim outbox", [&](sql::Db& db) {
    // Due rows that are the oldest unfinished row of their conversation: a
    // contact's replies go out in order, and a row waiting for a retry holds
    // back the ones after it. An inflight row is due again when its lease ends.
    std::vector<std::int64_t> ids;
    {
      sql::Query q = db.query(
          "SELECT o.id FROM outbox o WHERE o.status IN ('pending', 'inflight') "
          "AND o.next_attempt_ms <= ? AND NOT EXISTS (SELECT 1 FROM outbox p "
          "WHERE p.contact_id = o.contact_id AND p.status IN ('pending', 'inflight') "
          "AND p.seq < o.seq) ORDER BY o.next_attempt_ms, o.id LIMIT ?");
      q.bind(1, now_ms).bind(2, limit);
      while (q.next()) {
        ids.push_back(q.i64(0));
      }
    }
    std::vector<OutboxRow> rows;
    for (std::int64_t id : ids) {
      rows.push_back(lease_outbox(db, id, now_ms, lease_ms));
    }
    return Result<std::vector<OutboxRow>>(std::move(rows));
  });
}

std::optional<OutboxRow> SqliteStore::lease_next_outbox(sql::Db& db, std::int64_t contact_id,
                                                        Millis now_ms, Millis lease_ms,
                                                        bool& waiting) {
  // The rule of claim_outbox for one conversation: its oldest unfinished row,
  // if that one is due and not out with a dispatcher.
  waiting = false;
  std::int64_t id = 0;
  {
    sql::Query q = db.query(
        "SELECT id, status = 'pending' AND next_attempt_ms <= ?, status = 'pending' FROM outbox "
        "WHERE contact_id = ? AND status IN ('pending', 'inflight') ORDER BY seq LIMIT 1");
    q.bind(1, now_ms).bind(2, contact_id);
    if (!q.next()) {
      return std::nullopt;
    }
    if (q.i64(1) == 0) {
      // Out with a dispatcher (whose outcome leases the next one), or due later.
      waiting = q.i64(2) != 0;
      return std::nullopt;
    }
    id = q.i64(0);
  }
  return lease_outbox(db, id, now_ms, lease_ms);
}

Result<SentResult> SqliteStore::mark_sent_next(std::int64_t id,
                                               const std::string& provider_message_id,
                                               Millis now_ms, const std::optional<NewInbox>& answer,
                                               const std::optional<AiUsage>& usage,
                                               Millis next_lease_ms) {
  return write<SentResult>("mark sent", [&](sql::Db& db) {
    return mark_sent_in(db, id, provider_message_id, now_ms, answer, usage, next_lease_ms);
  });
}

void SqliteStore::mark_sent_next_async(std::int64_t id, std::string provider_message_id,
                                       Millis now_ms, std::optional<NewInbox> answer,
                                       std::optional<AiUsage> usage, Millis next_lease_ms,
                                       std::function<void(Result<SentResult>)> done) {
  write_async<SentResult>(
      "mark sent",
      [this, id, provider_message_id = std::move(provider_message_id), now_ms,
       answer = std::move(answer), usage = std::move(usage), next_lease_ms](sql::Db& db) {
        return mark_sent_in(db, id, provider_message_id, now_ms, answer, usage, next_lease_ms);
      },
      std::move(done));
}

Result<SentResult> SqliteStore::mark_sent_in(sql::Db& db, std::int64_t id,
                                             const std::string& provider_message_id, Millis now_ms,
                                             const std::optional<NewInbox>& answer,
                                             const std::optional<AiUsage>& usage,
                                             Millis next_lease_ms) {
  SentResult result;
  std::int64_t contact_id = 0;
  {
    sql::Query q = db.query(
        "UPDATE outbox SET status = 'sent', provider_message_id = ?, finished_ms = ?, "
        "next_attempt_ms = ? WHERE id = ? AND status IN ('pending', 'inflight') "
        "RETURNING contact_id");
    if (provider_message_id.empty()) {
      q.bind_null(1);
    } else {
      q.bind(1, provider_message_id);
    }
    q.bind(2, now_ms).bind(3, now_ms).bind(4, id);
    if (!q.next()) {
      if (!find_outbox(db, id)) {
        return no_outbox_row(id);
      }
      return result;  // Finished already (another dispatcher after a lease ran out).
    }
    contact_id = q.i64(0);
    q.run();
  }
  result.marked = true;
  if (answer) {
    NewInbox row_in = *answer;
    add_inbox(db, contact_id, row_in);
  }
  if (usage) {
    db.query(
          "INSERT INTO ai_usage (contact_id, device, at_ms, provider, model, flow, step, "
          "input_tokens, output_tokens, latency_ms, ok) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, contact_id)
        .bind(2, device_of(db, contact_id))
        .bind(3, now_ms)
        .bind(4, usage->provider)
        .bind(5, usage->model)
        .bind(6, usage->flow)
        .bind(7, usage->step)
        .bind(8, usage->input_tokens)
        .bind(9, usage->output_tokens)
        .bind(10, usage->latency_ms)
        .bind(11, usage->ok ? 1 : 0)
        .run();
  }
  if (next_lease_ms > 0) {
    result.next = lease_next_outbox(db, contact_id, now_ms, next_lease_ms, result.outbox_waiting);
  }
  return result;
}

Result<OutboxStatus> SqliteStore::mark_retry(std::int64_t id, Millis next_attempt_ms,
                                             const std::string& error) {
  return write<OutboxStatus>("mark retry", [&](sql::Db& db) -> Result<OutboxStatus> {
    std::optional<OutboxRow> row = find_outbox(db, id);
    if (!row) {
      return no_outbox_row(id);
    }
    if (row->status != OutboxStatus::Pending && row->status != OutboxStatus::Inflight) {
      return row->status;
    }
    // Dead rows have no "now" here: the planned retry time stands in as the
    // time they finished, which only matters for pruning.
    const bool dead = row->attempts >= options_.max_attempts;
    db.query(
          "UPDATE outbox SET status = ?, next_attempt_ms = ?, last_error = ?, "
          "finished_ms = ? WHERE id = ?")
        .bind(1, dead ? "dead" : "pending")
        .bind(2, next_attempt_ms)
        .bind(3, error)
        .bind(4, dead ? std::optional<std::int64_t>(next_attempt_ms) : std::nullopt)
        .bind(5, id)
        .run();
    return dead ? OutboxStatus::Dead : OutboxStatus::Pending;
  });
}

Result<bool> SqliteStore::mark_failed(std::int64_t id, const std::string& error, Millis now_ms) {
  return write<bool>("mark failed", [&](sql::Db& db) -> Result<bool> {
    std::optional<OutboxRow> row = find_outbox(db, id);
    if (!row) {
      return no_outbox_row(id);
    }
    if (row->status != OutboxStatus::Pending && row->status != OutboxStatus::Inflight) {
      return false;
    }
    db.query("UPDATE outbox SET status = 'failed', last_error = ?, finished_ms = ? WHERE id = ?")
        .bind(1, error)
        .bind(2, now_ms)
        .bind(3, id)
        .run();
    return true;
  });
}

Result<std::optional<OutboxRow>> SqliteStore::outbox_row(std::int64_t id) {
  using Out = std::optional<OutboxRow>;
  return read<Out>("read outbox row",
                   [&](sql::Db& db) { return Result<Out>(find_outbox(db, id)); });
}

Result<std::optional<Millis>> SqliteStore::next_outbox_due() {
  using Out = std::optional<Millis>;
  // Only rows at the head of their conversation count: a row waiting behind a
  // retry is not due, and counting it would wake a dispatcher for nothing.
  return read<Out>("next outbox row", [](sql::Db& db) {
    sql::Query q = db.query(
        "SELECT min(o.next_attempt_ms) FROM outbox o WHERE o.status IN ('pending', 'inflight') "
        "AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.contact_id = o.contact_id "
        "AND p.status IN ('pending', 'inflight') AND p.seq < o.seq)");
    return Result<Out>(q.next() ? q.opt_i64(0) : Out());
  });
}

Result<std::string> SqliteStore::put_bundle(const std::string& bytes, const BundleMeta& meta) {
  if (bytes.empty()) {
    return Error{ErrorCode::InvalidInput, "an empty bundle cannot be stored"};
  }
  Result<std::string> hash = sha256_hex(bytes);
  if (!hash.ok()) {
    return hash;
  }
  return write<std::string>("store bundle", [&](sql::Db& db) {
    // The same bytes have the same hash: storing them twice keeps the first.
    db.query(
          "INSERT INTO bundles (hash, bytes, size, author, comment, created_ms) "
          "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
        .bind(1, hash.value())
        .bind_blob(2, bytes)
        .bind(3, static_cast<std::int64_t>(bytes.size()))
        .bind(4, meta.author)
        .bind(5, meta.comment)
        .bind(6, meta.created_ms)
        .run();
    return Result<std::string>(hash.value());
  });
}

Result<bool> SqliteStore::activate(const std::string& hash, Millis now_ms,
                                   const std::string& author) {
  return write<bool>("activate bundle", [&](sql::Db& db) -> Result<bool> {
    {
      sql::Query exists = db.query("SELECT 1 FROM bundles WHERE hash = ?");
      exists.bind(1, hash);
      if (!exists.next()) {
        return Error{ErrorCode::NotFound, "no bundle " + hash};
      }
    }
    {
      sql::Query active = db.query(kActiveDeployment);
      if (active.next() && active.text(1) == hash) {
        return false;  // Already active.
      }
    }
    db.query("INSERT INTO deployments (hash, author, activated_ms) VALUES (?, ?, ?)")
        .bind(1, hash)
        .bind(2, author)
        .bind(3, now_ms)
        .run();
    return true;
  });
}

Result<std::optional<StoredBundle>> SqliteStore::active_bundle() {
  using Out = std::optional<StoredBundle>;
  return read<Out>("read active bundle", [](sql::Db& db) -> Result<Out> {
    std::string hash;
    {
      sql::Query active = db.query(kActiveDeployment);
      if (!active.next()) {
        return Out();
      }
      hash = active.text(1);
    }
    return Out(find_bundle(db, hash));
  });
}

Result<std::vector<BundleInfo>> SqliteStore::list_bundles() {
  return read<std::vector<BundleInfo>>("list bundles", [](sql::Db& db) {
    std::vector<BundleInfo> out;
    sql::Query q = db.query(std::string(kBundleInfoSelect) +
                            "FROM bundles b ORDER BY b.created_ms DESC, b.hash");
    while (q.next()) {
      out.push_back(read_bundle_info(q));
    }
    return Result<std::vector<BundleInfo>>(std::move(out));
  });
}

Result<std::string> SqliteStore::rollback(Millis now_ms, const std::string& author) {
  return write<std::string>("roll back", [&](sql::Db& db) -> Result<std::string> {
    std::int64_t current_id = 0;
    std::string current_hash;
    {
      sql::Query active = db.query(kActiveDeployment);
      if (!active.next()) {
        return Error{ErrorCode::NotFound, "nothing is deployed, so there is nothing to roll back"};
      }
      current_id = active.i64(0);
      current_hash = active.text(1);
    }
    std::int64_t target_id = 0;
    std::string target_hash;
    {
      sql::Query target = db.query(kRollbackTarget);
      target.bind(1, current_id).bind(2, current_hash);
      if (!target.next()) {
        return Error{ErrorCode::NotFound,
                     "no earlier deployment to roll back to from " + current_hash};
      }
      target_id = target.i64(0);
      target_hash = target.text(1);
    }
    // Everything deployed after the target is undone; the rows stay as history.
    db.query(
          "UPDATE deployments SET rolled_back = 1, rolled_back_ms = ?, rolled_back_by = ? "
          "WHERE id > ? AND rolled_back = 0")
        .bind(1, now_ms)
        .bind(2, author)
        .bind(3, target_id)
        .run();
    return target_hash;
  });
}

Result<std::optional<StoredBundle>> SqliteStore::bundle(const std::string& hash) {
  using Out = std::optional<StoredBundle>;
  return read<Out>("read bundle", [&](sql::Db& db) { return Result<Out>(find_bundle(db, hash)); });
}

Result<std::vector<std::string>> SqliteStore::gc_bundles() {
  return write<std::vector<std::string>>("collect bundles", [](sql::Db& db) {
    // Kept: the active bundle, the one rollback() would return to, and every
    // bundle a stored session is pinned to.
    std::vector<std::string> keep;
    std::int64_t current_id = 0;
    std::string current_hash;
    {
      sql::Query active = db.query(kActiveDeployment);
      if (active.next()) {
        current_id = active.i64(0);
        current_hash = active.text(1);
        keep.push_back(current_hash);
      }
    }
    if (current_id != 0) {
      sql::Query target = db.query(kRollbackTarget);
      target.bind(1, current_id).bind(2, current_hash);
      if (target.next()) {
        keep.push_back(target.text(1));
      }
    }
    std::vector<std::string> doomed;
    {
      sql::Query q = db.query(
          "SELECT hash FROM bundles b WHERE NOT EXISTS (SELECT 1 FROM contacts c "
          "WHERE c.bundle_hash = b.hash) ORDER BY hash");
      while (q.next()) {
        std::string hash = q.text(0);
        if (std::find(keep.begin(), keep.end(), hash) == keep.end()) {
          doomed.push_back(std::move(hash));
        }
      }
    }
    for (const std::string& hash : doomed) {
      db.query("DELETE FROM bundles WHERE hash = ?").bind(1, hash).run();
    }
    return Result<std::vector<std::string>>(std::move(doomed));
  });
}

}  // namespace waflow::storage
