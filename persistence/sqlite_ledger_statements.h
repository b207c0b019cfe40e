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
  // The row UPSERT is prepared on first use: it needs the table's primary key, and
  // `verify` must be able to open a damaged copy whose key was dropped.
  Status PrepareUpsert(sqlite3* db);
  bool upsert_prepared = false;

  SqliteStatement begin_read, begin_write, commit, rollback;
  SqliteStatement insert_job, insert_page, claim, upsert_row, complete_page, fail_page;
  SqliteStatement release, renew, job_exists, count_states, truncated_days, retry_dead;
  SqliteStatement list_jobs;
  SqliteStatement refresh_dates, drop_later_pages, reset_first_page, delete_day_rows;  // fresh data
  SqliteStatement job_spec, dead_pages, live_leases;                                   // Report
  SqliteStatement duplicate_rows, unfinished_pages, missing_next_pages;                // Verify
  SqliteStatement page_dates, row_counts, truncated_dates;                             // Verify
};

// Small helpers shared by the files of SqliteLedger.
namespace sqlite_ledger_internal {

using ledger_util::FromMillis;
using ledger_util::SplitCsv;
using ledger_util::ToMillis;

// Binds key's job_id, date and start_row to parameters first, first + 1, first + 2.
inline void BindKey(SqliteStatement& stmt, int first, const PageKey& key) {
  stmt.BindText(first, key.job_id);
  stmt.BindText(first + 1, key.date);
  stmt.BindInt64(first + 2, key.start_row);
}

}  // namespace sqlite_ledger_internal
}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_SQLITE_LEDGER_STATEMENTS_H_
