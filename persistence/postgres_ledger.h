#ifndef BATCHFETCH_PERSISTENCE_POSTGRES_LEDGER_H_
#define BATCHFETCH_PERSISTENCE_POSTGRES_LEDGER_H_

#include <memory>
#include <string>

#include "persistence/ledger.h"
#include "persistence/postgres_connection.h"

namespace batchfetch {

// The Ledger in a PostgreSQL database, shared by processes on many machines. Same
// tables and columns as the SQLite ledger (times are BIGINT unix milliseconds, dates
// TEXT). Claims lock candidate pages with a CTE `FOR UPDATE SKIP LOCKED` that feeds an
// `UPDATE ... RETURNING`, so concurrent claimers never wait for each other nor share a
// page. A group commit is one transaction: the rows go through COPY into a temporary
// table and one `INSERT ... SELECT ... ON CONFLICT DO UPDATE`, then each page is
// completed under its lease token. Statements are prepared once per connection.
//
// Thread rule: one thread at a time (see Ledger).
class PostgresLedger final : public Ledger {
 public:
  // Connects to uri, creates the schema in an empty database (under an advisory lock,
  // so concurrent openers create it once) or checks it. Errors: kIoError (cannot
  // connect; the message masks the password), kForeign (tables of another program, or
  // a newer schema).
  static Status Open(const std::string& uri, std::unique_ptr<Ledger>* out);
  ~PostgresLedger() override;

  PostgresLedger(const PostgresLedger&) = delete;
  PostgresLedger& operator=(const PostgresLedger&) = delete;

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
  explicit PostgresLedger(std::unique_ptr<PgConnection> conn);

  // Prepares every statement of postgres_ledger_statements.cc.
  Status PrepareAll();
  // Pages of job_id by state, inside the caller's transaction; kNotFound for no job.
  Status ReadProgress(const std::string& job_id, JobProgress* out);
  // Runs the prepared statement name once for leases (as arrays), times first.
  Status UpdateLeases(const std::string& name, std::initializer_list<int64_t> times,
                      std::span<const Lease> leases);

  std::unique_ptr<PgConnection> conn_;
};

// Creates the PostgreSQL schema if the database is empty, or checks it is ours at a
// version this build understands. Shared by PostgresLedger and the quota ledger.
Status EnsurePostgresSchema(PgConnection& conn);

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_POSTGRES_LEDGER_H_
