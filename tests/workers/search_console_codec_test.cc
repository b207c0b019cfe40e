#include "workers/search_console_codec.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <vector>

namespace batchfetch {
namespace {

namespace json = boost::json;

const std::vector<std::string> kDateQueryPage = {"date", "query", "page"};

TEST(QueryUrlTest, PercentEncodesADomainPropertyAsOnePathSegment) {
  EXPECT_EQ(QueryUrl("https://www.googleapis.com", "sc-domain:example.com"),
            "https://www.googleapis.com/webmasters/v3/sites/sc-domain%3Aexample.com/"
            "searchAnalytics/query");
}

TEST(QueryUrlTest, PercentEncodesAUrlPrefixPropertyIncludingSlashes) {
  EXPECT_EQ(QueryUrl("https://www.googleapis.com", "https://www.example.com/"),
            "https://www.googleapis.com/webmasters/v3/sites/https%3A%2F%2Fwww.example.com%2F/"
            "searchAnalytics/query");
}

TEST(QueryUrlTest, StripsOneTrailingSlashFromTheBase) {
  EXPECT_EQ(QueryUrl("http://127.0.0.1:8080/", "sc-domain:a.b"),
            "http://127.0.0.1:8080/webmasters/v3/sites/sc-domain%3Aa.b/searchAnalytics/query");
}

TEST(QueryUrlTest, KeepsUnreservedAndEncodesEverythingElseAsUpperHex) {
  EXPECT_EQ(QueryUrl("", "aZ09-._~ ?#%é"),
            "/webmasters/v3/sites/aZ09-._~%20%3F%23%25%C3%A9/searchAnalytics/query");
}

TEST(QueryBodyTest, AsksForOnePageOfOneDay) {
  ReportSpec spec;
  spec.site = "sc-domain:example.com";
  spec.search_type = "discover";
  spec.dimensions = {"date", "page"};
  spec.data_state = "all";
  const json::value body = json::parse(QueryBody(spec, "2024-03-01", 50000, 25000));
  const json::value expected = json::parse(R"({
      "startDate": "2024-03-01", "endDate": "2024-03-01", "dimensions": ["date", "page"],
      "type": "discover", "dataState": "all", "rowLimit": 25000, "startRow": 50000})");
  EXPECT_EQ(body, expected) << json::serialize(body);
  EXPECT_FALSE(body.as_object().contains("aggregationType"));  // auto
}

TEST(QueryBodyTest, EscapesStringsAndAllowsNoDimensions) {
  ReportSpec spec;
  spec.dimensions = {};
  const json::value body = json::parse(QueryBody(spec, "2024-01-0\"1", 0, 1000));
  EXPECT_EQ(body.at("startDate"), "2024-01-0\"1");
  EXPECT_TRUE(body.at("dimensions").as_array().empty());
}

TEST(QueryBodyTest, AsksForTheRowLimitGivenAndTheReportsExtras) {
  ReportSpec spec;
  spec.dimensions = {"query"};
  spec.aggregation_type = "byPage";
  spec.filters = {"query:contains:shoe"};
  const json::value body = json::parse(QueryBody(spec, "2024-03-01", 45000, 5000));
  EXPECT_EQ(body.at("rowLimit"), 5000);
  EXPECT_EQ(body.at("startRow"), 45000);
  EXPECT_EQ(body.at("aggregationType"), "byPage");
  EXPECT_EQ(body.at("dimensionFilterGroups").at(0).at("filters").at(0).at("expression"), "shoe");
}

// One row for the request expectation kDay / {date, query}.
std::string OneRow(const std::string& date, const std::string& metrics) {
  return R"({"rows": [{"keys": [")" + date + R"(", "q"], )" + metrics + "}]}";
}
const char kGoodMetrics[] = R"("clicks": 3, "impressions": 10, "ctr": 0.3, "position": 1.5)";
const QueryExpectation kDay{{"date", "query"}, "2024-03-01", 2};

TEST(ParseQueryResponseChecksTest, AcceptsAnAnswerThatMatchesItsRequest) {
  ParsedPage page;
  std::string error;
  ASSERT_TRUE(ParseQueryResponse(OneRow("2024-03-01", kGoodMetrics), kDay, &page, &error)) << error;
  EXPECT_EQ(page.rows.size(), 1u);
  // No impressions: position 0 is accepted.
  ASSERT_TRUE(ParseQueryResponse(
      OneRow("2024-03-01", R"("clicks": 0, "impressions": 0, "ctr": 0, "position": 0)"), kDay,
      &page, &error))
      << error;
}

TEST(ParseQueryResponseChecksTest, RefusesARowDatedAnotherDay) {
  ParsedPage page;
  std::string error;
  EXPECT_FALSE(ParseQueryResponse(OneRow("2024-03-02", kGoodMetrics), kDay, &page, &error));
  EXPECT_NE(error.find("2024-03-02"), std::string::npos) << error;
  EXPECT_TRUE(page.rows.empty());
}

TEST(ParseQueryResponseChecksTest, RefusesAnAnswerThatRepeatsAKey) {
  const std::string row = R"({"keys": ["2024-03-01", "q"], )" + std::string(kGoodMetrics) + "}";
  ParsedPage page;
  std::string error;
  EXPECT_FALSE(ParseQueryResponse(R"({"rows": [)" + row + "," + row + "]}", kDay, &page, &error));
  EXPECT_NE(error.find("repeats"), std::string::npos) << error;
  EXPECT_TRUE(page.rows.empty());
}

TEST(ParseQueryResponseChecksTest, RefusesMoreRowsThanTheRowLimit) {
  std::string body = R"({"rows": [)";
  for (int i = 0; i < 3; ++i) {
    if (i > 0) body += ",";
    body += R"({"keys": ["2024-03-01", "q"], )" + std::string(kGoodMetrics) + "}";
  }
  body += "]}";
  ParsedPage page;
  std::string error;
  EXPECT_FALSE(ParseQueryResponse(body, kDay, &page, &error));
  EXPECT_NE(error.find("rowLimit of 2"), std::string::npos) << error;
  EXPECT_TRUE(page.rows.empty());
}

TEST(ParseQueryResponseChecksTest, RefusesAKeyCountOtherThanTheDimensions) {
  ParsedPage page;
  std::string error;
  EXPECT_FALSE(ParseQueryResponse(
      R"({"rows": [{"keys": ["2024-03-01"], "clicks": 1, "impressions": 1, "ctr": 1, "position": 1}]})",
      kDay, &page, &error));
  EXPECT_NE(error.find("1 keys for 2 dimensions"), std::string::npos) << error;
}

struct BadMetric {
  const char* name;
  const char* metrics;
  const char* error_mentions;
};

class ParseQueryResponseRefusesMetric : public ::testing::TestWithParam<BadMetric> {};

TEST_P(ParseQueryResponseRefusesMetric, AsMalformed) {
  ParsedPage page;
  std::string error;
  EXPECT_FALSE(ParseQueryResponse(OneRow("2024-03-01", GetParam().metrics), kDay, &page, &error));
  EXPECT_NE(error.find(GetParam().error_mentions), std::string::npos) << error;
  EXPECT_TRUE(page.rows.empty());
}

INSTANTIATE_TEST_SUITE_P(
    ImpossibleNumbers, ParseQueryResponseRefusesMetric,
    ::testing::Values(
        BadMetric{"NegativeClicks", R"("clicks": -1, "impressions": 10, "ctr": 0, "position": 1)",
                  "clicks"},
        BadMetric{"FractionalClicks",
                  R"("clicks": 1.5, "impressions": 10, "ctr": 0.1, "position": 1)", "clicks"},
        BadMetric{"NegativeImpressions",
                  R"("clicks": 0, "impressions": -3, "ctr": 0, "position": 1)", "impressions"},
        BadMetric{"HugeImpressions",
                  R"("clicks": 0, "impressions": 1e308, "ctr": 0, "position": 1)", "impressions"},
        BadMetric{"InfinitePosition",
                  R"("clicks": 0, "impressions": 1, "ctr": 0, "position": 1e400)", ""},
        BadMetric{"CtrAboveOne", R"("clicks": 3, "impressions": 1, "ctr": 3, "position": 1)",
                  "ctr"},
        BadMetric{"NegativeCtr", R"("clicks": 0, "impressions": 1, "ctr": -0.1, "position": 1)",
                  "ctr"},
        BadMetric{"NegativePosition", R"("clicks": 0, "impressions": 1, "ctr": 0, "position": -2)",
                  "position"}),
    [](const ::testing::TestParamInfo<BadMetric>& info) { return info.param.name; });

TEST(ParseQueryResponseTest, MapsKeysOntoRowFieldsInDimensionOrder) {
  const std::string body = R"({
    "rows": [
      {"keys": ["2024-03-01", "shoes", "https://example.com/a"],
       "clicks": 12, "impressions": 340, "ctr": 0.0352941176, "position": 3.2},
      {"keys": ["2024-03-01", "b\u00e9ret", "https://example.com/b"],
       "clicks": 0.0, "impressions": 1e3, "ctr": 0, "position": 17}
    ],
    "responseAggregationType": "byPage"
  })";
  ParsedPage page;
  std::string error;
  ASSERT_TRUE(ParseQueryResponse(body, kDateQueryPage, &page, &error)) << error;
  ASSERT_EQ(page.rows.size(), 2u);
  const Row& r = page.rows[0];
  EXPECT_EQ(r.date, "2024-03-01");
  EXPECT_EQ(r.query, "shoes");
  EXPECT_EQ(r.page, "https://example.com/a");
  EXPECT_EQ(r.country, "");
  EXPECT_EQ(r.hour, "");
  EXPECT_DOUBLE_EQ(r.clicks, 12);
  EXPECT_DOUBLE_EQ(r.impressions, 340);
  EXPECT_DOUBLE_EQ(r.ctr, 0.0352941176);
  EXPECT_DOUBLE_EQ(r.position, 3.2);
  EXPECT_EQ(page.rows[1].query, "b\xC3\xA9ret");
  EXPECT_DOUBLE_EQ(page.rows[1].impressions, 1000);
  EXPECT_EQ(page.first_incomplete_date, "");
}

TEST(ParseQueryResponseTest, MapsEveryKnownDimension) {
  const std::vector<std::string> dims = {
      "searchAppearance", "device", "country", "hour", "page", "query", "date"};
  const std::string body = R"({"rows": [{"keys": ["AMP_BLUE_LINK", "MOBILE", "fra",
      "2024-03-01T13:00:00-08:00", "https://e.com/", "q", "2024-03-01"],
      "clicks": 1, "impressions": 2, "ctr": 0.5, "position": 1}]})";
  ParsedPage page;
  std::string error;
  ASSERT_TRUE(ParseQueryResponse(body, dims, &page, &error)) << error;
  ASSERT_EQ(page.rows.size(), 1u);
  const Row& r = page.rows[0];
  EXPECT_EQ(r.search_appearance, "AMP_BLUE_LINK");
  EXPECT_EQ(r.device, "MOBILE");
  EXPECT_EQ(r.country, "fra");
  EXPECT_EQ(r.hour, "2024-03-01T13:00:00-08:00");
  EXPECT_EQ(r.page, "https://e.com/");
  EXPECT_EQ(r.query, "q");
  EXPECT_EQ(r.date, "2024-03-01");
}

TEST(ParseQueryResponseTest, AbsentRowsMeanAnEmptyPage) {
  ParsedPage page;
  page.rows.resize(3);  // stale content is replaced
  std::string error;
  ASSERT_TRUE(
      ParseQueryResponse(R"({"responseAggregationType": "auto"})", kDateQueryPage, &page, &error))
      << error;
  EXPECT_TRUE(page.rows.empty());
  ASSERT_TRUE(ParseQueryResponse(R"({"rows": []})", kDateQueryPage, &page, &error)) << error;
  EXPECT_TRUE(page.rows.empty());
}

TEST(ParseQueryResponseTest, ReadsFirstIncompleteDate) {
  ParsedPage page;
  std::string error;
  ASSERT_TRUE(ParseQueryResponse(
      R"({"rows": [], "metadata": {"firstIncompleteDate": "2024-03-04", "firstIncompleteHour": "x"}})",
      kDateQueryPage, &page, &error))
      << error;
  EXPECT_EQ(page.first_incomplete_date, "2024-03-04");
}

TEST(ParseQueryResponseTest, RowsWithoutKeysAreAllowedOnlyWithoutDimensions) {
  ParsedPage page;
  std::string error;
  const std::string body =
      R"({"rows": [{"clicks": 5, "impressions": 9, "ctr": 0.5, "position": 2}]})";
  ASSERT_TRUE(ParseQueryResponse(body, std::vector<std::string>{}, &page, &error)) << error;
  ASSERT_EQ(page.rows.size(), 1u);
  EXPECT_DOUBLE_EQ(page.rows[0].clicks, 5);
  EXPECT_FALSE(ParseQueryResponse(body, {"date"}, &page, &error));
  EXPECT_NE(error.find("keys"), std::string::npos) << error;
}

struct BadBody {
  const char* name;
  std::string body;
  const char* error_mentions;
};

class ParseQueryResponseRejects : public ::testing::TestWithParam<BadBody> {};

TEST_P(ParseQueryResponseRejects, WithAOneLineErrorAndNoRows) {
  ParsedPage page;
  std::string error;
  EXPECT_FALSE(ParseQueryResponse(GetParam().body, kDateQueryPage, &page, &error));
  EXPECT_NE(error.find(GetParam().error_mentions), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_TRUE(page.rows.empty());
}

const char kRow[] = R"("clicks": 1, "impressions": 2, "ctr": 0.5, "position": 1)";
const char kNulInString[] = "{\"rows\": [], \"x\": \"a\0b\"}";

INSTANTIATE_TEST_SUITE_P(
    MalformedBodies, ParseQueryResponseRejects,
    ::testing::Values(
        BadBody{"Empty", "", "malformed JSON"}, BadBody{"Whitespace", "  \n", "malformed JSON"},
        BadBody{"Truncated", R"({"rows": [{"keys": ["2024-03-01", "q", "p"], "clicks": 1, "imp)",
                "malformed JSON"},
        BadBody{"TrailingGarbage", R"({"rows": []} x)", "malformed JSON"},
        BadBody{"TwoDocuments", R"({} {})", "malformed JSON"},
        BadBody{"Html", "<html><body>502 Bad Gateway</body></html>", "malformed JSON"},
        BadBody{"NotAnObject", R"([1, 2])", "not a JSON object"},
        BadBody{"RowsNotArray", R"({"rows": {}})", "rows is not an array"},
        BadBody{"RowsNull", R"({"rows": null})", "rows is not an array"},
        BadBody{"RowNotObject", R"({"rows": [3]})", "rows[0]"},
        BadBody{"TooFewKeys",
                std::string(R"({"rows": [{"keys": ["2024-03-01", "q"], )") + kRow + "}]}",
                "2 keys for 3 dimensions"},
        BadBody{"TooManyKeys",
                std::string(R"({"rows": [{"keys": ["2024-03-01", "q", "p", "x"], )") + kRow + "}]}",
                "4 keys for 3 dimensions"},
        BadBody{"KeyNotString",
                std::string(R"({"rows": [{"keys": ["2024-03-01", 7, "p"], )") + kRow + "}]}",
                "keys[1]"},
        BadBody{"KeysMissing", std::string(R"({"rows": [{)") + kRow + "}]}", "keys"},
        BadBody{
            "ClicksNotNumber",
            R"({"rows": [{"keys": ["d", "q", "p"], "clicks": "1", "impressions": 2, "ctr": 0.5, "position": 1}]})",
            "clicks"},
        BadBody{
            "PositionMissing",
            R"({"rows": [{"keys": ["d", "q", "p"], "clicks": 1, "impressions": 2, "ctr": 0.5}]})",
            "position"},
        BadBody{"MetadataNotObject", R"({"metadata": "x"})", "metadata"},
        BadBody{"FirstIncompleteDateNotString", R"({"metadata": {"firstIncompleteDate": 1}})",
                "firstIncompleteDate"},
        BadBody{
            "InvalidUtf8InKey",
            std::string("{\"rows\": [{\"keys\": [\"d\", \"q\xC3\x28\", \"p\"], ") + kRow + "}]}",
            "malformed JSON"},
        BadBody{
            "LoneSurrogateByteInKey",
            std::string("{\"rows\": [{\"keys\": [\"d\", \"\xED\xA0\x80\", \"p\"], ") + kRow + "}]}",
            "malformed JSON"},
        BadBody{"Latin1Byte", std::string("{\"metadata\": {\"firstIncompleteDate\": \"\xE9\"}}"),
                "malformed JSON"},
        BadBody{"NulInsideString", std::string(kNulInString, sizeof(kNulInString) - 1),
                "malformed JSON"}),
    [](const ::testing::TestParamInfo<BadBody>& info) { return info.param.name; });

TEST(ParseQueryResponseTest, RejectsUnknownDimensions) {
  ParsedPage page;
  std::string error;
  EXPECT_FALSE(ParseQueryResponse(R"({"rows": []})", {"date", "color"}, &page, &error));
  EXPECT_NE(error.find("color"), std::string::npos) << error;
}

TEST(ParseQueryResponseTest, ToleratesANullErrorPointer) {
  ParsedPage page;
  EXPECT_FALSE(ParseQueryResponse("{", kDateQueryPage, &page, nullptr));
}

TEST(ParseQueryResponseTest, ParsesAFullPageOf25000Rows) {
  std::string body = R"({"rows": [)";
  for (int i = 0; i < 25000; ++i) {
    if (i > 0) {
      body += ',';
    }
    body += R"({"keys": ["2024-03-01", "query )" + std::to_string(i) +
            R"(", "https://example.com/p/)" + std::to_string(i % 977) + R"("], "clicks": )" +
            std::to_string(25000 - i) + R"(, "impressions": 100000, "ctr": 0.25, "position": 4.5})";
  }
  body += R"(], "responseAggregationType": "byPage"})";
  ParsedPage page;
  std::string error;
  ASSERT_TRUE(ParseQueryResponse(body, kDateQueryPage, &page, &error)) << error;
  ASSERT_EQ(page.rows.size(), 25000u);
  EXPECT_EQ(page.rows[24999].query, "query 24999");
  EXPECT_DOUBLE_EQ(page.rows[24999].clicks, 1);
}

TEST(IsKnownDimensionTest, KnowsTheApisSevenDimensions) {
  for (const char* d : {"date", "hour", "query", "page", "country", "device", "searchAppearance"}) {
    EXPECT_TRUE(IsKnownDimension(d)) << d;
  }
  for (const char* d : {"", "Date", "search_appearance", "color", "date "}) {
    EXPECT_FALSE(IsKnownDimension(d)) << d;
  }
}

}  // namespace
}  // namespace batchfetch
