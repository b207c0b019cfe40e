// Lost lease (issue 11): owner A fetches a provisional day (dataState all) with a short
// lease and is SIGSTOPped while a request is in flight, past its lease. Process B, whose
// API already serves the day as final, takes the day over and completes it. A is then
// resumed, receives its (provisional) answer, and must commit nothing: the stored day is
// exactly the final answer and is not marked provisional.
//
// Determinism: A's server answers after 3 s, so A is stopped while mockgsc holds its
// request (seen in /__stats), and its answer is waiting in the socket before A resumes.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/reports/ledger_target.h"
#include "tests/tools/batchfetch/reports/reports_ledger.h"
#include "tests/tools/batchfetch/reports/reports_scenario.h"

namespace batchfetch::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Seed 4, 1000 rows a day, API today 2025-03-10: 2025-03-09 is provisional with 290 rows
// (final: 441), one page; 2025-03-08 is provisional with 1059 rows (final: 1533), three.
const std::vector<std::string> kData = {"--seed", "4", "--rows-per-day", "1000"};
constexpr const char* kTodayA = "2025-03-10";  // the day is provisional for A
constexpr const char* kTodayB = "2025-03-20";  // and final for B

std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Waits until server has received `requests` query requests and holds one unanswered.
bool WaitForRequestInFlight(const MockGsc& server, int64_t requests, seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto stats = server.Stats();
    if (JsonInt(stats, "requests") == requests && JsonInt(stats, "in_flight") == 1) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

// A is stopped while its request number `stop_at` (1-based) is in flight.
void RunLostLease(const std::string& date, int64_t stop_at) {
  TempDir dir;
  const std::string db = NewLedgerTarget(dir);
  MockGsc server_a(With(kData, {"--today", kTodayA, "--latency-ms", "3000"}));
  MockGsc server_b(With(kData, {"--today", kTodayB, "--latency-ms", "5"}));
  const MockGsc::ExpectedDay provisional = ExpectedAs(server_a, date, "all");
  const MockGsc::ExpectedDay final_day = ExpectedAs(server_b, date, "all");
  ASSERT_EQ(final_day.checksum, ExpectedAs(server_b, date, "final").checksum);
  ASSERT_NE(provisional.checksum, final_day.checksum) << "pick a day whose fresh data differs";
  ASSERT_GE(PagesOf(provisional.rows), stop_at) << "the day has too few pages for this test";

  const std::vector<std::string> range = {"--from", date, "--to", date, "--data-state", "all"};
  Subprocess::Options a_options;
  a_options.argv = BackfillArgs(db, server_a,
                                With(range, {"--today", kTodayA, "--lease", "2",
                                             "--max-concurrency", "1", "--worker-id", "owner-a"}));
  a_options.stdout_path = dir.File("a.out");
  a_options.stderr_path = dir.File("a.err");
  Subprocess owner_a(std::move(a_options));
  ASSERT_TRUE(WaitForRequestInFlight(server_a, stop_at, seconds(30)))
      << "A never had request " << stop_at << " in flight";
  ASSERT_TRUE(owner_a.Kill(SIGSTOP));
  std::this_thread::sleep_for(milliseconds(3500));  // A's 2 s lease runs out

  const CommandResult b = RunBatchfetch(BackfillArgs(
      db, server_b, With(range, {"--today", kTodayB, "--lease", "10", "--worker-id", "owner-b"})));
  ReportsLedger ledger(db);
  const std::string report_id = ledger.OnlyReportId();
  EXPECT_EQ(b.exit_code, 0) << b.out << b.err;
  {
    SCOPED_TRACE("after B completed the day, before A resumed");
    ExpectDaysMatch(ledger, report_id, server_b, {date}, "all");
  }

  // A's answer has arrived in its socket; it resumes and must write nothing.
  EXPECT_EQ(JsonInt(server_a.Stats(), "in_flight"), 0);
  ASSERT_TRUE(owner_a.Kill(SIGCONT));
  const std::optional<int> a_exit = owner_a.Wait(seconds(60));
  ASSERT_TRUE(a_exit.has_value()) << "A did not end after SIGCONT";
  EXPECT_EQ(*a_exit, 0) << "the day is done (by B)";

  const auto stored = ledger.Days(report_id);
  ASSERT_EQ(stored.count(date), 1u);
  EXPECT_EQ(stored.at(date).rows, final_day.rows) << "A's provisional rows were written";
  EXPECT_EQ(stored.at(date).checksum, final_day.checksum) << "A's provisional rows were written";
  EXPECT_EQ(ledger.DuplicateRows(), 0);
  const std::string day = "CAST(date AS TEXT) = " + SqlText(date);
  EXPECT_EQ(ledger.Scalar("SELECT COUNT(*) FROM batches WHERE " + day +
                          " AND CAST(provisional AS INTEGER) <> 0"),
            0)
      << "the day is final but a page is marked provisional";
  EXPECT_EQ(ledger.Scalar("SELECT COUNT(*) FROM days WHERE " + day +
                          " AND CAST(provisional AS INTEGER) = 0"),
            1)
      << "the day is not held as final";
  EXPECT_EQ(ledger.Scalar("SELECT COUNT(*) FROM batches WHERE " + day + " AND state <> 'done'"), 0);
  EXPECT_EQ(ledger.Scalar("SELECT COUNT(*) FROM batches WHERE " + day), PagesOf(final_day.rows));
  const CommandResult verify = RunBatchfetch({BatchfetchBin(), "verify", "--db", db});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST(LostLeaseTest, AnOwnerStoppedPastItsLeaseCommitsNothingOfItsInFlightPage) {
  RunLostLease("2025-03-09", 1);  // page 0 in flight
}

TEST(LostLeaseTest, ADayStartedProvisionalAndTakenOverHoldsOnlyTheFinalAnswer) {
  RunLostLease("2025-03-08", 2);  // page 0 committed (provisional), page 500 in flight
}

}  // namespace
}  // namespace batchfetch::testing
