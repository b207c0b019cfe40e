#include "workers/query_rules.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace batchfetch {
namespace {

namespace json = boost::json;

QueryShape Shape(std::string type, std::vector<std::string> dimensions,
                 std::string aggregation = "auto", std::string data_state = "final",
                 std::vector<Filter> filters = {}) {
  return {std::move(type), std::move(dimensions), std::move(aggregation), std::move(data_state),
          std::move(filters)};
}

const Filter kShowcase{"searchAppearance", "equals", "NEWS_SHOWCASE"};

struct RuleCase {
  const char* name;
  QueryShape shape;
  const char* error_part;  // nullptr = valid
};

class QueryRulesTest : public ::testing::TestWithParam<RuleCase> {};

TEST_P(QueryRulesTest, AppliesTheApiRule) {
  const RuleCase& c = GetParam();
  std::optional<std::string> error = ValidateQuery(c.shape);
  if (c.error_part == nullptr) {
    EXPECT_FALSE(error.has_value()) << *error;
    return;
  }
  ASSERT_TRUE(error.has_value()) << "expected an error containing: " << c.error_part;
  EXPECT_NE(error->find(c.error_part), std::string::npos) << *error;
  EXPECT_EQ(error->find('\n'), std::string::npos) << "one line: " << *error;
}

const std::string kLong(4097, 'a');

INSTANTIATE_TEST_SUITE_P(
    Rules, QueryRulesTest,
    ::testing::Values(
        RuleCase{"DefaultWebQueryIsValid", Shape("web", {"date", "query", "page"}), nullptr},
        RuleCase{"UnknownType", Shape("webb", {"date"}), "type 'webb'"},
        RuleCase{"UnknownDimension", Shape("web", {"date", "city"}), "dimension 'city'"},
        RuleCase{"DuplicateDimension", Shape("web", {"date", "query", "date"}), "listed twice"},
        RuleCase{"UnknownAggregation", Shape("web", {"date"}, "byCountry"), "byCountry"},
        RuleCase{"UnknownDataState", Shape("web", {"date"}, "auto", "fresh"), "'fresh'"},
        // byProperty
        RuleCase{"ByPropertyWithPageDimension", Shape("web", {"date", "page"}, "byProperty"),
                 "byProperty cannot be used with the page dimension"},
        RuleCase{"ByPropertyWithPageFilter",
                 Shape("web", {"date", "query"}, "byProperty", "final",
                       {{"page", "contains", "/blog/"}}),
                 "byProperty cannot be used with a page filter"},
        RuleCase{"ByPropertyOnDiscover", Shape("discover", {"date"}, "byProperty"),
                 "byProperty is not supported for type discover"},
        RuleCase{"ByPropertyOnGoogleNews", Shape("googleNews", {"date"}, "byProperty"),
                 "not supported for type googleNews"},
        RuleCase{"ByPropertyWithQueryIsValid", Shape("web", {"date", "query"}, "byProperty"),
                 nullptr},
        RuleCase{"ByPageWithPageIsValid", Shape("web", {"date", "page"}, "byPage"), nullptr},
        // byNewsShowcasePanel
        RuleCase{
            "ShowcaseOnDiscoverWithFilterIsValid",
            Shape("discover", {"date", "country"}, "byNewsShowcasePanel", "final", {kShowcase}),
            nullptr},
        RuleCase{"ShowcaseOnGoogleNewsWithFilterIsValid",
                 Shape("googleNews", {"date"}, "byNewsShowcasePanel", "final", {kShowcase}),
                 nullptr},
        RuleCase{"ShowcaseOnWeb",
                 Shape("web", {"date"}, "byNewsShowcasePanel", "final", {kShowcase}),
                 "needs --type discover or googleNews"},
        RuleCase{"ShowcaseOnNewsTab",
                 Shape("news", {"date"}, "byNewsShowcasePanel", "final", {kShowcase}),
                 "needs --type discover or googleNews"},
        RuleCase{"ShowcaseWithPageDimension",
                 Shape("discover", {"date", "page"}, "byNewsShowcasePanel", "final", {kShowcase}),
                 "cannot be used with a page dimension or filter"},
        RuleCase{"ShowcaseWithPageFilter",
                 Shape("discover", {"date"}, "byNewsShowcasePanel", "final",
                       {kShowcase, {"page", "contains", "x"}}),
                 "cannot be used with a page dimension or filter"},
        RuleCase{"ShowcaseWithoutShowcaseFilter",
                 Shape("discover", {"date"}, "byNewsShowcasePanel"),
                 "needs the filter searchAppearance:equals:NEWS_SHOWCASE"},
        RuleCase{"ShowcaseWithAnotherSearchAppearanceFilter",
                 Shape("discover", {"date"}, "byNewsShowcasePanel", "final",
                       {kShowcase, {"searchAppearance", "equals", "AMP_BLUE_LINK"}}),
                 "no searchAppearance filter other than"},
        // Discover and Google News have no query dimension.
        RuleCase{"DiscoverWithQueryDimension", Shape("discover", {"date", "query"}),
                 "type discover has no query dimension"},
        RuleCase{"GoogleNewsWithQueryDimension", Shape("googleNews", {"date", "query"}),
                 "type googleNews has no query dimension"},
        RuleCase{"DiscoverWithQueryFilter",
                 Shape("discover", {"date", "page"}, "auto", "final", {{"query", "contains", "x"}}),
                 "remove the query filter"},
        RuleCase{"DiscoverWithPageIsValid", Shape("discover", {"date", "page", "country"}),
                 nullptr},
        RuleCase{"NewsTabWithQueryIsValid", Shape("news", {"date", "query"}), nullptr},
        // searchAppearance stands alone.
        RuleCase{"SearchAppearanceAloneIsValid", Shape("web", {"searchAppearance"}), nullptr},
        RuleCase{"SearchAppearanceWithDate", Shape("web", {"date", "searchAppearance"}),
                 "searchAppearance cannot be grouped with other dimensions"},
        RuleCase{"SearchAppearanceFilterWithOtherDimensionsIsValid",
                 Shape("web", {"date", "query"}, "auto", "final",
                       {{"searchAppearance", "equals", "AMP_BLUE_LINK"}}),
                 nullptr},
        // hour
        RuleCase{"HourWithHourlyAllIsValid", Shape("web", {"hour"}, "auto", "hourly_all"), nullptr},
        RuleCase{"HourWithFinal", Shape("web", {"hour", "query"}), "--data-state hourly_all"},
        RuleCase{"HourWithAll", Shape("web", {"hour"}, "auto", "all"), "hourly_all"},
        // Filters
        RuleCase{"FilterOnDateIsRefused",
                 Shape("web", {"date"}, "auto", "final", {{"date", "equals", "2024-01-01"}}),
                 "filter dimension 'date'"},
        RuleCase{"FilterWithUnknownOperator",
                 Shape("web", {"date"}, "auto", "final", {{"query", "startsWith", "a"}}),
                 "filter operator 'startsWith'"},
        RuleCase{"EmptyExpression",
                 Shape("web", {"date"}, "auto", "final", {{"query", "equals", ""}}),
                 "empty expression"},
        RuleCase{"RegexOf4096IsValid",
                 Shape("web", {"date"}, "auto", "final",
                       {{"query", "includingRegex", std::string(4096, 'a')}}),
                 nullptr},
        RuleCase{"RegexOver4096",
                 Shape("web", {"date"}, "auto", "final", {{"page", "excludingRegex", kLong}}),
                 "at most 4096"},
        RuleCase{"ContainsOver4096",
                 Shape("web", {"date"}, "auto", "final", {{"query", "contains", kLong}}),
                 "at most 4096"},
        RuleCase{
            "RegexOnCountry",
            Shape("web", {"date"}, "auto", "final", {{"country", "includingRegex", "usa|fra"}}),
            "regex operators work only on page and query"},
        RuleCase{"CountryAlpha3IsValid",
                 Shape("web", {"date"}, "auto", "final", {{"country", "equals", "usa"}}), nullptr},
        RuleCase{"CountryAlpha2",
                 Shape("web", {"date"}, "auto", "final", {{"country", "equals", "US"}}),
                 "ISO 3166-1 alpha-3"},
        RuleCase{"CountryNotACountry",
                 Shape("web", {"date"}, "auto", "final", {{"country", "notEquals", "XYZ"}}),
                 "ISO 3166-1 alpha-3"},
        RuleCase{"DeviceIsValid",
                 Shape("web", {"date"}, "auto", "final", {{"device", "equals", "MOBILE"}}),
                 nullptr},
        RuleCase{"DeviceUnknown",
                 Shape("web", {"date"}, "auto", "final", {{"device", "equals", "PHONE"}}),
                 "DESKTOP, MOBILE or TABLET"}),
    [](const ::testing::TestParamInfo<RuleCase>& info) { return std::string(info.param.name); });

TEST(ParseFilterTest, SplitsAtTheFirstTwoColons) {
  std::string error;
  auto f = ParseFilter("page:contains:https://example.com/a:b", &error);
  ASSERT_TRUE(f) << error;
  EXPECT_EQ(*f, (Filter{"page", "contains", "https://example.com/a:b"}));
}

TEST(ParseFilterTest, RefusesMalformedFiltersWithAnExample) {
  struct Case {
    const char* text;
    const char* error_part;
  };
  for (const Case& c : {Case{"query", "dimension:operator:expression"},
                        Case{"query:contains", "dimension:operator:expression"},
                        Case{"keyword:contains:x", "filter dimension 'keyword'"},
                        Case{"query:like:x", "filter operator 'like'"},
                        Case{"query:equals:", "empty expression"}}) {
    std::string error;
    EXPECT_FALSE(ParseFilter(c.text, &error)) << c.text;
    EXPECT_NE(error.find(c.error_part), std::string::npos) << c.text << " -> " << error;
  }
}

TEST(QueryExtrasTest, AddsAggregationAndOneAndGroupOfFilters) {
  QueryShape shape = Shape("web", {"date", "query"}, "byProperty", "final",
                           {{"query", "contains", "shoes"}, {"country", "equals", "FRA"}});
  std::string body = WithQueryExtras(R"({"startDate":"2024-01-01","rowLimit":10})", shape);
  json::value doc = json::parse(body);
  EXPECT_EQ(doc.at("startDate"), "2024-01-01");
  EXPECT_EQ(doc.at("rowLimit"), 10);
  EXPECT_EQ(doc.at("aggregationType"), "byProperty");
  const json::array& groups = doc.at("dimensionFilterGroups").as_array();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].at("groupType"), "and");
  EXPECT_EQ(groups[0].at("filters"),
            json::parse(R"([{"dimension":"query","operator":"contains","expression":"shoes"},
                            {"dimension":"country","operator":"equals","expression":"FRA"}])"));
}

TEST(QueryExtrasTest, LeavesAPlainQueryUntouched) {
  const std::string body = R"({"startDate":"2024-01-01"})";
  EXPECT_EQ(WithQueryExtras(body, Shape("web", {"date"})), body);
}

TEST(QueryExtrasTest, RefusesABodyThatIsNotAnObject) {
  EXPECT_EQ(WithQueryExtras("[1]", Shape("web", {"date"}, "byPage")), "");
}

}  // namespace
}  // namespace batchfetch
