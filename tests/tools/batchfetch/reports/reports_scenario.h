#ifndef TESTS_TOOLS_BATCHFETCH_REPORTS_REPORTS_SCENARIO_H_
#define TESTS_TOOLS_BATCHFETCH_REPORTS_REPORTS_SCENARIO_H_

// Shared steps of the reports scenarios (issue 11): batchfetch command lines against a
// MockGsc, what mockgsc says a day holds and which requests reached it, date arithmetic,
// and the day-by-day comparison of a report's stored rows with /__expected.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/subprocess.h"
#include "tests/tools/batchfetch/reports/reports_ledger.h"

namespace batchfetch::testing {

inline constexpr const char* kSite = "sc-domain:example.com";
inline constexpr const char* kDims = "date,query,page";
inline constexpr int kRowLimit = 500;
inline constexpr int64_t kDailyRowCap = 50000;

// $BATCHFETCH_BIN; throws if unset.
std::string BatchfetchBin();

// argv of `batchfetch backfill` on db against server: site kSite, dimensions kDims, row
// limit kRowLimit, 4 workers, time-scaled quota (window 6 s), fast retries, a token.
// Each flag in `flags` that is already present gets its value replaced; others are
// appended (so --filter may be given several times).
std::vector<std::string> BackfillArgs(const std::string& db, const MockGsc& server,
                                      const std::vector<std::string>& flags);

// Runs argv (stdout and stderr captured), killing it after timeout.
CommandResult RunBatchfetch(const std::vector<std::string>& argv,
                            std::chrono::milliseconds timeout = std::chrono::seconds(90));

// GET /__expected for one day as a query with data_state ("final" or "all") is served.
MockGsc::ExpectedDay ExpectedAs(const MockGsc& server, const std::string& date,
                                const std::string& data_state = "final",
                                const std::string& dimensions = kDims);

// One searchAnalytics.query request as mockgsc received it.
struct ServedRequest {
  std::string start_date;
  std::string end_date;
  int64_t start_row = 0;  // 0 when the body had none
  int64_t row_limit = 0;  // 0 when the body had none
  std::string data_state;
};

// GET /__requests: the last (at most 64) query requests, oldest first. Throws on a
// transport or parse failure.
std::vector<ServedRequest> RecentRequests(const MockGsc& server);

// GET /__stats "requests": every query request that arrived.
int64_t RequestCount(const MockGsc& server);

// date (YYYY-MM-DD) plus n days.
std::string AddDays(const std::string& date, int n);
// from..to inclusive (empty when to < from).
std::vector<std::string> DateRange(const std::string& from, const std::string& to);

// Requests a complete fetch of a day of `rows` servable rows takes at row_limit: a full
// page asks for the next one, except at the 50,000-row cap.
int64_t PagesOf(int64_t rows, int row_limit = kRowLimit);

// gtest-asserts that report_id stores, for each date, exactly what /__expected serves
// with data_state (rows and checksum; nothing for an empty day).
void ExpectDaysMatch(const ReportsLedger& ledger, const std::string& report_id,
                     const MockGsc& server, const std::vector<std::string>& dates,
                     const std::string& data_state = "final");

}  // namespace batchfetch::testing

#endif  // TESTS_TOOLS_BATCHFETCH_REPORTS_REPORTS_SCENARIO_H_
