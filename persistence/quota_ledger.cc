#include "persistence/quota_ledger.h"

#include "persistence/ledger.h"
#include "persistence/postgres_quota_ledger.h"
#include "persistence/sqlite_quota_ledger.h"

namespace batchfetch {

Status OpenQuotaLedger(const std::string& target, std::unique_ptr<QuotaLedger>* out) {
  if (IsPostgresTarget(target)) return PostgresQuotaLedger::Open(target, out);
  return SqliteQuotaLedger::Open(target + "-quota", out);
}

}  // namespace batchfetch
