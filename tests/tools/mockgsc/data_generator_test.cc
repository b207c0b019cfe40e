#include "tools/mockgsc/data_generator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

namespace mockgsc {
namespace {

const std::vector<Dimension> kDateQueryPage = {Dimension::kDate, Dimension::kQuery,
                                               Dimension::kPage};
const std::string kSite = "sc-domain:example.com";

CivilDate Day(int offset) { return CivilDate(CivilDate::Parse("2024-01-01")->days() + offset); }

std::string Joined(const Row& row) {
  std::string s;
  for (const auto& k : row.keys) s += k + '\x1f';
  return s;
}

TEST(DataGeneratorTest, SameSeedSameRowsDifferentSeedDifferentRows) {
  DataGenerator a({.seed = 7}), b({.seed = 7}), c({.seed = 8});
  int differing_days = 0;
  for (int d = 0; d < 5; ++d) {
    auto ra = a.Day(kSite, "web", Day(d), kDateQueryPage);
    auto rb = b.Day(kSite, "web", Day(d), kDateQueryPage);
    auto rc = c.Day(kSite, "web", Day(d), kDateQueryPage);
    ASSERT_EQ(ra->rows.size(), rb->rows.size());
    for (size_t i = 0; i < ra->rows.size(); ++i) {
      ASSERT_EQ(ra->rows[i].keys, rb->rows[i].keys);
      ASSERT_EQ(ra->rows[i].clicks, rb->rows[i].clicks);
      ASSERT_EQ(ra->rows[i].impressions, rb->rows[i].impressions);
    }
    differing_days += ra->rows.size() != rc->rows.size() ||
                      (!ra->rows.empty() && ra->rows[0].keys != rc->rows[0].keys);
  }
  EXPECT_GT(differing_days, 0);
}

TEST(DataGeneratorTest, RowsAreSortedByClicksWithUniqueKeysAndSaneMetrics) {
  DataGenerator gen({.seed = 1});
  for (int d = 0; d < 20; ++d) {
    auto day = gen.Day(kSite, "web", Day(d), kDateQueryPage);
    std::set<std::string> keys;
    bool zero_clicks = false;
    for (size_t i = 0; i < day->rows.size(); ++i) {
      const Row& row = day->rows[i];
      ASSERT_EQ(row.keys.size(), 3u);
      EXPECT_EQ(row.keys[0], Day(d).ToString());
      EXPECT_TRUE(row.keys[2].starts_with("https://www.example.com/p/"));
      if (i > 0) {
        ASSERT_GE(day->rows[i - 1].clicks, row.clicks) << "day " << d << " row " << i;
      }
      ASSERT_GE(row.impressions, row.clicks);
      ASSERT_GE(row.impressions, 1);
      ASSERT_GE(row.position, 1.0);
      ASSERT_LE(row.position, 100.0);
      zero_clicks |= row.clicks == 0;
      ASSERT_TRUE(keys.insert(Joined(row)).second) << "duplicate key on day " << d;
    }
    if (day->rows.size() > 200) {
      EXPECT_TRUE(zero_clicks);
    }
  }
}

TEST(DataGeneratorTest, HugeDaysAreCappedAtFiftyThousandRows) {
  DataGenerator gen({.seed = 1});
  int huge = 0;
  for (int d = 0; d < 120 && huge == 0; ++d) {
    if (gen.RowCount(kSite, "web", Day(d), kDateQueryPage) != DataGenerator::kHugeDayRows) {
      continue;
    }
    auto day = gen.Day(kSite, "web", Day(d), kDateQueryPage);
    EXPECT_EQ(int64_t(day->rows.size()), DataGenerator::kDailyRowCap);
    EXPECT_EQ(day->total_rows, DataGenerator::kHugeDayRows);
    EXPECT_TRUE(day->truncated());
    ++huge;
  }
  EXPECT_EQ(huge, 1) << "no 60,000-row day in 120 days";
}

TEST(DataGeneratorTest, HugeDaysFollowTheirPercentAndCanBeTurnedOff) {
  auto huge_days = [](int percent) {
    DataGenerator gen({.seed = 1, .rows_per_day = 20, .huge_day_percent = percent});
    int huge = 0, empty = 0;
    for (int d = 0; d < 2000; ++d) {
      const int64_t n = gen.RowCount(kSite, "web", Day(d), kDateQueryPage);
      huge += n == DataGenerator::kHugeDayRows;
      empty += n == 0;
      if (n != 0 && n != DataGenerator::kHugeDayRows) {
        EXPECT_LE(n, 40) << "an ordinary day";
      }
    }
    EXPECT_NEAR(empty, 100, 40) << "5 days in 100 stay empty whatever the huge share";
    return huge;
  };
  EXPECT_EQ(huge_days(0), 0);
  EXPECT_NEAR(huge_days(5), 100, 40);
  EXPECT_NEAR(huge_days(50), 1000, 100);
}

TEST(DataGeneratorTest, EmptyAndMultiPageDaysOccurIn120Days) {
  DataGenerator gen({.seed = 1});
  int empty = 0, multi_page = 0;
  for (int d = 0; d < 120; ++d) {
    int64_t n = gen.RowCount(kSite, "web", Day(d), kDateQueryPage);
    empty += n == 0;
    multi_page += n > 1000;
  }
  EXPECT_GT(empty, 0);
  EXPECT_GT(multi_page, 10);
}

TEST(DataGeneratorTest, BoundedDimensionsCapTheRowCount) {
  DataGenerator gen({.seed = 1});
  for (int d = 0; d < 30; ++d) {
    EXPECT_LE(gen.Day(kSite, "web", Day(d), {Dimension::kDevice})->rows.size(), 3u);
    auto day =
        gen.Day(kSite, "web", Day(d), {Dimension::kDate, Dimension::kCountry, Dimension::kDevice});
    EXPECT_LE(day->rows.size(), 150u);
    std::set<std::string> keys;
    for (const Row& row : day->rows) ASSERT_TRUE(keys.insert(Joined(row)).second);
  }
}

TEST(DataGeneratorTest, HourKeysCarryThePacificOffset) {
  DataGenerator gen({.seed = 1});
  for (int d = 0; d < 10; ++d) {
    auto day = gen.Day(kSite, "web", Day(d), {Dimension::kHour, Dimension::kQuery});
    for (const Row& row : day->rows) {
      ASSERT_EQ(row.keys[0].size(), 25u) << row.keys[0];
      ASSERT_TRUE(row.keys[0].starts_with(Day(d).ToString() + "T"));
      ASSERT_TRUE(row.keys[0].ends_with(":00:00-07:00"));
    }
  }
}

TEST(DataGeneratorTest, HugeDayGeneratesQuicklyAndIsCached) {
  DataGenerator gen({.seed = 1});
  CivilDate huge;
  for (int d = 0; d < 200; ++d) {
    if (gen.RowCount(kSite, "web", Day(d), kDateQueryPage) == DataGenerator::kHugeDayRows) {
      huge = Day(d);
      break;
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  auto first = gen.Day(kSite, "web", huge, kDateQueryPage);
  auto t1 = std::chrono::steady_clock::now();
  auto second = gen.Day(kSite, "web", huge, kDateQueryPage);
  EXPECT_EQ(first.get(), second.get());
  EXPECT_LT(t1 - t0, std::chrono::seconds(1));
}

}  // namespace
}  // namespace mockgsc
