#ifndef BATCHFETCH_PERSISTENCE_SQLITE_LEDGER_H_
#define BATCHFETCH_PERSISTENCE_SQLITE_LEDGER_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>

#include "persistence/ledger.h"
#include "persistence/sqlite_statement.h"

struct sqlite3;

namespace batchfetch {

// The Ledger in one SQLite file (WAL), shared by any number of connections and
// processes on one machine. Claims and every write run in BEGIN IMMEDIATE
// transactions, retried a bounded number of times while another connection holds the
// write lock (then kBusy). Statements are prepared once per connection.
//
// Thread rule: one thread at a time (see Ledger).
class SqliteLedger final : public Ledger {
 public:
  // Opens the ledger file at path (created 0600 when missing); see OpenLedger.
  static Status Open(const std::string& path, std::unique_ptr<Ledger>* out);
  static Status Open(const std::string& path, const SqliteBusyPolicy& busy,
                     std::unique_ptr<Ledger>* out);
  ~SqliteLedger() override;

  SqliteLedger(const SqliteLedger&) = delete;
  SqliteLedger& operator=(const SqliteLedger&) = delete;

  using Ledger::RegisterJob;
  Status RegisterJob(const Job& job, const RefreshPolicy& refresh) override;
  Status Claim(const std::string& job_id, const std::string& owner, int max,
               std::chrono::milliseconds lease, WallTime now, std::vector<Lease>* out) override;
  Status CommitPages(std::span<const FetchedPage> pages, WallTime now,
                     std::vector<bool>* lease_held) override;
  Status FailPage(const Lease& lease, const std::string& error, bool final, int max_attempts,
                  WallTime retry_at, WallTime now, bool* lease_held) override;
  Status Release(std::span<const Lease> leases, WallTime now) override;
  Status Renew(std::span<const Lease> leases, WallTime expires_at) override;
  Status Progress(const std::string& job_id, JobProgress* out) override;
  Status RetryDead(const std::string& job_id, int64_t* count) override;
  Status ListJobs(std::vector<Job>* out) override;
  Status Report(const std::string& job_id, WallTime now, JobReport* out) override;
  Status Verify(const std::string& job_id, VerifyReport* out) override;

 private:
  struct Statements;

  SqliteLedger(sqlite3* db, const SqliteBusyPolicy& busy);

  // Runs body between BEGIN (IMMEDIATE when write) and COMMIT, rolling back on error.
  // While the database is busy the whole transaction is retried (busy_); body must
  // therefore start from scratch each time it is called.
  Status Transaction(bool write, const std::function<Status()>& body);
  // Runs stmt for every lease, in one transaction: times bind to ?1.., then the page key
  // and the token to the next four parameters.
  Status UpdateLeases(SqliteStatement& stmt, std::initializer_list<int64_t> times,
                      std::span<const Lease> leases);
  // Pages of job_id by state, inside the caller's transaction; kNotFound for no such job.
  Status ReadProgress(const std::string& job_id, JobProgress* out);
  // RegisterJob's refresh, inside its transaction: resets every finished day of job_id
  // that is provisional or on/after since (see Ledger::RegisterJob).
  Status ResetForRefresh(const std::string& job_id, const std::string& since, int64_t now_ms);
  // Upserts one page's rows and completes it if its lease holds.
  Status CommitOne(const FetchedPage& page, int64_t now_ms, bool* lease_held);

  const SqliteBusyPolicy busy_;
  sqlite3* db_;                        // owned; closed after stmts_ is finalized
  std::unique_ptr<Statements> stmts_;  // prepared once, reused
};

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_SQLITE_LEDGER_H_
