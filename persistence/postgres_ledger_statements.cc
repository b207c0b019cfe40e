// Every statement PostgresLedger prepares. Sets of pages, days and leases travel as
// parallel arrays ($n::text[], $n::date[], ...) so a group is one round trip. Times the
// caller names arrive as unix milliseconds; lease times use the server's clock.

#include <utility>

#include "persistence/postgres_ledger.h"

// Lease times follow the server's clock, or the caller's `now` when the session sets
// batchfetch.lease_clock = 'caller' (a test seam: a fake clock drives expiry).
#define CALLER_CLOCK "current_setting('batchfetch.lease_clock', true) = 'caller'"
#define LEASE_NOW(param)                                 \
  "(CASE WHEN " CALLER_CLOCK " THEN to_timestamp(" param \
  "::bigint / 1000.0)"                                   \
  " ELSE clock_timestamp() END)"

namespace batchfetch {

Status PostgresLedger::PrepareAll() {
  const std::pair<const char*, const char*> all[] = {
      {"insert_report",
       "INSERT INTO reports(id, site, search_type, dimensions, data_state, aggregation_type,"
       " filters) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING"},
      {"report_row",
       "SELECT site, search_type, dimensions, data_state, aggregation_type, filters"
       " FROM reports WHERE id = $1"},
      {"count_reports", "SELECT count(*) FROM reports WHERE id = ANY($1::text[])"},
      {"list_reports",
       "SELECT id, site, search_type, dimensions, data_state, aggregation_type, filters"
       " FROM reports ORDER BY created_at, id"},

      // PlanDays: per asked day, its pages (all, not done), held, provisional.
      {"day_states",
       "SELECT d.day::text, count(b.start_row), count(b.start_row) FILTER"
       " (WHERE b.state <> 'done'), bool_or(y.report_id IS NOT NULL),"
       " greatest(coalesce(max(y.provisional), 0), coalesce(max(b.provisional), 0))"
       " FROM unnest($2::date[]) AS d(day)"
       " LEFT JOIN batches AS b ON b.report_id = $1 AND b.date = d.day"
       " LEFT JOIN days AS y ON y.report_id = $1 AND y.date = d.day"
       " GROUP BY d.day ORDER BY d.day"},
      // RETURNING says which days this call changed: a concurrent PlanDays (READ COMMITTED)
      // may have got there first.
      {"insert_first_pages",
       "INSERT INTO batches(report_id, date, start_row) SELECT $1, d, 0"
       " FROM unnest($2::date[]) AS d ON CONFLICT (report_id, date, start_row) DO NOTHING"
       " RETURNING date::text"},
      // Only a page 0 still done is reset (its row lock orders concurrent refreshes), and
      // only the days reset here lose their later pages and staged rows: a refresh another
      // process already started keeps what its fetch staged.
      {"refresh_reset_first_pages",
       "UPDATE batches SET state = 'pending', attempts = 0, next_attempt_at = '-infinity',"
       " lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, row_count = NULL,"
       " row_limit = NULL, truncated = 0, provisional = 0, updated_at = clock_timestamp()"
       " WHERE report_id = $1 AND date = ANY($2::date[]) AND start_row = 0 AND state = 'done'"
       " RETURNING date::text"},
      {"refresh_drop_later_pages",
       "DELETE FROM batches WHERE report_id = $1 AND date = ANY($2::date[]) AND start_row > 0"},
      {"refresh_clear_stage",
       "DELETE FROM staged_rows WHERE report_id = $1 AND date = ANY($2::date[])"},

      // The CTE is the fence: it locks at most $2 rows of report $1 (skipping rows another
      // claimer holds) and the UPDATE touches exactly those. An expired lease (by the lease
      // clock) is taken over without counting an attempt.
      {"claim",
       "WITH picked AS (SELECT report_id, date, start_row FROM batches"
       " WHERE report_id = $1 AND ((state = 'pending' AND"
       " next_attempt_at <= to_timestamp($4::bigint / 1000.0)) OR"
       " (state = 'leased' AND lease_expires_at <= " LEASE_NOW(
           "$4") "))"
                 " ORDER BY date, start_row LIMIT $2 FOR UPDATE SKIP LOCKED)"
                 " UPDATE batches AS b SET state = 'leased', lease_owner = $3,"
                 " lease_token = replace(gen_random_uuid()::text, '-', ''),"
                 " lease_expires_at = " LEASE_NOW(
                     "$4") " + $5::bigint * interval '1 millisecond',"
                           " updated_at = " LEASE_NOW(
                               "$4") " FROM picked WHERE b.report_id = picked.report_id"
                                     " AND b.date = picked.date AND b.start_row = picked.start_row"
                                     " RETURNING b.date::text, b.start_row, b.lease_token, "
                                     "b.attempts"},

      // CommitPages, in this order: complete pages under their tokens, clear what an
      // earlier fetch of those pages staged, stage (COPY), next pages, swap finished days.
      {"complete_pages",
       "UPDATE batches AS b SET state = 'done', row_count = u.row_count,"
       " row_limit = u.row_limit, truncated = u.truncated, provisional = u.provisional,"
       " lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,"
       " updated_at = clock_timestamp()"
       " FROM unnest($1::text[], $2::date[], $3::bigint[], $4::text[], $5::bigint[],"
       " $6::bigint[], $7::int[], $8::int[])"
       " AS u(report_id, date, start_row, token, row_count, row_limit, truncated, provisional)"
       " WHERE b.report_id = u.report_id AND b.date = u.date AND b.start_row = u.start_row"
       " AND b.state = 'leased' AND b.lease_token = u.token"
       " RETURNING b.report_id, b.date::text, b.start_row"},
      {"clear_stage_from",
       "DELETE FROM staged_rows AS s"
       " USING unnest($1::text[], $2::date[], $3::bigint[]) AS u(report_id, date, start_row)"
       " WHERE s.report_id = u.report_id AND s.date = u.date AND s.start_row >= u.start_row"},
      {"insert_next_pages",
       "INSERT INTO batches(report_id, date, start_row)"
       " SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[])"
       " ON CONFLICT (report_id, date, start_row) DO NOTHING"},
      // Per finished day: the rows its done pages returned and how many provisional values
      // they hold (2: the answer turned final while paging; such a day restarts).
      {"finished_days",
       "SELECT u.report_id, u.date::text, coalesce(sum(b.row_count), 0)::bigint,"
       " count(DISTINCT b.provisional) FROM unnest($1::text[], $2::date[])"
       " AS u(report_id, date) LEFT JOIN batches AS b ON b.report_id = u.report_id"
       " AND b.date = u.date AND b.state = 'done' GROUP BY u.report_id, u.date"},
      // A restart fetches the day again from row 0 at once and counts a failed attempt on
      // page 0, dead at max_attempts ($4; the history line built as HistoryLine does, the
      // error $5 needing no JSON escaping). The caller also clears the day's staged rows.
      {"restart_drop_later_pages",
       "DELETE FROM batches AS b USING unnest($1::text[], $2::date[]) AS u(report_id, date)"
       " WHERE b.report_id = u.report_id AND b.date = u.date AND b.start_row > 0"},
      {"restart_first_pages",
       "UPDATE batches AS b SET attempts = b.attempts + 1, last_error = $5::text,"
       " errors = coalesce(b.errors || chr(10), '') || '{\"attempt\":' || (b.attempts + 1) ||"
       " ',\"at\":' || $3::bigint || ',\"dead\":' ||"
       " CASE WHEN b.attempts + 1 >= $4::int THEN 'true' ELSE 'false' END ||"
       " ',\"error\":\"' || $5::text || '\"}',"
       " state = CASE WHEN b.attempts + 1 >= $4::int THEN 'dead' ELSE 'pending' END,"
       " next_attempt_at = to_timestamp($3::bigint / 1000.0), lease_owner = NULL,"
       " lease_token = NULL, lease_expires_at = NULL,"
       " row_count = NULL, row_limit = NULL, truncated = 0, provisional = 0,"
       " updated_at = clock_timestamp()"
       " FROM unnest($1::text[], $2::date[]) AS u(report_id, date)"
       " WHERE b.report_id = u.report_id AND b.date = u.date AND b.start_row = 0"},
      {"swap_delete_day_rows",
       "DELETE FROM search_analytics AS s USING unnest($1::text[], $2::date[])"
       " AS u(report_id, date) WHERE s.report_id = u.report_id AND s.date = u.date"},
      // Rows inserted per day. A key staged twice (rows shifted between pages) is
      // inserted once, so a day whose count falls short of its pages' rows collided: the
      // caller rolls this swap back and restarts that day.
      {"swap_insert_day_rows",
       "WITH inserted AS (INSERT INTO search_analytics(report_id, site, search_type, date,"
       " hour, query, page, country, device, search_appearance, clicks, impressions, ctr,"
       " position, fetched_at) SELECT s.report_id, s.site, s.search_type, s.date, s.hour,"
       " s.query, s.page, s.country, s.device, s.search_appearance, s.clicks, s.impressions,"
       " s.ctr, s.position, s.fetched_at FROM staged_rows AS s"
       " JOIN unnest($1::text[], $2::date[]) AS u(report_id, date)"
       " ON s.report_id = u.report_id AND s.date = u.date ON CONFLICT DO NOTHING"
       " RETURNING report_id, date)"
       " SELECT report_id, date::text, count(*) FROM inserted GROUP BY report_id, date"},
      {"swap_clear_stage",
       "DELETE FROM staged_rows AS s USING unnest($1::text[], $2::date[])"
       " AS u(report_id, date) WHERE s.report_id = u.report_id AND s.date = u.date"},
      {"swap_record_days",
       "INSERT INTO days(report_id, date, row_count, truncated, provisional, fetched_at)"
       " SELECT u.report_id, u.date, (SELECT coalesce(sum(b.row_count), 0) FROM batches AS b"
       " WHERE b.report_id = u.report_id AND b.date = u.date AND b.state = 'done'),"
       " u.truncated,"
       " (SELECT coalesce(max(b.provisional), 0) FROM batches AS b"
       " WHERE b.report_id = u.report_id AND b.date = u.date), clock_timestamp()"
       " FROM unnest($1::text[], $2::date[], $3::int[]) AS u(report_id, date, truncated)"
       " ON CONFLICT (report_id, date) DO UPDATE SET row_count = excluded.row_count,"
       " truncated = excluded.truncated, provisional = excluded.provisional,"
       " fetched_at = excluded.fetched_at"},

      {"fail_page",
       "UPDATE batches SET attempts = attempts + 1, last_error = $1,"
       " errors = coalesce(errors || chr(10), '') || $2,"
       " state = CASE WHEN $3::int <> 0 OR attempts + 1 >= $4::int THEN 'dead'"
       " ELSE 'pending' END, next_attempt_at = to_timestamp($5::bigint / 1000.0),"
       " lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,"
       " updated_at = clock_timestamp()"
       " WHERE report_id = $6 AND date = $7::date AND start_row = $8 AND state = 'leased'"
       " AND lease_token = $9"},
      // Leases travel as four parallel arrays: report ids, dates, start rows, tokens.
      {"release",
       "UPDATE batches AS b SET state = 'pending', lease_owner = NULL, lease_token = NULL,"
       " lease_expires_at = NULL, updated_at = clock_timestamp()"
       " FROM unnest($1::text[], $2::date[], $3::bigint[], $4::text[])"
       " AS u(report_id, date, start_row, token) WHERE b.report_id = u.report_id"
       " AND b.date = u.date AND b.start_row = u.start_row AND b.state = 'leased'"
       " AND b.lease_token = u.token"},
      // $5: the caller's expires_at, $6: the same as a duration from now, $7 the caller's now.
      {"renew",
       "UPDATE batches AS b SET lease_expires_at = CASE WHEN " CALLER_CLOCK
       " THEN to_timestamp($5::bigint / 1000.0)"
       " ELSE clock_timestamp() + $6::bigint * interval '1 millisecond' END,"
       " updated_at = " LEASE_NOW(
           "$7") " FROM unnest($1::text[], $2::date[], $3::bigint[], $4::text[])"
                 " AS u(report_id, date, start_row, token) WHERE b.report_id = u.report_id"
                 " AND b.date = u.date AND b.start_row = u.start_row AND b.state = 'leased'"
                 " AND b.lease_token = u.token"},

      {"count_states",
       "SELECT state, count(*) FROM batches WHERE report_id = ANY($1::text[]) GROUP BY state"},
      {"count_days",
       "SELECT count(*), coalesce(sum(row_count), 0)::bigint,"
       " count(*) FILTER (WHERE truncated = 1), count(*) FILTER (WHERE provisional = 1)"
       " FROM days WHERE report_id = ANY($1::text[])"},
      {"retry_dead",
       "UPDATE batches SET state = 'pending', attempts = 0, next_attempt_at = '-infinity',"
       " updated_at = clock_timestamp() WHERE state = 'dead' AND ($1 = '' OR report_id = $1)"},

      // Describe.
      {"held_days", "SELECT date::text, truncated FROM days WHERE report_id = $1 ORDER BY date"},
      {"dead_pages",
       "SELECT date::text, start_row, attempts, coalesce(last_error, ''), coalesce(errors, '')"
       " FROM batches WHERE report_id = $1 AND state = 'dead' ORDER BY date, start_row"},
      {"live_leases",
       "SELECT lease_owner, count(*), (extract(epoch FROM max(updated_at)) * 1000)::bigint,"
       " (extract(epoch FROM max(lease_expires_at)) * 1000)::bigint FROM batches"
       " WHERE report_id = $1 AND state = 'leased' AND lease_expires_at > " LEASE_NOW(
           "$2") " GROUP BY lease_owner ORDER BY lease_owner"},

      // Verify.
      {"duplicate_rows",
       "SELECT coalesce(sum(n), 0)::bigint FROM (SELECT count(*) AS n FROM search_analytics"
       " WHERE report_id = $1"
       " GROUP BY date, hour, query, page, country, device, search_appearance"
       " HAVING count(*) > 1) AS dups"},
      {"unfinished_pages",
       "SELECT date::text, start_row, state FROM batches WHERE report_id = $1"
       " AND state <> 'done' ORDER BY date, start_row"},
      {"missing_next_pages",
       "SELECT b.date::text, b.start_row + b.row_count FROM batches AS b"
       " WHERE b.report_id = $1 AND b.state = 'done' AND b.row_count > 0"
       " AND b.row_count >= b.row_limit AND b.start_row + b.row_count < 50000"
       " AND NOT EXISTS (SELECT 1 FROM batches AS n WHERE n.report_id = b.report_id"
       " AND n.date = b.date AND n.start_row = b.start_row + b.row_count)"
       " ORDER BY b.date, b.start_row"},
      // Stored rows per day against the rows the held day's pages returned (recorded when
      // the day was swapped in); rows of a day not held count against 0.
      {"row_mismatch",
       "WITH stored AS (SELECT date, count(*) AS n FROM search_analytics WHERE report_id = $1"
       " GROUP BY date), held AS (SELECT date, row_count FROM days WHERE report_id = $1)"
       " SELECT coalesce(h.date, s.date)::text, coalesce(s.n, 0), coalesce(h.row_count, 0)"
       " FROM held AS h FULL JOIN stored AS s ON s.date = h.date"
       " WHERE coalesce(s.n, 0) <> coalesce(h.row_count, 0) ORDER BY 1"},
      {"bad_values",
       "SELECT date::text, count(*) FROM search_analytics WHERE report_id = $1"
       " AND (clicks < 0 OR impressions < 0 OR NOT (ctr BETWEEN 0 AND 1)"
       " OR NOT (position BETWEEN 0 AND 1e300)) GROUP BY date ORDER BY date"},
      {"truncated_dates",
       "SELECT date::text FROM days WHERE report_id = $1 AND truncated = 1 ORDER BY date"},
  };
  for (const auto& [name, sql] : all) {
    Status status = conn_->Prepare(name, sql);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

}  // namespace batchfetch
