#include "persistence/postgres_quota_ledger.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <random>

#include "persistence/postgres_ledger.h"

namespace batchfetch {
namespace {

// pg_advisory_xact_lock key serialising the quota objects' creation: 'bfqa'.
constexpr const char* kQuotaLockKey = "1650880865";

// The asks table and the many-key decision. quota_keys and quota_grants come from the
// ledger schema (postgres_schema.cc). Every statement of a VOLATILE function sees a fresh
// snapshot, so grants committed while we waited for the locks are counted.
constexpr const char* kQuotaObjects = R"sql(
CREATE TABLE IF NOT EXISTS quota_asks(
  quota_key TEXT NOT NULL,
  owner     TEXT NOT NULL,
  budget    BIGINT NOT NULL,
  seen_at   BIGINT NOT NULL,
  PRIMARY KEY (quota_key, owner)
);
CREATE OR REPLACE FUNCTION batchfetch_try_grant_keys(ks TEXT[], asked BIGINT[], want BIGINT,
    window_ms BIGINT, who TEXT, ask_ttl_ms BIGINT)
RETURNS TABLE(granted BOOLEAN, now_ms BIGINT, retry_at_ms BIGINT, in_window BIGINT[],
              budgets BIGINT[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  t BIGINT;
  k TEXT;
  b BIGINT;
  used BIGINT;
  blocker BIGINT;
  ok BOOLEAN := true;
  retry BIGINT;
  iw BIGINT[] := '{}';
  bs BIGINT[] := '{}';
BEGIN
  INSERT INTO quota_keys SELECT u FROM unnest(ks) AS u ORDER BY u ON CONFLICT DO NOTHING;
  PERFORM 1 FROM quota_keys WHERE quota_key = ANY(ks) ORDER BY quota_key FOR UPDATE;
  t := floor(extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
  retry := t;
  FOR i IN 1 .. array_length(ks, 1) LOOP
    k := ks[i];
    DELETE FROM quota_asks AS a WHERE a.quota_key = k AND a.seen_at <= t - ask_ttl_ms;
    INSERT INTO quota_asks AS a VALUES (k, who, asked[i], t) ON CONFLICT (quota_key, owner)
      DO UPDATE SET budget = excluded.budget, seen_at = greatest(a.seen_at, excluded.seen_at);
    SELECT min(a.budget) INTO b FROM quota_asks AS a WHERE a.quota_key = k;
    DELETE FROM quota_grants AS g WHERE g.quota_key = k AND g.granted_at <= t - window_ms;
    SELECT coalesce(sum(g.n), 0) INTO used FROM quota_grants AS g
     WHERE g.quota_key = k AND g.granted_at > t - window_ms;
    iw := iw || used;
    bs := bs || b;
    IF used + want > b THEN
      ok := false;
      blocker := NULL;
      IF want <= b THEN
        SELECT c.granted_at INTO blocker FROM
          (SELECT g.granted_at, sum(g.n) OVER (ORDER BY g.granted_at DESC
                                               ROWS UNBOUNDED PRECEDING) AS total
             FROM quota_grants AS g WHERE g.quota_key = k AND g.granted_at > t - window_ms) AS c
         WHERE c.total > b - want ORDER BY c.granted_at DESC LIMIT 1;
      END IF;
      retry := greatest(retry, coalesce(blocker + window_ms, t + window_ms));
    END IF;
  END LOOP;
  IF ok THEN
    FOR i IN 1 .. array_length(ks, 1) LOOP
      INSERT INTO quota_grants VALUES (ks[i], t, want);
      iw[i] := iw[i] + want;
    END LOOP;
  END IF;
  RETURN QUERY SELECT ok, t, retry, iw, bs;
END
$$;
)sql";

// A PostgreSQL array literal of text elements, each quoted and escaped.
std::string TextArray(std::span<const QuotaAsk> keys) {
  std::string out = "{";
  for (const QuotaAsk& ask : keys) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (const char c : ask.key) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string BudgetArray(std::span<const QuotaAsk> keys) {
  std::string out = "{";
  for (const QuotaAsk& ask : keys) {
    if (out.size() > 1) out += ',';
    out += std::to_string(ask.budget);
  }
  return out + "}";
}

// Parses "{1,2,3}" into exactly `count` integers.
bool ParseIntArray(const std::string& text, std::size_t count, std::vector<int64_t>* out) {
  out->clear();
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') return false;
  const char* p = text.data() + 1;
  const char* end = text.data() + text.size() - 1;
  while (p < end) {
    int64_t v = 0;
    const auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc()) return false;
    out->push_back(v);
    p = next;
    if (p < end && *p == ',') ++p;
  }
  return out->size() == count;
}

std::string NewOwner() {
  std::random_device rd;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%d-%08x%08x", static_cast<int>(::getpid()), rd(), rd());
  return buf;
}

}  // namespace

Status PostgresQuotaLedger::Open(const std::string& uri, std::unique_ptr<QuotaLedger>* out) {
  std::unique_ptr<PgConnection> conn;
  Status status = PgConnection::Connect(uri, &conn);
  if (status.ok()) status = EnsurePostgresSchema(*conn);
  if (status.ok()) {
    status = conn->Transaction([&]() -> Status {
      Status s = conn->Exec(std::string("SELECT pg_advisory_xact_lock(") + kQuotaLockKey + ")");
      if (s.ok()) s = conn->Exec(kQuotaObjects);
      return s;
    });
  }
  if (status.ok()) {
    status = conn->Prepare("try_grant_keys",
                           "SELECT * FROM batchfetch_try_grant_keys($1, $2, $3, $4, $5, $6)");
  }
  if (!status.ok()) return status;
  out->reset(new PostgresQuotaLedger(std::move(conn), NewOwner()));
  return Status::Ok();
}

Status PostgresQuotaLedger::TryGrant(std::span<const QuotaAsk> keys, int64_t n,
                                     std::chrono::milliseconds window, QuotaDecision* out) {
  Status status = CheckQuotaRequest(keys, n, window);
  if (!status.ok()) return status;
  PgParams params;
  params.Add(TextArray(keys))
      .Add(BudgetArray(keys))
      .Add(n)
      .Add(static_cast<int64_t>(window.count()))
      .Add(owner_)
      .Add(static_cast<int64_t>(AskLifetime(window).count()));
  PgResult res;
  // A lost row-lock race surfaces as a deadlock or serialization error: retry a little.
  for (int attempt = 0; attempt < 5; ++attempt) {
    status = conn_->Run("try_grant_keys", params, &res);
    if (status.code() != Status::Code::kBusy) break;
  }
  if (!status.ok()) return status;
  QuotaDecision d;
  if (res.rows() != 1 || !ParseIntArray(res.Text(0, 3), keys.size(), &d.in_window) ||
      !ParseIntArray(res.Text(0, 4), keys.size(), &d.budget)) {
    return Status::Error(Status::Code::kIoError,
                         "batchfetch_try_grant_keys returned no usable decision");
  }
  d.granted = res.Text(0, 0) == "t";
  const int64_t now = res.Int64(0, 1), retry_at = res.Int64(0, 2);
  d.retry_after = std::chrono::milliseconds(d.granted ? 0 : std::max<int64_t>(1, retry_at - now));
  *out = std::move(d);
  return Status::Ok();
}

}  // namespace batchfetch
