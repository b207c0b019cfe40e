#include "tools/batchfetch/run_summary.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <sstream>
#include <string>

namespace batchfetch {
namespace {

RunSummary Finished(RunSummary::Outcome outcome) {
  RunSummary s;
  s.outcome = outcome;
  s.pages = 12;
  s.rows = 6000;
  s.requests = 13;
  s.retries = 1;
  s.progress.done = 12;
  s.elapsed = std::chrono::seconds(2);
  s.latency_ms = {10, 20, 30};
  return s;
}

constexpr SummaryContext kThreeReports{3, 960, 60};

TEST(RunSummaryTest, AFewLinesWithCountsReportsAndTheBudget) {
  RunSummary big = Finished(RunSummary::Outcome::kDone);
  big.rows = 1234567;
  big.requests = 4321;
  const std::string text = SummaryText(big, {3, 960, 1});
  EXPECT_EQ(text.rfind("batchfetch: done: 12 pages, 1,234,567 rows in 2.0 s; 4,321 requests\n", 0),
            0u)
      << text;
  EXPECT_LE(std::count(text.begin(), text.end(), '\n'), 5) << text;
  EXPECT_NE(text.back(), '\n');
  EXPECT_NE(text.find("budget 960"), std::string::npos) << text;
  EXPECT_NE(text.find("retries 1,"), std::string::npos) << text;
  EXPECT_NE(text.find("129,630/min"), std::string::npos) << text;  // 4,321 in 2 s
  // A run shorter than one window has no rate (it would extrapolate a burst).
  EXPECT_EQ(SummaryText(big, kThreeReports).find("/min"), std::string::npos);
  EXPECT_NE(text.find("12/12 pages done in 3 reports"), std::string::npos) << text;
  EXPECT_EQ(text.find("resume"), std::string::npos) << text;
  for (const char* internal : {"mailbox", "ledger", "lease", "coordinator"}) {
    EXPECT_EQ(text.find(internal), std::string::npos) << internal << "\n" << text;
  }
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 100u) << line;
}

// A run halted by a database it could not read cannot say how far the report got: it
// says so instead of "0/0 pages done".
TEST(RunSummaryTest, ProgressTheDatabaseCouldNotGiveIsUnknownNotZero) {
  RunSummary s = Finished(RunSummary::Outcome::kHalted);
  s.progress = ReportProgress();
  s.progress_unknown = true;
  const std::string text = SummaryText(s, {1, 960, 60});
  EXPECT_NE(text.find("progress  unknown (the database could not be read) in 1 report"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("0/0"), std::string::npos) << text;
  EXPECT_EQ(boost::json::parse(SummaryJson(s, {1, 960, 60})).at("progress_unknown"), true);
}

TEST(RunSummaryTest, AStoppedOrHaltedRunSaysHowToResume) {
  for (auto outcome : {RunSummary::Outcome::kHalted, RunSummary::Outcome::kInterrupted}) {
    const std::string text = SummaryText(Finished(outcome), {1, 960, 60});
    EXPECT_NE(text.find("done in 1 report\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\nrun the same command again to resume"), std::string::npos) << text;
  }
  EXPECT_EQ(SummaryText(Finished(RunSummary::Outcome::kDeadPages), {1, 960, 60}).find("resume"),
            std::string::npos);
}

TEST(RunSummaryTest, JsonHasTheSameFiguresOnOneLine) {
  RunSummary s = Finished(RunSummary::Outcome::kInterrupted);
  s.signal = 2;
  s.max_mailbox_depth = 7;
  const std::string json = SummaryJson(s, kThreeReports);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  const boost::json::object o = boost::json::parse(json).as_object();
  EXPECT_EQ(o.at("outcome").as_string(), "interrupted");
  EXPECT_EQ(o.at("exit_code").as_int64(), 130);
  EXPECT_EQ(o.at("pages").as_int64(), 12);
  EXPECT_EQ(o.at("rows").as_int64(), 6000);
  EXPECT_EQ(o.at("requests").as_int64(), 13);
  EXPECT_EQ(o.at("budget").as_int64(), 960);
  EXPECT_EQ(o.at("reports").as_int64(), 3);
  EXPECT_EQ(o.at("mailbox_peak").as_int64(), 7);
  EXPECT_EQ(o.at("latency_ms").at("p99").as_int64(), 30);
  EXPECT_EQ(o.at("elapsed_ms").as_int64(), 2000);
  EXPECT_EQ(o.at("window_ms").as_int64(), 60000);
  EXPECT_TRUE(o.at("resume").as_bool());
}

TEST(RunSummaryTest, PercentileIsTheNearestRank) {
  EXPECT_EQ(Percentile({}, 0.5), 0);
  EXPECT_EQ(Percentile({5}, 0.99), 5);
  EXPECT_EQ(Percentile({4, 1, 3, 2}, 0.5), 2);
  EXPECT_EQ(Percentile({4, 1, 3, 2}, 0.99), 4);
  EXPECT_EQ(Percentile({4, 1, 3, 2}, 0), 1);
}

}  // namespace
}  // namespace batchfetch
