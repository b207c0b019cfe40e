#include "tools/batchfetch/report_planner.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace batchfetch {
namespace {

std::shared_ptr<const Report> ReportOf(const std::string& site, const std::string& type) {
  ReportSpec spec;
  spec.site = site;
  spec.search_type = type;
  return Report::Make(spec);
}

class ReportPlannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(OpenLedger(dir_.File("ledger.db"), OpenMode::kCreate, &ledger_).ok());
    job_.reports = {ReportOf("sc-domain:a.com", "web"), ReportOf("sc-domain:b.com", "image")};
    job_.from = "2025-03-01";
    job_.to = "2025-03-10";
    job_.refresh_days = 3;
  }

  std::vector<PlannedReport> Plan(const std::string& today) {
    std::vector<PlannedReport> planned;
    Status s = PlanReports(*ledger_, job_, today, &planned);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return planned;
  }

  testing::TempDir dir_;
  std::unique_ptr<Ledger> ledger_;
  Job job_;
};

TEST_F(ReportPlannerTest, RegistersEveryReportAndPlansEachDayOnce) {
  const std::vector<PlannedReport> planned = Plan("2025-03-11");
  ASSERT_EQ(planned.size(), 2u);
  for (const PlannedReport& p : planned) {
    EXPECT_EQ(p.plan.added, 10);
    EXPECT_EQ(p.plan.refreshed, 0);
    EXPECT_EQ(p.plan.held, 0);
  }
  std::vector<Report> reports;
  ASSERT_TRUE(ledger_->ListReports(&reports).ok());
  ASSERT_EQ(reports.size(), 2u);
  ReportProgress progress;
  const std::vector<std::string> ids = {job_.reports[0]->id, job_.reports[1]->id};
  ASSERT_TRUE(ledger_->Progress(ids, &progress).ok());
  EXPECT_EQ(progress.pending, 20) << "one page 0 per day and report";

  // Planned again before anything was fetched: every day is already being fetched.
  const std::vector<PlannedReport> again = Plan("2025-03-11");
  EXPECT_EQ(again[0].plan.added, 0);
  EXPECT_EQ(again[0].plan.unfinished, 10);
  ASSERT_TRUE(ledger_->Progress(ids, &progress).ok());
  EXPECT_EQ(progress.pending, 20);
}

TEST_F(ReportPlannerTest, AWiderRangeAddsOnlyTheNewDays) {
  Plan("2025-03-20");
  job_.to = "2025-03-15";
  const std::vector<PlannedReport> wider = Plan("2025-03-20");
  EXPECT_EQ(wider[0].plan.added, 5);
  EXPECT_EQ(wider[0].plan.unfinished, 10);
}

}  // namespace
}  // namespace batchfetch
