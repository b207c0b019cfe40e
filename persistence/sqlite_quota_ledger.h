#ifndef BATCHFETCH_PERSISTENCE_SQLITE_QUOTA_LEDGER_H_
#define BATCHFETCH_PERSISTENCE_SQLITE_QUOTA_LEDGER_H_

#include <memory>
#include <string>

#include "persistence/quota_ledger.h"
#include "persistence/sqlite_statement.h"

struct sqlite3;

namespace batchfetch {

// The QuotaLedger in an SQLite file of its own (WAL), shared by every process on one
// machine. A decision is one BEGIN IMMEDIATE transaction of four prepared statements
// (prune, count, then insert or find the grant that blocks), a few tens of
// microseconds with no network in between.
//
// Thread rule: one thread at a time.
class SqliteQuotaLedger final : public QuotaLedger {
 public:
  // Opens (creating it 0600 when missing) the quota file at path.
  static Status Open(const std::string& path, std::unique_ptr<QuotaLedger>* out);
  ~SqliteQuotaLedger() override;

  SqliteQuotaLedger(const SqliteQuotaLedger&) = delete;
  SqliteQuotaLedger& operator=(const SqliteQuotaLedger&) = delete;

  Status TryGrant(const std::string& key, int64_t n, int64_t budget,
                  std::chrono::milliseconds window, QuotaDecision* out) override;

 private:
  explicit SqliteQuotaLedger(sqlite3* db) : db_(db) {}
  Status Prepare();
  Status Decide(const std::string& key, int64_t n, int64_t budget, int64_t window_ms,
                QuotaDecision* out);

  sqlite3* db_;  // owned; closed after the statements are finalized
  SqliteBusyPolicy busy_;
  SqliteStatement begin_, commit_, rollback_, prune_, count_, insert_, blocker_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_SQLITE_QUOTA_LEDGER_H_
