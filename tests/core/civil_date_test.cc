#include "core/civil_date.h"

#include <gtest/gtest.h>

namespace batchfetch {
namespace {

TEST(DaysBetweenTest, ListsEveryDayInclusiveAcrossLeapDayAndMonthEnd) {
  EXPECT_EQ(DaysBetween("2024-02-27", "2024-03-02"),
            (std::vector<std::string>{"2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01",
                                      "2024-03-02"}));
  EXPECT_EQ(DaysBetween("2023-12-31", "2024-01-01"),
            (std::vector<std::string>{"2023-12-31", "2024-01-01"}));
  EXPECT_EQ(DaysBetween("2023-02-28", "2023-03-01"),
            (std::vector<std::string>{"2023-02-28", "2023-03-01"}));
  EXPECT_EQ(DaysBetween("2024-05-05", "2024-05-05"), (std::vector<std::string>{"2024-05-05"}));
  EXPECT_EQ(DaysBetween("2020-01-01", "2020-12-31").size(), 366u);
}

TEST(DaysBetweenTest, IsEmptyForReversedOrInvalidDates) {
  EXPECT_TRUE(DaysBetween("2024-03-02", "2024-03-01").empty());
  EXPECT_TRUE(DaysBetween("2023-02-29", "2023-03-01").empty());
  EXPECT_TRUE(DaysBetween("2024-1-01", "2024-01-02").empty());
  EXPECT_TRUE(DaysBetween("2024-01-01", "").empty());
}

TEST(IsValidDateTest, AcceptsOnlyRealDaysInYyyyMmDd) {
  EXPECT_TRUE(IsValidDate("2024-02-29"));
  EXPECT_FALSE(IsValidDate("2023-02-29"));
  EXPECT_FALSE(IsValidDate("2024-13-01"));
  EXPECT_FALSE(IsValidDate("2024-00-10"));
  EXPECT_FALSE(IsValidDate("2024/01/01"));
  EXPECT_FALSE(IsValidDate("2024-01-01T"));
  EXPECT_FALSE(IsValidDate("20x4-01-01"));
}

TEST(ApiDayTest, CountsDaysInPacificTimeAcrossDaylightSaving) {
  using std::chrono::hours;
  using std::chrono::minutes;
  auto at = [](int64_t days, int64_t h, int64_t m = 0) {
    return WallTime(std::chrono::sys_days(std::chrono::days(days))) + hours(h) + minutes(m);
  };
  const int64_t jan15 = *ParseCivilDate("2025-01-15");
  EXPECT_EQ(ApiDay(at(jan15, 7, 59)), "2025-01-14");  // 23:59 PST the day before
  EXPECT_EQ(ApiDay(at(jan15, 8, 0)), "2025-01-15");   // midnight PST
  const int64_t jul15 = *ParseCivilDate("2025-07-15");
  EXPECT_EQ(ApiDay(at(jul15, 6, 59)), "2025-07-14");  // 23:59 PDT
  EXPECT_EQ(ApiDay(at(jul15, 7, 0)), "2025-07-15");
  // 2025-03-09: PDT from 10:00 UTC; 2025-11-02: PST again from 09:00 UTC.
  const int64_t mar10 = *ParseCivilDate("2025-03-10");
  EXPECT_EQ(ApiDay(at(mar10, 6, 59)), "2025-03-09");
  EXPECT_EQ(ApiDay(at(mar10, 7, 0)), "2025-03-10");
  const int64_t nov3 = *ParseCivilDate("2025-11-03");
  EXPECT_EQ(ApiDay(at(nov3, 7, 59)), "2025-11-02");
  EXPECT_EQ(ApiDay(at(nov3, 8, 0)), "2025-11-03");
}

TEST(CivilDateTest, CountsAndMovesDaysWithoutListingThem) {
  EXPECT_EQ(CountDays("0001-01-01", "9999-12-31"), 3652059);
  EXPECT_EQ(CountDays("2024-01-02", "2024-01-01"), 0);
  EXPECT_EQ(AddDays("2024-03-01", -1), "2024-02-29");
  EXPECT_EQ(AddDays("2024-13-01", 1), "");
}

}  // namespace
}  // namespace batchfetch
