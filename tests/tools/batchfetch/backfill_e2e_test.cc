// End-to-end: the batchfetch binary against a mockgsc process, checked through the
// server's own /__stats and /__expected and the SQLite file read with plain SQL.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/ledger_reader.h"

namespace batchfetch::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kSite[] = "sc-domain:example.com";
constexpr char kDims[] = "date,query,page";

std::string Bin() {
  const char* bin = std::getenv("BATCHFETCH_BIN");
  if (!bin) throw std::runtime_error("BATCHFETCH_BIN is not set");
  return bin;
}

// Dates from..to inclusive (same month arithmetic as the civil calendar).
std::vector<std::string> Dates(int year, int month, int day, int count) {
  std::vector<std::string> out;
  std::chrono::sys_days d = std::chrono::year_month_day{
      std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
      std::chrono::day{static_cast<unsigned>(day)}};
  for (int i = 0; i < count; ++i, d += std::chrono::days(1)) {
    std::chrono::year_month_day ymd{d};
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    out.push_back(buf);
  }
  return out;
}

class BackfillE2eTest : public ::testing::Test {
 protected:
  std::vector<std::string> BackfillArgs(const MockGsc& server, const std::string& from,
                                        const std::string& to, int concurrency) {
    return {Bin(),        "backfill",      "--site",        kSite,
            "--from",     from,            "--to",          to,
            "--dimensions", kDims,         "--row-limit",   "500",
            "--db",       db_,             "--api-base",    server.base_url(),
            "--max-concurrency", std::to_string(concurrency),
            "--qpm",      "1200",          "--qpm-window",  "6",
            "--retry-base", "0.05",        "--lease",       "10",
            "--progress", "never"};
  }

  // Asserts every day in dates matches /__expected, and no duplicates.
  void ExpectAllDaysMatch(const MockGsc& server, const std::vector<std::string>& dates,
                          int* multi_page_days, int* empty_days) {
    LedgerReader reader(db_);
    auto stored = reader.Days(kSite, "web", kDims);
    for (const std::string& date : dates) {
      MockGsc::ExpectedDay want = server.Expected(kSite, "web", date, kDims);
      if (want.rows > 500) ++*multi_page_days;
      if (want.rows == 0) ++*empty_days;
      auto it = stored.find(date);
      const int64_t got_rows = it == stored.end() ? 0 : it->second.rows;
      EXPECT_EQ(got_rows, want.rows) << "day " << date;
      if (want.rows > 0 && it != stored.end()) {
        EXPECT_EQ(it->second.checksum, want.checksum) << "day " << date;
      }
    }
    EXPECT_EQ(reader.DuplicateRows(), 0);
  }

  TempDir dir_;
  std::string db_ = dir_.File("ledger.db");
};

TEST_F(BackfillE2eTest, SixtyDaysMatchExpectedUnderQuotaAndResumeFetchesNothing) {
  MockGsc server({"--latency-ms", "5", "--latency-p99-ms", "20", "--qpm", "1200", "--qpm-window",
                  "6", "--rows-per-day", "300", "--seed", "7"});
  const auto dates = Dates(2025, 1, 1, 60);
  CommandResult run = RunCommand(BackfillArgs(server, dates.front(), dates.back(), 8), seconds(120));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("done"), std::string::npos) << run.out;

  int multi_page_days = 0, empty_days = 0;
  ExpectAllDaysMatch(server, dates, &multi_page_days, &empty_days);
  EXPECT_GT(multi_page_days, 0) << "the data set must cover days with two or more pages";
  EXPECT_GT(empty_days, 0) << "the data set must cover empty days";

  boost::json::object stats = server.Stats();
  EXPECT_EQ(stats.at("quota_rejections").to_number<int64_t>(), 0);
  EXPECT_LE(stats.at("max_window_requests").to_number<int64_t>(), 960);
  EXPECT_EQ(stats.at("pages_fetched_more_than_once").to_number<int64_t>(), 0);
  const int64_t requests = stats.at("requests").to_number<int64_t>();

  // Re-running the finished job fetches nothing and changes no row.
  LedgerReader before(db_);
  const int64_t rows_before = before.TotalRows();
  CommandResult again = RunCommand(BackfillArgs(server, dates.front(), dates.back(), 8), seconds(60));
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(server.Stats().at("requests").to_number<int64_t>(), requests);
  LedgerReader after(db_);
  EXPECT_EQ(after.TotalRows(), rows_before);
}

TEST_F(BackfillE2eTest, KilledHalfwayThenRerunCompletesWithSameRows) {
  MockGsc server({"--latency-ms", "20", "--qpm", "1200", "--qpm-window", "6", "--rows-per-day",
                  "300", "--seed", "11"});
  const auto dates = Dates(2025, 3, 1, 40);
  Subprocess::Options options;
  options.argv = BackfillArgs(server, dates.front(), dates.back(), 4);
  options.stdout_path = dir_.File("out1.txt");
  options.stderr_path = dir_.File("err1.txt");
  {
    Subprocess first(options);
    // Kill it once some pages have landed.
    for (int i = 0; i < 200; ++i) {
      std::this_thread::sleep_for(milliseconds(25));
      if (server.Stats().at("requests").to_number<int64_t>() >= 30) break;
    }
    ASSERT_TRUE(first.Kill(SIGKILL));
    ASSERT_EQ(first.Wait(seconds(5)), 128 + SIGKILL);
  }
  CommandResult rerun = RunCommand(BackfillArgs(server, dates.front(), dates.back(), 4), seconds(120));
  ASSERT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
  int multi_page_days = 0, empty_days = 0;
  ExpectAllDaysMatch(server, dates, &multi_page_days, &empty_days);
}

TEST_F(BackfillE2eTest, ConcurrencyOneKeepsExactlyOneRequestInFlight) {
  MockGsc server({"--latency-ms", "5", "--qpm", "1200", "--qpm-window", "6", "--rows-per-day",
                  "300", "--seed", "3"});
  const auto dates = Dates(2025, 5, 1, 10);
  CommandResult run = RunCommand(BackfillArgs(server, dates.front(), dates.back(), 1), seconds(120));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  boost::json::object stats = server.Stats();
  EXPECT_EQ(stats.at("max_in_flight").to_number<int64_t>(), 1);
  int multi_page_days = 0, empty_days = 0;
  ExpectAllDaysMatch(server, dates, &multi_page_days, &empty_days);
}

}  // namespace
}  // namespace batchfetch::testing
