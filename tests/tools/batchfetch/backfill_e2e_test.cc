// End-to-end: the batchfetch binary against a mockgsc process, checked through the
// server's own /__stats and /__expected and the SQLite file read with plain SQL.

#include <gtest/gtest.h>

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

  // Re-running the finished job fetches nothing and changes no row.
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

}  // namespace
}  // namespace batchfetch::testing
