// The PostgreSQL schema: the SQLite ledger's tables with PostgreSQL types, plus the
// shared quota's grant log and a one-row table that marks the database as ours.

#include "persistence/postgres_ledger.h"

namespace batchfetch {
namespace {

// Bumped with every change; a database at a higher version is refused.
// 2 added batches.provisional.
constexpr int kPostgresSchemaVersion = 2;
// pg_advisory_xact_lock key serialising schema creation: 'bfch'.
constexpr const char* kSchemaLockKey = "1650811752";

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE batchfetch_schema(
  application TEXT NOT NULL,
  version     INTEGER NOT NULL
);
CREATE TABLE jobs(
  id          TEXT PRIMARY KEY,
  site        TEXT NOT NULL,
  search_type TEXT NOT NULL,
  dimensions  TEXT NOT NULL,
  data_state  TEXT NOT NULL,
  start_date  TEXT NOT NULL,
  end_date    TEXT NOT NULL,
  row_limit   INTEGER NOT NULL,
  created_at  BIGINT NOT NULL
);
CREATE TABLE batches(
  job_id           TEXT NOT NULL REFERENCES jobs(id),
  date             TEXT NOT NULL,
  start_row        BIGINT NOT NULL,
  state            TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'leased', 'done', 'dead')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  lease_owner      TEXT,
  lease_token      TEXT,
  lease_expires_at BIGINT,
  next_attempt_at  BIGINT NOT NULL DEFAULT 0,
  row_count        BIGINT,
  truncated        INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT,
  errors           TEXT,
  updated_at       BIGINT NOT NULL,
  PRIMARY KEY (job_id, date, start_row)
);
CREATE INDEX batches_by_state ON batches(job_id, state, date, start_row);
CREATE TABLE search_analytics(
  site              TEXT NOT NULL,
  search_type       TEXT NOT NULL,
  dimensions        TEXT NOT NULL,
  date              TEXT NOT NULL,
  hour              TEXT NOT NULL,
  query             TEXT NOT NULL,
  page              TEXT NOT NULL,
  country           TEXT NOT NULL,
  device            TEXT NOT NULL,
  search_appearance TEXT NOT NULL,
  clicks            DOUBLE PRECISION NOT NULL,
  impressions       DOUBLE PRECISION NOT NULL,
  ctr               DOUBLE PRECISION NOT NULL,
  position          DOUBLE PRECISION NOT NULL,
  fetched_at        BIGINT NOT NULL,
  PRIMARY KEY (site, search_type, dimensions, date, hour, query, page, country, device,
               search_appearance)
);
CREATE TABLE quota_keys(
  quota_key TEXT PRIMARY KEY
);
CREATE TABLE quota_grants(
  quota_key  TEXT NOT NULL,
  granted_at BIGINT NOT NULL,
  n          INTEGER NOT NULL
);
CREATE INDEX quota_grants_by_key ON quota_grants(quota_key, granted_at);
-- One round trip per decision: lock the key's row, then (each statement of a VOLATILE
-- function sees a fresh snapshot, so grants committed while we waited are counted) read
-- the server's clock, prune, count the window and record the grant or say when to retry.
CREATE FUNCTION batchfetch_try_grant(k TEXT, want BIGINT, budget BIGINT, window_ms BIGINT)
RETURNS TABLE(granted BOOLEAN, now_ms BIGINT, retry_at_ms BIGINT, in_window BIGINT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  t BIGINT;
  used BIGINT;
  blocker BIGINT;
BEGIN
  INSERT INTO quota_keys VALUES (k) ON CONFLICT DO NOTHING;
  PERFORM 1 FROM quota_keys WHERE quota_key = k FOR UPDATE;
  t := floor(extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
  DELETE FROM quota_grants WHERE quota_key = k AND granted_at <= t - window_ms;
  SELECT coalesce(sum(g.n), 0) INTO used FROM quota_grants AS g
   WHERE g.quota_key = k AND g.granted_at > t - window_ms;
  IF used + want <= budget THEN
    INSERT INTO quota_grants VALUES (k, t, want);
    RETURN QUERY SELECT true, t, t, used + want;
  ELSE
    SELECT c.granted_at INTO blocker FROM
      (SELECT g.granted_at, sum(g.n) OVER (ORDER BY g.granted_at DESC
                                           ROWS UNBOUNDED PRECEDING) AS total
         FROM quota_grants AS g WHERE g.quota_key = k AND g.granted_at > t - window_ms) AS c
     WHERE c.total > budget - want ORDER BY c.granted_at DESC LIMIT 1;
    RETURN QUERY SELECT false, t, coalesce(blocker + window_ms, t + window_ms), used;
  END IF;
END
$$;
)sql";

// Version 2: a page's rows are provisional (fresh data, re-fetched by a later run).
constexpr const char* kSchemaV2 =
    "ALTER TABLE batches ADD COLUMN IF NOT EXISTS provisional INTEGER NOT NULL DEFAULT 0";

}  // namespace

Status EnsurePostgresSchema(PgConnection& conn) {
  return conn.Transaction([&]() -> Status {
    Status status = conn.Exec(std::string("SELECT pg_advisory_xact_lock(") + kSchemaLockKey + ")");
    if (!status.ok()) return status;
    PgResult found;
    status = conn.Exec(
        "SELECT to_regclass('batchfetch_schema') IS NOT NULL,"
        " (to_regclass('jobs') IS NOT NULL OR to_regclass('batches') IS NOT NULL OR"
        " to_regclass('search_analytics') IS NOT NULL)",
        &found);
    if (!status.ok()) return status;
    const bool ours = found.Text(0, 0) == "t", theirs = found.Text(0, 1) == "t";
    if (!ours) {
      if (theirs) {
        return Status::Error(Status::Code::kForeign,
                             "database " + conn.redacted() +
                                 " has jobs/batches/search_analytics tables of another program");
      }
      status = conn.Exec(kSchemaV1);
      if (status.ok()) status = conn.Exec(kSchemaV2);
      if (!status.ok()) return status;
      return conn.Exec("INSERT INTO batchfetch_schema VALUES ('batchfetch', " +
                       std::to_string(kPostgresSchemaVersion) + ")");
    }
    PgResult version;
    status = conn.Exec("SELECT application, version FROM batchfetch_schema", &version);
    if (!status.ok()) return status;
    if (version.rows() != 1 || version.Text(0, 0) != "batchfetch") {
      return Status::Error(Status::Code::kForeign,
                           "database " + conn.redacted() + " is not a batchfetch ledger");
    }
    if (version.Int64(0, 1) > kPostgresSchemaVersion) {
      return Status::Error(Status::Code::kForeign, "database schema " + version.Text(0, 1) +
                                                       " is newer than this batchfetch (" +
                                                       std::to_string(kPostgresSchemaVersion) +
                                                       "); upgrade batchfetch");
    }
    if (version.Int64(0, 1) < 2) {
      status = conn.Exec(kSchemaV2);
      if (status.ok()) {
        status = conn.Exec("UPDATE batchfetch_schema SET version = " +
                           std::to_string(kPostgresSchemaVersion));
      }
      if (!status.ok()) return status;
    }
    return Status::Ok();
  });
}

}  // namespace batchfetch
