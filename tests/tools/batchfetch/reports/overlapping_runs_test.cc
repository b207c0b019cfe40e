// Overlapping runs of one report (issue 11): a report fetched fully, then a second run of
// the same report over a wider range with a page that always fails. The second run fetches
// none of the days already held, leaves every one of them exactly as /__expected says, and
// never shows the half-fetched day.

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/reports/ledger_target.h"
#include "tests/tools/batchfetch/reports/reports_ledger.h"
#include "tests/tools/batchfetch/reports/reports_scenario.h"

namespace batchfetch::testing {
namespace {

// Seed 2, 700 rows a day: 2025-01-08..17 hold 819, 917, 854, 221, 16, 681, 1249, 179, 2
// and 333 rows (no capped day), so both runs have days of two and three pages.
const std::vector<std::string> kServer = {"--seed",       "2", "--rows-per-day", "700",
                                          "--latency-ms", "5"};
constexpr const char* kToday = "2025-06-01";  // every day is final and outside the refresh window
constexpr const char* kFailingDay = "2025-01-09";
constexpr int kMaxAttempts = 2;

std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(OverlappingRunsTest, AWiderRunWithADeadPageFetchesNoHeldDayAndChangesNone) {
  TempDir dir;
  const std::string db = NewLedgerTarget(dir);
  const std::vector<std::string> held = DateRange("2025-01-10", "2025-01-14");
  const std::vector<std::string> wide = DateRange("2025-01-08", "2025-01-17");
  const std::vector<std::string> first_run = {"--from",    held.front(), "--to",
                                              held.back(), "--today",    kToday};

  std::string report_id;
  std::map<std::string, ReportsLedger::Day> before;
  {
    MockGsc server(kServer);
    int64_t want_requests = 0, multi_page_days = 0;
    for (const std::string& date : held) {
      const int64_t pages = PagesOf(ExpectedAs(server, date).rows);
      want_requests += pages;
      multi_page_days += pages > 1;
    }
    ASSERT_GE(multi_page_days, 2) << "the data generator changed: pick another seed";
    const CommandResult run = RunBatchfetch(BackfillArgs(db, server, first_run));
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    EXPECT_EQ(RequestCount(server), want_requests);
    ReportsLedger ledger(db);
    report_id = ledger.OnlyReportId();
    ExpectDaysMatch(ledger, report_id, server, held);
    before = ledger.Days(report_id);
  }

  // The second run: the same report over a wider range; page 500 of a new two-page day
  // always answers 500, so that day's page 0 commits and its next page dies.
  MockGsc server(With(kServer, {"--fail-page", std::string(kFailingDay) + ":500"}));
  ASSERT_GT(ExpectedAs(server, kFailingDay).rows, kRowLimit);
  int64_t want_requests = 1 + kMaxAttempts;  // the failing day: page 0, then page 500 dies
  for (const std::string& date : wide) {
    if (date >= held.front() && date <= held.back()) continue;
    if (date != kFailingDay) want_requests += PagesOf(ExpectedAs(server, date).rows);
  }
  const CommandResult run =
      RunBatchfetch(BackfillArgs(db, server,
                                 {"--from", wide.front(), "--to", wide.back(), "--today", kToday,
                                  "--max-attempts", std::to_string(kMaxAttempts)}));
  EXPECT_EQ(run.exit_code, 2) << "a dead page: " << run.out << run.err;

  // No request asked for a held day.
  const int64_t requests = RequestCount(server);
  EXPECT_EQ(requests, want_requests);
  ASSERT_LE(requests, 64) << "/__requests keeps the last 64 only";
  std::map<std::string, int> by_day;
  for (const ServedRequest& r : RecentRequests(server)) {
    EXPECT_EQ(r.start_date, r.end_date);
    ++by_day[r.start_date];
    EXPECT_FALSE(r.start_date >= held.front() && r.start_date <= held.back())
        << "the second run asked for held day " << r.start_date << " startRow " << r.start_row;
  }

  // Every held day is exactly what the first run stored and what the API serves.
  ReportsLedger ledger(db);
  EXPECT_EQ(ledger.OnlyReportId(), report_id) << "the same command line is the same report";
  ExpectDaysMatch(ledger, report_id, server, held);
  const auto after = ledger.Days(report_id);
  for (const std::string& date : held) {
    EXPECT_EQ(after.count(date) ? after.at(date).checksum : "",
              before.count(date) ? before.at(date).checksum : "")
        << date;
  }
  // The new complete days are exact; the failing day shows none of its half fetch.
  std::vector<std::string> complete_new;
  for (const std::string& date : wide) {
    if ((date < held.front() || date > held.back()) && date != kFailingDay) {
      complete_new.push_back(date);
    }
  }
  ExpectDaysMatch(ledger, report_id, server, complete_new);
  EXPECT_EQ(after.count(kFailingDay) ? after.at(kFailingDay).rows : 0, 0)
      << "page 0 of an unfinished day became visible";
  EXPECT_EQ(ledger.DuplicateRows(), 0);
  EXPECT_EQ(ledger.Scalar("SELECT COUNT(*) FROM batches WHERE state = 'dead'"), 1);

  // status names the dead page.
  const CommandResult status = RunBatchfetch({BatchfetchBin(), "status", "--db", db});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE((status.out + status.err).find(kFailingDay), std::string::npos) << status.out;

  // The first command again: its days are held, so nothing is fetched.
  const int64_t requests_before = RequestCount(server);
  const CommandResult again = RunBatchfetch(BackfillArgs(db, server, first_run));
  EXPECT_TRUE(again.exit_code == 0 || again.exit_code == 2) << again.out << again.err;
  EXPECT_EQ(RequestCount(server), requests_before) << "held days were fetched again";
  ExpectDaysMatch(ReportsLedger(db), report_id, server, held);
}

}  // namespace
}  // namespace batchfetch::testing
