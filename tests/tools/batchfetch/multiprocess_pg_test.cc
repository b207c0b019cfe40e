// Many processes on one PostgreSQL ledger (a throw-away cluster the test starts; it
// fails, never skips, when the cluster cannot start): they share the pages, one quota
// (decided on the server's clock), and a killed process's pages after its lease.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/backfill_runner.h"
#include "tests/tools/batchfetch/multiprocess_fleet.h"

namespace batchfetch::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class MultiprocessPgTest : public ::testing::Test {
 protected:
  void ExpectAllDone(const std::vector<std::string>& dates) {
    ExpectPgDaysMatch(uri_, *server_, dates);
    EXPECT_EQ(PgScalar(uri_, "SELECT count(*) FROM batches WHERE state <> 'done'"), 0);
  }

  TempDir dir_;
  std::string uri_ = PgCluster::Shared().NewDatabase();
  BackfillRunner runner_{uri_};
  std::unique_ptr<MockGsc> server_;
};

TEST_F(MultiprocessPgTest, ThreeProcessesShareSixtyDaysAndOneQuota) {
  // Four server threads: the API stamps an arrival when it arrives, and a single mockgsc
  // thread building a large day's rows (~250 ms under AddressSanitizer) would stamp the
  // requests queued behind it late, moving them into the next window.
  server_ = std::make_unique<MockGsc>(
      std::vector<std::string>{"--latency-ms", "20", "--qpm", "120", "--qpm-window", "6",
                               "--rows-per-day", "1200", "--seed", "21", "--threads", "4"});
  const auto dates = BackfillRunner::Dates("2025-01-01", 60);
  Fleet fleet(runner_.Args(*server_, dates.front(), dates.back(), 4, {"--qpm", "120"}), 3,
              dir_.path().string());
  const std::vector<int> codes = fleet.WaitAll(seconds(50));
  int64_t pages = 0;
  for (int i = 0; i < fleet.size(); ++i) {
    EXPECT_EQ(codes[i], 0) << fleet.OutputOf(i);
    EXPECT_GT(fleet.PagesOf(i), 0) << "every process did a share\n" << fleet.OutputOf(i);
    pages += fleet.PagesOf(i);
  }
  ExpectAllDone(dates);
  const boost::json::object stats = server_->Stats();
  EXPECT_LE(JsonInt(stats, "max_window_requests"), 96) << "the shared budget";
  EXPECT_EQ(JsonInt(stats, "quota_rejections"), 0);
  EXPECT_EQ(JsonInt(stats, "pages_fetched_more_than_once"), 0);
  EXPECT_EQ(pages, PgScalar(uri_, "SELECT count(*) FROM batches")) << "every page persisted once";
}

TEST_F(MultiprocessPgTest, EightProcessesRaceForOnePageAndExactlyOneWins) {
  server_ = std::make_unique<MockGsc>(
      std::vector<std::string>{"--latency-ms", "300", "--rows-per-day", "100", "--seed", "5"});
  Fleet fleet(runner_.Args(*server_, "2025-02-01", "2025-02-01", 2), 8, dir_.path().string());
  const std::vector<int> codes = fleet.WaitAll(seconds(30));
  int winners = 0;
  for (int i = 0; i < fleet.size(); ++i) {
    EXPECT_EQ(codes[i], 0) << fleet.OutputOf(i);
    winners += fleet.PagesOf(i) == 1 ? 1 : 0;
  }
  EXPECT_EQ(winners, 1);
  EXPECT_EQ(JsonInt(server_->Stats(), "requests"), 1);
  ExpectAllDone({"2025-02-01"});
}

TEST_F(MultiprocessPgTest, AKilledProcessesPagesComeBackAfterItsLease) {
  server_ = std::make_unique<MockGsc>(std::vector<std::string>{
      "--latency-ms", "40", "--rows-per-day", "1200", "--seed", "9", "--qpm", "100000"});
  const auto dates = BackfillRunner::Dates("2025-03-01", 40);
  Fleet fleet(runner_.Args(*server_, dates.front(), dates.back(), 3, {"--lease", "2"}), 3,
              dir_.path().string());
  for (int i = 0; i < 400 && JsonInt(server_->Stats(), "requests") < 20; ++i) {
    std::this_thread::sleep_for(milliseconds(25));
  }
  ASSERT_TRUE(fleet.process(0).Kill(SIGKILL));
  const std::vector<int> codes = fleet.WaitAll(seconds(50));
  EXPECT_EQ(codes[0], 128 + SIGKILL);
  for (int i = 1; i < fleet.size(); ++i) EXPECT_EQ(codes[i], 0) << fleet.OutputOf(i);
  ExpectAllDone(dates);
}

TEST_F(MultiprocessPgTest, LiveLeasesNameEveryWorkingProcess) {
  server_ = std::make_unique<MockGsc>(std::vector<std::string>{
      "--latency-ms", "100", "--rows-per-day", "100", "--seed", "3", "--qpm", "100000"});
  // More days than two processes claim at once (16 each at concurrency 2).
  const auto dates = BackfillRunner::Dates("2025-05-01", 45);
  Fleet fleet(runner_.Args(*server_, dates.front(), dates.back(), 2), 2, dir_.path().string());
  for (int i = 0; i < 400 && JsonInt(server_->Stats(), "requests") < 4; ++i) {
    std::this_thread::sleep_for(milliseconds(25));
  }
  const int64_t owners =
      PgScalar(uri_, "SELECT count(DISTINCT lease_owner) FROM batches WHERE state = 'leased'");
  EXPECT_EQ(owners, 2);
  const std::vector<int> codes = fleet.WaitAll(seconds(50));
  for (int i = 0; i < fleet.size(); ++i) EXPECT_EQ(codes[i], 0) << fleet.OutputOf(i);
  ExpectAllDone(dates);
}

}  // namespace
}  // namespace batchfetch::testing
