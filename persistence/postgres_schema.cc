// The PostgreSQL schema: the SQLite ledger's tables with PostgreSQL types, plus the
// shared quota's grant log and a one-row table that marks the database as ours; and the
// in-place migration of a version-2 (jobs) ledger to version 3 (reports and days).

#include <map>
#include <set>
#include <tuple>

#include "core/report.h"
#include "persistence/ledger_util.h"
#include "persistence/postgres_ledger.h"
#include "persistence/report_views.h"

namespace batchfetch {
namespace {

using Code = Status::Code;

// Bumped with every change; a database at a higher version is refused.
// 2 added batches.provisional; 3 reports own rows, days held, typed dates and times.
constexpr int kPostgresSchemaVersion = 3;
// pg_advisory_xact_lock key serialising schema creation and migration: 'bfch'.
constexpr const char* kSchemaLockKey = "1650811752";

constexpr const char* kMarkerTable = R"sql(
CREATE TABLE batchfetch_schema(
  application TEXT NOT NULL,
  version     INTEGER NOT NULL
);
)sql";

// The shared quota's tables and its grant function (unchanged since version 1).
constexpr const char* kQuotaTables = R"sql(
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

// Version 3: reports own rows; days held; a shared staging table for whole-day swaps.
// truncated/provisional stay INTEGER 0/1 so `WHERE truncated = 1` reads the same on
// SQLite and PostgreSQL.
constexpr const char* kLedgerTablesV3 = R"sql(
CREATE TABLE reports(
  id               TEXT PRIMARY KEY,
  site             TEXT NOT NULL,
  search_type      TEXT NOT NULL,
  dimensions       TEXT NOT NULL,
  data_state       TEXT NOT NULL,
  aggregation_type TEXT NOT NULL,
  filters          TEXT NOT NULL,
  created_at       TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE batches(
  report_id        TEXT NOT NULL REFERENCES reports(id),
  date             DATE NOT NULL,
  start_row        BIGINT NOT NULL,
  state            TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'leased', 'done', 'dead')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  lease_owner      TEXT,
  lease_token      TEXT,
  lease_expires_at TIMESTAMPTZ,
  next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
  row_count        BIGINT,
  row_limit        BIGINT,
  truncated        INTEGER NOT NULL DEFAULT 0,
  provisional      INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT,
  errors           TEXT,
  updated_at       TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (report_id, date, start_row)
);
CREATE INDEX batches_claimable ON batches(report_id, state, date, start_row);
CREATE TABLE days(
  report_id   TEXT NOT NULL REFERENCES reports(id),
  date        DATE NOT NULL,
  row_count   BIGINT NOT NULL,
  truncated   INTEGER NOT NULL DEFAULT 0,
  provisional INTEGER NOT NULL DEFAULT 0,
  fetched_at  TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (report_id, date)
);
CREATE TABLE search_analytics(
  report_id         TEXT NOT NULL,
  site              TEXT NOT NULL,
  search_type       TEXT NOT NULL,
  date              DATE NOT NULL,
  hour              TEXT NOT NULL,
  query             TEXT NOT NULL,
  page              TEXT NOT NULL,
  country           TEXT NOT NULL,
  device            TEXT NOT NULL,
  search_appearance TEXT NOT NULL,
  clicks            BIGINT NOT NULL,
  impressions       BIGINT NOT NULL,
  ctr               DOUBLE PRECISION NOT NULL,
  position          DOUBLE PRECISION NOT NULL,
  fetched_at        TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (report_id, date, hour, query, page, country, device, search_appearance)
);
CREATE TABLE staged_rows(
  report_id         TEXT NOT NULL,
  date              DATE NOT NULL,
  start_row         BIGINT NOT NULL,
  site              TEXT NOT NULL,
  search_type       TEXT NOT NULL,
  hour              TEXT NOT NULL,
  query             TEXT NOT NULL,
  page              TEXT NOT NULL,
  country           TEXT NOT NULL,
  device            TEXT NOT NULL,
  search_appearance TEXT NOT NULL,
  clicks            BIGINT NOT NULL,
  impressions       BIGINT NOT NULL,
  ctr               DOUBLE PRECISION NOT NULL,
  position          DOUBLE PRECISION NOT NULL,
  fetched_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX staged_rows_by_day ON staged_rows(report_id, date);
)sql";

// Version 1 -> 2 (applied before the move to version 3).
constexpr const char* kV1ToV2 =
    "ALTER TABLE batches ADD COLUMN IF NOT EXISTS provisional INTEGER NOT NULL DEFAULT 0";

// Moves the version-2 tables aside so version 3's names and key indexes are free.
constexpr const char* kV2Aside = R"sql(
DROP INDEX IF EXISTS batches_by_state;
ALTER TABLE batches RENAME TO batches_v2;
ALTER INDEX batches_pkey RENAME TO batches_v2_pkey;
ALTER TABLE search_analytics RENAME TO search_analytics_v2;
ALTER INDEX search_analytics_pkey RENAME TO search_analytics_v2_pkey;
CREATE TEMP TABLE v2_job_report(job_id TEXT PRIMARY KEY, report_id TEXT NOT NULL)
  ON COMMIT DROP;
)sql";

// After jobs became reports (v2_job_report maps them): pages merged, rows attributed,
// days recorded, old tables dropped. Pages of one report from several old jobs keep the
// most advanced state per (date, start_row): done > leased > pending > dead.
constexpr const char* kV2Move = R"sql(
INSERT INTO batches(report_id, date, start_row, state, attempts, lease_owner, lease_token,
                    lease_expires_at, next_attempt_at, row_count, row_limit, truncated,
                    provisional, last_error, errors, updated_at)
SELECT DISTINCT ON (m.report_id, b.date::date, b.start_row)
       m.report_id, b.date::date, b.start_row, b.state, b.attempts, b.lease_owner,
       b.lease_token, to_timestamp(b.lease_expires_at / 1000.0),
       to_timestamp(b.next_attempt_at / 1000.0), b.row_count,
       CASE WHEN b.state = 'done' THEN j.row_limit END,
       -- Truncated as version 3 means it: the day's last page reached the API's cap.
       CASE WHEN b.state = 'done' AND b.start_row + coalesce(b.row_count, 0) >= 50000
            THEN 1 ELSE 0 END, b.provisional,
       b.last_error, b.errors, to_timestamp(b.updated_at / 1000.0)
  FROM batches_v2 AS b JOIN v2_job_report AS m ON m.job_id = b.job_id
  JOIN jobs AS j ON j.id = b.job_id
 ORDER BY m.report_id, b.date::date, b.start_row,
          CASE b.state WHEN 'done' THEN 0 WHEN 'leased' THEN 1 WHEN 'pending' THEN 2 ELSE 3 END,
          b.updated_at DESC;

-- Old rows are keyed by (site, search_type, dimensions): each day's rows go to the one
-- report of that key that wrote them last (its newest done page 0 of the day).
CREATE TEMP TABLE v2_day_owner ON COMMIT DROP AS
SELECT DISTINCT ON (k.site, k.search_type, k.dimensions, k.date)
       k.site, k.search_type, k.dimensions, k.date, r.id AS report_id
  FROM (SELECT DISTINCT site, search_type, dimensions, date FROM search_analytics_v2) AS k
  JOIN reports AS r ON r.site = k.site AND r.search_type = k.search_type
                   AND r.dimensions = k.dimensions
  LEFT JOIN v2_job_report AS m ON m.report_id = r.id
  LEFT JOIN batches_v2 AS b ON b.job_id = m.job_id AND b.date = k.date
 ORDER BY k.site, k.search_type, k.dimensions, k.date,
          (b.state = 'done' AND b.start_row = 0) DESC NULLS LAST, b.updated_at DESC NULLS LAST,
          r.created_at, r.id;

INSERT INTO search_analytics
SELECT o.report_id, s.site, s.search_type, s.date::date, s.hour, s.query, s.page, s.country,
       s.device, s.search_appearance, round(s.clicks)::bigint, round(s.impressions)::bigint,
       s.ctr, s.position, to_timestamp(s.fetched_at / 1000.0)
  FROM search_analytics_v2 AS s JOIN v2_day_owner AS o
    ON o.site = s.site AND o.search_type = s.search_type AND o.dimensions = s.dimensions
   AND o.date = s.date;

-- A report of the same key that did not write a day's rows holds nothing of that day:
-- its pages of that day go, so the next run fetches the day for it.
DELETE FROM batches AS b USING v2_day_owner AS o, reports AS r
 WHERE r.id = b.report_id AND r.site = o.site AND r.search_type = o.search_type
   AND r.dimensions = o.dimensions AND b.date = o.date::date AND b.report_id <> o.report_id;

-- A finished day is held when its stored rows match its pages' counts. One that does not
-- (version 2 let an overlapping job delete another's rows) keeps its rows but is fetched
-- again: later pages go, page 0 is pending.
CREATE TEMP TABLE v2_days ON COMMIT DROP AS
SELECT b.report_id, b.date, sum(b.row_count) AS pages_rows,
       (SELECT count(*) FROM search_analytics AS s
         WHERE s.report_id = b.report_id AND s.date = b.date) AS stored,
       max(b.truncated) AS truncated, max(b.provisional) AS provisional,
       max(b.updated_at) AS fetched_at
  FROM batches AS b
 GROUP BY b.report_id, b.date
HAVING bool_and(b.state = 'done');

INSERT INTO days(report_id, date, row_count, truncated, provisional, fetched_at)
SELECT report_id, date, pages_rows, truncated, provisional, fetched_at FROM v2_days
 WHERE pages_rows = stored;

DELETE FROM batches AS b USING v2_days AS d
 WHERE d.pages_rows <> d.stored AND b.report_id = d.report_id AND b.date = d.date
   AND b.start_row > 0;
UPDATE batches AS b SET state = 'pending', attempts = 0, next_attempt_at = '-infinity',
       row_count = NULL, row_limit = NULL, truncated = 0, provisional = 0
  FROM v2_days AS d
 WHERE d.pages_rows <> d.stored AND b.report_id = d.report_id AND b.date = d.date
   AND b.start_row = 0;

DROP TABLE search_analytics_v2;
DROP TABLE batches_v2;
DROP TABLE jobs;
)sql";

// Starts the schema transaction: read-only opens only look; the others take the schema
// lock. A migration of a large ledger may outlast the connection's statement timeout
// (and so may an opener waiting for it), so this transaction has none; keepalives still
// notice a dead server.
Status Begin(PgConnection& conn, OpenMode mode) {
  if (mode == OpenMode::kReadOnly) return Status::Ok();
  Status status = conn.Exec("SET LOCAL statement_timeout = 0");
  if (status.ok()) {
    status = conn.Exec(std::string("SELECT pg_advisory_xact_lock(") + kSchemaLockKey + ")");
  }
  return status;
}

// Turns version 2's jobs into reports (ids computed here, as ReportSpec::Id does) and
// moves pages and rows. Runs inside the caller's transaction.
Status MigrateV2ToV3(PgConnection& conn) {
  Status status = conn.Exec(kV2Aside);
  if (status.ok()) status = conn.Exec(kLedgerTablesV3);
  if (!status.ok()) return status;

  // Every old job, and every row key no job names (kept as a final-data report).
  PgResult jobs;
  status = conn.Exec(
      "SELECT id, site, search_type, dimensions, data_state, created_at FROM jobs"
      " ORDER BY created_at, id",
      &jobs);
  if (!status.ok()) return status;
  PgResult orphans;
  status = conn.Exec(
      "SELECT DISTINCT s.site, s.search_type, s.dimensions FROM search_analytics_v2 AS s"
      " WHERE NOT EXISTS (SELECT 1 FROM jobs AS j WHERE j.site = s.site"
      " AND j.search_type = s.search_type AND j.dimensions = s.dimensions)"
      " ORDER BY 1, 2, 3",
      &orphans);
  if (!status.ok()) return status;

  auto add_report = [&](const ReportSpec& spec, int64_t created_ms) -> Status {
    PgParams p;
    p.Add(spec.Id()).Add(spec.site).Add(spec.search_type).Add(spec.DimensionsCsv());
    p.Add(spec.data_state).Add(spec.aggregation_type).Add(spec.FiltersText()).Add(created_ms);
    // Reports of one second keep their order through the id tie-break.
    return conn.RunOnce(
        "INSERT INTO reports(id, site, search_type, dimensions, data_state, aggregation_type,"
        " filters, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
        " to_timestamp($8::bigint / 1000.0)) ON CONFLICT (id) DO NOTHING",
        p);
  };
  for (int i = 0; i < jobs.rows(); ++i) {
    ReportSpec spec;
    spec.site = jobs.Text(i, 1);
    spec.search_type = jobs.Text(i, 2);
    spec.dimensions = ledger_util::SplitCsv(jobs.Text(i, 3));
    spec.data_state = jobs.Text(i, 4);
    // Version 2 kept no aggregation type nor filters: its reports are the defaults.
    status = add_report(spec, jobs.Int64(i, 5));
    if (!status.ok()) return status;
    PgParams map;
    map.Add(jobs.Text(i, 0)).Add(spec.Id());
    status = conn.RunOnce("INSERT INTO v2_job_report VALUES ($1, $2)", map);
    if (!status.ok()) return status;
  }
  for (int i = 0; i < orphans.rows(); ++i) {
    ReportSpec spec;
    spec.site = orphans.Text(i, 0);
    spec.search_type = orphans.Text(i, 1);
    spec.dimensions = ledger_util::SplitCsv(orphans.Text(i, 2));
    status = add_report(spec, 0);
    if (!status.ok()) return status;
  }
  return conn.Exec(kV2Move);
}

// Creates search_analytics_v and report's view where missing, inside the caller's
// transaction, which holds the schema lock (so two openers never both create one).
Status CreateMissingViews(PgConnection& conn, const Report& report) {
  std::string report_view;
  Status status = ReportViewSql(report, SqlDialect::kPostgres, &report_view);
  PgResult missing;
  if (status.ok()) {
    PgParams p;
    p.Add(ReportViewName(report.id));
    status = conn.RunOnce(
        "SELECT to_regclass('search_analytics_v') IS NULL, to_regclass($1) IS NULL", p, &missing);
  }
  if (status.ok() && missing.Text(0, 0) == "t") {
    status = conn.Exec(GeneralViewSql(SqlDialect::kPostgres));
  }
  if (status.ok() && missing.Text(0, 1) == "t") status = conn.Exec(report_view);
  return status;
}

// CreateMissingViews for every report in the ledger (a new or just migrated one).
Status CreateAllViews(PgConnection& conn) {
  PgResult reports;
  Status status = conn.Exec("SELECT id, dimensions FROM reports ORDER BY id", &reports);
  if (status.ok() && reports.rows() == 0) {
    status = conn.Exec(GeneralViewSql(SqlDialect::kPostgres));
  }
  for (int i = 0; status.ok() && i < reports.rows(); ++i) {
    Report report;
    report.id = reports.Text(i, 0);
    report.spec.dimensions = ledger_util::SplitCsv(reports.Text(i, 1));
    status = CreateMissingViews(conn, report);
  }
  return status;
}

}  // namespace

Status CreatePostgresReportViews(PgConnection& conn, std::span<const Report* const> reports) {
  return conn.Transaction([&]() -> Status {
    Status status = conn.Exec(std::string("SELECT pg_advisory_xact_lock(") + kSchemaLockKey + ")");
    for (std::size_t i = 0; status.ok() && i < reports.size(); ++i) {
      status = CreateMissingViews(conn, *reports[i]);
    }
    return status;
  });
}

Status EnsurePostgresSchema(PgConnection& conn, OpenMode mode) {
  return conn.Transaction([&]() -> Status {
    Status status = Begin(conn, mode);
    if (!status.ok()) return status;
    PgResult found;
    status = conn.Exec(
        "SELECT to_regclass('batchfetch_schema') IS NOT NULL,"
        " (to_regclass('jobs') IS NOT NULL OR to_regclass('reports') IS NOT NULL OR"
        " to_regclass('batches') IS NOT NULL OR to_regclass('search_analytics') IS NOT NULL OR"
        " to_regclass('staged_rows') IS NOT NULL OR to_regclass('days') IS NOT NULL)",
        &found);
    if (!status.ok()) return status;
    const bool ours = found.Text(0, 0) == "t", theirs = found.Text(0, 1) == "t";
    if (!ours) {
      if (theirs) {
        return Status::Error(Code::kForeign,
                             "database " + conn.redacted() +
                                 " has reports/batches/search_analytics tables of another program");
      }
      if (mode != OpenMode::kCreate) {
        return Status::Error(Code::kNotFound, "database " + conn.redacted() + " holds no ledger");
      }
      status = conn.Exec(kMarkerTable);
      if (status.ok()) status = conn.Exec(kQuotaTables);
      if (status.ok()) status = conn.Exec(kLedgerTablesV3);
      if (status.ok()) status = CreateAllViews(conn);
      if (!status.ok()) return status;
      return conn.Exec("INSERT INTO batchfetch_schema VALUES ('batchfetch', " +
                       std::to_string(kPostgresSchemaVersion) + ")");
    }
    PgResult version;
    status = conn.Exec("SELECT application, version FROM batchfetch_schema", &version);
    if (!status.ok()) return status;
    if (version.rows() != 1 || version.Text(0, 0) != "batchfetch") {
      return Status::Error(Code::kForeign,
                           "database " + conn.redacted() + " is not a batchfetch ledger");
    }
    const int64_t have = version.Int64(0, 1);
    if (have > kPostgresSchemaVersion) {
      return Status::Error(Code::kForeign, "database schema " + version.Text(0, 1) +
                                               " is newer than this batchfetch (" +
                                               std::to_string(kPostgresSchemaVersion) +
                                               "); upgrade batchfetch");
    }
    if (have == kPostgresSchemaVersion) return Status::Ok();
    if (mode == OpenMode::kReadOnly) {
      return Status::Error(Code::kForeign, "database schema " + version.Text(0, 1) +
                                               " needs an upgrade; open it read-write once");
    }
    if (have < 2) status = conn.Exec(kV1ToV2);
    if (status.ok()) status = MigrateV2ToV3(conn);
    if (status.ok()) status = CreateAllViews(conn);
    if (!status.ok()) return status;
    return conn.Exec("UPDATE batchfetch_schema SET version = " +
                     std::to_string(kPostgresSchemaVersion));
  });
}

}  // namespace batchfetch
