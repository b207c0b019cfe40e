#ifndef BATCHFETCH_PERSISTENCE_SQLITE_STATEMENT_H_
#define BATCHFETCH_PERSISTENCE_SQLITE_STATEMENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "persistence/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace batchfetch {

// How long to wait for another connection's lock.
struct SqliteBusyPolicy {
  std::chrono::milliseconds busy_timeout{5000};  // one sqlite3 call waits this long
  int max_tries = 50;                            // tries of a whole step while it is busy
  std::chrono::milliseconds budget{10000};       // and no new try after this long
};

// Runs step until it returns anything but kBusy, at most policy.max_tries times and not
// past policy.budget, sleeping a few jittered milliseconds between tries. The busy
// handler alone is not enough: SQLite skips it where waiting could deadlock (a lock
// upgrade, a journal mode change, a WAL being recovered). The final kBusy says how many
// tries were made.
Status RetryWhileBusy(const SqliteBusyPolicy& policy, const std::function<Status()>& step);

// Maps an sqlite3 result code to a Status: BUSY/LOCKED -> kBusy, CORRUPT/NOTADB ->
// kCorrupt, FULL or an I/O error with errno ENOSPC -> kDiskFull, CANTOPEN/IOERR/PERM/
// READONLY -> kIoError, CONSTRAINT/MISMATCH/RANGE -> kInvalid. The message names what
// was being done and carries sqlite3_errmsg(db) (db may be null). SQLITE_OK gives Ok.
Status SqliteStatus(int rc, sqlite3* db, std::string_view what);

// Runs sql (one or more statements, no parameters, rows ignored).
Status SqliteExec(sqlite3* db, std::string_view sql);

// One prepared statement, prepared once and reused: Bind*, then Step until it reports
// no row, then Reset. Bind errors are remembered and reported by the next Step, so a
// caller checks one Status per execution rather than one per parameter.
//
// Thread rule: as its connection (one thread at a time).
class SqliteStatement {
 public:
  SqliteStatement() = default;
  ~SqliteStatement();
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Prepares sql on db (marked persistent: it lives as long as the connection).
  Status Prepare(sqlite3* db, std::string_view sql);

  // Parameters are 1-based. Text is NOT copied: it must stay alive and unchanged until
  // the statement is reset or rebound.
  void BindText(int index, std::string_view value);
  void BindInt64(int index, int64_t value);
  void BindDouble(int index, double value);
  // Binds an integral value as INTEGER (so sqlite3 shows 12, not 12.0), else as REAL.
  void BindNumber(int index, double value);
  void BindNull(int index);

  // Runs one step. *row is true when a result row is ready to read. On an error the
  // statement is reset and its bindings stay.
  Status Step(bool* row);
  // Steps until done, ignoring rows: for INSERT/UPDATE/DELETE without RETURNING.
  Status Run();
  // Steps to the end, calling on_row for every result row, then resets.
  Status ForEachRow(const std::function<void(const SqliteStatement&)>& on_row);
  // Makes the statement ready to run again; keeps the bindings.
  void Reset();

  int64_t ColumnInt64(int column) const;
  double ColumnDouble(int column) const;
  std::string ColumnText(int column) const;
  bool ColumnIsNull(int column) const;

 private:
  void Finalize();

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int bind_rc_ = 0;  // first failed bind since the last Step, SQLITE_OK when none
};

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_SQLITE_STATEMENT_H_
