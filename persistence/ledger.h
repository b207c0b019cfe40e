#ifndef BATCHFETCH_PERSISTENCE_LEDGER_H_
#define BATCHFETCH_PERSISTENCE_LEDGER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/page.h"
#include "core/report.h"
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

// What `batchfetch status` shows for one report.
struct ReportStatus {
  Report report;
  ReportProgress progress;
  std::vector<std::string> days_held;       // held days as ranges: "2025-01-01..2025-01-31"
                                            // or a single "2025-02-03", in date order
  std::vector<std::string> truncated_days;  // held days at the API's cap
  std::vector<DeadPage> dead;
  std::vector<LiveLease> leases;
};

// Problems `verify` looks for in one report. Clean when every count is 0 and every list
// empty (truncated_days are reported, not problems: the API's daily cap).
struct VerifyReport {
  int64_t duplicate_rows = 0;               // rows whose key appears more than once
                                            // (grouped by the key columns, so a table without
                                            // the primary key is checked too)
  std::vector<std::string> unfinished;      // "DATE:START_ROW state": pages not done
  std::vector<std::string> missing_pages;   // "DATE:START_ROW" of a next page absent from the
                                            // ledger although the page before it was full
  std::vector<std::string> row_mismatch;    // "DATE: stored N, ledger says M": a held day
                                            // whose stored rows differ from its pages' counts
  std::vector<std::string> bad_values;      // "DATE: ..." rows with impossible numbers
                                            // (negative counts, ctr outside [0,1], not finite)
  std::vector<std::string> truncated_days;  // days at the API's daily cap

  bool clean() const {
    return duplicate_rows == 0 && unfinished.empty() && missing_pages.empty() &&
           row_mismatch.empty() && bad_values.empty();
  }
};

// Which finished days PlanDays hands back for re-fetch: fresh data changes for a few days
// after it first appears (the API marks them with metadata.firstIncompleteDate).
struct RefreshPolicy {
  std::string today;     // YYYY-MM-DD in the API's time zone (ApiDay); "" = refresh nothing
  int refresh_days = 0;  // held days on/after today - refresh_days are refreshed, as are
                         // held days whose rows are provisional
};

// What PlanDays did with the days it was given.
struct DayPlan {
  int64_t added = 0;       // days with no page before: a pending page 0 was inserted
  int64_t refreshed = 0;   // held days handed back for re-fetch (refresh window, provisional)
  int64_t held = 0;        // held days left alone: nothing to fetch
  int64_t unfinished = 0;  // days already being fetched (pending, leased or dead pages)
};

// The error a day's page 0 records when the day restarts (see CommitPages).
inline constexpr const char* kDayChangedError =
    "the day's rows changed while it was fetched (a row came on two pages, or the day "
    "turned final mid-fetch)";

// One report's share of a claim.
struct ClaimRequest {
  std::string report_id;
  int max = 0;  // pages to lease at most
};

// The durable record of reports, the days held of each, pages and fetched rows.
// Implementations: SQLite (one file, many processes) and PostgreSQL (many machines).
//
// Rows: a page's rows are staged under its lease; when the day's last page commits
// (a short page, or one that reaches the cap) the day's staged rows replace the day's
// stored rows in the same transaction. A reader sees the old complete day or the new
// one, never a mix. A commit or failure whose lease token no longer holds writes nothing
// at all: no state, no rows.
//
// Thread rule: one Ledger object is used by one thread at a time (the writer thread).
// Several Ledger objects (processes) may share one database.
class Ledger {
 public:
  virtual ~Ledger() = default;

  // Records reports (idempotent: an existing report is left as it is) and their views,
  // in one transaction.
  virtual Status RegisterReports(std::span<const Report* const> reports) = 0;
  Status RegisterReport(const Report& report) {
    const Report* one = &report;
    return RegisterReports({&one, 1});
  }

  // In one transaction, for each report of report_ids and each of days (YYYY-MM-DD, any
  // order): inserts a pending page 0 when the report holds no page of that day; hands a
  // held day back for re-fetch when refresh names it (its pages past start_row 0 deleted,
  // page 0 pending with attempts 0; its stored rows stay visible until the new fetch
  // completes); leaves every other day alone. (*out)[i] counts what it did for
  // report_ids[i]. REQUIRES: every report registered.
  virtual Status PlanReports(std::span<const std::string> report_ids,
                             std::span<const std::string> days, const RefreshPolicy& refresh,
                             std::vector<DayPlan>* out) = 0;
  Status PlanDays(const std::string& report_id, std::span<const std::string> days,
                  const RefreshPolicy& refresh, DayPlan* out) {
    std::vector<DayPlan> plans;
    Status status = PlanReports({&report_id, 1}, days, refresh, &plans);
    *out = plans.empty() ? DayPlan() : plans.front();
    return status;
  }

  // In one transaction, for each request in order: leases up to max pages of its report
  // that are pending with next_attempt_at <= now, or leased with an expired lease, in
  // (date, start_row) order. Each gets a fresh token and lease_expires_at = now + lease.
  // Appends them to *out in that order.
  virtual Status Claim(std::span<const ClaimRequest> requests, const std::string& owner,
                       std::chrono::milliseconds lease, WallTime now, std::vector<Lease>* out) = 0;

  // One transaction for all pages. For each page whose lease token still holds: stage its
  // rows, mark it done (row_count, truncated, provisional); if it was full (rows ==
  // row_limit) and did not reach the cap insert the next page as pending, else (the day's
  // last page) swap the day's staged rows in for its stored rows and mark the day held
  // (truncated when start_row + rows >= kDailyRowCap) — unless the day's done pages
  // disagree on provisional or its staged rows are fewer than its pages returned (the
  // answer changed mid-fetch): then its staged rows and pages past start_row 0 go and the
  // stored day stays; page 0 counts a failed attempt (kDayChangedError) and is pending
  // again at once, or dead when its attempts reach max_attempts — so a day whose answer
  // changes on every fetch ends instead of being fetched forever. A page whose token was
  // lost writes nothing. (*lease_held)[i] tells whether pages[i]'s token still held.
  virtual Status CommitPages(std::span<const FetchedPage> pages, WallTime now, int max_attempts,
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

  // Pages by state and rows held, summed over report_ids.
  virtual Status Progress(std::span<const std::string> report_ids, ReportProgress* out) = 0;

  // Dead pages back to pending with attempts reset; every report when report_id is
  // empty. kNotFound when report_id names no report.
  virtual Status RetryDead(const std::string& report_id, int64_t* count) = 0;

  // Every report in the ledger, oldest first.
  virtual Status ListReports(std::vector<Report>* out) = 0;

  // What `batchfetch status` shows for report_id (live leases: lease_expires_at > now).
  virtual Status Describe(const std::string& report_id, WallTime now, ReportStatus* out) = 0;

  // The reconciliation `batchfetch verify` runs for report_id (see VerifyReport).
  virtual Status Verify(const std::string& report_id, VerifyReport* out) = 0;

  // Streams report_id's stored rows with from <= date <= to (YYYY-MM-DD; "" = unbounded)
  // to on_row, one at a time, in (date, hour, query, page, country, device,
  // search_appearance) order, from one read snapshot, without holding them all in
  // memory (`batchfetch export`). The Row is valid only during the call. Stops at the
  // first error on_row returns and returns it. kNotFound when report_id names no report.
  // The default says the implementation cannot (kInvalid).
  virtual Status ExportRows(const std::string& report_id, const std::string& from,
                            const std::string& to,
                            const std::function<Status(const Row&)>& on_row) {
    (void)report_id, (void)from, (void)to, (void)on_row;
    return Status::Error(Status::Code::kInvalid, "this ledger cannot export rows");
  }
};

// How OpenLedger may treat the target.
enum class OpenMode {
  kCreate,    // create the ledger (0600) when missing, migrate an older schema in place
  kExisting,  // read/write, but refuse (kNotFound) a path or database that holds no ledger
  kReadOnly,  // as kExisting, read-only (status, verify); a read-only file works
};

// Opens the ledger named by target: a file path for SQLite or a "postgresql://" /
// "postgres://" URI. Creates, checks or migrates the schema as mode allows; a file of
// another program or a newer schema gives kForeign and is left untouched.
Status OpenLedger(const std::string& target, OpenMode mode, std::unique_ptr<Ledger>* out);
inline Status OpenLedger(const std::string& target, std::unique_ptr<Ledger>* out) {
  return OpenLedger(target, OpenMode::kCreate, out);
}

// target with any password (user:PASSWORD@, ?password=) replaced by "***": the only form
// of a --db value that may reach a log line or an error message.
std::string RedactTarget(const std::string& target);

// True for a "postgresql://" or "postgres://" target.
bool IsPostgresTarget(const std::string& target);

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_LEDGER_H_
