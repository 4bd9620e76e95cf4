// The SQLite Store's read side: conversations and messages with keyset
// pagination, and the stats (all counted by SQL).

#include <charconv>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "runtime/storage/sqlite_store_impl.h"

namespace waflow::storage {
namespace {

// A cursor is the (time, id) of the last item of a page, newest first, so a
// page continues strictly after it: rows added meanwhile cannot shift it into
// duplicates or gaps. It is opaque to callers: hex of "<what>:<time>:<id>",
// where <what> keeps a message cursor out of a conversation query.
std::string encode_cursor(std::string_view what, Millis time, std::int64_t id) {
  const std::string plain =
      std::string(what) + ":" + std::to_string(time) + ":" + std::to_string(id);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : plain) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

struct Cursor {
  Millis time = 0;
  std::int64_t id = 0;
};

Result<std::optional<Cursor>> decode_cursor(std::string_view what, const std::string& text) {
  if (text.empty()) {
    return std::optional<Cursor>();
  }
  const Error bad{ErrorCode::InvalidInput, "invalid cursor '" + text + "'"};
  if (text.size() % 2 != 0 || text.size() > 200) {
    return bad;
  }
  std::string plain;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + i + 2, value, 16);
    if (ec != std::errc() || end != text.data() + i + 2) {
      return bad;
    }
    plain.push_back(static_cast<char>(value));
  }
  const std::string prefix = std::string(what) + ":";
  if (plain.rfind(prefix, 0) != 0) {
    return bad;
  }
  const std::string rest = plain.substr(prefix.size());
  const std::size_t colon = rest.find(':');
  if (colon == std::string::npos) {
    return bad;
  }
  Cursor cursor;
  auto parse = [](std::string_view s, std::int64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
  };
  if (!parse(std::string_view(rest).substr(0, colon), cursor.time) ||
      !parse(std::string_view(rest).substr(colon + 1), cursor.id)) {
    return bad;
  }
  return std::optional<Cursor>(cursor);
}

Result<bool> check_limit(const QueryFilter& filter) {
  if (filter.limit < 1 || filter.limit > 1000) {
    return Error{ErrorCode::InvalidInput,
                 "limit must be between 1 and 1000, not " + std::to_string(filter.limit)};
  }
  return true;
}

// Binds ?1..?5 (device, contact, flow, since, until) and ?6/?7 (cursor) and
// ?8 (limit + 1: one more row tells whether another page exists).
void bind_filter(sql::Query& q, const QueryFilter& f, const std::optional<Cursor>& cursor) {
  q.bind(1, f.device).bind(2, f.contact).bind(3, f.flow).bind(4, f.since_ms).bind(5, f.until_ms);
  if (cursor) {
    q.bind(6, cursor->time).bind(7, cursor->id);
  } else {
    q.bind_null(6).bind_null(7);
  }
  q.bind(8, f.limit + 1);
}

std::string day_name(std::int64_t day) {
  using namespace std::chrono;
  const year_month_day ymd{sys_days{days{day}}};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return text;
}

}  // namespace

template <typename T, typename BindMore, typename ReadRow, typename Key>
Result<Page<T>> SqliteStore::page_of(std::string_view what, const QueryFilter& filter,
                                     const std::string& sql, BindMore bind_more, ReadRow read_row,
                                     Key key) {
  if (Result<bool> ok = check_limit(filter); !ok.ok()) {
    return ok.error();
  }
  Result<std::optional<Cursor>> cursor = decode_cursor(what, filter.cursor);
  if (!cursor.ok()) {
    return cursor.error();
  }
  using Out = Page<T>;
  return read<Out>("query " + std::string(what), [&](sql::Db& db) {
    sql::Query q = db.query(sql);
    bind_filter(q, filter, cursor.value());
    bind_more(q);
    Out page;
    while (q.next()) {
      page.items.push_back(read_row(q));
    }
    // One row more than the limit says another page exists.
    if (page.items.size() > static_cast<std::size_t>(filter.limit)) {
      page.items.pop_back();
      const Cursor last = key(page.items.back());
      page.next_cursor = encode_cursor(what, last.time, last.id);
    }
    return Result<Out>(std::move(page));
  });
}

Result<Page<ConversationRecord>> SqliteStore::conversations(const QueryFilter& filter) {
  return page_of<ConversationRecord>(
      "conversations", filter,
      "SELECT id, device, contact, run, flow, bundle_hash, status, last_step, started_ms, "
      "updated_ms, ended_ms FROM conversations "
      "WHERE (?1 = '' OR device = ?1) AND (?2 = '' OR contact = ?2) AND (?3 = '' OR flow = ?3) "
      "AND (?4 IS NULL OR started_ms >= ?4) AND (?5 IS NULL OR started_ms < ?5) "
      "AND (?6 IS NULL OR (started_ms, id) < (?6, ?7)) "
      "ORDER BY started_ms DESC, id DESC LIMIT ?8",
      [](sql::Query&) {},
      [](sql::Query& q) {
        ConversationRecord r;
        r.id = q.i64(0);
        r.key = ConversationKey{q.text(1), q.text(2)};
        r.run = q.text(3);
        r.flow = q.text(4);
        r.bundle_hash = q.text(5);
        r.status = q.text(6);
        r.last_step = q.text(7);
        r.started_ms = q.i64(8);
        r.updated_ms = q.i64(9);
        r.ended_ms = q.opt_i64(10);
        return r;
      },
      [](const ConversationRecord& r) {
        return Cursor{r.started_ms, r.id};
      });
}

Result<Page<StoredRecord>> SqliteStore::records(const QueryFilter& filter) {
  return page_of<StoredRecord>(
      "records", filter,
      "SELECT id, collection, device, contact, flow, step, run, data, created_ms FROM records "
      "WHERE (?1 = '' OR device = ?1) AND (?2 = '' OR contact = ?2) AND (?3 = '' OR flow = ?3) "
      "AND (?4 IS NULL OR created_ms >= ?4) AND (?5 IS NULL OR created_ms < ?5) "
      "AND (?6 IS NULL OR (created_ms, id) < (?6, ?7)) AND (?9 = '' OR collection = ?9) "
      "ORDER BY created_ms DESC, id DESC LIMIT ?8",
      [&](sql::Query& q) { q.bind(9, filter.collection); },
      [](sql::Query& q) {
        StoredRecord r;
        r.id = q.i64(0);
        r.collection = q.text(1);
        r.key = ConversationKey{q.text(2), q.text(3)};
        r.flow = q.text(4);
        r.step = q.text(5);
        r.run = q.text(6);
        r.data = q.text(7);
        r.created_ms = q.i64(8);
        return r;
      },
      [](const StoredRecord& r) {
        return Cursor{r.created_ms, r.id};
      });
}

Result<std::int64_t> SqliteStore::reserve_record_id() {
  return last_record_id_.fetch_add(1) + 1;
}

Result<std::optional<std::int64_t>> SqliteStore::record_of_call(std::int64_t outbox_id) {
  using Out = std::optional<std::int64_t>;
  return read<Out>("find a record", [&](sql::Db& db) {
    // An outbox id can come back once its row is pruned: the newest record
    // with it is the live row's.
    sql::Query q = db.query("SELECT id FROM records WHERE outbox_id = ? ORDER BY id DESC LIMIT 1");
    q.bind(1, outbox_id);
    return Result<Out>(q.next() ? Out(q.i64(0)) : Out());
  });
}

Result<Page<MessageRecord>> SqliteStore::messages(const QueryFilter& filter) {
  return page_of<MessageRecord>(
      "messages", filter,
      "SELECT id, device, contact, outbound, at_ms, flow, step, kind, text, payload, run "
      "FROM messages "
      "WHERE (?1 = '' OR device = ?1) AND (?2 = '' OR contact = ?2) AND (?3 = '' OR flow = ?3) "
      "AND (?4 IS NULL OR at_ms >= ?4) AND (?5 IS NULL OR at_ms < ?5) "
      "AND (?6 IS NULL OR (at_ms, id) < (?6, ?7)) AND (?9 IS NULL OR outbound = ?9) "
      "ORDER BY at_ms DESC, id DESC LIMIT ?8",
      [&](sql::Query& q) {
        if (filter.outbound) {
          q.bind(9, *filter.outbound ? 1 : 0);
        } else {
          q.bind_null(9);
        }
      },
      [](sql::Query& q) {
        MessageRecord m;
        m.id = q.i64(0);
        m.key = ConversationKey{q.text(1), q.text(2)};
        m.outbound = q.i64(3) != 0;
        m.at_ms = q.i64(4);
        m.flow = q.text(5);
        m.step = q.text(6);
        m.kind = q.text(7);
        m.text = q.text(8);
        m.payload = q.text(9);
        m.run = q.text(10);
        return m;
      },
      [](const MessageRecord& m) {
        return Cursor{m.at_ms, m.id};
      });
}

Result<Stats> SqliteStore::stats(const StatsFilter& filter) {
  return read<Stats>("stats", [&](sql::Db& db) {
    Stats stats;
    auto bind = [&](sql::Query& q) {
      q.bind(1, filter.device)
          .bind(2, filter.flow)
          .bind(3, filter.since_ms)
          .bind(4, filter.until_ms);
    };
    {
      // Whole UTC days; integer division floors for the non-negative times
      // the server writes.
      sql::Query q = db.query(
          "SELECT at_ms / 86400000 AS day, sum(outbound = 0), sum(outbound = 1) FROM messages "
          "WHERE (?1 = '' OR device = ?1) AND (?2 = '' OR flow = ?2) "
          "AND (?3 IS NULL OR at_ms >= ?3) AND (?4 IS NULL OR at_ms < ?4) "
          "GROUP BY day ORDER BY day");
      bind(q);
      while (q.next()) {
        stats.messages_per_day.push_back(DayCount{day_name(q.i64(0)), q.i64(1), q.i64(2)});
      }
    }
    constexpr const char* kConversationFilter =
        "WHERE (?1 = '' OR device = ?1) AND (?2 = '' OR flow = ?2) "
        "AND (?3 IS NULL OR started_ms >= ?3) AND (?4 IS NULL OR started_ms < ?4) ";
    {
      sql::Query q = db.query(std::string("SELECT flow, count(*), sum(status = 'completed'), "
                                          "sum(status = 'active') FROM conversations ") +
                              kConversationFilter + "GROUP BY flow ORDER BY flow");
      bind(q);
      while (q.next()) {
        stats.flows.push_back(FlowCount{q.text(0), q.i64(1), q.i64(2), q.i64(3)});
      }
    }
    {
      // Drop-off: conversations that ended at a step without completing; the
      // ones still waiting at a step are counted beside them.
      sql::Query q =
          db.query(std::string("SELECT flow, last_step, sum(status <> 'active') AS dropped, "
                               "sum(status = 'active') FROM conversations ") +
                   kConversationFilter +
                   "AND status <> 'completed' GROUP BY flow, last_step "
                   "ORDER BY flow, dropped DESC, last_step");
      bind(q);
      while (q.next()) {
        stats.steps.push_back(StepCount{q.text(0), q.text(1), q.i64(2), q.i64(3)});
      }
    }
    {
      // AI usage per day and model; the median comes from a second pass that ranks each
      // group's latencies (window functions), still one scan of the range.
      constexpr const char* kUsageRows =
          "FROM ai_usage WHERE (?1 = '' OR device = ?1) AND (?2 = '' OR flow = ?2) "
          "AND (?3 IS NULL OR at_ms >= ?3) AND (?4 IS NULL OR at_ms < ?4) ";
      sql::Query q = db.query(
          std::string("SELECT at_ms / 86400000 AS day, provider, model, count(*), sum(ok = 0), "
                      "sum(input_tokens), sum(output_tokens), "
                      "CAST(round(avg(latency_ms)) AS INTEGER) ") +
          kUsageRows + "GROUP BY day, provider, model ORDER BY day, provider, model");
      bind(q);
      while (q.next()) {
        AiUsageCount c;
        c.day = day_name(q.i64(0));
        c.provider = q.text(1);
        c.model = q.text(2);
        c.calls = q.i64(3);
        c.errors = q.i64(4);
        c.input_tokens = q.i64(5);
        c.output_tokens = q.i64(6);
        c.latency_mean_ms = q.i64(7);
        stats.ai_usage.push_back(std::move(c));
      }
      sql::Query m = db.query(
          std::string("SELECT day, provider, model, latency_ms FROM ("
                      "SELECT at_ms / 86400000 AS day, provider, model, latency_ms, "
                      "row_number() OVER (PARTITION BY at_ms / 86400000, provider, model "
                      "ORDER BY latency_ms) AS n, "
                      "count(*) OVER (PARTITION BY at_ms / 86400000, provider, model) AS total ") +
          kUsageRows + ") WHERE n = (total + 1) / 2 ORDER BY day, provider, model");
      bind(m);
      std::map<std::tuple<std::string, std::string, std::string>, AiUsageCount*> groups;
      for (AiUsageCount& c : stats.ai_usage) {
        groups[{c.day, c.provider, c.model}] = &c;
      }
      while (m.next()) {
        // A group written between the two passes has no row above: it waits for the next read.
        auto it = groups.find({day_name(m.i64(0)), m.text(1), m.text(2)});
        if (it != groups.end()) {
          it->second->latency_p50_ms = m.i64(3);
        }
      }
    }
    return Result<Stats>(std::move(stats));
  });
}

Result<QueueStats> SqliteStore::queue_stats(Millis now_ms) {
  return read<QueueStats>("queue stats", [&](sql::Db& db) {
    QueueStats q;
    {
      sql::Query r = db.query("SELECT count(*), min(received_ms) FROM inbox");
      if (r.next()) {
        q.inbox_pending = r.i64(0);
        q.inbox_oldest_ms = r.opt_i64(1);
      }
    }
    {
      // The partial index outbox_open holds exactly these rows.
      sql::Query r = db.query(
          "SELECT count(*), min(created_ms) FROM outbox WHERE status IN ('pending', 'inflight')");
      if (r.next()) {
        q.outbox_open = r.i64(0);
        q.outbox_oldest_ms = r.opt_i64(1);
      }
    }
    {
      sql::Query r = db.query("SELECT count(*), min(due_ms) FROM timers WHERE due_ms <= ?");
      r.bind(1, now_ms);
      if (r.next()) {
        q.timers_due = r.i64(0);
        q.timers_oldest_due_ms = r.opt_i64(1);
      }
    }
    {
      sql::Query r = db.query(
          "SELECT bundle_hash, count(*) FROM contacts WHERE bundle_hash IS NOT NULL "
          "GROUP BY bundle_hash ORDER BY bundle_hash");
      while (r.next()) {
        q.sessions_by_bundle.emplace_back(r.text(0), r.i64(1));
      }
    }
    return Result<QueueStats>(std::move(q));
  });
}

}  // namespace waflow::storage
