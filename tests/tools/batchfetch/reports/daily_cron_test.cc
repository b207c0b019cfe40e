// The daily cron (issue 11): the same command line, with no --to, run once a simulated day
// for 30 days while the API's today advances by one day per run. Each run fetches exactly
// the pages of the days in the refresh window (--refresh-days 3, the default: the new day
// and the two held days before it), nothing older; at the end every day is exact and
// `verify` is clean.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/reports/ledger_target.h"
#include "tests/tools/batchfetch/reports/reports_ledger.h"
#include "tests/tools/batchfetch/reports/reports_scenario.h"

namespace batchfetch::testing {
namespace {

// Seed 1, 300 rows a day: 2025-04-01..05-02 hold 0..547 rows, no capped day, so a day is
// one to three pages of 250 rows.
const std::vector<std::string> kData = {"--seed",       "1", "--rows-per-day", "300",
                                        "--latency-ms", "2"};
constexpr const char* kFrom = "2025-04-01";
constexpr const char* kFirstToday = "2025-04-04";
constexpr int kRuns = 30;
constexpr int kRefreshDays = 3;
constexpr int kPageRows = 250;

TEST(DailyCronTest, EachRunFetchesOnlyTheNewDayAndTheRefreshWindow) {
  TempDir dir;
  const std::string db = NewLedgerTarget(dir);
  std::string last_day;
  int64_t multi_page_days = 0;
  for (int i = 0; i < kRuns; ++i) {
    const std::string today = AddDays(kFirstToday, i);
    std::vector<std::string> server_args = kData;
    server_args.insert(server_args.end(), {"--today", today});
    MockGsc server(server_args);
    SCOPED_TRACE("run " + std::to_string(i) + ", today " + today);

    // The days this run must fetch: yesterday (final data's last day) and the held days
    // of the refresh window.
    const std::string window_from = std::max<std::string>(kFrom, AddDays(today, -kRefreshDays));
    last_day = AddDays(today, -1);
    int64_t want = 0;
    for (const std::string& date : DateRange(window_from, last_day)) {
      want += PagesOf(ExpectedAs(server, date).rows, kPageRows);
    }
    if (PagesOf(ExpectedAs(server, last_day).rows, kPageRows) > 1) ++multi_page_days;

    const CommandResult run = RunBatchfetch(BackfillArgs(
        db, server, {"--from", kFrom, "--today", today, "--row-limit", std::to_string(kPageRows)}));
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    const int64_t requests = RequestCount(server);
    EXPECT_EQ(requests, want);
    ASSERT_LE(requests, 64) << "/__requests keeps the last 64 only";
    for (const ServedRequest& r : RecentRequests(server)) {
      EXPECT_TRUE(r.start_date >= window_from && r.start_date <= last_day)
          << "asked for " << r.start_date << " startRow " << r.start_row << "; window "
          << window_from << ".." << last_day;
      EXPECT_EQ(r.start_date, r.end_date);
    }
  }
  ASSERT_GE(multi_page_days, 5) << "the data generator changed: pick another seed";

  MockGsc server(kData);
  ReportsLedger ledger(db);
  const std::string report_id = ledger.OnlyReportId();
  ExpectDaysMatch(ledger, report_id, server, DateRange(kFrom, last_day));
  EXPECT_EQ(ledger.DuplicateRows(), 0);
  EXPECT_EQ(ledger.Scalar("SELECT COUNT(*) FROM batches WHERE state <> 'done'"), 0);
  const CommandResult verify = RunBatchfetch({BatchfetchBin(), "verify", "--db", db});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

}  // namespace
}  // namespace batchfetch::testing
