#include "tools/batchfetch/run_summary.h"

#include <gtest/gtest.h>

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

TEST(RunSummaryTest, OneLineWithCountsReportsAndTheBudget) {
  const std::string line = SummaryLine(Finished(RunSummary::Outcome::kDone), 3, 960, 60);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.rfind("batchfetch: done: 12 pages, 6000 rows in 2.0 s; 13 requests", 0), 0u)
      << line;
  EXPECT_NE(line.find("budget 960"), std::string::npos) << line;
  EXPECT_NE(line.find("retries 1,"), std::string::npos) << line;
  EXPECT_NE(line.find("ledger 12/12 pages done in 3 reports"), std::string::npos) << line;
  EXPECT_EQ(line.find("resume"), std::string::npos) << line;
}

TEST(RunSummaryTest, AStoppedOrHaltedRunSaysHowToResume) {
  for (auto outcome : {RunSummary::Outcome::kHalted, RunSummary::Outcome::kInterrupted}) {
    const std::string line = SummaryLine(Finished(outcome), 1, 960, 60);
    EXPECT_NE(line.find("in 1 report;"), std::string::npos) << line;
    EXPECT_NE(line.find("run the same command again to resume"), std::string::npos) << line;
  }
  EXPECT_EQ(SummaryLine(Finished(RunSummary::Outcome::kDeadPages), 1, 960, 60).find("resume"),
            std::string::npos);
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
