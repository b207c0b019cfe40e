// Truncated days (issue 11): a day at the API's 50,000-row cap is recorded as truncated
// whatever the row limit, `verify` lists it (and stays clean: the cap is the API's), and
// no request asks for a row at or past the cap. --row-limit 20000 ends the day with a
// short page (20000/20000/10000); --row-limit 25000 ends it with a full page at the cap.

#include <gtest/gtest.h>

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

// Seed 2, 300 rows a day: 2025-01-05 and 2025-01-07 are capped (60,000 rows, 50,000
// served); 2025-01-06 is empty.
const std::vector<std::string> kServer = {"--seed",       "2", "--rows-per-day", "300",
                                          "--latency-ms", "5"};
constexpr const char* kToday = "2025-06-01";

// gtest-asserts that date is held as truncated and its last page is marked truncated.
void ExpectTruncated(const ReportsLedger& ledger, const std::string& date) {
  const std::string where =
      " WHERE CAST(date AS TEXT) = " + SqlText(date) + " AND CAST(truncated AS INTEGER) <> 0";
  EXPECT_EQ(ledger.Scalar("SELECT COUNT(*) FROM days" + where), 1)
      << date << " is not held as truncated";
  EXPECT_GE(ledger.Scalar("SELECT COUNT(*) FROM batches" + where), 1)
      << "no page of " << date << " is marked truncated";
}

TEST(TruncatedDayTest, ACappedDayIsMarkedTruncatedAndNoPagePastTheCapIsAsked) {
  TempDir dir;
  const std::string db = NewLedgerTarget(dir);
  {
    MockGsc server(kServer);
    const MockGsc::ExpectedDay capped = ExpectedAs(server, "2025-01-05");
    ASSERT_TRUE(capped.truncated) << "the data generator changed: pick another day";
    ASSERT_EQ(capped.rows, kDailyRowCap);
    const CommandResult run =
        RunBatchfetch(BackfillArgs(db, server,
                                   {"--from", "2025-01-05", "--to", "2025-01-05", "--today", kToday,
                                    "--row-limit", "20000"}),
                      std::chrono::seconds(120));
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    std::multiset<int64_t> start_rows;
    for (const ServedRequest& r : RecentRequests(server)) {
      EXPECT_LT(r.start_row, kDailyRowCap) << r.start_date;
      start_rows.insert(r.start_row);
    }
    EXPECT_EQ(start_rows, (std::multiset<int64_t>{0, 20000, 40000}));
    EXPECT_EQ(RequestCount(server), 3);
    ReportsLedger ledger(db);
    ExpectDaysMatch(ledger, ledger.OnlyReportId(), server, {"2025-01-05"});
    ExpectTruncated(ledger, "2025-01-05");

    const CommandResult verify = RunBatchfetch({BatchfetchBin(), "verify", "--db", db});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    EXPECT_NE((verify.out + verify.err).find("2025-01-05"), std::string::npos)
        << "verify does not list the truncated day:\n"
        << verify.out << verify.err;
  }

  // A wider run with --row-limit 25000: 2025-01-05 is held (not fetched again); the second
  // page of 2025-01-07 is full and reaches the cap, which ends the day.
  MockGsc server(kServer);
  ASSERT_TRUE(ExpectedAs(server, "2025-01-07").truncated);
  ASSERT_EQ(ExpectedAs(server, "2025-01-06").rows, 0);
  const CommandResult run =
      RunBatchfetch(BackfillArgs(db, server,
                                 {"--from", "2025-01-05", "--to", "2025-01-07", "--today", kToday,
                                  "--row-limit", "25000"}),
                    std::chrono::seconds(120));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::multiset<std::string> asked;
  for (const ServedRequest& r : RecentRequests(server)) {
    EXPECT_LT(r.start_row, kDailyRowCap) << r.start_date;
    asked.insert(r.start_date + ":" + std::to_string(r.start_row));
  }
  EXPECT_EQ(asked,
            (std::multiset<std::string>{"2025-01-06:0", "2025-01-07:0", "2025-01-07:25000"}));
  ReportsLedger ledger(db);
  ExpectDaysMatch(ledger, ledger.OnlyReportId(), server,
                  {"2025-01-05", "2025-01-06", "2025-01-07"});
  ExpectTruncated(ledger, "2025-01-05");
  ExpectTruncated(ledger, "2025-01-07");
  EXPECT_EQ(ledger.Scalar("SELECT COUNT(*) FROM days WHERE CAST(date AS TEXT) = '2025-01-06' AND "
                          "CAST(truncated AS INTEGER) <> 0"),
            0);
  EXPECT_EQ(ledger.DuplicateRows(), 0);

  const CommandResult verify = RunBatchfetch({BatchfetchBin(), "verify", "--db", db});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  for (const char* date : {"2025-01-05", "2025-01-07"}) {
    EXPECT_NE((verify.out + verify.err).find(date), std::string::npos)
        << "verify does not list truncated day " << date << ":\n"
        << verify.out << verify.err;
  }
}

}  // namespace
}  // namespace batchfetch::testing
