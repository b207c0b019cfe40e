#ifndef BATCHFETCH_PERSISTENCE_SQLITE_SCHEMA_H_
#define BATCHFETCH_PERSISTENCE_SQLITE_SCHEMA_H_

#include <cstdint>
#include <string>

#include "persistence/sqlite_statement.h"
#include "persistence/status.h"

struct sqlite3;

namespace batchfetch {

// PRAGMA application_id of every batchfetch ledger: 'bfch'.
inline constexpr int32_t kSqliteApplicationId = 0x62666368;
// PRAGMA user_version this build writes and understands.
// 2 added batches.provisional.
inline constexpr int32_t kSqliteSchemaVersion = 2;

// Opens path as a batchfetch ledger connection: creates the file (mode 0600) when it is
// missing, sets WAL, synchronous=NORMAL, busy.busy_timeout and foreign_keys, and creates
// the schema in an empty file, retrying per busy while another connection does the same.
// On success *out owns the connection.
// Errors: kIoError (cannot open the path), kCorrupt (not a database), kForeign (another
// program's database, or a newer schema).
Status OpenSqliteLedgerDatabase(const std::string& path, const SqliteBusyPolicy& busy,
                                sqlite3** out);

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_SQLITE_SCHEMA_H_
