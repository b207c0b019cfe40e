#include "persistence/page.h"

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

TEST(JobSpecTest, DimensionsCsvJoinsWithCommas) {
  JobSpec spec;
  EXPECT_EQ(spec.DimensionsCsv(), "date,query,page");
  spec.dimensions = {};
  EXPECT_EQ(spec.DimensionsCsv(), "");
  spec.dimensions = {"country"};
  EXPECT_EQ(spec.DimensionsCsv(), "country");
}

TEST(JobSpecTest, IdIsStableHexAndChangesWithEveryField) {
  JobSpec base;
  base.site = "sc-domain:example.com";
  base.start_date = "2024-01-01";
  base.end_date = "2024-01-31";
  const std::string id = base.Id();
  EXPECT_EQ(id, base.Id());
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);

  std::vector<JobSpec> variants(7, base);
  variants[0].site = "sc-domain:example.org";
  variants[1].search_type = "image";
  variants[2].dimensions = {"date", "query"};
  variants[3].data_state = "all";
  variants[4].start_date = "2024-01-02";
  variants[5].end_date = "2024-01-30";
  variants[6].row_limit = 1000;
  for (const JobSpec& v : variants) EXPECT_NE(v.Id(), id);

  // Field boundaries matter: moving a character between fields is another job.
  JobSpec a = base, b = base;
  a.dimensions = {"date", "query"};
  b.dimensions = {"date,query"};
  EXPECT_EQ(a.Id(), b.Id()) << "the csv is the stored form, so these are one job";
  a.site = "ab";
  a.search_type = "c";
  b.site = "a";
  b.search_type = "bc";
  EXPECT_NE(a.Id(), b.Id());
}

}  // namespace
}  // namespace batchfetch
