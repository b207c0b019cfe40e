// Report identity (issue 11): two reports that differ only in --filter, or only in
// --aggregation-type, are two reports: each keeps its own complete rows, neither run
// touches the other's, and `status` names what tells them apart. (mockgsc validates
// filters but does not apply them, so each report's day equals the unfiltered answer.)

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/reports/ledger_target.h"
#include "tests/tools/batchfetch/reports/reports_ledger.h"
#include "tests/tools/batchfetch/reports/reports_scenario.h"

namespace batchfetch::testing {
namespace {

// Seed 3, 700 rows a day: 2025-02-01..03 hold 1061, 772 and 713 rows (3, 2 and 2 pages).
const std::vector<std::string> kServer = {"--seed",       "3", "--rows-per-day", "700",
                                          "--latency-ms", "5"};
const std::vector<std::string> kRange = {"--from",     "2025-02-01", "--to",
                                         "2025-02-03", "--today",    "2025-06-01"};

std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Runs report `first`, then report `second` (both over kRange) and checks they are two
// reports with separate complete rows; returns the `status` output.
std::string RunTwoReports(const std::string& db, const std::vector<std::string>& first,
                          const std::vector<std::string>& second) {
  const std::vector<std::string> dates = DateRange("2025-02-01", "2025-02-03");
  std::string first_id;
  std::map<std::string, ReportsLedger::Day> first_days;
  int64_t day_pages = 0;
  {
    MockGsc server(kServer);
    for (const std::string& date : dates) day_pages += PagesOf(ExpectedAs(server, date).rows);
    const CommandResult run = RunBatchfetch(BackfillArgs(db, server, With(kRange, first)));
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    ReportsLedger ledger(db);
    first_id = ledger.OnlyReportId();
    ExpectDaysMatch(ledger, first_id, server, dates);
    first_days = ledger.Days(first_id);
  }

  MockGsc server(kServer);
  const CommandResult run = RunBatchfetch(BackfillArgs(db, server, With(kRange, second)));
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(RequestCount(server), day_pages)
      << "the second report must fetch every day: the first report's days are not its own";
  ReportsLedger ledger(db);
  const std::vector<std::string> ids = ledger.ReportIds();
  EXPECT_EQ(ids.size(), 2u);
  std::string second_id;
  for (const std::string& id : ids) {
    if (id != first_id) second_id = id;
  }
  EXPECT_FALSE(second_id.empty());
  ExpectDaysMatch(ledger, first_id, server, dates);
  ExpectDaysMatch(ledger, second_id, server, dates);
  const auto after = ledger.Days(first_id);
  for (const std::string& date : dates) {
    EXPECT_EQ(after.at(date).checksum, first_days.at(date).checksum) << date;
  }
  int64_t expected_rows = 0;
  for (const std::string& date : dates) expected_rows += ExpectedAs(server, date).rows;
  EXPECT_EQ(ledger.Scalar("SELECT COUNT(*) FROM search_analytics"), 2 * expected_rows);
  EXPECT_EQ(ledger.DuplicateRows(), 0);

  // Each command again: both reports hold every day, nothing is fetched.
  const int64_t before = RequestCount(server);
  EXPECT_EQ(RunBatchfetch(BackfillArgs(db, server, With(kRange, first))).exit_code, 0);
  EXPECT_EQ(RunBatchfetch(BackfillArgs(db, server, With(kRange, second))).exit_code, 0);
  EXPECT_EQ(RequestCount(server), before);

  const CommandResult verify = RunBatchfetch({BatchfetchBin(), "verify", "--db", db});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  const CommandResult status = RunBatchfetch({BatchfetchBin(), "status", "--db", db});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  for (const std::string& id : ids) {
    EXPECT_NE(status.out.find(id), std::string::npos) << "status lacks report " << id << ":\n"
                                                      << status.out;
  }
  return status.out;
}

TEST(ReportIdentityTest, ReportsThatDifferOnlyInFilterKeepSeparateRows) {
  TempDir dir;
  const std::string status =
      RunTwoReports(NewLedgerTarget(dir), {"--filter", "page:contains:/alpha"},
                    {"--filter", "page:contains:/beta"});
  EXPECT_NE(status.find("/alpha"), std::string::npos) << status;
  EXPECT_NE(status.find("/beta"), std::string::npos) << status;
}

TEST(ReportIdentityTest, ReportsThatDifferOnlyInAggregationTypeKeepSeparateRows) {
  TempDir dir;
  const std::string status = RunTwoReports(NewLedgerTarget(dir), {"--aggregation-type", "auto"},
                                           {"--aggregation-type", "byPage"});
  EXPECT_NE(status.find("byPage"), std::string::npos) << status;
}

}  // namespace
}  // namespace batchfetch::testing
