// Fresh data: a day first fetched while provisional (dataState all, on/after the API's
// firstIncompleteDate) is replaced by its final rows on the next run, with no duplicate
// and no stale row, and `batchfetch verify` stays clean. mockgsc's --today moves the
// freshness boundary between the two runs.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/mockgsc_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/backfill_runner.h"
#include "tests/tools/batchfetch/ledger_reader.h"

namespace batchfetch::testing {
namespace {

using std::chrono::seconds;

// The UTC date days_from_today days from now, YYYY-MM-DD.
std::string UtcDate(int days_from_today) {
  const auto day = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()) +
                   std::chrono::days(days_from_today);
  const std::chrono::year_month_day ymd{day};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// GET /__expected for one day as a query with data_state is served.
MockGsc::ExpectedDay ExpectedAs(const MockGsc& server, const std::string& date,
                                const std::string& data_state) {
  const HttpResponse response = HttpGet(
      server.base_url() + "/__expected?site=" + EncodeUriComponent(BackfillRunner::kSite) +
      "&type=web&date=" + date + "&dimensions=" + EncodeUriComponent(BackfillRunner::kDims) +
      "&dataState=" + data_state);
  EXPECT_EQ(response.status, 200) << response.body;
  const boost::json::object o = boost::json::parse(response.body).as_object();
  return {o.at("rows").to_number<int64_t>(), std::string(o.at("checksum").as_string()),
          o.at("truncated").as_bool()};
}

TEST(FreshDataTest, ProvisionalDaysAreReplacedByTheirFinalRowsOnTheNextRun) {
  TempDir dir;
  BackfillRunner runner(dir.File("ledger.db"));
  const std::vector<std::string> dates = BackfillRunner::Dates(UtcDate(-6), 6);  // -6 .. -1
  const std::string first_incomplete = UtcDate(-2);
  const std::string refresh_from = UtcDate(-3);  // --refresh-days 3 (the default)
  const std::vector<std::string> common = {"--rows-per-day", "700", "--seed", "5"};
  // batchfetch counts its refresh window from the same today as run 1's server.
  const std::vector<std::string> all = {"--data-state", "all", "--today", UtcDate(0)};

  // Run 1: today is today, so the last two days of the range are provisional.
  {
    std::vector<std::string> args = common;
    args.insert(args.end(), {"--today", UtcDate(0)});
    MockGsc server(args);
    CommandResult run =
        RunCommand(runner.Args(server, dates.front(), dates.back(), 4, all), seconds(120));
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    EXPECT_NE(run.err.find("2 provisional days stored"), std::string::npos) << run.err;

    LedgerReader reader(runner.db());
    auto stored = reader.Days(BackfillRunner::kSite, "web", BackfillRunner::kDims, "all");
    for (const std::string& date : dates) {
      const bool provisional = date >= first_incomplete;
      const MockGsc::ExpectedDay want = ExpectedAs(server, date, provisional ? "all" : "final");
      EXPECT_EQ(stored[date].rows, want.rows) << date;
      if (want.rows > 0) {
        EXPECT_EQ(stored[date].checksum, want.checksum) << date;
      }
      EXPECT_EQ(reader.Scalar("SELECT count(*) FROM batches WHERE date = '" + date +
                              "' AND start_row = 0 AND provisional = 1"),
                provisional ? 1 : 0)
          << date;
      if (provisional) {
        // The test means something only if the final data differs: more rows, other values.
        const MockGsc::ExpectedDay final_day = ExpectedAs(server, date, "final");
        EXPECT_GT(want.rows, 0) << date << ": pick a seed whose fresh days have rows";
        EXPECT_LT(want.rows, final_day.rows) << date;
        EXPECT_NE(want.checksum, final_day.checksum) << date;
      }
    }
    EXPECT_EQ(reader.DuplicateRows(), 0);
  }

  // Run 2, ten days later: everything is final. Days within --refresh-days and the
  // provisional ones are fetched again; the older ones are not.
  std::vector<std::string> args = common;
  args.insert(args.end(), {"--today", UtcDate(10)});
  MockGsc server(args);
  int64_t want_requests = 0;
  for (const std::string& date : dates) {
    if (date < refresh_from) continue;
    // A full page asks for the next one, except at the API's 50,000-row daily cap.
    const int64_t rows = ExpectedAs(server, date, "final").rows;
    want_requests +=
        std::min<int64_t>(rows / BackfillRunner::kRowLimit + 1, 50000 / BackfillRunner::kRowLimit);
  }
  CommandResult run =
      RunCommand(runner.Args(server, dates.front(), dates.back(), 4, all), seconds(120));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.err.find("provisional days stored"), std::string::npos) << run.err;

  const boost::json::object stats = server.Stats();
  EXPECT_EQ(JsonInt(stats, "requests"), want_requests);
  EXPECT_EQ(JsonInt(stats, "pages_fetched_more_than_once"), 0);
  runner.ExpectAllDaysMatch(server, dates, "all");  // the final rows exactly, no duplicate
  LedgerReader reader(runner.db());
  EXPECT_EQ(reader.Scalar("SELECT count(*) FROM batches WHERE provisional = 1"), 0);
  EXPECT_EQ(reader.Scalar("SELECT count(*) FROM batches WHERE state <> 'done'"), 0);

  CommandResult verify = RunCommand({runner.bin(), "verify", "--db", runner.db()}, seconds(60));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

}  // namespace
}  // namespace batchfetch::testing
