#ifndef BATCHFETCH_PERSISTENCE_POSTGRES_LEDGER_H_
#define BATCHFETCH_PERSISTENCE_POSTGRES_LEDGER_H_

#include <chrono>
#include <memory>
#include <string>

#include "persistence/ledger.h"
#include "persistence/postgres_connection.h"

namespace batchfetch {

// Opens the Ledger in the PostgreSQL database named by uri (postgresql:// or
// postgres://). kCreate creates the schema in an empty database or migrates an older one
// in place (under an advisory lock, so concurrent openers do it once); kExisting and
// kReadOnly refuse a database without a ledger (kNotFound) and create nothing; kReadOnly
// runs every transaction READ ONLY. Errors: kIoError (cannot connect), kForeign (tables
// of another program, or a newer schema, left untouched). No message carries the
// password.
Status OpenPostgresLedger(const std::string& uri, OpenMode mode, std::unique_ptr<Ledger>* out);

// The Ledger in a PostgreSQL database, shared by processes on many machines. The SQLite
// ledger's tables and columns with PostgreSQL types (dates DATE, clicks BIGINT, times
// timestamptz). Claims lock candidate pages with `FOR UPDATE SKIP LOCKED` in a CTE that
// feeds an `UPDATE ... RETURNING`, so concurrent claimers never wait for each other nor
// share a page. Lease expiry is decided by the server's clock (clock_timestamp()), never
// the caller's, so a client's clock step can neither steal nor keep a lease. A page's
// rows go through COPY into staged_rows; the day's last page swaps them in.
//
// Thread rule: one thread at a time (see Ledger).
class PostgresLedger final : public Ledger {
 public:
  ~PostgresLedger() override;
  PostgresLedger(const PostgresLedger&) = delete;
  PostgresLedger& operator=(const PostgresLedger&) = delete;

  Status RegisterReports(std::span<const Report* const> reports) override;
  Status PlanReports(std::span<const std::string> report_ids, std::span<const std::string> days,
                     const RefreshPolicy& refresh, std::vector<DayPlan>* out) override;
  Status Claim(std::span<const ClaimRequest> requests, const std::string& owner,
               std::chrono::milliseconds lease, WallTime now, std::vector<Lease>* out) override;
  Status CommitPages(std::span<const FetchedPage> pages, WallTime now, int max_attempts,
                     std::vector<bool>* lease_held) override;
  Status FailPage(const Lease& lease, const std::string& error, bool final, int max_attempts,
                  WallTime retry_at, WallTime now, bool* lease_held) override;
  Status Release(std::span<const Lease> leases, WallTime now) override;
  Status Renew(std::span<const Lease> leases, WallTime expires_at) override;
  Status Progress(std::span<const std::string> report_ids, ReportProgress* out) override;
  Status RetryDead(const std::string& report_id, int64_t* count) override;
  Status ListReports(std::vector<Report>* out) override;
  Status Describe(const std::string& report_id, WallTime now, ReportStatus* out) override;
  Status Verify(const std::string& report_id, VerifyReport* out) override;
  Status ExportRows(const std::string& report_id, const std::string& from, const std::string& to,
                    const std::function<Status(const Row&)>& on_row) override;

 private:
  friend Status OpenPostgresLedger(const std::string&, OpenMode, std::unique_ptr<Ledger>*);
  explicit PostgresLedger(std::unique_ptr<PgConnection> conn);

  // Prepares every statement of postgres_ledger_statements.cc.
  Status PrepareAll();
  // The report's row, inside the caller's transaction; kNotFound when there is none.
  Status ReadReport(const std::string& report_id, Report* out);
  // PlanReports for one report, inside its transaction.
  Status PlanReportDays(const std::string& report_id, const std::vector<std::string>& asked,
                        const std::string& refresh_from, bool refresh, DayPlan* out);
  // Pages by state and days held of report_ids, inside the caller's transaction.
  Status ReadProgress(std::span<const std::string> report_ids, ReportProgress* out);
  // Runs the prepared statement name once for leases (as arrays) after params.
  Status UpdateLeases(const std::string& name, PgParams params, std::span<const Lease> leases);

  std::unique_ptr<PgConnection> conn_;
  // The caller's clock at its last call that named it, and the longest lease it asked
  // for: Renew turns an absolute expires_at into a duration on the server's clock.
  WallTime last_now_{};
  std::chrono::milliseconds longest_lease_{0};
};

// Creates the PostgreSQL schema if the database is empty and mode is kCreate, migrates an
// older one in place (kCreate only), or checks it is ours at a version this build
// understands. Shared by PostgresLedger and the quota ledger. kNotFound when mode is not
// kCreate and the database holds no ledger; kForeign for another program's tables or a
// newer schema; kReadOnly with an older schema: kForeign (cannot migrate read-only).
Status EnsurePostgresSchema(PgConnection& conn, OpenMode mode = OpenMode::kCreate);

// Creates search_analytics_v and each report's view report_<id> (see report_views.h) where
// missing, in one transaction of its own under the schema lock.
Status CreatePostgresReportViews(PgConnection& conn, std::span<const Report* const> reports);

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_POSTGRES_LEDGER_H_
