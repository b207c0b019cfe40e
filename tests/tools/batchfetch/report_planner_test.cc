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

// --- ChooseReports: --type all and --preset -----------------------------------------

std::vector<std::string> TypesOf(const std::vector<ReportSpec>& specs) {
  std::vector<std::string> out;
  for (const ReportSpec& s : specs) out.push_back(s.search_type);
  return out;
}

ReportChoice Choice(std::vector<std::string> types, std::string preset = "") {
  ReportChoice c;
  c.sites = {"sc-domain:example.com"};
  c.types = std::move(types);
  c.preset = std::move(preset);
  return c;
}

TEST(ChooseReportsTest, TypeAllKeepsOnlyTheTypesThatAcceptTheQueryDimension) {
  std::vector<ReportSpec> specs;
  ASSERT_EQ(ChooseReports(Choice({"all"}), &specs), "");  // date,query,page by default
  EXPECT_EQ(TypesOf(specs), (std::vector<std::string>{"web", "image", "video", "news"}))
      << "discover and googleNews have no query dimension";
  ASSERT_EQ(ChooseReports(Choice({"all"}, "by-page"), &specs), "");
  EXPECT_EQ(TypesOf(specs), AllSearchTypes());
}

TEST(ChooseReportsTest, TypeAllWithByPropertyDropsTheNewsSurfaces) {
  ReportChoice c = Choice({"all"}, "by-country");
  c.aggregation_type = "byProperty";
  std::vector<ReportSpec> specs;
  ASSERT_EQ(ChooseReports(c, &specs), "");
  EXPECT_EQ(TypesOf(specs), (std::vector<std::string>{"web", "image", "video", "news"}));
}

TEST(ChooseReportsTest, TypeAllThatNoTypeAcceptsSaysWhy) {
  ReportChoice c = Choice({"all"});
  c.dimensions = {"date", "hour"};  // needs --data-state hourly_all
  std::vector<ReportSpec> specs;
  EXPECT_EQ(ChooseReports(c, &specs),
            "--type all: no search type accepts this query: the hour dimension needs "
            "--data-state hourly_all");
}

TEST(ChooseReportsTest, EverySiteTimesEveryTypeInTheOrderGivenEachOnce) {
  ReportChoice c = Choice({"image", "web", "image"});
  c.sites = {"sc-domain:a.com", "https://b.com/"};
  std::vector<ReportSpec> specs;
  ASSERT_EQ(ChooseReports(c, &specs), "");
  ASSERT_EQ(specs.size(), 4u);
  EXPECT_EQ(specs[0].site + " " + specs[0].search_type, "sc-domain:a.com image");
  EXPECT_EQ(specs[1].site + " " + specs[1].search_type, "sc-domain:a.com web");
  EXPECT_EQ(specs[3].site + " " + specs[3].search_type, "https://b.com/ web");
}

TEST(ChooseReportsTest, PresetsSetTheDimensions) {
  const std::vector<std::pair<std::string, std::string>> want = {
      {"by-date", "date"},
      {"by-country", "date,country"},
      {"by-device", "date,device"},
      {"by-page", "date,page"},
      {"by-query", "date,query"},
      {"by-query-page", "date,query,page"},
      {"by-search-appearance", "searchAppearance"}};
  ASSERT_EQ(Presets().size(), want.size());
  for (const auto& [preset, dims] : want) {
    std::vector<ReportSpec> specs;
    ASSERT_EQ(ChooseReports(Choice({"web"}, preset), &specs), "") << preset;
    ASSERT_EQ(specs.size(), 1u);
    EXPECT_EQ(specs[0].DimensionsCsv(), dims) << preset;
  }
  std::vector<ReportSpec> specs;
  EXPECT_NE(ChooseReports(Choice({"web"}, "by-nothing"), &specs), "");
}

TEST(ChooseReportsTest, AnInvalidExplicitTypeIsRefusedWithTheApisRule) {
  std::vector<ReportSpec> specs;
  EXPECT_EQ(ChooseReports(Choice({"discover"}, "by-query"), &specs),
            "type discover has no query dimension; remove query from --dimensions");
}

TEST(AppearanceSecondPassTest, OneFilteredReportPerAppearanceFoundSortedAndOnce) {
  std::vector<ReportSpec> first;
  ASSERT_EQ(ChooseReports(Choice({"discover"}, "by-search-appearance"), &first), "");
  ASSERT_EQ(first.size(), 1u);
  const std::vector<ReportSpec> second =
      AppearanceSecondPass(first[0], {"VIDEO", "", "AMP_BLUE_LINK", "VIDEO"});
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].filters, (std::vector<std::string>{"searchAppearance:equals:AMP_BLUE_LINK"}));
  EXPECT_EQ(second[1].filters, (std::vector<std::string>{"searchAppearance:equals:VIDEO"}));
  for (const ReportSpec& s : second) {
    EXPECT_EQ(s.site, first[0].site);
    EXPECT_EQ(s.search_type, "discover");
    EXPECT_EQ(s.DimensionsCsv(), "date,page");
    EXPECT_NE(s.Id(), first[0].Id());
  }
  EXPECT_TRUE(AppearanceSecondPass(first[0], {}).empty());
}

TEST(AppearanceSecondPassTest, AnAppearanceTheApiWouldRefuseIsLeftOut) {
  ReportSpec first;
  first.site = "sc-domain:example.com";
  first.dimensions = {"searchAppearance"};
  first.aggregation_type = "byProperty";  // byProperty refuses the page dimension
  EXPECT_TRUE(AppearanceSecondPass(first, {"VIDEO"}).empty());
}

}  // namespace
}  // namespace batchfetch
