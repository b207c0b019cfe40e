// SqliteLedger's read-only reports: Progress, Describe (`batchfetch status`) and Verify
// (`batchfetch verify`). Each runs in one read transaction, so it sees one snapshot.

#include <string>
#include <vector>

#include "persistence/ledger_util.h"
#include "persistence/sqlite_ledger.h"
#include "persistence/sqlite_ledger_statements.h"

namespace batchfetch {
namespace {

using ledger_util::PageName;
using sqlite_ledger_internal::FromMillis;
using sqlite_ledger_internal::ToMillis;

// The dates stmt (bound to report_id as ?1) lists in its first column.
Status Dates(SqliteStatement& stmt, const std::string& report_id, std::vector<std::string>* out) {
  stmt.BindText(1, report_id);
  return stmt.ForEachRow([&](const SqliteStatement& r) { out->push_back(r.ColumnText(0)); });
}

}  // namespace

Status SqliteLedger::ReadProgress(const std::string& report_id, ReportProgress* out) {
  *out = ReportProgress();
  Report report;
  if (Status s = ReadReport(report_id, &report); !s.ok()) return s;
  SqliteStatement& states = stmts_->count_states;
  states.BindText(1, report_id);
  Status status = states.ForEachRow([&](const SqliteStatement& r) {
    const std::string state = r.ColumnText(0);
    const int64_t n = r.ColumnInt64(1);
    if (state == "pending") out->pending = n;
    if (state == "leased") out->leased = n;
    if (state == "dead") out->dead = n;
    if (state == "done") out->done = n;
  });
  if (!status.ok()) return status;
  SqliteStatement& days = stmts_->day_totals;
  days.BindText(1, report_id);
  return days.ForEachRow([&](const SqliteStatement& r) {
    out->days_held = r.ColumnInt64(0);
    out->rows = r.ColumnInt64(1);
    out->truncated_days = r.ColumnInt64(2);
    out->provisional_days = r.ColumnInt64(3);
  });
}

Status SqliteLedger::Progress(std::span<const std::string> report_ids, ReportProgress* out) {
  return Transaction(false, [&]() -> Status {
    *out = ReportProgress();
    for (const std::string& id : report_ids) {
      ReportProgress one;
      if (Status s = ReadProgress(id, &one); !s.ok()) return s;
      *out += one;
    }
    return Status::Ok();
  });
}

Status SqliteLedger::Describe(const std::string& report_id, WallTime now, ReportStatus* out) {
  return Transaction(false, [&]() -> Status {
    *out = ReportStatus();
    Status status = ReadReport(report_id, &out->report);
    if (status.ok()) status = ReadProgress(report_id, &out->progress);
    std::vector<std::string> held;
    if (status.ok()) status = Dates(stmts_->held_dates, report_id, &held);
    if (status.ok()) status = Dates(stmts_->truncated_dates, report_id, &out->truncated_days);
    if (!status.ok()) return status;
    out->days_held = ledger_util::DayRanges(held);

    SqliteStatement& dead = stmts_->dead_pages;
    dead.BindText(1, report_id);
    status = dead.ForEachRow([&](const SqliteStatement& r) {
      DeadPage& page = out->dead.emplace_back();
      page.key = PageKey{report_id, r.ColumnText(0), r.ColumnInt64(1)};
      page.attempts = static_cast<int>(r.ColumnInt64(2));
      page.last_error = r.ColumnText(3);
      page.errors = r.ColumnText(4);
    });
    if (!status.ok()) return status;

    SqliteStatement& leases = stmts_->live_leases;
    leases.BindText(1, report_id);
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

Status SqliteLedger::Verify(const std::string& report_id, VerifyReport* out) {
  return Transaction(false, [&]() -> Status {
    *out = VerifyReport();
    Report report;
    Status status = ReadReport(report_id, &report);
    if (!status.ok()) return status;

    SqliteStatement& dups = stmts_->duplicate_rows;
    dups.BindText(1, report_id);
    status =
        dups.ForEachRow([&](const SqliteStatement& r) { out->duplicate_rows = r.ColumnInt64(0); });
    if (!status.ok()) return status;

    SqliteStatement& unfinished = stmts_->unfinished_pages;
    unfinished.BindText(1, report_id);
    status = unfinished.ForEachRow([&](const SqliteStatement& r) {
      out->unfinished.push_back(PageName(r.ColumnText(0), r.ColumnInt64(1)) + " " +
                                r.ColumnText(2));
    });
    if (!status.ok()) return status;

    SqliteStatement& missing = stmts_->missing_next_pages;
    missing.BindText(1, report_id);
    missing.BindInt64(2, kDailyRowCap);
    status = missing.ForEachRow([&](const SqliteStatement& r) {
      out->missing_pages.push_back(PageName(r.ColumnText(0), r.ColumnInt64(1)));
    });
    if (!status.ok()) return status;

    SqliteStatement& counts = stmts_->row_counts;
    counts.BindText(1, report_id);
    status = counts.ForEachRow([&](const SqliteStatement& r) {
      const int64_t ledger = r.ColumnInt64(1), stored = r.ColumnInt64(2);
      if (stored != ledger) {
        out->row_mismatch.push_back(r.ColumnText(0) + ": stored " + std::to_string(stored) +
                                    ", ledger says " + std::to_string(ledger));
      }
    });
    if (!status.ok()) return status;

    SqliteStatement& bad = stmts_->bad_values;
    bad.BindText(1, report_id);
    status = bad.ForEachRow([&](const SqliteStatement& r) {
      out->bad_values.push_back(r.ColumnText(0) + ": " + std::to_string(r.ColumnInt64(1)) +
                                " rows with impossible numbers (negative counts, ctr outside"
                                " [0,1] or not finite)");
    });
    if (!status.ok()) return status;
    return Dates(stmts_->truncated_dates, report_id, &out->truncated_days);
  });
}

}  // namespace batchfetch
