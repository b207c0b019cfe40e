// Refresh under a reader (issue 11): while a run replaces a held three-page day, a reader
// polling COUNT(*) of that report's day every 2 ms sees the old complete count or the new
// complete count, never another number (no half day, no hole, no duplicate).

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/reports/day_count_poller.h"
#include "tests/tools/batchfetch/reports/ledger_target.h"
#include "tests/tools/batchfetch/reports/reports_ledger.h"
#include "tests/tools/batchfetch/reports/reports_scenario.h"

namespace batchfetch::testing {
namespace {

// Seed 4, 1000 rows a day: 2025-03-08 is provisional with 1059 rows (3 pages) while the
// API's today is 2025-03-10, and final with 1533 rows (4 pages) from 2025-03-13 on.
const std::vector<std::string> kData = {"--seed", "4", "--rows-per-day", "1000"};
constexpr const char* kDay = "2025-03-08";

std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(RefreshUnderReaderTest, AReaderSeesOnlyTheOldOrTheNewCompleteDay) {
  TempDir dir;
  const std::string db = NewLedgerTarget(dir);
  const std::vector<std::string> range = {"--from", kDay, "--to", kDay, "--data-state", "all"};

  int64_t old_rows = 0;
  {
    MockGsc server(With(kData, {"--today", "2025-03-10", "--latency-ms", "5"}));
    old_rows = ExpectedAs(server, kDay, "all").rows;
    ASSERT_EQ(PagesOf(old_rows), 3) << "the data generator changed: pick another day";
    const CommandResult run =
        RunBatchfetch(BackfillArgs(db, server, With(range, {"--today", "2025-03-10"})));
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    ReportsLedger ledger(db);
    ExpectDaysMatch(ledger, ledger.OnlyReportId(), server, {kDay}, "all");
  }

  // Ten days later the day is final: the refresh replaces it, 250 ms a page.
  MockGsc server(With(kData, {"--today", "2025-03-20", "--latency-ms", "250"}));
  const MockGsc::ExpectedDay new_day = ExpectedAs(server, kDay, "all");
  ASSERT_NE(new_day.rows, old_rows);
  ReportsLedger ledger(db);
  const std::string report_id = ledger.OnlyReportId();

  DayCountPoller reader(db, report_id, kDay);
  const CommandResult run =
      RunBatchfetch(BackfillArgs(db, server, With(range, {"--today", "2025-03-20"})));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a few polls of the result
  reader.Stop();
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  ASSERT_EQ(reader.error(), "");
  EXPECT_EQ(RequestCount(server), PagesOf(new_day.rows));

  std::string seen;
  for (const auto& [count, times] : reader.seen()) {
    seen += std::to_string(count) + " x" + std::to_string(times) + "; ";
  }
  EXPECT_GT(reader.polls(), 100) << seen;
  for (const auto& [count, times] : reader.seen()) {
    EXPECT_TRUE(count == old_rows || count == new_day.rows)
        << "a reader saw " << count << " rows (" << times << " times); old " << old_rows << ", new "
        << new_day.rows << "; seen: " << seen;
  }
  EXPECT_EQ(reader.seen().count(old_rows), 1u) << seen;
  EXPECT_EQ(reader.seen().count(new_day.rows), 1u) << seen;

  ExpectDaysMatch(ledger, report_id, server, {kDay}, "all");
  EXPECT_EQ(ledger.DuplicateRows(), 0);
  EXPECT_EQ(ledger.Scalar("SELECT COUNT(*) FROM batches WHERE CAST(provisional AS INTEGER) <> 0"),
            0);
}

}  // namespace
}  // namespace batchfetch::testing
