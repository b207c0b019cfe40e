// Many processes on one SQLite ledger: they share the pages (each does some, none is
// stored twice), the quota (the server never sees a window over the shared budget), and
// each other's leftovers (a killed or stalled process's pages come back after its lease).

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/backfill_runner.h"
#include "tests/tools/batchfetch/ledger_reader.h"
#include "tests/tools/batchfetch/multiprocess_fleet.h"

namespace batchfetch::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Waits until the server has answered at least n requests (10 s at most).
void WaitForRequests(const MockGsc& server, int64_t n) {
  for (int i = 0; i < 400 && JsonInt(server.Stats(), "requests") < n; ++i) {
    std::this_thread::sleep_for(milliseconds(25));
  }
}

class MultiprocessSqliteTest : public ::testing::Test {
 protected:
  void ExpectAllDone(const std::vector<std::string>& dates) {
    runner_.ExpectAllDaysMatch(*server_, dates);
    LedgerReader reader(runner_.db());
    EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state <> 'done'"), 0);
  }

  TempDir dir_;
  BackfillRunner runner_{dir_.File("ledger.db")};
  std::unique_ptr<MockGsc> server_;
};

TEST_F(MultiprocessSqliteTest, ThreeProcessesShareSixtyDaysAndOneQuota) {
  // qpm 120 x 0.8 = budget 96 per 6 s window, shared by all three; ~200 pages need three
  // windows, so the quota is what paces them.
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
  EXPECT_EQ(pages, LedgerReader(runner_.db()).Scalar("SELECT COUNT(*) FROM batches"))
      << "every page persisted once";
  EXPECT_GT(JsonInt(stats, "requests"), 96) << "the run must outlast one quota window";
}

TEST_F(MultiprocessSqliteTest, EightProcessesRaceForOnePageAndExactlyOneWins) {
  server_ = std::make_unique<MockGsc>(
      std::vector<std::string>{"--latency-ms", "300", "--rows-per-day", "100", "--seed", "5"});
  Fleet fleet(runner_.Args(*server_, "2025-02-01", "2025-02-01", 2), 8, dir_.path().string());
  const std::vector<int> codes = fleet.WaitAll(seconds(30));
  int winners = 0;
  for (int i = 0; i < fleet.size(); ++i) {
    EXPECT_EQ(codes[i], 0) << fleet.OutputOf(i);
    const int64_t pages = fleet.PagesOf(i);
    EXPECT_TRUE(pages == 0 || pages == 1) << fleet.OutputOf(i);
    winners += pages == 1 ? 1 : 0;
  }
  EXPECT_EQ(winners, 1);
  EXPECT_EQ(JsonInt(server_->Stats(), "requests"), 1);
  ExpectAllDone({"2025-02-01"});
}

TEST_F(MultiprocessSqliteTest, AKilledProcessesPagesComeBackAfterItsLease) {
  server_ = std::make_unique<MockGsc>(std::vector<std::string>{
      "--latency-ms", "40", "--rows-per-day", "1200", "--seed", "9", "--qpm", "100000"});
  const auto dates = BackfillRunner::Dates("2025-03-01", 40);
  Fleet fleet(runner_.Args(*server_, dates.front(), dates.back(), 3, {"--lease", "2"}), 3,
              dir_.path().string());
  WaitForRequests(*server_, 20);
  ASSERT_TRUE(fleet.process(0).Kill(SIGKILL));
  const std::vector<int> codes = fleet.WaitAll(seconds(50));
  EXPECT_EQ(codes[0], 128 + SIGKILL);
  for (int i = 1; i < fleet.size(); ++i) EXPECT_EQ(codes[i], 0) << fleet.OutputOf(i);
  ExpectAllDone(dates);
}

TEST_F(MultiprocessSqliteTest, AStalledOwnersLateCompletionsChangeNothing) {
  server_ = std::make_unique<MockGsc>(std::vector<std::string>{
      "--latency-ms", "200", "--rows-per-day", "600", "--seed", "13", "--qpm", "100000"});
  const auto dates = BackfillRunner::Dates("2025-04-01", 12);
  const auto args = runner_.Args(*server_, dates.front(), dates.back(), 4, {"--lease", "1"});
  Fleet stalled(args, 1, dir_.path().string());
  WaitForRequests(*server_, 2);
  // Frozen with requests in flight and leases held: no renewals; the leases expire.
  ASSERT_TRUE(stalled.process(0).Kill(SIGSTOP));
  std::this_thread::sleep_for(milliseconds(1200));
  CommandResult takeover = RunCommand(
      [&] {
        auto a = args;
        a.push_back("--worker-id");
        a.push_back("takeover");
        return a;
      }(),
      seconds(40));
  EXPECT_EQ(takeover.exit_code, 0) << takeover.out << takeover.err;
  ExpectAllDone(dates);
  const int64_t rows_before = LedgerReader(runner_.db()).TotalRows();
  ASSERT_TRUE(stalled.process(0).Kill(SIGCONT));
  const std::vector<int> codes = stalled.WaitAll(seconds(30));
  EXPECT_EQ(codes[0], 0) << stalled.OutputOf(0);
  // Its responses came back after the takeover: fenced out, it wrote nothing at all.
  ExpectAllDone(dates);
  EXPECT_EQ(LedgerReader(runner_.db()).TotalRows(), rows_before);
  EXPECT_GT(JsonInt(server_->Stats(), "pages_fetched_more_than_once"), 0)
      << "the takeover must have refetched pages the stalled owner held";
  EXPECT_EQ(LedgerReader(runner_.db())
                .Scalar("SELECT COUNT(*) FROM batches WHERE "
                        "lease_owner IS NOT NULL"),
            0);
}

}  // namespace
}  // namespace batchfetch::testing
