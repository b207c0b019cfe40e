#ifndef BATCHFETCH_PERSISTENCE_SQLITE_SCHEMA_H_
#define BATCHFETCH_PERSISTENCE_SQLITE_SCHEMA_H_

#include <cstdint>
#include <span>
#include <string>

#include "core/report.h"
#include "persistence/ledger.h"
#include "persistence/sqlite_statement.h"
#include "persistence/status.h"

struct sqlite3;

namespace batchfetch {

// PRAGMA application_id of every batchfetch ledger: 'bfch'.
inline constexpr int32_t kSqliteApplicationId = 0x62666368;
// PRAGMA user_version this build writes and understands.
// 2 added batches.provisional; 3 made reports own rows (reports, days, staged_rows,
// search_analytics keyed by report_id).
inline constexpr int32_t kSqliteSchemaVersion = 3;

// Opens path as a batchfetch ledger connection as mode allows (see OpenMode): kCreate
// creates the file (0600) when it is missing; every mode but kReadOnly creates the
// schema in an empty ledger or migrates an older one in place, in one transaction. A
// missing path or a file that holds no ledger is kNotFound under kExisting/kReadOnly,
// and then nothing is created (no file, no journal). Sets WAL, synchronous=NORMAL,
// busy.busy_timeout and foreign_keys. On success *out owns the connection.
// Errors (one line, naming path): kIoError (cannot open; not a regular file), kCorrupt
// (not a database), kForeign (another program's database, or a newer schema; the file
// is left untouched), kInvalid (kReadOnly on an older schema).
Status OpenSqliteLedgerDatabase(const std::string& path, OpenMode mode,
                                const SqliteBusyPolicy& busy, sqlite3** out);

// Creates the tables and indexes of the current schema (no PRAGMAs), inside the caller's
// transaction. For OpenSqliteLedgerDatabase and the migration.
Status CreateSqliteSchema(sqlite3* db);

// Creates search_analytics_v and each report's view (report_<id>, see report_views.h) when
// missing, inside the caller's transaction. Only a report's id and dimensions are read.
Status CreateSqliteReportViews(sqlite3* db, std::span<const Report* const> reports);

// Creates search_analytics_v and the view of every report in the ledger when missing,
// inside the caller's transaction (a new ledger, or one just migrated).
Status CreateSqliteViews(sqlite3* db);

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_SQLITE_SCHEMA_H_
