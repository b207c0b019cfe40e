// Integration: a real mockgsc process on port 0, driven over HTTP.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>

#include "tests/support/checksum.h"
#include "tests/support/http_client.h"
#include "tests/support/mockgsc_process.h"

namespace batchfetch::testing {
namespace {

namespace json = boost::json;
const std::string kSite = "sc-domain:example.com";

std::string Body(const std::string& date, int64_t start_row, int64_t row_limit,
                 const std::string& extra = "") {
  return R"({"startDate":")" + date + R"(","endDate":")" + date +
         R"(","dimensions":["date","query","page"],"startRow":)" + std::to_string(start_row) +
         R"(,"rowLimit":)" + std::to_string(row_limit) + extra + "}";
}

json::object ParseObject(const std::string& text) { return json::parse(text).as_object(); }

std::string Reason(const HttpResponse& r) {
  return std::string(ParseObject(r.body).at("error").at("errors").at(0).at("reason").as_string());
}

// The first day from 2024-01-01 whose expected row count satisfies `pred`.
std::string FindDay(const MockGsc& server, const std::function<bool(int64_t, bool)>& pred) {
  for (int d = 1; d <= 28; ++d) {
    for (int m = 1; m <= 12; ++m) {
      char date[16];
      std::snprintf(date, sizeof date, "2024-%02d-%02d", m, d);
      auto e = server.Expected(kSite, "web", date, "date,query,page");
      if (pred(e.rows, e.truncated)) return date;
    }
  }
  return "";
}

TEST(MockGscApiTest, PagesConcatenateToTheExpectedDay) {
  MockGsc server;
  const std::string date = FindDay(server, [](int64_t n, bool) { return n > 2000 && n < 5000; });
  ASSERT_FALSE(date.empty());
  auto expected = server.Expected(kSite, "web", date, "date,query,page");
  RowSetChecksum sum;
  int64_t start = 0, last_page_rows = 0;
  while (true) {
    auto r = HttpPost(server.QueryUrl(kSite), Body(date, start, 1000));
    ASSERT_EQ(r.status, 200) << r.error << r.body;
    auto o = ParseObject(r.body);
    EXPECT_EQ(o.at("responseAggregationType").as_string(), "byPage");
    if (!o.contains("rows")) {
      last_page_rows = 0;
      break;
    }
    const auto& rows = o.at("rows").as_array();
    for (const auto& row : rows) {
      std::vector<std::string> keys;
      for (const auto& k : row.at("keys").as_array()) keys.emplace_back(k.as_string());
      int64_t clicks = row.at("clicks").to_number<int64_t>();
      int64_t impressions = row.at("impressions").to_number<int64_t>();
      EXPECT_NEAR(row.at("ctr").to_number<double>(), double(clicks) / double(impressions), 1e-12);
      sum.Add(keys, clicks, impressions);
    }
    last_page_rows = int64_t(rows.size());
    start += 1000;
    if (last_page_rows < 1000) break;
  }
  EXPECT_LT(last_page_rows, 1000);
  EXPECT_EQ(sum.rows(), expected.rows);
  EXPECT_EQ(sum.Hex(), expected.checksum);
  EXPECT_FALSE(expected.truncated);
}

TEST(MockGscApiTest, HugeDayServesFiftyThousandRowsThenNothing) {
  MockGsc server;
  const std::string date = FindDay(server, [](int64_t, bool truncated) { return truncated; });
  ASSERT_FALSE(date.empty());
  auto expected = server.Expected(kSite, "web", date, "date,query,page");
  EXPECT_EQ(expected.rows, 50000);
  RowSetChecksum sum;
  for (int64_t start : {0, 25000}) {
    auto r = HttpPost(server.QueryUrl(kSite), Body(date, start, 25000));
    ASSERT_EQ(r.status, 200);
    auto o = ParseObject(r.body);
    ASSERT_EQ(o.at("rows").as_array().size(), 25000u);
    for (const auto& row : o.at("rows").as_array()) {
      std::vector<std::string> keys;
      for (const auto& k : row.at("keys").as_array()) keys.emplace_back(k.as_string());
      sum.Add(keys, row.at("clicks").to_number<int64_t>(),
              row.at("impressions").to_number<int64_t>());
    }
  }
  EXPECT_EQ(sum.Hex(), expected.checksum);
  auto past_cap = HttpPost(server.QueryUrl(kSite), Body(date, 50000, 25000));
  ASSERT_EQ(past_cap.status, 200);
  EXPECT_FALSE(ParseObject(past_cap.body).contains("rows"));
}

TEST(MockGscApiTest, InvalidRequestsGet400AndUnknownPaths404) {
  MockGsc server;
  const std::string url = server.QueryUrl(kSite);
  for (
      const std::string& body :
      {Body("2024-01-05", 0, 10, R"(,"foo":1)"), Body("2024-01-05", 0, 0),
       Body("2024-01-05", 0, 25001),
       Body("2024-01-05", 0, 10, R"(,"aggregationType":"byProperty")"),
       std::string(
           R"({"startDate":"2024-01-05","endDate":"2024-01-05","type":"discover","dimensions":["query"]})")}) {
    auto r = HttpPost(url, body);
    EXPECT_EQ(r.status, 400) << body;
    auto error = ParseObject(r.body).at("error").as_object();
    EXPECT_EQ(error.at("code").as_int64(), 400);
    EXPECT_EQ(error.at("status").as_string(), "INVALID_ARGUMENT");
    EXPECT_EQ(Reason(r), "badRequest");
  }
  EXPECT_EQ(HttpGet(server.base_url() + "/nope").status, 404);
  EXPECT_EQ(HttpPost(server.base_url() + "/webmasters/v3/sites/x/other", "{}").status, 404);
}

TEST(MockGscApiTest, UrlPrefixSitesAreDecodedAndDataStateAllReportsIncompleteDays) {
  MockGsc server;
  const std::string site = "https://www.example.com/";
  auto r = HttpPost(server.QueryUrl(site), Body("2024-01-05", 0, 5, R"(,"dataState":"all")"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(ParseObject(r.body).contains("metadata"));
  // Today's date is within the last three days, so it is incomplete.
  std::time_t now = std::time(nullptr);
  char today[16];
  std::strftime(today, sizeof today, "%Y-%m-%d", std::gmtime(&now));
  auto recent = HttpPost(server.QueryUrl(site), Body(today, 0, 5, R"(,"dataState":"all")"));
  ASSERT_EQ(recent.status, 200);
  EXPECT_EQ(ParseObject(recent.body).at("metadata").at("firstIncompleteDate").as_string(), today);
}

TEST(MockGscApiTest, TokenIsRequiredWhenConfigured) {
  MockGsc server({"--token", "secret"});
  auto missing = HttpPost(server.QueryUrl(kSite), Body("2024-01-05", 0, 5));
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(Reason(missing), "authError");
  EXPECT_EQ(ParseObject(missing.body).at("error").at("status").as_string(), "UNAUTHENTICATED");
  auto wrong = HttpPost(server.QueryUrl(kSite), Body("2024-01-05", 0, 5),
                        {{"Authorization", "Bearer other"}});
  EXPECT_EQ(wrong.status, 401);
  auto right = HttpPost(server.QueryUrl(kSite), Body("2024-01-05", 0, 5),
                        {{"Authorization", "Bearer secret"}});
  EXPECT_EQ(right.status, 200);
}

TEST(MockGscApiTest, FatalAfterAnswersPermissionDeniedFromTheNthRequest) {
  MockGsc server({"--fatal-after", "3"});
  for (int i = 1; i <= 4; ++i) {
    auto r = HttpPost(server.QueryUrl(kSite), Body("2024-01-05", 0, 5));
    if (i < 3) {
      EXPECT_EQ(r.status, 200) << i;
      continue;
    }
    EXPECT_EQ(r.status, 403) << i;
    EXPECT_EQ(Reason(r), "forbidden");
    auto error = ParseObject(r.body).at("error").as_object();
    EXPECT_EQ(error.at("status").as_string(), "PERMISSION_DENIED");
    EXPECT_NE(std::string(error.at("message").as_string()).find("sufficient permission"),
              std::string::npos);
  }
}

TEST(MockGscApiTest, FailPageAlwaysGets500) {
  MockGsc server({"--fail-page", "2024-01-05:1000"});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(HttpPost(server.QueryUrl(kSite), Body("2024-01-05", 1000, 1000)).status, 500);
  }
  EXPECT_EQ(HttpPost(server.QueryUrl(kSite), Body("2024-01-05", 0, 1000)).status, 200);
}

TEST(MockGscApiTest, StatsCountRequestsOutcomesAndRepeatedPages) {
  MockGsc server;
  for (int i = 0; i < 2; ++i) HttpPost(server.QueryUrl(kSite), Body("2024-01-05", 0, 10));
  HttpPost(server.QueryUrl(kSite), Body("2024-01-05", 10, 10));
  HttpPost(server.QueryUrl(kSite), Body("2024-01-05", 0, 0));
  auto stats = server.Stats();
  EXPECT_EQ(stats.at("requests").as_int64(), 4);
  EXPECT_EQ(stats.at("by_status").at("200").as_int64(), 3);
  EXPECT_EQ(stats.at("by_status").at("400").as_int64(), 1);
  EXPECT_EQ(stats.at("page_fetches_total").as_int64(), 3);
  EXPECT_EQ(stats.at("pages_fetched_more_than_once").as_int64(), 1);
  EXPECT_EQ(stats.at("max_window_requests").as_int64(), 4);
  EXPECT_EQ(stats.at("quota_rejections").as_int64(), 0);
  EXPECT_EQ(stats.at("in_flight").as_int64(), 0);
  EXPECT_EQ(stats.at("max_in_flight").as_int64(), 1);
  EXPECT_EQ(stats.at("budget").as_int64(), 1200);
}

TEST(MockGscApiTest, StopsCleanlyOnSigterm) {
  MockGsc server;
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace batchfetch::testing
