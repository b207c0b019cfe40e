#include "persistence/sqlite_ledger.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <tuple>

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

Status SqliteLedger::Open(const std::string& path, std::unique_ptr<Ledger>* out) {
  return Open(path, SqliteBusyPolicy(), out);
}

Status SqliteLedger::Open(const std::string& path, const SqliteBusyPolicy& busy,
                          std::unique_ptr<Ledger>* out) {
  sqlite3* db = nullptr;
  Status status = OpenSqliteLedgerDatabase(path, busy, &db);
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

Status SqliteLedger::RegisterJob(const Job& job, const RefreshPolicy& refresh) {
  const JobSpec& spec = job.spec;
  std::vector<std::string> days;
  if (Status status = ledger_util::ValidateJob(job, &days); !status.ok()) return status;
  const std::string dimensions = spec.DimensionsCsv();
  const int64_t now_ms = ToMillis(WallClock::now());
  return Transaction(true, [&]() -> Status {
    SqliteStatement& job_stmt = stmts_->insert_job;
    job_stmt.BindText(1, job.id);
    job_stmt.BindText(2, spec.site);
    job_stmt.BindText(3, spec.search_type);
    job_stmt.BindText(4, dimensions);
    job_stmt.BindText(5, spec.data_state);
    job_stmt.BindText(6, spec.start_date);
    job_stmt.BindText(7, spec.end_date);
    job_stmt.BindInt64(8, spec.row_limit);
    job_stmt.BindInt64(9, now_ms);
    Status status = job_stmt.Run();
    SqliteStatement& page = stmts_->insert_page;
    page.BindText(1, job.id);
    page.BindInt64(3, 0);
    page.BindInt64(4, now_ms);
    for (std::size_t i = 0; status.ok() && i < days.size(); ++i) {
      page.BindText(2, days[i]);
      status = page.Run();
    }
    if (!status.ok() || refresh.today.empty()) return status;
    return ResetForRefresh(job.id, AddDays(refresh.today, -refresh.refresh_days), now_ms);
  });
}

Status SqliteLedger::ResetForRefresh(const std::string& job_id, const std::string& since,
                                     int64_t now_ms) {
  std::vector<std::string> dates;
  SqliteStatement& select = stmts_->refresh_dates;
  select.BindText(1, job_id);
  select.BindText(2, since);
  Status status =
      select.ForEachRow([&](const SqliteStatement& row) { dates.push_back(row.ColumnText(0)); });
  SqliteStatement& drop = stmts_->drop_later_pages;
  SqliteStatement& reset = stmts_->reset_first_page;
  drop.BindText(1, job_id);
  reset.BindText(1, job_id);
  reset.BindInt64(3, now_ms);
  for (std::size_t i = 0; status.ok() && i < dates.size(); ++i) {
    drop.BindText(2, dates[i]);
    reset.BindText(2, dates[i]);
    status = drop.Run();
    if (status.ok()) status = reset.Run();
  }
  return status;
}

Status SqliteLedger::Claim(const std::string& job_id, const std::string& owner, int max,
                           std::chrono::milliseconds lease, WallTime now, std::vector<Lease>* out) {
  if (max <= 0) return Status::Ok();
  const std::size_t base = out->size();
  const int64_t now_ms = ToMillis(now);
  Status status = Transaction(true, [&]() -> Status {
    out->resize(base);
    SqliteStatement& claim = stmts_->claim;
    claim.BindText(1, owner);
    claim.BindInt64(2, now_ms + lease.count());
    claim.BindInt64(3, now_ms);
    claim.BindText(4, job_id);
    claim.BindInt64(5, max);
    return claim.ForEachRow([&](const SqliteStatement& row) {
      Lease& l = out->emplace_back();
      l.key.job_id = job_id;
      l.key.date = row.ColumnText(0);
      l.key.start_row = row.ColumnInt64(1);
      l.token = row.ColumnText(2);
      l.attempts = static_cast<int>(row.ColumnInt64(3));
    });
  });
  if (!status.ok()) {
    out->resize(base);
    return status;
  }
  // RETURNING gives rows in no promised order.
  std::sort(out->begin() + static_cast<std::ptrdiff_t>(base), out->end(),
            [](const Lease& a, const Lease& b) {
              return std::tie(a.key.date, a.key.start_row) < std::tie(b.key.date, b.key.start_row);
            });
  return status;
}

Status SqliteLedger::CommitOne(const FetchedPage& page, int64_t now_ms, bool* lease_held) {
  const Job& job = *page.job;
  const PageKey& key = page.lease.key;
  const std::string dimensions = job.spec.DimensionsCsv();

  const int64_t row_count = static_cast<int64_t>(page.rows.size());
  const bool full = row_count >= job.spec.row_limit;
  const bool truncated = full && key.start_row + job.spec.row_limit >= kDailyRowCap;
  // Completed first: only a page 0 whose lease holds may replace its day's rows.
  SqliteStatement& complete = stmts_->complete_page;
  complete.BindInt64(1, row_count);
  complete.BindInt64(2, truncated ? 1 : 0);
  complete.BindInt64(3, now_ms);
  BindKey(complete, 4, key);
  complete.BindText(7, page.lease.token);
  complete.BindInt64(8, page.provisional ? 1 : 0);
  if (Status s = complete.Run(); !s.ok()) return s;
  *lease_held = sqlite3_changes(db_) == 1;
  if (*lease_held && key.start_row == 0) {
    SqliteStatement& del = stmts_->delete_day_rows;
    del.BindText(1, job.spec.site);
    del.BindText(2, job.spec.search_type);
    del.BindText(3, dimensions);
    del.BindText(4, key.date);
    if (Status s = del.Run(); !s.ok()) return s;
  }

  if (Status s = stmts_->PrepareUpsert(db_); !s.ok()) return s;
  SqliteStatement& upsert = stmts_->upsert_row;
  upsert.BindText(1, job.spec.site);
  upsert.BindText(2, job.spec.search_type);
  upsert.BindText(3, dimensions);
  upsert.BindInt64(15, now_ms);
  for (const Row& row : page.rows) {
    // One request covers one day, so a row without the date dimension is of key.date.
    upsert.BindText(4, row.date.empty() ? key.date : row.date);
    upsert.BindText(5, row.hour);
    upsert.BindText(6, row.query);
    upsert.BindText(7, row.page);
    upsert.BindText(8, row.country);
    upsert.BindText(9, row.device);
    upsert.BindText(10, row.search_appearance);
    upsert.BindNumber(11, row.clicks);
    upsert.BindNumber(12, row.impressions);
    upsert.BindDouble(13, row.ctr);
    upsert.BindDouble(14, row.position);
    Status status = upsert.Run();
    if (!status.ok()) return status;
  }

  if (!*lease_held || !full || truncated) return Status::Ok();

  SqliteStatement& next = stmts_->insert_page;
  next.BindText(1, key.job_id);
  next.BindText(2, key.date);
  next.BindInt64(3, key.start_row + job.spec.row_limit);
  next.BindInt64(4, now_ms);
  return next.Run();
}

Status SqliteLedger::CommitPages(std::span<const FetchedPage> pages, WallTime now,
                                 std::vector<bool>* lease_held) {
  lease_held->assign(pages.size(), false);
  for (const FetchedPage& page : pages) {
    if (page.job == nullptr || page.job->id != page.lease.key.job_id) {
      return Status::Error(Code::kInvalid, "a fetched page must carry the job it belongs to");
    }
  }
  if (pages.empty()) return Status::Ok();
  const int64_t now_ms = ToMillis(now);
  return Transaction(true, [&]() -> Status {
    for (std::size_t i = 0; i < pages.size(); ++i) {
      bool held = false;
      Status status = CommitOne(pages[i], now_ms, &held);
      if (!status.ok()) {
        lease_held->assign(pages.size(), false);
        return status;
      }
      (*lease_held)[i] = held;
    }
    return Status::Ok();
  });
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
  // updated_at records the renewal (the owner's heartbeat, shown by Report).
  return UpdateLeases(stmts_->renew, {ToMillis(expires_at), ToMillis(WallClock::now())}, leases);
}

Status SqliteLedger::ReadProgress(const std::string& job_id, JobProgress* out) {
  *out = JobProgress();
  SqliteStatement& exists = stmts_->job_exists;
  exists.BindText(1, job_id);
  bool row = false;
  Status status = exists.Step(&row);
  if (!status.ok()) return status;
  const bool found = row && exists.ColumnInt64(0) > 0;
  exists.Reset();
  if (!found) return Status::Error(Code::kNotFound, "no job " + job_id + " in the ledger");

  SqliteStatement& states = stmts_->count_states;
  states.BindText(1, job_id);
  status = states.ForEachRow([&](const SqliteStatement& r) {
    const std::string state = r.ColumnText(0);
    const int64_t n = r.ColumnInt64(1);
    if (state == "pending") out->pending = n;
    if (state == "leased") out->leased = n;
    if (state == "dead") out->dead = n;
    if (state == "done") {
      out->done = n;
      out->rows = r.ColumnInt64(2);
    }
  });
  if (!status.ok()) return status;

  SqliteStatement& truncated = stmts_->truncated_days;
  truncated.BindText(1, job_id);
  return truncated.ForEachRow([&](const SqliteStatement& r) {
    out->truncated_days = r.ColumnInt64(0);
    out->provisional_days = r.ColumnInt64(1);
  });
}

Status SqliteLedger::Progress(const std::string& job_id, JobProgress* out) {
  return Transaction(false, [&] { return ReadProgress(job_id, out); });
}

Status SqliteLedger::RetryDead(const std::string& job_id, int64_t* count) {
  *count = 0;
  const int64_t now_ms = ToMillis(WallClock::now());
  return Transaction(true, [&]() -> Status {
    SqliteStatement& retry = stmts_->retry_dead;
    retry.BindInt64(1, now_ms);
    retry.BindText(2, job_id);
    Status status = retry.Run();
    *count = status.ok() ? sqlite3_changes(db_) : 0;
    return status;
  });
}

Status SqliteLedger::ListJobs(std::vector<Job>* out) {
  const std::size_t base = out->size();
  Status status = Transaction(false, [&]() -> Status {
    out->resize(base);
    return stmts_->list_jobs.ForEachRow([&](const SqliteStatement& row) {
      Job& job = out->emplace_back();
      job.id = row.ColumnText(0);
      job.spec.site = row.ColumnText(1);
      job.spec.search_type = row.ColumnText(2);
      job.spec.dimensions = SplitCsv(row.ColumnText(3));
      job.spec.data_state = row.ColumnText(4);
      job.spec.start_date = row.ColumnText(5);
      job.spec.end_date = row.ColumnText(6);
      job.spec.row_limit = static_cast<int>(row.ColumnInt64(7));
    });
  });
  if (!status.ok()) out->resize(base);
  return status;
}

}  // namespace batchfetch
