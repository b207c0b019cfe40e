#ifndef BATCHFETCH_PERSISTENCE_SQLITE_LEDGER_STATEMENTS_H_
#define BATCHFETCH_PERSISTENCE_SQLITE_LEDGER_STATEMENTS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "persistence/ledger_util.h"
#include "persistence/sqlite_ledger.h"
#include "persistence/sqlite_statement.h"

namespace batchfetch {

// Every statement SqliteLedger runs, prepared once per connection. All of the ledger's
// SQL lives in the .cc, in one list, so the PostgreSQL port has one place to read.
struct SqliteLedger::Statements {
  Status Prepare(sqlite3* db);
  // The row UPSERTs are prepared on first use: they need the tables' primary keys, and
  // `verify` must be able to open a damaged copy whose key was dropped.
  Status PrepareUpserts(sqlite3* db);
  bool upserts_prepared = false;

  SqliteStatement begin_read, begin_write, commit, rollback;
  SqliteStatement insert_report, report_by_id, list_reports;                             // reports
  SqliteStatement day_pages, day_held, insert_page, drop_later_pages, reset_first_page;  // plan
  SqliteStatement claim_pick, claim_take, fail_page, release, renew, retry_dead;         // pages
  SqliteStatement complete_page, clear_staged, upsert_row, stage_row;                    // commit
  SqliteStatement done_pages_of_day, count_staged, restart_first_page;  // last page
  SqliteStatement delete_day_rows, swap_in, upsert_day;
  SqliteStatement count_states, day_totals;                              // progress
  SqliteStatement held_dates, truncated_dates, dead_pages, live_leases;  // Describe
  SqliteStatement duplicate_rows, unfinished_pages, missing_next_pages;  // Verify
  SqliteStatement row_counts, bad_values;                                // Verify
  SqliteStatement export_rows;                                           // ExportRows
};

// Small helpers shared by the files of SqliteLedger.
namespace sqlite_ledger_internal {

using ledger_util::FromMillis;
using ledger_util::SplitCsv;
using ledger_util::ToMillis;

// Binds key's report_id, date and start_row to parameters first, first + 1, first + 2.
inline void BindKey(SqliteStatement& stmt, int first, const PageKey& key) {
  stmt.BindText(first, key.report_id);
  stmt.BindText(first + 1, key.date);
  stmt.BindInt64(first + 2, key.start_row);
}

}  // namespace sqlite_ledger_internal
}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_SQLITE_LEDGER_STATEMENTS_H_
