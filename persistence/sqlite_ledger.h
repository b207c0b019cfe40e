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
// A day's rows: the pages of a multi-page fetch are staged in staged_rows; the day's
// last page deletes the day's rows from search_analytics and moves the staged rows in,
// in its transaction. A day fetched in one page skips the staging.
//
// Thread rule: one thread at a time (see Ledger).
class SqliteLedger final : public Ledger {
 public:
  // Opens the ledger file at path as mode allows; see OpenLedger.
  static Status Open(const std::string& path, OpenMode mode, std::unique_ptr<Ledger>* out);
  static Status Open(const std::string& path, OpenMode mode, const SqliteBusyPolicy& busy,
                     std::unique_ptr<Ledger>* out);
  ~SqliteLedger() override;

  SqliteLedger(const SqliteLedger&) = delete;
  SqliteLedger& operator=(const SqliteLedger&) = delete;

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
  // report_id's report, inside the caller's transaction; kNotFound for no such report.
  Status ReadReport(const std::string& report_id, Report* out);
  // report_id's pages by state and days held, inside the caller's transaction;
  // kNotFound for no such report.
  Status ReadProgress(const std::string& report_id, ReportProgress* out);
  // PlanReports for one report's day, inside its transaction.
  Status PlanDay(const std::string& report_id, const std::string& day, const std::string& since,
                 int64_t now_ms, DayPlan* out);
  // Completes one page if its lease holds: stage or store its rows, queue its next page
  // or swap its day in. Writes nothing when the lease is lost.
  Status CommitOne(const FetchedPage& page, int64_t now_ms, int max_attempts, bool* lease_held);
  // Starts key's day again, inside CommitOne's transaction: its staged rows and pages past
  // row 0 go; page 0 counts a failed attempt and is pending at now_ms, or dead at
  // max_attempts. Stored rows stay.
  Status RestartDay(const PageKey& key, int64_t now_ms, int max_attempts);
  // Binds a row's fields to stmt (staged_rows or search_analytics) and runs it.
  Status WriteRow(SqliteStatement& stmt, const Row& row);

  const SqliteBusyPolicy busy_;
  sqlite3* db_;                        // owned; closed after stmts_ is finalized
  std::unique_ptr<Statements> stmts_;  // prepared once, reused
};

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_SQLITE_LEDGER_H_
