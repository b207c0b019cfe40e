#ifndef TESTS_TOOLS_BATCHFETCH_REPORTS_LEDGER_TARGET_H_
#define TESTS_TOOLS_BATCHFETCH_REPORTS_LEDGER_TARGET_H_

// Which backend a reports scenario runs on. Each scenario source is compiled twice (see
// CMakeLists.txt): BF_REPORTS_POSTGRES=1 gives the PostgreSQL variant (ctest label pg).

#include <string>

#include "tests/support/pg_cluster.h"
#include "tests/support/temp_dir.h"

namespace batchfetch::testing {

enum class Backend { kSqlite, kPostgres };

#if defined(BF_REPORTS_POSTGRES) && BF_REPORTS_POSTGRES
inline constexpr Backend kBackend = Backend::kPostgres;
#else
inline constexpr Backend kBackend = Backend::kSqlite;
#endif

// A fresh, empty ledger target for one test: a file in dir (SQLite) or a new database of
// the process-wide throw-away cluster (PostgreSQL; throws if it cannot start).
inline std::string NewLedgerTarget(const TempDir& dir, const std::string& name = "ledger.db") {
  if (kBackend == Backend::kPostgres) return PgCluster::Shared().NewDatabase();
  return dir.File(name);
}

}  // namespace batchfetch::testing

#endif  // TESTS_TOOLS_BATCHFETCH_REPORTS_LEDGER_TARGET_H_
