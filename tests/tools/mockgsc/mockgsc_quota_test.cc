// Integration: mockgsc counts arrivals per site, per token and for the project, enforces a
// project-wide limit and answers chosen sites with a permission 403.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "tests/support/http_client.h"
#include "tests/support/mockgsc_process.h"

namespace batchfetch::testing {
namespace {

namespace json = boost::json;

const std::string kBody =
    R"({"startDate":"2024-01-05","endDate":"2024-01-05","dimensions":["date"],"rowLimit":5})";

HttpResponse Query(const MockGsc& server, const std::string& site, const std::string& token) {
  return HttpPost(server.QueryUrl(site), kBody, {{"Authorization", "Bearer " + token}});
}

json::object ErrorOf(const HttpResponse& r) {
  return json::parse(r.body).as_object().at("error").as_object();
}

TEST(MockGscQuotaTest, CountsTheMostArrivalsInAWindowPerSitePerTokenAndForTheProject) {
  MockGsc server({"--qpm-window", "60"});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Query(server, "sc-domain:a.example", "t1").status, 200);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(Query(server, "sc-domain:b.example", "t1").status, 200);
  EXPECT_EQ(Query(server, "sc-domain:b.example", "t2").status, 200);
  const json::object stats = server.Stats();
  const json::object& max = stats.at("max_in_window").as_object();
  EXPECT_EQ(max.at("site").at("sc-domain:a.example").as_int64(), 3);
  EXPECT_EQ(max.at("site").at("sc-domain:b.example").as_int64(), 3);
  EXPECT_EQ(max.at("token").at("t1").as_int64(), 5);
  EXPECT_EQ(max.at("token").at("t2").as_int64(), 1);
  EXPECT_EQ(max.at("project").as_int64(), 6);
  EXPECT_EQ(stats.at("quota_rejections").as_int64(), 0);
}

TEST(MockGscQuotaTest, ProjectQpmLimitsEveryRequestWhateverItsSiteAndToken) {
  MockGsc server({"--qpm", "100", "--project-qpm", "3", "--qpm-window", "60"});
  EXPECT_EQ(Query(server, "sc-domain:a.example", "t1").status, 200);
  EXPECT_EQ(Query(server, "sc-domain:b.example", "t2").status, 200);
  EXPECT_EQ(Query(server, "sc-domain:c.example", "t3").status, 200);
  const HttpResponse over = Query(server, "sc-domain:d.example", "t4");
  EXPECT_EQ(over.status, 429);
  EXPECT_EQ(ErrorOf(over).at("status").as_string(), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(ErrorOf(over).at("errors").at(0).at("reason").as_string(), "rateLimitExceeded");
  const json::object stats = server.Stats();
  EXPECT_EQ(stats.at("quota_rejections").as_int64(), 1);
  EXPECT_EQ(stats.at("max_in_window").at("project").as_int64(), 4);
  EXPECT_EQ(stats.at("project_budget").as_int64(), 3);
}

TEST(MockGscQuotaTest, AForbiddenSiteGetsPermissionDeniedAndTheOthersData) {
  MockGsc server({"--forbid-site", "sc-domain:quotaboard.example"});
  const HttpResponse denied = Query(server, "sc-domain:quotaboard.example", "t");
  EXPECT_EQ(denied.status, 403);
  const json::object error = ErrorOf(denied);
  EXPECT_EQ(error.at("status").as_string(), "PERMISSION_DENIED");
  EXPECT_EQ(error.at("errors").at(0).at("reason").as_string(), "forbidden");
  EXPECT_NE(std::string(error.at("message").as_string())
                .find("sufficient permission for site 'sc-domain:quotaboard.example'"),
            std::string::npos);
  EXPECT_EQ(Query(server, "sc-domain:other.example", "t").status, 200);
}

TEST(MockGscQuotaTest, AForbidMessageAloneForbidsEverySiteWithThatMessage) {
  const std::string message =
      "Your application is authenticating by using local Application Default Credentials. The "
      "searchconsole.googleapis.com API requires a quota project, which is not set by default.";
  MockGsc server({"--forbid-message", message});
  for (const char* site : {"sc-domain:a.example", "https://www.b.example/"}) {
    const HttpResponse denied = Query(server, site, "t");
    EXPECT_EQ(denied.status, 403) << site;
    const json::object error = ErrorOf(denied);
    EXPECT_EQ(error.at("status").as_string(), "PERMISSION_DENIED");
    EXPECT_EQ(error.at("errors").at(0).at("reason").as_string(), "forbidden");
    EXPECT_EQ(error.at("message").as_string(), message);
  }
  EXPECT_EQ(server.Stats().at("quota_rejections").as_int64(), 0);
}

}  // namespace
}  // namespace batchfetch::testing
