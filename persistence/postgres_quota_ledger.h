#ifndef BATCHFETCH_PERSISTENCE_POSTGRES_QUOTA_LEDGER_H_
#define BATCHFETCH_PERSISTENCE_POSTGRES_QUOTA_LEDGER_H_

#include <memory>
#include <string>

#include "persistence/postgres_connection.h"
#include "persistence/quota_ledger.h"

namespace batchfetch {

// The QuotaLedger in the ledger's PostgreSQL database, on a connection of its own. A
// decision is ONE round trip: `SELECT * FROM batchfetch_try_grant(...)`, a server-side
// function (postgres_schema.cc) that locks the key's row, reads the server's clock,
// prunes, counts and records in one autocommit transaction.
//
// Thread rule: one thread at a time.
class PostgresQuotaLedger final : public QuotaLedger {
 public:
  static Status Open(const std::string& uri, std::unique_ptr<QuotaLedger>* out);

  Status TryGrant(const std::string& key, int64_t n, int64_t budget,
                  std::chrono::milliseconds window, QuotaDecision* out) override;

 private:
  explicit PostgresQuotaLedger(std::unique_ptr<PgConnection> conn) : conn_(std::move(conn)) {}

  std::unique_ptr<PgConnection> conn_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_POSTGRES_QUOTA_LEDGER_H_
