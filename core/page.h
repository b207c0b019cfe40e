#ifndef BATCHFETCH_CORE_PAGE_H_
#define BATCHFETCH_CORE_PAGE_H_

// A page of one day of one report, the lease that fences it, its rows on their way to
// the database, and a report's progress as the ledger sees it.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/report.h"

namespace batchfetch {

// The API returns at most this many rows for one day of one report.
inline constexpr int64_t kDailyRowCap = 50000;

// Rows the page starting at start_row asks for: row_limit, but never past the cap.
// 0 when start_row is at or past the cap (no such page is ever requested).
int64_t PageRowLimit(int row_limit, int64_t start_row);

// True when a page that asked for `asked` rows at start_row and got row_count ends its
// day at the API's cap: start_row + row_count >= kDailyRowCap, whatever the row limit.
bool ReachesDailyCap(int64_t start_row, int64_t row_count);

// One page: the rows [start_row, start_row + PageRowLimit) of one day of one report.
struct PageKey {
  std::string report_id;
  std::string date;  // YYYY-MM-DD
  int64_t start_row = 0;

  friend bool operator==(const PageKey&, const PageKey&) = default;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>.
  friend auto operator<=>(const PageKey&, const PageKey&) = default;
};

// A page this process holds. Every state change to the page, rows included, is
// conditional on token.
// Failed attempts before a page is dead, unless the run says otherwise (--max-attempts).
inline constexpr int kDefaultMaxAttempts = 5;

struct Lease {
  PageKey key;
  std::string token;  // fencing token, new on every claim
  int attempts = 0;   // failed attempts recorded before this claim
};

// One row of searchAnalytics.query. Dimensions the report did not ask for hold "".
struct Row {
  std::string date;
  std::string hour;
  std::string query;
  std::string page;
  std::string country;
  std::string device;
  std::string search_appearance;
  double clicks = 0;
  double impressions = 0;
  double ctr = 0;
  double position = 0;
};

// A fetched page on its way to the writer.
struct FetchedPage {
  std::shared_ptr<const Report> report;
  Lease lease;
  int64_t row_limit = 0;  // rows the request asked for (PageRowLimit): a page this full
                          // has a next page, unless it reached the cap
  std::vector<Row> rows;
  bool provisional = false;  // the day is on/after the response's firstIncompleteDate:
                             // its rows may still change, so a later run re-fetches it
};

// Pages of one report (or several, summed) by state, as the ledger sees them.
struct ReportProgress {
  int64_t pending = 0;
  int64_t leased = 0;
  int64_t done = 0;
  int64_t dead = 0;
  int64_t rows = 0;              // rows stored (visible) for the report
  int64_t days_held = 0;         // days whose complete fetch is stored
  int64_t truncated_days = 0;    // held days at the API's cap
  int64_t provisional_days = 0;  // held days whose rows are provisional (fresh data)

  int64_t total() const { return pending + leased + done + dead; }
  bool finished() const { return pending == 0 && leased == 0; }
  ReportProgress& operator+=(const ReportProgress& o);
};

}  // namespace batchfetch

#endif  // BATCHFETCH_CORE_PAGE_H_
