#ifndef BATCHFETCH_PERSISTENCE_LEDGER_H_
#define BATCHFETCH_PERSISTENCE_LEDGER_H_

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "persistence/page.h"
#include "persistence/status.h"

namespace batchfetch {

struct DeadPage {
  PageKey key;
  int attempts = 0;
  std::string last_error;
  std::string errors;  // the attempt history
};

struct LiveLease {
  std::string owner;
  int64_t pages = 0;        // pages it holds now
  WallTime last_heartbeat;  // newest claim or renewal among them
  WallTime expires_at;      // latest lease_expires_at among them
};

struct JobReport {
  JobProgress progress;
  std::vector<DeadPage> dead;
  std::vector<LiveLease> leases;
};

// Problems `verify` looks for. Clean when every count is 0 and every list empty
// (truncated_days are reported, not problems: the API's daily cap).
struct VerifyReport {
  int64_t duplicate_rows = 0;               // rows whose natural key appears more than once
                                            // (grouped by the key columns, so a table without
                                            // the primary key is checked too)
  std::vector<std::string> unfinished;      // "DATE:START_ROW state": pages not done
  std::vector<std::string> missing_pages;   // "DATE:START_ROW" of a next page absent from the
                                            // ledger although the page before it was full
  std::vector<std::string> missing_days;    // days of the range with no page at all
  std::vector<std::string> row_mismatch;    // "DATE: stored N, ledger says M": fewer rows stored
                                            // than the day's done pages counted (deleted rows)
  std::vector<std::string> truncated_days;  // days at the API's daily cap

  bool clean() const {
    return duplicate_rows == 0 && unfinished.empty() && missing_pages.empty() &&
           missing_days.empty() && row_mismatch.empty();
  }
};

// Which finished days RegisterJob hands back for re-fetch: fresh data changes for a few
// days after it first appears (the API marks them with metadata.firstIncompleteDate).
struct RefreshPolicy {
  std::string today;     // YYYY-MM-DD (UTC); "" = refresh nothing
  int refresh_days = 0;  // days on/after today - refresh_days are refreshed, as are days
                         // whose stored rows are provisional
};

// The durable record of jobs, pages and fetched rows. Implementations: SQLite (one
// file, many processes) and PostgreSQL (many machines).
//
// Thread rule: one Ledger object is used by one thread at a time (the writer thread).
// Several Ledger objects (processes) may share one database.
class Ledger {
 public:
  virtual ~Ledger() = default;

  // Records job and one pending first page (start_row 0) per day of its range, in one
  // transaction. Idempotent: an existing job and its pages are left as they are, except
  // that (same transaction) every day refresh names — provisional, or on/after
  // refresh.today - refresh.refresh_days — whose pages are all done is reset for
  // re-fetch: its pages past start_row 0 deleted, page 0 pending with attempts 0. A day
  // with any page not done (leased, pending, dead) is left alone.
  virtual Status RegisterJob(const Job& job, const RefreshPolicy& refresh) = 0;
  // RegisterJob with no refresh.
  Status RegisterJob(const Job& job) { return RegisterJob(job, RefreshPolicy()); }

  // Leases up to max pages of job_id that are pending with next_attempt_at <= now, or
  // leased with an expired lease, oldest date first. Each gets a fresh token and
  // lease_expires_at = now + lease. Appends them to *out.
  virtual Status Claim(const std::string& job_id, const std::string& owner, int max,
                       std::chrono::milliseconds lease, WallTime now, std::vector<Lease>* out) = 0;

  // One transaction for all pages: UPSERT each page's rows on the natural key; mark the
  // page done (row_count, truncated, provisional) only if its lease token still holds.
  // A page 0 whose token holds first DELETEs the rows stored for its day (job's site,
  // search_type, dimensions), so a re-fetched day holds exactly the new rows; a page
  // whose token was lost never deletes, it only UPSERTs. When the page
  // was full (rows == row_limit) insert the next page as pending, or mark the day
  // truncated when the next page would start at or past kDailyRowCap.
  // (*lease_held)[i] tells whether pages[i]'s token still held.
  virtual Status CommitPages(std::span<const FetchedPage> pages, WallTime now,
                             std::vector<bool>* lease_held) = 0;

  // Records a failed attempt if the token holds: attempts + 1, last_error = error; the
  // page becomes dead when final or when attempts reach max_attempts, else pending with
  // next_attempt_at = retry_at. *lease_held tells whether the token held.
  virtual Status FailPage(const Lease& lease, const std::string& error, bool final,
                          int max_attempts, WallTime retry_at, WallTime now, bool* lease_held) = 0;

  // Gives leased pages back (pending, lease cleared) without counting an attempt.
  // Pages whose token no longer holds are left alone.
  virtual Status Release(std::span<const Lease> leases, WallTime now) = 0;

  // Extends the leases whose token still holds to expires_at.
  virtual Status Renew(std::span<const Lease> leases, WallTime expires_at) = 0;

  // Pages of job_id by state and rows stored.
  virtual Status Progress(const std::string& job_id, JobProgress* out) = 0;

  // Dead pages back to pending with attempts reset; all jobs when job_id is empty.
  virtual Status RetryDead(const std::string& job_id, int64_t* count) = 0;

  // Every job in the ledger.
  virtual Status ListJobs(std::vector<Job>* out) = 0;

  // What `batchfetch status` shows for job_id: pages by state, dead pages with their last
  // error, and the live leases (lease_expires_at > now) grouped by owner.
  virtual Status Report(const std::string& job_id, WallTime now, JobReport* out) {
    (void)job_id, (void)now, (void)out;
    return Status::Error(Status::Code::kInvalid, "Report is not implemented by this ledger yet");
  }

  // The reconciliation `batchfetch verify` runs for job_id (see VerifyReport).
  virtual Status Verify(const std::string& job_id, VerifyReport* out) {
    (void)job_id, (void)out;
    return Status::Error(Status::Code::kInvalid, "Verify is not implemented by this ledger yet");
  }
};

// Opens (creating it 0600 if missing) the ledger named by target: a file path for
// SQLite or a "postgresql://" / "postgres://" URI. Creates or checks the schema;
// a file of another program or a newer schema gives kForeign.
Status OpenLedger(const std::string& target, std::unique_ptr<Ledger>* out);

// True for a "postgresql://" or "postgres://" target.
bool IsPostgresTarget(const std::string& target);

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_LEDGER_H_
