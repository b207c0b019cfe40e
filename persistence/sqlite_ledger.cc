#include "persistence/sqlite_ledger.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <tuple>

#include "core/civil_date.h"
#include "persistence/ledger_util.h"
#include "persistence/sqlite_ledger_statements.h"
#include "persistence/sqlite_schema.h"
#include "persistence/sqlite_statement.h"

namespace batchfetch {
namespace {

using ledger_util::HistoryLine;
using sqlite_ledger_internal::BindKey;
using sqlite_ledger_internal::SplitCsv;
using sqlite_ledger_internal::ToMillis;
using Code = Status::Code;

}  // namespace

Status SqliteLedger::Open(const std::string& path, OpenMode mode, std::unique_ptr<Ledger>* out) {
  return Open(path, mode, SqliteBusyPolicy(), out);
}

Status SqliteLedger::Open(const std::string& path, OpenMode mode, const SqliteBusyPolicy& busy,
                          std::unique_ptr<Ledger>* out) {
  sqlite3* db = nullptr;
  Status status = OpenSqliteLedgerDatabase(path, mode, busy, &db);
  if (!status.ok()) return status;
  std::unique_ptr<SqliteLedger> ledger(new SqliteLedger(db, busy));
  status = ledger->stmts_->Prepare(db);
  if (!status.ok()) return status;
  *out = std::move(ledger);
  return Status::Ok();
}

SqliteLedger::SqliteLedger(sqlite3* db, const SqliteBusyPolicy& busy)
    : busy_(busy), db_(db), stmts_(std::make_unique<Statements>()) {}

SqliteLedger::~SqliteLedger() {
  stmts_.reset();
  // Every statement is finalized; a close error leaves nothing for the caller to do.
  (void)sqlite3_close(db_);
}

Status SqliteLedger::Transaction(bool write, const std::function<Status()>& body) {
  return RetryWhileBusy(busy_, [&]() -> Status {
    Status status = (write ? stmts_->begin_write : stmts_->begin_read).Run();
    if (!status.ok()) return status;
    status = body();
    if (status.ok()) status = stmts_->commit.Run();
    if (!status.ok() && !sqlite3_get_autocommit(db_)) {
      // The body's error is the one to report; SQLite may already have rolled back.
      (void)stmts_->rollback.Run();
    }
    return status;
  });
}

Status SqliteLedger::RegisterReports(std::span<const Report* const> reports) {
  for (const Report* report : reports) {
    if (Status status = ledger_util::ValidateReport(*report); !status.ok()) return status;
  }
  const int64_t now_ms = ToMillis(WallClock::now());
  return Transaction(true, [&]() -> Status {
    Status status = Status::Ok();
    SqliteStatement& insert = stmts_->insert_report;
    for (std::size_t i = 0; status.ok() && i < reports.size(); ++i) {
      const ReportSpec& spec = reports[i]->spec;
      // Bound without a copy: they must outlive Run().
      const std::string dimensions = spec.DimensionsCsv();
      const std::string filters = spec.FiltersText();
      insert.BindText(1, reports[i]->id);
      insert.BindText(2, spec.site);
      insert.BindText(3, spec.search_type);
      insert.BindText(4, dimensions);
      insert.BindText(5, spec.data_state);
      insert.BindText(6, spec.aggregation_type);
      insert.BindText(7, filters);
      insert.BindInt64(8, now_ms);
      status = insert.Run();
    }
    // The views last: each new one changes the schema, which makes SQLite prepare every
    // statement again on its next use.
    if (status.ok()) status = CreateSqliteReportViews(db_, reports);
    return status;
  });
}

Status SqliteLedger::ReadReport(const std::string& report_id, Report* out) {
  bool found = false;
  SqliteStatement& select = stmts_->report_by_id;
  select.BindText(1, report_id);
  Status status = select.ForEachRow([&](const SqliteStatement& r) {
    found = true;
    out->id = report_id;
    out->spec.site = r.ColumnText(0);
    out->spec.search_type = r.ColumnText(1);
    out->spec.dimensions = SplitCsv(r.ColumnText(2));
    out->spec.data_state = r.ColumnText(3);
    out->spec.aggregation_type = r.ColumnText(4);
    out->spec.filters = ledger_util::SplitLines(r.ColumnText(5));
  });
  if (status.ok() && !found) {
    return Status::Error(Code::kNotFound, "no report " + report_id + " in the ledger");
  }
  return status;
}

Status SqliteLedger::PlanReports(std::span<const std::string> report_ids,
                                 std::span<const std::string> days, const RefreshPolicy& refresh,
                                 std::vector<DayPlan>* out) {
  out->assign(report_ids.size(), DayPlan());
  if (Status status = ledger_util::ValidateDays(days); !status.ok()) return status;
  // Held days on/after since are refreshed; "" refreshes nothing.
  const std::string since =
      refresh.today.empty() ? "" : AddDays(refresh.today, -refresh.refresh_days);
  if (!refresh.today.empty() && since.empty()) {
    return Status::Error(Code::kInvalid, "bad refresh date " + refresh.today);
  }
  const int64_t now_ms = ToMillis(WallClock::now());
  return Transaction(true, [&]() -> Status {
    out->assign(report_ids.size(), DayPlan());
    Status status = Status::Ok();
    for (std::size_t r = 0; status.ok() && r < report_ids.size(); ++r) {
      Report report;
      status = ReadReport(report_ids[r], &report);
      for (std::size_t i = 0; status.ok() && i < days.size(); ++i) {
        status = PlanDay(report_ids[r], days[i], since, now_ms, &(*out)[r]);
      }
    }
    return status;
  });
}

Status SqliteLedger::PlanDay(const std::string& report_id, const std::string& day,
                             const std::string& since, int64_t now_ms, DayPlan* out) {
  int64_t pages = 0, unfinished = 0;
  SqliteStatement& count = stmts_->day_pages;
  count.BindText(1, report_id);
  count.BindText(2, day);
  Status status = count.ForEachRow([&](const SqliteStatement& r) {
    pages = r.ColumnInt64(0);
    unfinished = r.ColumnInt64(1);
  });
  if (!status.ok()) return status;
  if (pages == 0) {
    SqliteStatement& insert = stmts_->insert_page;
    insert.BindText(1, report_id);
    insert.BindText(2, day);
    insert.BindInt64(3, 0);
    insert.BindInt64(4, now_ms);
    ++out->added;
    return insert.Run();
  }
  if (unfinished > 0) {
    ++out->unfinished;
    return Status::Ok();
  }
  bool held = false, provisional = false;
  SqliteStatement& day_held = stmts_->day_held;
  day_held.BindText(1, report_id);
  day_held.BindText(2, day);
  status = day_held.ForEachRow([&](const SqliteStatement& r) {
    held = true;
    provisional = r.ColumnInt64(0) != 0;
  });
  if (!status.ok()) return status;
  // Every page done but no day recorded cannot happen (the last page records it); such
  // a day is fetched again rather than trusted.
  const bool refresh = !held || (!since.empty() && (provisional || day >= since));
  if (!refresh) {
    ++out->held;
    return Status::Ok();
  }
  SqliteStatement& drop = stmts_->drop_later_pages;
  drop.BindText(1, report_id);
  drop.BindText(2, day);
  status = drop.Run();
  SqliteStatement& reset = stmts_->reset_first_page;
  reset.BindText(1, report_id);
  reset.BindText(2, day);
  reset.BindInt64(3, now_ms);
  if (status.ok()) status = reset.Run();
  ++out->refreshed;
  return status;
}

Status SqliteLedger::Claim(std::span<const ClaimRequest> requests, const std::string& owner,
                           std::chrono::milliseconds lease, WallTime now, std::vector<Lease>* out) {
  const std::size_t base = out->size();
  const int64_t now_ms = ToMillis(now);
  Status status = Transaction(true, [&]() -> Status {
    out->resize(base);
    SqliteStatement& pick = stmts_->claim_pick;
    SqliteStatement& take = stmts_->claim_take;
    std::vector<int64_t> rowids;
    for (const ClaimRequest& request : requests) {
      if (request.max <= 0) continue;
      const std::size_t first = out->size();
      rowids.clear();
      pick.BindText(1, request.report_id);
      pick.BindInt64(2, now_ms);
      pick.BindInt64(3, request.max);
      Status s = pick.ForEachRow([&](const SqliteStatement& row) {
        rowids.push_back(row.ColumnInt64(0));
        Lease& l = out->emplace_back();
        l.key.report_id = request.report_id;
        l.key.date = row.ColumnText(1);
        l.key.start_row = row.ColumnInt64(2);
        l.attempts = static_cast<int>(row.ColumnInt64(3));
        l.token = row.ColumnText(4);
      });
      if (!s.ok()) return s;
      for (std::size_t i = 0; i < rowids.size(); ++i) {
        take.BindText(1, owner);
        take.BindText(2, (*out)[first + i].token);
        take.BindInt64(3, now_ms + lease.count());
        take.BindInt64(4, now_ms);
        take.BindInt64(5, rowids[i]);
        s = take.Run();
        if (!s.ok()) return s;
      }
    }
    return Status::Ok();
  });
  if (!status.ok()) out->resize(base);
  return status;
}

Status SqliteLedger::FailPage(const Lease& lease, const std::string& error, bool final,
                              int max_attempts, WallTime retry_at, WallTime now, bool* lease_held) {
  *lease_held = false;
  const int64_t now_ms = ToMillis(now);
  // The token held means nobody touched the page since the claim, so this is attempt
  // lease.attempts + 1.
  const int attempt = lease.attempts + 1;
  const std::string history = HistoryLine(attempt, now_ms, error, final || attempt >= max_attempts);
  return Transaction(true, [&]() -> Status {
    SqliteStatement& fail = stmts_->fail_page;
    fail.BindText(1, error);
    fail.BindText(2, history);
    fail.BindInt64(3, final ? 1 : 0);
    fail.BindInt64(4, max_attempts);
    fail.BindInt64(5, ToMillis(retry_at));
    fail.BindInt64(6, now_ms);
    BindKey(fail, 7, lease.key);
    fail.BindText(10, lease.token);
    Status status = fail.Run();
    *lease_held = status.ok() && sqlite3_changes(db_) == 1;
    return status;
  });
}

Status SqliteLedger::UpdateLeases(SqliteStatement& stmt, std::initializer_list<int64_t> times,
                                  std::span<const Lease> leases) {
  if (leases.empty()) return Status::Ok();
  return Transaction(true, [&]() -> Status {
    int index = 1;
    for (int64_t t : times) stmt.BindInt64(index++, t);
    for (const Lease& lease : leases) {
      BindKey(stmt, index, lease.key);
      stmt.BindText(index + 3, lease.token);
      Status status = stmt.Run();
      if (!status.ok()) return status;
    }
    return Status::Ok();
  });
}

Status SqliteLedger::Release(std::span<const Lease> leases, WallTime now) {
  return UpdateLeases(stmts_->release, {ToMillis(now)}, leases);
}

Status SqliteLedger::Renew(std::span<const Lease> leases, WallTime expires_at) {
  // updated_at records the renewal (the owner's heartbeat, shown by Describe).
  return UpdateLeases(stmts_->renew, {ToMillis(expires_at), ToMillis(WallClock::now())}, leases);
}

Status SqliteLedger::RetryDead(const std::string& report_id, int64_t* count) {
  *count = 0;
  const int64_t now_ms = ToMillis(WallClock::now());
  return Transaction(true, [&]() -> Status {
    if (!report_id.empty()) {
      Report report;
      if (Status s = ReadReport(report_id, &report); !s.ok()) return s;
    }
    SqliteStatement& retry = stmts_->retry_dead;
    retry.BindInt64(1, now_ms);
    retry.BindText(2, report_id);
    Status status = retry.Run();
    *count = status.ok() ? sqlite3_changes(db_) : 0;
    return status;
  });
}

Status SqliteLedger::ListReports(std::vector<Report>* out) {
  const std::size_t base = out->size();
  Status status = Transaction(false, [&]() -> Status {
    out->resize(base);
    return stmts_->list_reports.ForEachRow([&](const SqliteStatement& row) {
      Report& report = out->emplace_back();
      report.id = row.ColumnText(0);
      report.spec.site = row.ColumnText(1);
      report.spec.search_type = row.ColumnText(2);
      report.spec.dimensions = SplitCsv(row.ColumnText(3));
      report.spec.data_state = row.ColumnText(4);
      report.spec.aggregation_type = row.ColumnText(5);
      report.spec.filters = ledger_util::SplitLines(row.ColumnText(6));
    });
  });
  if (!status.ok()) out->resize(base);
  return status;
}

}  // namespace batchfetch
