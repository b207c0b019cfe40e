// N means N (issue 12), server-measured: --max-concurrency bounds the requests in flight
// of the whole process across every site, and --max-concurrency 1 is exactly sequential:
// one request at a time in (report, date, start_row) order, reports in the order the
// sites were given (coordinator/batch_plan.h).

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <string>
#include <tuple>
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

// (site, date, start_row) of one request.
using PageId = std::tuple<std::string, std::string, int64_t>;

// argv for one run over sites (in this order), from BackfillRunner's defaults.
std::vector<std::string> SitesArgs(const BackfillRunner& runner, const MockGsc& server,
                                   const std::vector<std::string>& sites,
                                   const std::vector<std::string>& dates, int concurrency) {
  std::vector<std::string> args =
      runner.Args(server, dates.front(), dates.back(), concurrency, {"--site", sites.front()});
  for (std::size_t i = 1; i < sites.size(); ++i) {
    args.push_back("--site");
    args.push_back(sites[i]);
  }
  return args;
}

// The pages a complete fetch of (site, date) requests: a page with row_limit rows is
// followed by the next; a short (or empty) one ends the day.
std::vector<int64_t> PageStarts(int64_t rows, int64_t row_limit) {
  std::vector<int64_t> starts;
  for (int64_t start = 0;; start += row_limit) {
    starts.push_back(start);
    if (rows - start < row_limit) break;
  }
  return starts;
}

// Every day of every site stored exactly as /__expected says.
void ExpectSitesMatch(const MockGsc& server, const std::string& db,
                      const std::vector<std::string>& sites,
                      const std::vector<std::string>& dates) {
  LedgerReader reader(db);
  for (const std::string& site : sites) {
    auto stored = reader.Days(site, "web", BackfillRunner::kDims);
    for (const std::string& date : dates) {
      MockGsc::ExpectedDay want = server.Expected(site, "web", date, BackfillRunner::kDims);
      auto it = stored.find(date);
      EXPECT_EQ(it == stored.end() ? 0 : it->second.rows, want.rows) << site << " " << date;
      if (want.rows > 0 && it != stored.end()) {
        EXPECT_EQ(it->second.checksum, want.checksum) << site << " " << date;
      }
    }
  }
  EXPECT_EQ(reader.DuplicateRows(), 0);
}

class SequentialOrderTest : public ::testing::Test {
 protected:
  TempDir dir_;
  BackfillRunner runner_{dir_.File("ledger.db")};
};

TEST_F(SequentialOrderTest, ConcurrencyOneWithThreeSitesSendsOneRequestAtATimeInReportOrder) {
  MockGsc server({"--latency-ms", "20", "--rows-per-day", "400", "--seed", "1"});
  // Not in alphabetical order: the order given is the order served.
  const std::vector<std::string> sites = {"sc-domain:zeta.example", "https://alpha.example/",
                                          "sc-domain:mid.example"};
  const auto dates = BackfillRunner::Dates("2025-03-10", 4);

  std::vector<PageId> want;
  for (const std::string& site : sites) {
    for (const std::string& date : dates) {
      const int64_t rows = server.Expected(site, "web", date, BackfillRunner::kDims).rows;
      ASSERT_LT(rows, 50'000) << "test premise: no truncated day";
      for (int64_t start : PageStarts(rows, BackfillRunner::kRowLimit)) {
        want.emplace_back(site, date, start);
      }
    }
  }
  ASSERT_LE(want.size(), 64u) << "test premise: /__requests keeps the last 64 requests";
  ASSERT_GT(want.size(), sites.size() * dates.size()) << "test premise: some day has two pages";

  CommandResult run = RunCommand(SitesArgs(runner_, server, sites, dates, 1), seconds(120));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;

  boost::json::object stats = server.Stats();
  EXPECT_EQ(JsonInt(stats, "max_in_flight"), 1);
  HttpResponse log = HttpGet(server.base_url() + "/__requests");
  ASSERT_EQ(log.status, 200) << log.body;
  std::vector<PageId> got;
  const boost::json::value requests = boost::json::parse(log.body);
  for (const boost::json::value& r : requests.as_array()) {
    const std::string target(r.at("target").as_string());
    const boost::json::object& body = r.at("body").as_object();
    std::string site = "?" + target;
    for (const std::string& s : sites) {
      if (server.QueryUrl(s) == server.base_url() + target) site = s;
    }
    got.emplace_back(site, std::string(body.at("startDate").as_string()),
                     body.at("startRow").to_number<int64_t>());
  }
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i], want[i]) << "request " << i << ": got " << std::get<0>(got[i]) << " "
                               << std::get<1>(got[i]) << ":" << std::get<2>(got[i]) << ", want "
                               << std::get<0>(want[i]) << " " << std::get<1>(want[i]) << ":"
                               << std::get<2>(want[i]);
  }
  std::printf("%zu requests, max in flight %lld, in (report, date, start_row) order\n", got.size(),
              static_cast<long long>(JsonInt(stats, "max_in_flight")));
  ExpectSitesMatch(server, runner_.db(), sites, dates);
}

TEST_F(SequentialOrderTest, ConcurrencyFourWithTwelveSitesNeverHasMoreThanFourInFlight) {
  MockGsc server({"--latency-ms", "100", "--rows-per-day", "300", "--seed", "1"});
  std::vector<std::string> sites;
  for (int i = 0; i < 12; ++i) sites.push_back("sc-domain:site" + std::to_string(i) + ".example");
  const auto dates = BackfillRunner::Dates("2025-03-10", 2);
  CommandResult run = RunCommand(SitesArgs(runner_, server, sites, dates, 4), seconds(120));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  boost::json::object stats = server.Stats();
  std::printf("%lld requests over 12 sites, max in flight %lld\n",
              static_cast<long long>(JsonInt(stats, "requests")),
              static_cast<long long>(JsonInt(stats, "max_in_flight")));
  EXPECT_LE(JsonInt(stats, "max_in_flight"), 4);
  EXPECT_EQ(JsonInt(stats, "max_in_flight"), 4) << "the pool of four was never full";
  ExpectSitesMatch(server, runner_.db(), sites, dates);
}

}  // namespace
}  // namespace batchfetch::testing
