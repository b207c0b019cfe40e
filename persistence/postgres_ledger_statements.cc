// Every statement PostgresLedger prepares: the SQLite ledger's list
// (sqlite_ledger_statements.cc) in PostgreSQL's dialect.

#include <utility>

#include "persistence/postgres_ledger.h"

namespace batchfetch {

Status PostgresLedger::PrepareAll() {
  const std::pair<const char*, const char*> all[] = {
      {"insert_job",
       "INSERT INTO jobs(id, site, search_type, dimensions, data_state, start_date, end_date,"
       " row_limit, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
       " ON CONFLICT (id) DO NOTHING"},
      // $2 is a text[] of dates: every first page in one round trip.
      {"insert_first_pages",
       "INSERT INTO batches(job_id, date, start_row, state, attempts, next_attempt_at,"
       " truncated, updated_at) SELECT $1, d, 0, 'pending', 0, 0, 0, $3"
       " FROM unnest($2::text[]) AS d ON CONFLICT (job_id, date, start_row) DO NOTHING"},
      {"insert_page",
       "INSERT INTO batches(job_id, date, start_row, state, attempts, next_attempt_at,"
       " truncated, updated_at) VALUES ($1, $2, $3, 'pending', 0, 0, 0, $4)"
       " ON CONFLICT (job_id, date, start_row) DO NOTHING"},
      // The CTE is the fence: it locks at most $5 rows (skipping rows another claimer
      // holds) and the UPDATE touches exactly those. An expired lease is taken over
      // without counting an attempt.
      {"claim",
       "WITH picked AS (SELECT job_id, date, start_row FROM batches WHERE job_id = $4 AND"
       " ((state = 'pending' AND next_attempt_at <= $3) OR"
       " (state = 'leased' AND lease_expires_at <= $3))"
       " ORDER BY date, start_row LIMIT $5 FOR UPDATE SKIP LOCKED)"
       " UPDATE batches AS b SET state = 'leased', lease_owner = $1,"
       " lease_token = replace(gen_random_uuid()::text, '-', ''), lease_expires_at = $2,"
       " updated_at = $3 FROM picked WHERE b.job_id = picked.job_id"
       " AND b.date = picked.date AND b.start_row = picked.start_row"
       " RETURNING b.date, b.start_row, b.lease_token, b.attempts"},
      // Sorted by the key (DISTINCT ON), so concurrent commits lock rows in one order.
      {"upsert_stage",
       "INSERT INTO search_analytics SELECT DISTINCT ON (site, search_type, dimensions, date,"
       " hour, query, page, country, device, search_appearance) * FROM search_analytics_stage"
       " ORDER BY site, search_type, dimensions, date, hour, query, page, country, device,"
       " search_appearance"
       " ON CONFLICT (site, search_type, dimensions, date, hour, query, page, country, device,"
       " search_appearance) DO UPDATE SET clicks = excluded.clicks,"
       " impressions = excluded.impressions, ctr = excluded.ctr,"
       " position = excluded.position, fetched_at = excluded.fetched_at"},
      {"complete_page",
       "UPDATE batches SET state = 'done', row_count = $1, truncated = $2, lease_owner = NULL,"
       " lease_token = NULL, lease_expires_at = NULL, updated_at = $3, provisional = $8"
       " WHERE job_id = $4 AND date = $5 AND start_row = $6 AND lease_token = $7"},
      // Fresh data: days whose pages are all done, provisional or on/after $2, reset for
      // re-fetch (later pages deleted, page 0 pending) in one statement each.
      {"refresh_dates",
       "SELECT date FROM batches WHERE job_id = $1 GROUP BY date"
       " HAVING sum(CASE WHEN state <> 'done' THEN 1 ELSE 0 END) = 0"
       " AND (date >= $2 OR max(provisional) = 1) ORDER BY date"},
      {"drop_later_pages",
       "DELETE FROM batches WHERE job_id = $1 AND date = ANY($2::text[]) AND start_row > 0"
       " AND state = 'done'"},
      {"reset_first_pages",
       "UPDATE batches SET state = 'pending', attempts = 0, next_attempt_at = 0,"
       " lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, row_count = NULL,"
       " truncated = 0, updated_at = $3"
       " WHERE job_id = $1 AND date = ANY($2::text[]) AND start_row = 0 AND state = 'done'"},
      // The days a group's held page 0s replace, as four parallel arrays.
      {"delete_day_rows",
       "DELETE FROM search_analytics AS s"
       " USING unnest($1::text[], $2::text[], $3::text[], $4::text[])"
       " AS u(site, search_type, dimensions, date) WHERE s.site = u.site"
       " AND s.search_type = u.search_type AND s.dimensions = u.dimensions AND s.date = u.date"},
      {"fail_page",
       "UPDATE batches SET attempts = attempts + 1, last_error = $1,"
       " errors = coalesce(errors || chr(10), '') || $2,"
       " state = CASE WHEN $3::int <> 0 OR attempts + 1 >= $4 THEN 'dead' ELSE 'pending' END,"
       " next_attempt_at = $5, lease_owner = NULL, lease_token = NULL,"
       " lease_expires_at = NULL, updated_at = $6"
       " WHERE job_id = $7 AND date = $8 AND start_row = $9 AND lease_token = $10"},
      // Leases travel as four parallel arrays: job ids, dates, start rows, tokens.
      {"release",
       "UPDATE batches AS b SET state = 'pending', lease_owner = NULL, lease_token = NULL,"
       " lease_expires_at = NULL, updated_at = $1"
       " FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[])"
       " AS u(job_id, date, start_row, token) WHERE b.job_id = u.job_id AND b.date = u.date"
       " AND b.start_row = u.start_row AND b.lease_token = u.token"},
      {"renew",
       "UPDATE batches AS b SET lease_expires_at = $1, updated_at = $2"
       " FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[])"
       " AS u(job_id, date, start_row, token) WHERE b.job_id = u.job_id AND b.date = u.date"
       " AND b.start_row = u.start_row AND b.lease_token = u.token"},
      {"job_exists", "SELECT count(*) FROM jobs WHERE id = $1"},
      {"count_states",
       "SELECT state, count(*), coalesce(sum(row_count), 0)::bigint FROM batches"
       " WHERE job_id = $1 GROUP BY state"},
      {"truncated_days",
       "SELECT count(DISTINCT CASE WHEN truncated = 1 THEN date END),"
       " count(DISTINCT CASE WHEN provisional = 1 AND state = 'done' THEN date END)"
       " FROM batches WHERE job_id = $1"},
      {"retry_dead",
       "UPDATE batches SET state = 'pending', attempts = 0, next_attempt_at = 0,"
       " updated_at = $1 WHERE state = 'dead' AND ($2 = '' OR job_id = $2)"},
      {"list_jobs",
       "SELECT id, site, search_type, dimensions, data_state, start_date, end_date, row_limit"
       " FROM jobs ORDER BY created_at, id"},
      // Report and Verify.
      {"job_spec",
       "SELECT site, search_type, dimensions, start_date, end_date, row_limit FROM jobs"
       " WHERE id = $1"},
      {"dead_pages",
       "SELECT date, start_row, attempts, coalesce(last_error, ''), coalesce(errors, '')"
       " FROM batches WHERE job_id = $1 AND state = 'dead' ORDER BY date, start_row"},
      {"live_leases",
       "SELECT lease_owner, count(*), max(updated_at), max(lease_expires_at) FROM batches"
       " WHERE job_id = $1 AND state = 'leased' AND lease_expires_at > $2"
       " GROUP BY lease_owner ORDER BY lease_owner"},
      {"duplicate_rows",
       "SELECT coalesce(sum(n), 0)::bigint FROM (SELECT count(*) AS n FROM search_analytics"
       " WHERE site = $1 AND search_type = $2 AND dimensions = $3 AND date BETWEEN $4 AND $5"
       " GROUP BY date, hour, query, page, country, device, search_appearance"
       " HAVING count(*) > 1) AS dups"},
      {"unfinished_pages",
       "SELECT date, start_row, state FROM batches WHERE job_id = $1 AND state <> 'done'"
       " ORDER BY date, start_row"},
      {"missing_next_pages",
       "SELECT b.date, b.start_row + $2 FROM batches AS b WHERE b.job_id = $1"
       " AND b.state = 'done' AND b.row_count >= $2 AND b.truncated = 0 AND NOT EXISTS"
       " (SELECT 1 FROM batches AS n WHERE n.job_id = b.job_id AND n.date = b.date"
       " AND n.start_row = b.start_row + $2) ORDER BY b.date, b.start_row"},
      {"page_dates", "SELECT DISTINCT date FROM batches WHERE job_id = $1 ORDER BY date"},
      {"row_counts",
       "SELECT b.date, sum(b.row_count)::bigint, (SELECT count(*) FROM search_analytics AS s"
       " WHERE s.site = $2 AND s.search_type = $3 AND s.dimensions = $4 AND s.date = b.date)"
       " FROM batches AS b WHERE b.job_id = $1 AND b.state = 'done' GROUP BY b.date"
       " ORDER BY b.date"},
      {"truncated_dates",
       "SELECT DISTINCT date FROM batches WHERE job_id = $1 AND truncated = 1 ORDER BY date"},
  };
  for (const auto& [name, sql] : all) {
    Status status = conn_->Prepare(name, sql);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

}  // namespace batchfetch
