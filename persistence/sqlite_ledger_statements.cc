#include "persistence/sqlite_ledger_statements.h"

#include <utility>

namespace batchfetch {
namespace {

// The columns of a stored (or staged) row, in the order WriteRow binds them.
#define BF_ROW_COLUMNS                                                      \
  "report_id, site, search_type, date, hour, query, page, country, device," \
  " search_appearance, clicks, impressions, ctr, position, fetched_at"
#define BF_ROW_KEY "report_id, date, hour, query, page, country, device, search_appearance"
#define BF_ROW_UPSERT                                                                      \
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"             \
  " ON CONFLICT(" BF_ROW_KEY                                                               \
  ") DO UPDATE SET clicks = excluded.clicks,"                                              \
  " impressions = excluded.impressions, ctr = excluded.ctr, position = excluded.position," \
  " fetched_at = excluded.fetched_at"

}  // namespace

Status SqliteLedger::Statements::Prepare(sqlite3* db) {
  const std::pair<SqliteStatement*, const char*> all[] = {
      {&begin_read, "BEGIN"},
      {&begin_write, "BEGIN IMMEDIATE"},
      {&commit, "COMMIT"},
      {&rollback, "ROLLBACK"},
      // Reports.
      {&insert_report,
       "INSERT INTO reports(id, site, search_type, dimensions, data_state, aggregation_type,"
       " filters, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
       " ON CONFLICT(id) DO NOTHING"},
      {&report_by_id,
       "SELECT site, search_type, dimensions, data_state, aggregation_type, filters"
       " FROM reports WHERE id = ?1"},
      {&list_reports,
       "SELECT id, site, search_type, dimensions, data_state, aggregation_type, filters"
       " FROM reports ORDER BY created_at, rowid"},
      // PlanDays.
      {&day_pages,
       "SELECT count(*), coalesce(sum(state <> 'done'), 0) FROM batches"
       " WHERE report_id = ?1 AND date = ?2"},
      {&day_held, "SELECT provisional FROM days WHERE report_id = ?1 AND date = ?2"},
      {&insert_page,
       "INSERT INTO batches(report_id, date, start_row, state, attempts, next_attempt_at,"
       " truncated, provisional, updated_at) VALUES (?1, ?2, ?3, 'pending', 0, 0, 0, 0, ?4)"
       " ON CONFLICT(report_id, date, start_row) DO NOTHING"},
      {&drop_later_pages,
       "DELETE FROM batches WHERE report_id = ?1 AND date = ?2 AND start_row > 0"},
      {&reset_first_page,
       "UPDATE batches SET state = 'pending', attempts = 0, next_attempt_at = 0,"
       " lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, row_count = NULL,"
       " row_limit = NULL, truncated = 0, provisional = 0, last_error = NULL, errors = NULL,"
       " updated_at = ?3 WHERE report_id = ?1 AND date = ?2 AND start_row = 0"},
      // Pages. A claim picks a report's claimable pages in order, then leases each by rowid.
      // (No IN-subquery and no RETURNING: each would build an ephemeral table, and with
      // one claim statement per report of the run their page caches churned the heap.)
      // An expired lease is taken over without counting an attempt; every page gets its
      // own token.
      {&claim_pick,
       "SELECT rowid, date, start_row, attempts, lower(hex(randomblob(16))) FROM batches"
       " WHERE report_id = ?1 AND ((state = 'pending' AND next_attempt_at <= ?2) OR"
       " (state = 'leased' AND lease_expires_at <= ?2)) ORDER BY date, start_row LIMIT ?3"},
      {&claim_take,
       "UPDATE batches SET state = 'leased', lease_owner = ?1, lease_token = ?2,"
       " lease_expires_at = ?3, updated_at = ?4 WHERE rowid = ?5"},
      {&fail_page,
       "UPDATE batches SET attempts = attempts + 1, last_error = ?1,"
       " errors = coalesce(errors || char(10), '') || ?2,"
       " state = CASE WHEN ?3 OR attempts + 1 >= ?4 THEN 'dead' ELSE 'pending' END,"
       " next_attempt_at = ?5, lease_owner = NULL, lease_token = NULL,"
       " lease_expires_at = NULL, updated_at = ?6"
       " WHERE report_id = ?7 AND date = ?8 AND start_row = ?9 AND lease_token = ?10"},
      {&release,
       "UPDATE batches SET state = 'pending', lease_owner = NULL, lease_token = NULL,"
       " lease_expires_at = NULL, updated_at = ?1"
       " WHERE report_id = ?2 AND date = ?3 AND start_row = ?4 AND lease_token = ?5"},
      {&renew,
       "UPDATE batches SET lease_expires_at = ?1, updated_at = ?2"
       " WHERE report_id = ?3 AND date = ?4 AND start_row = ?5 AND lease_token = ?6"},
      {&retry_dead,
       "UPDATE batches SET state = 'pending', attempts = 0, next_attempt_at = 0,"
       " updated_at = ?1 WHERE state = 'dead' AND (?2 = '' OR report_id = ?2)"},
      // CommitPages. Completing first tells whether the lease holds; nothing else is
      // written for a page whose token is gone.
      {&complete_page,
       "UPDATE batches SET state = 'done', row_count = ?1, row_limit = ?2, truncated = ?3,"
       " provisional = ?4, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,"
       " updated_at = ?5"
       " WHERE report_id = ?6 AND date = ?7 AND start_row = ?8 AND lease_token = ?9"
       " AND state = 'leased'"},
      {&clear_staged, "DELETE FROM staged_rows WHERE report_id = ?1 AND date = ?2"},
      {&delete_day_rows, "DELETE FROM search_analytics WHERE report_id = ?1 AND date = ?2"},
      {&swap_in, "INSERT INTO search_analytics(" BF_ROW_COLUMNS ") SELECT " BF_ROW_COLUMNS
                 " FROM staged_rows WHERE report_id = ?1 AND date = ?2"},
      // The day's done pages: rows they returned and whether they disagree on
      // provisional. A fetch is swapped in only when its staged rows are exactly those rows
      // and its pages are all provisional or all final; else it starts again at row 0.
      {&done_pages_of_day,
       "SELECT coalesce(sum(row_count), 0), coalesce(min(provisional), 0),"
       " coalesce(max(provisional), 0) FROM batches WHERE report_id = ?1 AND date = ?2"
       " AND state = 'done'"},
      {&count_staged, "SELECT count(*) FROM staged_rows WHERE report_id = ?1 AND date = ?2"},
      // attempts stay: a restart is not a failed request.
      // A restart counts a failed attempt on page 0 (its history line built as HistoryLine
      // does; the error, kDayChangedError, needs no JSON escaping).
      {&restart_first_page,
       "UPDATE batches SET attempts = attempts + 1, last_error = ?5,"
       " errors = coalesce(errors || char(10), '') || '{\"attempt\":' || (attempts + 1) ||"
       " ',\"at\":' || ?3 || ',\"dead\":' ||"
       " CASE WHEN attempts + 1 >= ?4 THEN 'true' ELSE 'false' END || ',\"error\":\"' ||"
       " ?5 || '\"}',"
       " state = CASE WHEN attempts + 1 >= ?4 THEN 'dead' ELSE 'pending' END,"
       " next_attempt_at = ?3, lease_owner = NULL,"
       " lease_token = NULL, lease_expires_at = NULL, row_count = NULL, row_limit = NULL,"
       " truncated = 0, provisional = 0, updated_at = ?3"
       " WHERE report_id = ?1 AND date = ?2 AND start_row = 0"},
      {&upsert_day,
       "INSERT INTO days(report_id, date, row_count, truncated, provisional, fetched_at)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(report_id, date) DO UPDATE SET"
       " row_count = excluded.row_count, truncated = excluded.truncated,"
       " provisional = excluded.provisional, fetched_at = excluded.fetched_at"},
      // Progress.
      {&count_states, "SELECT state, count(*) FROM batches WHERE report_id = ?1 GROUP BY state"},
      {&day_totals,
       "SELECT count(*), coalesce(sum(row_count), 0), coalesce(sum(truncated), 0),"
       " coalesce(sum(provisional), 0) FROM days WHERE report_id = ?1"},
      // Describe.
      {&held_dates, "SELECT date FROM days WHERE report_id = ?1 ORDER BY date"},
      {&truncated_dates,
       "SELECT date FROM days WHERE report_id = ?1 AND truncated = 1 ORDER BY date"},
      {&dead_pages,
       "SELECT date, start_row, attempts, coalesce(last_error, ''), coalesce(errors, '')"
       " FROM batches WHERE report_id = ?1 AND state = 'dead' ORDER BY date, start_row"},
      {&live_leases,
       "SELECT lease_owner, count(*), max(updated_at), max(lease_expires_at) FROM batches"
       " WHERE report_id = ?1 AND state = 'leased' AND lease_expires_at > ?2"
       " GROUP BY lease_owner ORDER BY lease_owner"},
      // Verify. Duplicates are grouped by the key columns, not trusting the primary key:
      // a table that lost it (a hand-made copy, another database) is checked too.
      {&duplicate_rows,
       "SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM search_analytics"
       " WHERE report_id = ?1"
       " GROUP BY date, hour, query, page, country, device, search_appearance"
       " HAVING count(*) > 1) AS dups"},
      {&unfinished_pages,
       "SELECT date, start_row, state FROM batches WHERE report_id = ?1 AND state <> 'done'"
       " ORDER BY date, start_row"},
      // A full page below the cap has a next page at start_row + row_count.
      {&missing_next_pages,
       "SELECT b.date, b.start_row + b.row_count FROM batches AS b WHERE b.report_id = ?1"
       " AND b.state = 'done' AND b.row_limit IS NOT NULL AND b.row_count >= b.row_limit"
       " AND b.start_row + b.row_count < ?2 AND NOT EXISTS"
       " (SELECT 1 FROM batches AS n WHERE n.report_id = b.report_id AND n.date = b.date"
       " AND n.start_row = b.start_row + b.row_count) ORDER BY b.date, b.start_row"},
      {&row_counts,
       "SELECT d.date, d.row_count, (SELECT count(*) FROM search_analytics AS s"
       " WHERE s.report_id = d.report_id AND s.date = d.date)"
       " FROM days AS d WHERE d.report_id = ?1 ORDER BY d.date"},
      // Not finite: SQLite stores NaN as NULL and infinity beyond the largest double.
      {&bad_values,
       "SELECT date, count(*) FROM search_analytics WHERE report_id = ?1 AND"
       " (clicks IS NULL OR impressions IS NULL OR ctr IS NULL OR position IS NULL"
       " OR clicks < 0 OR impressions < 0 OR ctr < 0 OR ctr > 1"
       " OR abs(clicks) > 1.7976931348623157e308 OR abs(impressions) > 1.7976931348623157e308"
       " OR abs(position) > 1.7976931348623157e308)"
       " GROUP BY date ORDER BY date"},
      // ExportRows: the primary key's order, so SQLite walks the key B-tree with no sort.
      {&export_rows,
       "SELECT date, hour, query, page, country, device, search_appearance, clicks,"
       " impressions, ctr, position FROM search_analytics"
       " WHERE report_id = ?1 AND date >= ?2 AND date <= ?3"
       " ORDER BY date, hour, query, page, country, device, search_appearance"},
  };
  for (const auto& [stmt, sql] : all) {
    Status status = stmt->Prepare(db, sql);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status SqliteLedger::Statements::PrepareUpserts(sqlite3* db) {
  if (upserts_prepared) return Status::Ok();
  Status status =
      upsert_row.Prepare(db, "INSERT INTO search_analytics(" BF_ROW_COLUMNS ")" BF_ROW_UPSERT);
  if (status.ok()) {
    status = stage_row.Prepare(db, "INSERT INTO staged_rows(" BF_ROW_COLUMNS ")" BF_ROW_UPSERT);
  }
  upserts_prepared = status.ok();
  return status;
}

}  // namespace batchfetch
