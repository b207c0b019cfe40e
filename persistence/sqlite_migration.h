#ifndef BATCHFETCH_PERSISTENCE_SQLITE_MIGRATION_H_
#define BATCHFETCH_PERSISTENCE_SQLITE_MIGRATION_H_

#include "persistence/status.h"

struct sqlite3;

namespace batchfetch {

// Upgrades a schema 2 ledger (jobs with date ranges, rows keyed by site, search type and
// dimensions) to schema 3 (reports own rows), inside the caller's write transaction;
// user_version is the caller's to set. Every row is kept:
// - each old job becomes the report of its site, search type, dimensions and data state
//   (aggregation auto, no filters: schema 2 had neither); jobs of one report merge, and
//   of the pages of one (report, date, start_row) the most advanced is kept
//   (done > leased > pending > dead);
// - each old (site, search type, dimensions, date)'s rows go to the report with those
//   fields; when several reports share them (they differ in data state only) to the one
//   whose pages of that day are all done, else the first with a done page, else the
//   oldest, and the others' pages of that day start over (pending page 0), so their next
//   run fetches the day they lost to it; rows no job names get a report of their own
//   (data state final);
// - a day whose pages are all done is held (days), with the rows now stored for it,
//   unless they differ from its pages' counts (schema 2 let an overlapping job delete
//   rows): then its rows stay and its pages start over, so the next run fetches it.
Status MigrateSqliteV2ToV3(sqlite3* db);

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_SQLITE_MIGRATION_H_
