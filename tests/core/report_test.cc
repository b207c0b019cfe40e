#include "core/report.h"

#include <gtest/gtest.h>

#include "core/page.h"

namespace batchfetch {
namespace {

TEST(ReportSpecTest, DimensionsCsvJoinsWithCommas) {
  ReportSpec spec;
  EXPECT_EQ(spec.DimensionsCsv(), "date,query,page");
  spec.dimensions = {};
  EXPECT_EQ(spec.DimensionsCsv(), "");
  spec.dimensions = {"country"};
  EXPECT_EQ(spec.DimensionsCsv(), "country");
}

TEST(ReportSpecTest, IdChangesWithEveryFieldThatChangesTheAnswer) {
  ReportSpec base;
  base.site = "sc-domain:example.com";
  const std::string id = base.Id();
  EXPECT_EQ(id, base.Id());
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);

  std::vector<ReportSpec> variants(6, base);
  variants[0].site = "sc-domain:example.org";
  variants[1].search_type = "image";
  variants[2].dimensions = {"date", "query"};
  variants[3].data_state = "all";
  variants[4].aggregation_type = "byPage";
  variants[5].filters = {"country:equals:fra"};
  for (const ReportSpec& v : variants) EXPECT_NE(v.Id(), id) << v.Describe();

  // Field boundaries matter: moving a character between fields is another report.
  ReportSpec a = base, b = base;
  a.site = "ab";
  a.search_type = "c";
  b.site = "a";
  b.search_type = "bc";
  EXPECT_NE(a.Id(), b.Id());
}

TEST(ReportSpecTest, FilterOrderDoesNotMatter) {
  ReportSpec a, b;
  a.filters = {"country:equals:fra", "device:equals:MOBILE"};
  b.filters = {"device:equals:MOBILE", "country:equals:fra"};
  EXPECT_EQ(a.Id(), b.Id());
  EXPECT_EQ(a.FiltersText(), b.FiltersText());
}

TEST(ReportSpecTest, DescribeNamesWhatDiffers) {
  ReportSpec a;
  a.site = "sc-domain:example.com";
  ReportSpec b = a;
  b.filters = {"page:contains:/blog"};
  EXPECT_EQ(a.Describe(), "sc-domain:example.com web date,query,page final");
  EXPECT_NE(b.Describe().find("filter page:contains:/blog"), std::string::npos);
}

TEST(PageRowLimitTest, NeverAsksPastTheDailyCap) {
  EXPECT_EQ(PageRowLimit(25000, 0), 25000);
  EXPECT_EQ(PageRowLimit(20000, 40000), 10000);
  EXPECT_EQ(PageRowLimit(20000, 50000), 0);
  EXPECT_TRUE(ReachesDailyCap(40000, 10000));
  EXPECT_FALSE(ReachesDailyCap(20000, 20000));
}

}  // namespace
}  // namespace batchfetch
