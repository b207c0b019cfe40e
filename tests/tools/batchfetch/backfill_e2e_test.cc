// End-to-end: the batchfetch binary against a mockgsc process, checked through the
// server's own /__stats and /__expected and the SQLite file read with plain SQL.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/backfill_runner.h"
#include "tests/tools/batchfetch/ledger_reader.h"

namespace batchfetch::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class BackfillE2eTest : public ::testing::Test {
 protected:
  TempDir dir_;
  BackfillRunner runner_{dir_.File("ledger.db")};
};

TEST_F(BackfillE2eTest, SixtyDaysMatchExpectedUnderQuotaAndResumeFetchesNothing) {
  MockGsc server({"--latency-ms", "5", "--latency-p99-ms", "20", "--qpm", "1200", "--qpm-window",
                  "6", "--rows-per-day", "300", "--seed", "7"});
  const auto dates = BackfillRunner::Dates("2025-01-01", 60);
  CommandResult run =
      RunCommand(runner_.Args(server, dates.front(), dates.back(), 8), seconds(120));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("done"), std::string::npos) << run.out;

  auto [multi_page_days, empty_days] = runner_.ExpectAllDaysMatch(server, dates);
  EXPECT_GT(multi_page_days, 0) << "the data set must cover days with two or more pages";
  EXPECT_GT(empty_days, 0) << "the data set must cover empty days";

  boost::json::object stats = server.Stats();
  EXPECT_EQ(JsonInt(stats, "quota_rejections"), 0);
  EXPECT_LE(JsonInt(stats, "max_window_requests"), 960);
  EXPECT_EQ(JsonInt(stats, "pages_fetched_more_than_once"), 0);
  const int64_t requests = JsonInt(stats, "requests");

  // Re-running the finished command fetches nothing (the range is older than the refresh
  // window) and changes no row.
  const int64_t rows_before = LedgerReader(runner_.db()).TotalRows();
  CommandResult again =
      RunCommand(runner_.Args(server, dates.front(), dates.back(), 8), seconds(60));
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(JsonInt(server.Stats(), "requests"), requests);
  EXPECT_EQ(LedgerReader(runner_.db()).TotalRows(), rows_before);
  runner_.ExpectAllDaysMatch(server, dates);
}

TEST_F(BackfillE2eTest, KilledHalfwayThenRerunCompletesWithSameRows) {
  MockGsc server({"--latency-ms", "20", "--qpm", "1200", "--qpm-window", "6", "--rows-per-day",
                  "300", "--seed", "11"});
  const auto dates = BackfillRunner::Dates("2025-03-01", 40);
  Subprocess::Options options;
  options.argv = runner_.Args(server, dates.front(), dates.back(), 4);
  options.stdout_path = dir_.File("out1.txt");
  options.stderr_path = dir_.File("err1.txt");
  {
    Subprocess first(options);
    // Kill it once some pages have landed.
    for (int i = 0; i < 400 && JsonInt(server.Stats(), "requests") < 30; ++i) {
      std::this_thread::sleep_for(milliseconds(25));
    }
    ASSERT_TRUE(first.Kill(SIGKILL));
    ASSERT_EQ(first.Wait(seconds(5)), 128 + SIGKILL);
  }
  ASSERT_GT(LedgerReader(runner_.db()).Scalar("SELECT COUNT(*) FROM batches WHERE state <> 'done'"),
            0)
      << "the kill came too late to test a resume";
  CommandResult rerun =
      RunCommand(runner_.Args(server, dates.front(), dates.back(), 4), seconds(120));
  ASSERT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
  runner_.ExpectAllDaysMatch(server, dates);
}

TEST_F(BackfillE2eTest, ConcurrencyOneKeepsExactlyOneRequestInFlightInDateOrder) {
  MockGsc server({"--latency-ms", "5", "--qpm", "1200", "--qpm-window", "6", "--rows-per-day",
                  "300", "--seed", "3"});
  const auto dates = BackfillRunner::Dates("2025-05-01", 10);
  CommandResult run =
      RunCommand(runner_.Args(server, dates.front(), dates.back(), 1), seconds(120));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(JsonInt(server.Stats(), "max_in_flight"), 1);
  runner_.ExpectAllDaysMatch(server, dates);
  // Pages were completed in (date, start_row) order.
  LedgerReader reader(runner_.db());
  EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches a JOIN batches b ON "
                          "(a.date, a.start_row) < (b.date, b.start_row) "
                          "WHERE a.updated_at > b.updated_at"),
            0);
}

// args without its "--to" pair: --to then defaults to the last day with data.
std::vector<std::string> WithoutTo(std::vector<std::string> args) {
  auto it = std::find(args.begin(), args.end(), "--to");
  if (it != args.end()) args.erase(it, it + 2);
  return args;
}

TEST_F(BackfillE2eTest, TheSameCommandDailyFetchesOnlyTheNewDayAndTheRefreshWindow) {
  MockGsc server({"--latency-ms", "2", "--qpm", "1200", "--qpm-window", "6", "--rows-per-day",
                  "300", "--seed", "19"});
  const auto dates = BackfillRunner::Dates("2025-09-01", 12);  // 09-01 .. 09-12
  auto run_as_of = [&](const std::string& today) {
    const auto args = WithoutTo(runner_.Args(server, "2025-09-01", "2025-09-01", 2,
                                             {"--today", today, "--refresh-days", "3"}));
    CommandResult run = RunCommand(args, seconds(120));
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    return run;
  };
  // Requests for days [first, last) of dates: a full page asks for the next one.
  auto pages = [&](int first, int last) {
    int64_t n = 0;
    for (int i = first; i < last; ++i) {
      const int64_t rows =
          server.Expected(BackfillRunner::kSite, "web", dates[i], BackfillRunner::kDims).rows;
      n += rows / BackfillRunner::kRowLimit + 1;
    }
    return n;
  };
  // Day 1: --to defaults to the day before the API's today: 09-01 .. 09-10.
  CommandResult first = run_as_of("2025-09-11");
  int64_t want = pages(0, 10);
  EXPECT_EQ(JsonInt(server.Stats(), "requests"), want) << first.err;
  EXPECT_NE(first.err.find("10 new days, 0 refreshed, 0 already held"), std::string::npos)
      << first.err;
  // The same command again: only the refresh window (09-08 .. 09-10) is fetched.
  CommandResult again = run_as_of("2025-09-11");
  want += pages(7, 10);
  EXPECT_EQ(JsonInt(server.Stats(), "requests"), want);
  EXPECT_NE(again.err.find("0 new days, 3 refreshed, 7 already held"), std::string::npos)
      << again.err;
  // A day later: the new day 09-11 and the window 09-09 .. 09-10.
  CommandResult next = run_as_of("2025-09-12");
  want += pages(8, 11);
  EXPECT_EQ(JsonInt(server.Stats(), "requests"), want);
  EXPECT_NE(next.err.find("1 new days, 2 refreshed, 8 already held"), std::string::npos)
      << next.err;
  runner_.ExpectAllDaysMatch(server, {dates.begin(), dates.begin() + 11});
  EXPECT_EQ(LedgerReader(runner_.db()).DuplicateRows(), 0);
}

TEST_F(BackfillE2eTest, SeveralSitesAndTypesRunAsReportsOfOneCoordinator) {
  MockGsc server({"--latency-ms", "5", "--qpm", "1200", "--qpm-window", "6", "--rows-per-day",
                  "300", "--seed", "23"});
  const auto dates = BackfillRunner::Dates("2025-10-01", 4);
  auto args = runner_.Args(server, dates.front(), dates.back(), 1);  // one --site already
  args.insert(args.end(),
              {"--site", "https://www.example.org/", "--type", "web", "--type", "image"});
  CommandResult run = RunCommand(args, seconds(120));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("pages done in 4 reports"), std::string::npos) << run.out;
  // --max-concurrency 1 holds for the whole process, across every report.
  EXPECT_EQ(JsonInt(server.Stats(), "max_in_flight"), 1);
  LedgerReader reader(runner_.db());
  EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM reports"), 4);
  EXPECT_EQ(reader.Scalar("SELECT COUNT(DISTINCT report_id) FROM batches"), 4);
  EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state <> 'done'"), 0);
  EXPECT_EQ(reader.DuplicateRows(), 0);
}

}  // namespace
}  // namespace batchfetch::testing
