#ifndef BATCHFETCH_PERSISTENCE_POSTGRES_QUOTA_LEDGER_H_
#define BATCHFETCH_PERSISTENCE_POSTGRES_QUOTA_LEDGER_H_

#include <memory>
#include <string>

#include "persistence/postgres_connection.h"
#include "persistence/quota_ledger.h"

namespace batchfetch {

// The QuotaLedger in the ledger's PostgreSQL database, on a connection of its own. A
// decision over any number of keys is ONE round trip:
// `SELECT * FROM batchfetch_try_grant_keys(...)`, a server-side function that locks the
// keys' rows in key order, reads the server's clock, records the asks, prunes, counts
// and records the grant for every key or for none, in one autocommit transaction.
// Grants share the quota_grants table (wall-clock milliseconds of the server) with the
// single-key function of earlier releases, so both draw from one budget.
//
// Thread rule: one thread at a time.
class PostgresQuotaLedger final : public QuotaLedger {
 public:
  static Status Open(const std::string& uri, std::unique_ptr<QuotaLedger>* out);

  Status TryGrant(std::span<const QuotaAsk> keys, int64_t n, std::chrono::milliseconds window,
                  QuotaDecision* out) override;

 private:
  PostgresQuotaLedger(std::unique_ptr<PgConnection> conn, std::string owner)
      : conn_(std::move(conn)), owner_(std::move(owner)) {}

  std::unique_ptr<PgConnection> conn_;
  const std::string owner_;  // this connection's name in quota_asks
};

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_POSTGRES_QUOTA_LEDGER_H_
