#ifndef BATCHFETCH_PERSISTENCE_PAGE_H_
#define BATCHFETCH_PERSISTENCE_PAGE_H_

// The value types every room shares: a job, a page of one day, a lease on a page,
// a row of search analytics and a fetched page on its way to the database.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace batchfetch {

// Wall-clock time: the ledger is shared by processes on many machines.
using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;

// The API caps what it returns for one day and one search type at this many rows.
inline constexpr int64_t kDailyRowCap = 50000;

// What a user asked to back-fill. Two specs with the same fields are the same job.
struct JobSpec {
  std::string site;                 // "sc-domain:example.com" or "https://www.example.com/"
  std::string search_type = "web";  // web, image, video, news, discover, googleNews
  std::vector<std::string> dimensions = {"date", "query", "page"};
  std::string data_state = "final";       // final or all
  std::string start_date;                 // YYYY-MM-DD, inclusive
  std::string end_date;                   // YYYY-MM-DD, inclusive
  int row_limit = 25000;                  // rows per page, 1..25000
  std::string aggregation_type = "auto";  // auto, byPage, byProperty, byNewsShowcasePanel
  std::vector<std::string> filters;       // "dimension:operator:expression", ANDed

  // "date,query,page": the form stored in the ledger and the search_analytics table.
  std::string DimensionsCsv() const;
  // A stable id derived from every field above (hex digest), so re-running resumes.
  std::string Id() const;
};

struct Job {
  std::string id;
  JobSpec spec;
};

// One page: the rows [start_row, start_row + row_limit) of one day of one job.
struct PageKey {
  std::string job_id;
  std::string date;  // YYYY-MM-DD
  int64_t start_row = 0;

  friend bool operator==(const PageKey&, const PageKey&) = default;
};

// A page this process holds. Every state change to the page is conditional on token.
struct Lease {
  PageKey key;
  std::string token;  // fencing token, new on every claim
  int attempts = 0;   // failed attempts recorded before this claim
};

// One row of searchAnalytics.query. Dimensions the job did not ask for hold "".
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
  std::shared_ptr<const Job> job;
  Lease lease;
  std::vector<Row> rows;
  bool provisional = false;  // the day is on/after the response's firstIncompleteDate:
                             // its rows may still change, so a later run re-fetches it
};

// Pages of a job by state, as the ledger sees them.
struct JobProgress {
  int64_t pending = 0;
  int64_t leased = 0;
  int64_t done = 0;
  int64_t dead = 0;
  int64_t rows = 0;  // sum of row_count over done pages
  int64_t truncated_days = 0;
  int64_t provisional_days = 0;  // days whose stored rows are provisional (fresh data)

  int64_t total() const { return pending + leased + done + dead; }
  bool finished() const { return pending == 0 && leased == 0; }
};

// True when date is a real calendar day written YYYY-MM-DD (proleptic Gregorian).
bool IsValidDate(std::string_view date);

// Every day from `from` to `to`, both inclusive, in order, as YYYY-MM-DD. Empty when
// either date is invalid or from > to.
std::vector<std::string> DaysBetween(std::string_view from, std::string_view to);

// date moved by days (negative = earlier), as YYYY-MM-DD; "" when date is invalid.
std::string AddDays(std::string_view date, int days);

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_PAGE_H_
