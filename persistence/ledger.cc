#include "persistence/ledger.h"

#include "persistence/postgres_ledger.h"
#include "persistence/sqlite_ledger.h"

namespace batchfetch {

bool IsPostgresTarget(const std::string& target) {
  return target.starts_with("postgresql://") || target.starts_with("postgres://");
}

Status OpenLedger(const std::string& target, std::unique_ptr<Ledger>* out) {
  if (IsPostgresTarget(target)) return PostgresLedger::Open(target, out);
  return SqliteLedger::Open(target, out);
}

}  // namespace batchfetch
