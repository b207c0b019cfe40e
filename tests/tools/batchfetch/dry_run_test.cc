#include "tools/batchfetch/dry_run.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/civil_date.h"

namespace batchfetch {
namespace {

TEST(DryRunTest, DaysToFetchAreTheDaysNotHeldPlusTheHeldDaysInTheRefreshWindow) {
  const std::vector<std::string> days = DaysBetween("2026-01-01", "2026-01-10");
  const std::set<std::string> held = {"2025-12-31", "2026-01-01", "2026-01-02", "2026-01-09",
                                      "2026-01-10"};
  DryRunReport r;
  CountDryRunDays(days, held, "", &r);
  EXPECT_EQ(r.days, 10);
  EXPECT_EQ(r.days_held, 4) << "a held day outside the range does not count";
  EXPECT_EQ(r.days_to_fetch, 6);
  CountDryRunDays(days, held, "2026-01-09", &r);
  EXPECT_EQ(r.days_held, 4);
  EXPECT_EQ(r.days_to_fetch, 8) << "2026-01-09 and -10 are fetched again";
}

TEST(DryRunTest, EstimateIsThePagesADayTakesPerDayToFetchAtTheBudget) {
  std::vector<DryRunReport> reports(3);
  reports[0].days_to_fetch = 480;
  reports[1].days_to_fetch = 480;
  reports[2].days_to_fetch = 0;
  RunEstimate e = EstimateRun(reports, 960, 60);
  EXPECT_EQ(e.requests, 960);
  EXPECT_DOUBLE_EQ(e.minutes, 1.0);
  e = EstimateRun(reports, 24, 6);  // a 6 s test window: 40 windows of 6 s
  EXPECT_DOUBLE_EQ(e.minutes, 4.0);
  EXPECT_EQ(EstimateRun({}, 960, 60).requests, 0);
  reports[1].pages_per_day = 2.5;  // its held days took 2.5 pages each
  EXPECT_EQ(EstimateRun(reports, 960, 60).requests, 480 + 1200);
  reports[1].pages_per_day = 0;  // never below one request a day
  EXPECT_EQ(EstimateRun(reports, 960, 60).requests, 960);
}

}  // namespace
}  // namespace batchfetch
