#ifndef BATCHFETCH_PERSISTENCE_SQLITE_QUOTA_LEDGER_H_
#define BATCHFETCH_PERSISTENCE_SQLITE_QUOTA_LEDGER_H_

#include <map>
#include <memory>
#include <string>

#include "persistence/quota_ledger.h"
#include "persistence/sqlite_statement.h"

struct sqlite3;

namespace batchfetch {

// The QuotaLedger in an SQLite file of its own (WAL), shared by every process on one
// machine. A decision is one BEGIN IMMEDIATE transaction of prepared statements over
// every key asked, a few tens of microseconds per key with no network in between.
//
// Times are CLOCK_BOOTTIME milliseconds: they never step (a wall-clock step cannot free
// a window early or freeze it) and every process on the machine reads the same clock.
// The file remembers the boot id they belong to; a file from another boot has its log
// and asks cleared on open, since its times mean nothing after a reboot.
//
// Thread rule: one thread at a time.
class SqliteQuotaLedger final : public QuotaLedger {
 public:
  // Opens (creating it 0600 when missing) the quota file at path. boot_id names this
  // boot (tests pass their own; CurrentBootId() otherwise).
  static Status Open(const std::string& path, std::unique_ptr<QuotaLedger>* out);
  static Status Open(const std::string& path, const std::string& boot_id,
                     std::unique_ptr<QuotaLedger>* out);
  // /proc/sys/kernel/random/boot_id, or "" when it cannot be read.
  static std::string CurrentBootId();
  ~SqliteQuotaLedger() override;

  SqliteQuotaLedger(const SqliteQuotaLedger&) = delete;
  SqliteQuotaLedger& operator=(const SqliteQuotaLedger&) = delete;

  Status TryGrant(std::span<const QuotaAsk> keys, int64_t n, std::chrono::milliseconds window,
                  QuotaDecision* out) override;
  Status TryGrantAll(std::span<const QuotaRequest> requests, std::chrono::milliseconds window,
                     std::vector<QuotaDecision>* out) override;

 private:
  SqliteQuotaLedger(sqlite3* db, std::string owner) : db_(db), owner_(std::move(owner)) {}
  Status Init(const std::string& path, const std::string& boot_id);
  Status Prepare();
  // A key's window as this transaction knows it: read once, then kept up to date.
  struct KeyWindow {
    int64_t budget = 0;  // in force: the smallest live ask
    int64_t used = 0;    // grants in the window
  };
  // One request inside the transaction, at the ledger's instant now.
  Status Decide(std::span<const QuotaAsk> keys, int64_t n, int64_t now, int64_t window_ms,
                std::map<std::string, KeyWindow>* seen, QuotaDecision* out);
  // Records this process's ask of a key, prunes what left the window and reads the rest.
  Status ReadKey(const QuotaAsk& ask, int64_t now, int64_t window_ms, KeyWindow* out);
  // The blocking key's next free time: when the grant that keeps want from fitting
  // under budget leaves the window.
  Status RetryAt(const std::string& key, int64_t want, int64_t budget, int64_t now,
                 int64_t window_ms, int64_t* retry_at);

  sqlite3* db_;              // owned; closed after the statements are finalized
  const std::string owner_;  // this connection's name in quota_asks
  SqliteBusyPolicy busy_;
  SqliteStatement begin_, commit_, rollback_, ask_, ask_prune_, ask_min_, prune_, count_, insert_,
      blocker_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_SQLITE_QUOTA_LEDGER_H_
