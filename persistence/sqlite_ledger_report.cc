// SqliteLedger's read-only reports: Report (`batchfetch status`) and Verify
// (`batchfetch verify`). Each runs in one read transaction, so it sees one snapshot.

#include <set>

#include "persistence/sqlite_ledger.h"
#include "persistence/sqlite_ledger_statements.h"

namespace batchfetch {
namespace {

using sqlite_ledger_internal::FromMillis;
using sqlite_ledger_internal::ToMillis;

std::string PageName(const std::string& date, int64_t start_row) {
  return date + ":" + std::to_string(start_row);
}

}  // namespace

Status SqliteLedger::Report(const std::string& job_id, WallTime now, JobReport* out) {
  return Transaction(false, [&]() -> Status {
    *out = JobReport();
    Status status = ReadProgress(job_id, &out->progress);
    if (!status.ok()) return status;

    SqliteStatement& dead = stmts_->dead_pages;
    dead.BindText(1, job_id);
    status = dead.ForEachRow([&](const SqliteStatement& r) {
      DeadPage& page = out->dead.emplace_back();
      page.key = PageKey{job_id, r.ColumnText(0), r.ColumnInt64(1)};
      page.attempts = static_cast<int>(r.ColumnInt64(2));
      page.last_error = r.ColumnText(3);
      page.errors = r.ColumnText(4);
    });
    if (!status.ok()) return status;

    SqliteStatement& leases = stmts_->live_leases;
    leases.BindText(1, job_id);
    leases.BindInt64(2, ToMillis(now));
    return leases.ForEachRow([&](const SqliteStatement& r) {
      LiveLease& lease = out->leases.emplace_back();
      lease.owner = r.ColumnText(0);
      lease.pages = r.ColumnInt64(1);
      lease.last_heartbeat = FromMillis(r.ColumnInt64(2));
      lease.expires_at = FromMillis(r.ColumnInt64(3));
    });
  });
}

Status SqliteLedger::Verify(const std::string& job_id, VerifyReport* out) {
  return Transaction(false, [&]() -> Status {
    *out = VerifyReport();
    std::string site, search_type, dimensions, start_date, end_date;
    int64_t row_limit = 0;
    bool found = false;
    SqliteStatement& spec = stmts_->job_spec;
    spec.BindText(1, job_id);
    Status status = spec.ForEachRow([&](const SqliteStatement& r) {
      found = true;
      site = r.ColumnText(0);
      search_type = r.ColumnText(1);
      dimensions = r.ColumnText(2);
      start_date = r.ColumnText(3);
      end_date = r.ColumnText(4);
      row_limit = r.ColumnInt64(5);
    });
    if (!status.ok()) return status;
    if (!found)
      return Status::Error(Status::Code::kNotFound, "no job " + job_id + " in the ledger");

    SqliteStatement& dups = stmts_->duplicate_rows;
    dups.BindText(1, site);
    dups.BindText(2, search_type);
    dups.BindText(3, dimensions);
    dups.BindText(4, start_date);
    dups.BindText(5, end_date);
    status =
        dups.ForEachRow([&](const SqliteStatement& r) { out->duplicate_rows = r.ColumnInt64(0); });
    if (!status.ok()) return status;

    SqliteStatement& unfinished = stmts_->unfinished_pages;
    unfinished.BindText(1, job_id);
    status = unfinished.ForEachRow([&](const SqliteStatement& r) {
      out->unfinished.push_back(PageName(r.ColumnText(0), r.ColumnInt64(1)) + " " +
                                r.ColumnText(2));
    });
    if (!status.ok()) return status;

    SqliteStatement& missing = stmts_->missing_next_pages;
    missing.BindText(1, job_id);
    missing.BindInt64(2, row_limit);
    status = missing.ForEachRow([&](const SqliteStatement& r) {
      out->missing_pages.push_back(PageName(r.ColumnText(0), r.ColumnInt64(1)));
    });
    if (!status.ok()) return status;

    std::set<std::string> dates_with_pages;
    SqliteStatement& dates = stmts_->page_dates;
    dates.BindText(1, job_id);
    status = dates.ForEachRow(
        [&](const SqliteStatement& r) { dates_with_pages.insert(r.ColumnText(0)); });
    if (!status.ok()) return status;
    for (std::string& day : DaysBetween(start_date, end_date)) {
      if (!dates_with_pages.contains(day)) out->missing_days.push_back(std::move(day));
    }

    // Fewer rows than the done pages recorded means rows were deleted (or a day's pages
    // overlapped). More is not a problem: another job of the same site, type and
    // dimensions (say dataState=all) may have stored rows for the same days.
    SqliteStatement& counts = stmts_->row_counts;
    counts.BindText(1, job_id);
    counts.BindText(2, site);
    counts.BindText(3, search_type);
    counts.BindText(4, dimensions);
    status = counts.ForEachRow([&](const SqliteStatement& r) {
      const int64_t ledger = r.ColumnInt64(1), stored = r.ColumnInt64(2);
      if (stored < ledger) {
        out->row_mismatch.push_back(r.ColumnText(0) + ": stored " + std::to_string(stored) +
                                    ", ledger says " + std::to_string(ledger));
      }
    });
    if (!status.ok()) return status;

    SqliteStatement& truncated = stmts_->truncated_dates;
    truncated.BindText(1, job_id);
    return truncated.ForEachRow(
        [&](const SqliteStatement& r) { out->truncated_days.push_back(r.ColumnText(0)); });
  });
}

}  // namespace batchfetch
