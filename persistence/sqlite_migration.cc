#include "persistence/sqlite_migration.h"

#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "core/page.h"
#include "core/report.h"
#include "persistence/ledger_util.h"
#include "persistence/sqlite_schema.h"
#include "persistence/sqlite_statement.h"

namespace batchfetch {
namespace {

struct OldJob {
  std::string report_id;
  int64_t row_limit = 0;
};

// (site, search_type, dimensions) -> report ids, oldest first.
using ReportsByShape =
    std::map<std::tuple<std::string, std::string, std::string>, std::vector<std::string>>;

Status Prepare(sqlite3* db, SqliteStatement* stmt, const char* sql) {
  return stmt->Prepare(db, sql);
}

// Registers spec's report (if new) and returns its id.
Status AddReport(SqliteStatement& insert, const ReportSpec& spec, int64_t created_at,
                 std::string* id) {
  *id = spec.Id();
  const std::string dimensions = spec.DimensionsCsv();
  insert.BindText(1, *id);
  insert.BindText(2, spec.site);
  insert.BindText(3, spec.search_type);
  insert.BindText(4, dimensions);
  insert.BindText(5, spec.data_state);
  insert.BindText(6, spec.aggregation_type);
  insert.BindText(7, "");
  insert.BindInt64(8, created_at);
  return insert.Run();
}

Status MigrateReports(sqlite3* db, SqliteStatement& insert_report,
                      std::map<std::string, OldJob>* jobs, ReportsByShape* shapes) {
  SqliteStatement select;
  Status status = Prepare(db, &select,
                          "SELECT id, site, search_type, dimensions, data_state, row_limit,"
                          " created_at FROM jobs_v2 ORDER BY created_at, id");
  if (!status.ok()) return status;
  std::vector<std::tuple<std::string, ReportSpec, int64_t, int64_t>> rows;
  status = select.ForEachRow([&](const SqliteStatement& r) {
    ReportSpec spec;
    spec.site = r.ColumnText(1);
    spec.search_type = r.ColumnText(2);
    spec.dimensions = ledger_util::SplitCsv(r.ColumnText(3));
    spec.data_state = r.ColumnText(4);
    rows.emplace_back(r.ColumnText(0), std::move(spec), r.ColumnInt64(5), r.ColumnInt64(6));
  });
  for (auto& [job_id, spec, row_limit, created_at] : rows) {
    if (!status.ok()) break;
    std::string report_id;
    status = AddReport(insert_report, spec, created_at, &report_id);
    (*jobs)[job_id] = OldJob{report_id, row_limit};
    auto& ids = (*shapes)[{spec.site, spec.search_type, spec.DimensionsCsv()}];
    if (std::find(ids.begin(), ids.end(), report_id) == ids.end()) ids.push_back(report_id);
  }
  return status;
}

Status MigrateBatches(sqlite3* db, const std::map<std::string, OldJob>& jobs) {
  SqliteStatement select, insert;
  Status status =
      Prepare(db, &select,
              "SELECT job_id, date, start_row, state, attempts, lease_owner, lease_token,"
              " lease_expires_at, next_attempt_at, row_count, provisional, last_error, errors,"
              " updated_at FROM batches_v2 ORDER BY job_id, date, start_row");
  if (status.ok()) {
    // Of two pages of one key the more advanced wins: done > leased > pending > dead.
    status =
        Prepare(db, &insert,
                "INSERT INTO batches(report_id, date, start_row, state, attempts, lease_owner,"
                " lease_token, lease_expires_at, next_attempt_at, row_count, row_limit, truncated,"
                " provisional, last_error, errors, updated_at)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
                " ON CONFLICT(report_id, date, start_row) DO UPDATE SET state = excluded.state,"
                " attempts = excluded.attempts, lease_owner = excluded.lease_owner,"
                " lease_token = excluded.lease_token, lease_expires_at = excluded.lease_expires_at,"
                " next_attempt_at = excluded.next_attempt_at, row_count = excluded.row_count,"
                " row_limit = excluded.row_limit, truncated = excluded.truncated,"
                " provisional = excluded.provisional, last_error = excluded.last_error,"
                " errors = excluded.errors, updated_at = excluded.updated_at"
                " WHERE (CASE excluded.state WHEN 'done' THEN 3 WHEN 'leased' THEN 2"
                " WHEN 'pending' THEN 1 ELSE 0 END) > (CASE batches.state WHEN 'done' THEN 3"
                " WHEN 'leased' THEN 2 WHEN 'pending' THEN 1 ELSE 0 END)");
  }
  if (!status.ok()) return status;
  bool row = false;
  while (status.ok()) {
    status = select.Step(&row);
    if (!status.ok() || !row) break;
    const auto job = jobs.find(select.ColumnText(0));
    if (job == jobs.end()) continue;  // a page of no job: nothing can claim it
    const std::string date = select.ColumnText(1), state = select.ColumnText(3);
    const int64_t start_row = select.ColumnInt64(2);
    const bool done = state == "done";
    insert.BindText(1, job->second.report_id);
    insert.BindText(2, date);
    insert.BindInt64(3, start_row);
    insert.BindText(4, state);
    insert.BindInt64(5, select.ColumnInt64(4));
    const std::string owner = select.ColumnText(5), token = select.ColumnText(6);
    const std::string last_error = select.ColumnText(11), errors = select.ColumnText(12);
    if (select.ColumnIsNull(5))
      insert.BindNull(6);
    else
      insert.BindText(6, owner);
    if (select.ColumnIsNull(6))
      insert.BindNull(7);
    else
      insert.BindText(7, token);
    if (select.ColumnIsNull(7))
      insert.BindNull(8);
    else
      insert.BindInt64(8, select.ColumnInt64(7));
    insert.BindInt64(9, select.ColumnInt64(8));
    const int64_t row_count = select.ColumnInt64(9);
    if (select.ColumnIsNull(9))
      insert.BindNull(10);
    else
      insert.BindInt64(10, row_count);
    if (done)
      insert.BindInt64(11, job->second.row_limit);
    else
      insert.BindNull(11);
    // Truncated as this schema means it: the day's last page reached the cap.
    insert.BindInt64(12, done && ReachesDailyCap(start_row, row_count) ? 1 : 0);
    insert.BindInt64(13, select.ColumnInt64(10));
    if (select.ColumnIsNull(11))
      insert.BindNull(14);
    else
      insert.BindText(14, last_error);
    if (select.ColumnIsNull(12))
      insert.BindNull(15);
    else
      insert.BindText(15, errors);
    insert.BindInt64(16, select.ColumnInt64(13));
    status = insert.Run();
  }
  select.Reset();
  return status;
}

Status MigrateRows(sqlite3* db, SqliteStatement& insert_report, ReportsByShape* shapes) {
  SqliteStatement groups, held, any_done, copy, restart, restart_first;
  Status status = Prepare(db, &groups,
                          "SELECT DISTINCT site, search_type, dimensions, date"
                          " FROM search_analytics_v2 ORDER BY site, search_type, dimensions, date");
  if (status.ok()) {
    status = Prepare(db, &held,
                     "SELECT count(*) > 0 AND sum(state <> 'done') = 0 FROM batches"
                     " WHERE report_id = ?1 AND date = ?2");
  }
  if (status.ok()) {
    status = Prepare(db, &any_done,
                     "SELECT count(*) FROM batches WHERE report_id = ?1 AND date = ?2"
                     " AND state = 'done'");
  }
  if (status.ok()) {
    status = Prepare(
        db, &copy,
        "INSERT INTO search_analytics(report_id, site, search_type, date, hour, query, page,"
        " country, device, search_appearance, clicks, impressions, ctr, position, fetched_at)"
        " SELECT ?1, site, search_type, date, hour, query, page, country, device,"
        " search_appearance, clicks, impressions, ctr, position, fetched_at"
        " FROM search_analytics_v2 WHERE site = ?2 AND search_type = ?3 AND dimensions = ?4"
        " AND date = ?5");
  }
  if (status.ok()) {
    status = Prepare(db, &restart,
                     "DELETE FROM batches WHERE report_id = ?1 AND date = ?2 AND start_row > 0");
  }
  if (status.ok()) {
    status = Prepare(db, &restart_first,
                     "UPDATE batches SET state = 'pending', attempts = 0, next_attempt_at = 0,"
                     " lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,"
                     " row_count = NULL, row_limit = NULL, truncated = 0, provisional = 0"
                     " WHERE report_id = ?1 AND date = ?2 AND start_row = 0");
  }
  if (!status.ok()) return status;
  std::vector<std::tuple<std::string, std::string, std::string, std::string>> keys;
  status = groups.ForEachRow([&](const SqliteStatement& r) {
    keys.emplace_back(r.ColumnText(0), r.ColumnText(1), r.ColumnText(2), r.ColumnText(3));
  });
  auto holds = [&](SqliteStatement& stmt, const std::string& id, const std::string& date,
                   bool* yes) {
    stmt.BindText(1, id);
    stmt.BindText(2, date);
    *yes = false;
    return stmt.ForEachRow([&](const SqliteStatement& r) { *yes = r.ColumnInt64(0) > 0; });
  };
  for (const auto& [site, search_type, dimensions, date] : keys) {
    if (!status.ok()) break;
    std::vector<std::string>& candidates = (*shapes)[{site, search_type, dimensions}];
    std::string chosen;
    if (candidates.empty()) {
      ReportSpec spec;
      spec.site = site;
      spec.search_type = search_type;
      spec.dimensions = ledger_util::SplitCsv(dimensions);
      spec.data_state = "final";
      status = AddReport(insert_report, spec, ledger_util::ToMillis(WallClock::now()), &chosen);
      candidates.push_back(chosen);
    } else if (candidates.size() == 1) {
      chosen = candidates[0];
    } else {
      for (SqliteStatement* test : {&held, &any_done}) {
        for (const std::string& id : candidates) {
          bool yes = false;
          if (status.ok()) status = holds(*test, id, date, &yes);
          if (yes) {
            chosen = id;
            break;
          }
        }
        if (!chosen.empty()) break;
      }
      if (chosen.empty()) chosen = candidates[0];
    }
    if (!status.ok()) break;
    // The other reports of the shape lost this day's rows to it (schema 2 stored one
    // copy): their pages of the day start over, so their next run fetches it again.
    for (const std::string& id : candidates) {
      if (id == chosen || !status.ok()) continue;
      restart.BindText(1, id);
      restart.BindText(2, date);
      restart_first.BindText(1, id);
      restart_first.BindText(2, date);
      status = restart.Run();
      if (status.ok()) status = restart_first.Run();
    }
    if (!status.ok()) break;
    copy.BindText(1, chosen);
    copy.BindText(2, site);
    copy.BindText(3, search_type);
    copy.BindText(4, dimensions);
    copy.BindText(5, date);
    status = copy.Run();
  }
  return status;
}

}  // namespace

Status MigrateSqliteV2ToV3(sqlite3* db) {
  Status status = SqliteExec(db,
                             "DROP INDEX IF EXISTS batches_by_state;"
                             " ALTER TABLE batches RENAME TO batches_v2;"
                             " ALTER TABLE jobs RENAME TO jobs_v2;"
                             " ALTER TABLE search_analytics RENAME TO search_analytics_v2;");
  if (status.ok()) status = CreateSqliteSchema(db);
  SqliteStatement insert_report;
  if (status.ok()) {
    status = insert_report.Prepare(
        db,
        "INSERT INTO reports(id, site, search_type, dimensions, data_state, aggregation_type,"
        " filters, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " ON CONFLICT(id) DO NOTHING");
  }
  std::map<std::string, OldJob> jobs;
  ReportsByShape shapes;
  if (status.ok()) status = MigrateReports(db, insert_report, &jobs, &shapes);
  if (status.ok()) status = MigrateBatches(db, jobs);
  if (status.ok()) status = MigrateRows(db, insert_report, &shapes);
  if (status.ok()) {
    // A finished day whose stored rows differ from its pages' counts (schema 2 let an
    // overlapping job delete them) keeps its rows but is fetched again.
    status = SqliteExec(
        db,
        "CREATE TEMP TABLE refetch_days AS SELECT b.report_id, b.date FROM batches AS b"
        " GROUP BY b.report_id, b.date HAVING sum(b.state <> 'done') = 0"
        " AND sum(b.row_count) <> (SELECT count(*) FROM search_analytics AS s"
        " WHERE s.report_id = b.report_id AND s.date = b.date);"
        " DELETE FROM batches WHERE start_row > 0 AND EXISTS (SELECT 1 FROM refetch_days AS r"
        " WHERE r.report_id = batches.report_id AND r.date = batches.date);"
        " UPDATE batches SET state = 'pending', attempts = 0, next_attempt_at = 0,"
        " lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, row_count = NULL,"
        " row_limit = NULL, truncated = 0, provisional = 0 WHERE start_row = 0 AND EXISTS"
        " (SELECT 1 FROM refetch_days AS r WHERE r.report_id = batches.report_id"
        " AND r.date = batches.date);"
        " DROP TABLE refetch_days;");
  }
  if (status.ok()) {
    status = SqliteExec(
        db,
        "INSERT INTO days(report_id, date, row_count, truncated, provisional, fetched_at)"
        " SELECT b.report_id, b.date, (SELECT count(*) FROM search_analytics AS s"
        " WHERE s.report_id = b.report_id AND s.date = b.date), max(b.truncated),"
        " max(b.provisional), max(b.updated_at) FROM batches AS b"
        " GROUP BY b.report_id, b.date HAVING sum(b.state <> 'done') = 0;"
        " DROP TABLE batches_v2; DROP TABLE search_analytics_v2; DROP TABLE jobs_v2;");
  }
  return status;
}

}  // namespace batchfetch
