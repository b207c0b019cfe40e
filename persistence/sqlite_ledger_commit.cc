// SqliteLedger::CommitPages: a group of fetched pages in one transaction. Each page
// writes only under its lease token; a day's rows become visible with its last page.

#include <sqlite3.h>

#include "persistence/sqlite_ledger.h"
#include "persistence/sqlite_ledger_statements.h"

namespace batchfetch {
namespace {

using sqlite_ledger_internal::ToMillis;
using Code = Status::Code;

}  // namespace

Status SqliteLedger::CommitPages(std::span<const FetchedPage> pages, WallTime now, int max_attempts,
                                 std::vector<bool>* lease_held) {
  lease_held->assign(pages.size(), false);
  for (const FetchedPage& page : pages) {
    if (page.report == nullptr || page.report->id != page.lease.key.report_id) {
      return Status::Error(Code::kInvalid, "a fetched page must carry the report it belongs to");
    }
    if (page.row_limit <= 0) {
      return Status::Error(Code::kInvalid, "a fetched page must say how many rows it asked for");
    }
  }
  if (pages.empty()) return Status::Ok();
  if (Status s = stmts_->PrepareUpserts(db_); !s.ok()) return s;
  const int64_t now_ms = ToMillis(now);
  return Transaction(true, [&]() -> Status {
    for (std::size_t i = 0; i < pages.size(); ++i) {
      bool held = false;
      Status status = CommitOne(pages[i], now_ms, max_attempts, &held);
      if (!status.ok()) {
        lease_held->assign(pages.size(), false);
        return status;
      }
      (*lease_held)[i] = held;
    }
    return Status::Ok();
  });
}

Status SqliteLedger::WriteRow(SqliteStatement& stmt, const Row& row) {
  stmt.BindText(5, row.hour);
  stmt.BindText(6, row.query);
  stmt.BindText(7, row.page);
  stmt.BindText(8, row.country);
  stmt.BindText(9, row.device);
  stmt.BindText(10, row.search_appearance);
  stmt.BindNumber(11, row.clicks);
  stmt.BindNumber(12, row.impressions);
  stmt.BindDouble(13, row.ctr);
  stmt.BindDouble(14, row.position);
  return stmt.Run();
}

Status SqliteLedger::CommitOne(const FetchedPage& page, int64_t now_ms, int max_attempts,
                               bool* lease_held) {
  const Report& report = *page.report;
  const PageKey& key = page.lease.key;
  const int64_t row_count = static_cast<int64_t>(page.rows.size());
  const bool capped = ReachesDailyCap(key.start_row, row_count);
  // The day's last page: a short one, or one that reaches the API's cap.
  const bool last = row_count < page.row_limit || capped;

  // Completed first: its token decides whether anything else is written.
  SqliteStatement& complete = stmts_->complete_page;
  complete.BindInt64(1, row_count);
  complete.BindInt64(2, page.row_limit);
  complete.BindInt64(3, last && capped ? 1 : 0);
  complete.BindInt64(4, page.provisional ? 1 : 0);
  complete.BindInt64(5, now_ms);
  complete.BindText(6, key.report_id);
  complete.BindText(7, key.date);
  complete.BindInt64(8, key.start_row);
  complete.BindText(9, page.lease.token);
  if (Status s = complete.Run(); !s.ok()) return s;
  *lease_held = sqlite3_changes(db_) == 1;
  if (!*lease_held) return Status::Ok();

  auto bind_day = [&](SqliteStatement& stmt) {
    stmt.BindText(1, key.report_id);
    stmt.BindText(2, key.date);
  };
  Status status;
  if (key.start_row == 0) {
    // A new fetch of the day: whatever an abandoned one staged is stale.
    bind_day(stmts_->clear_staged);
    status = stmts_->clear_staged.Run();
  }
  // A one-page day goes straight into search_analytics; pages of a longer day wait in
  // staged_rows for its last page.
  const bool direct = key.start_row == 0 && last;
  if (status.ok() && direct) {
    bind_day(stmts_->delete_day_rows);
    status = stmts_->delete_day_rows.Run();
  }
  SqliteStatement& write = direct ? stmts_->upsert_row : stmts_->stage_row;
  write.BindText(1, key.report_id);
  write.BindText(2, report.spec.site);
  write.BindText(3, report.spec.search_type);
  // One request covers one day: every row is of key.date.
  write.BindText(4, key.date);
  write.BindInt64(15, now_ms);
  for (std::size_t i = 0; status.ok() && i < page.rows.size(); ++i) {
    status = WriteRow(write, page.rows[i]);
  }
  if (!status.ok()) return status;

  if (!last) {
    SqliteStatement& next = stmts_->insert_page;
    next.BindText(1, key.report_id);
    next.BindText(2, key.date);
    next.BindInt64(3, key.start_row + row_count);
    next.BindInt64(4, now_ms);
    return next.Run();
  }
  // The day's done pages: the rows they returned, and whether they agree on provisional.
  int64_t expected = 0, min_provisional = 0, provisional = 0;
  bind_day(stmts_->done_pages_of_day);
  status = stmts_->done_pages_of_day.ForEachRow([&](const SqliteStatement& r) {
    expected = r.ColumnInt64(0);
    min_provisional = r.ColumnInt64(1);
    provisional = r.ColumnInt64(2);
  });
  if (!status.ok()) return status;
  if (!direct) {
    // The API's answer changed mid-fetch when the pages disagree on provisional, or when
    // a key came twice (rows shifted between pages: staging merged them). Such a day is
    // fetched again from row 0; its old rows stay visible meanwhile.
    int64_t staged = 0;
    bind_day(stmts_->count_staged);
    status = stmts_->count_staged.ForEachRow(
        [&](const SqliteStatement& r) { staged = r.ColumnInt64(0); });
    if (!status.ok()) return status;
    if (min_provisional != provisional || staged != expected)
      return RestartDay(key, now_ms, max_attempts);
    bind_day(stmts_->delete_day_rows);
    status = stmts_->delete_day_rows.Run();
    bind_day(stmts_->swap_in);
    if (status.ok()) status = stmts_->swap_in.Run();
    bind_day(stmts_->clear_staged);
    if (status.ok()) status = stmts_->clear_staged.Run();
    if (!status.ok()) return status;
  }
  SqliteStatement& day = stmts_->upsert_day;
  bind_day(day);
  day.BindInt64(3, expected);
  day.BindInt64(4, capped ? 1 : 0);
  day.BindInt64(5, provisional);
  day.BindInt64(6, now_ms);
  return day.Run();
}

Status SqliteLedger::RestartDay(const PageKey& key, int64_t now_ms, int max_attempts) {
  SqliteStatement& clear = stmts_->clear_staged;
  clear.BindText(1, key.report_id);
  clear.BindText(2, key.date);
  Status status = clear.Run();
  SqliteStatement& drop = stmts_->drop_later_pages;
  drop.BindText(1, key.report_id);
  drop.BindText(2, key.date);
  if (status.ok()) status = drop.Run();
  SqliteStatement& restart = stmts_->restart_first_page;
  restart.BindText(1, key.report_id);
  restart.BindText(2, key.date);
  restart.BindInt64(3, now_ms);
  restart.BindInt64(4, max_attempts);
  restart.BindText(5, kDayChangedError);
  if (status.ok()) status = restart.Run();
  return status;
}

}  // namespace batchfetch
