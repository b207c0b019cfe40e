// Integration: quota enforcement and fault injection of a real mockgsc process.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/mockgsc_process.h"

namespace batchfetch::testing {
namespace {

namespace json = boost::json;
const std::string kBody =
    R"({"startDate":"2024-01-05","endDate":"2024-01-05","dimensions":["query"],"rowLimit":10})";

json::object ErrorOf(const HttpResponse& r) { return json::parse(r.body).at("error").as_object(); }

TEST(MockGscQuotaTest, BurstAboveBudgetIsRejectedWith429AndCounted) {
  MockGsc server({"--qpm", "20", "--qpm-window", "5"});
  int ok = 0, rejected = 0;
  HttpResponse last_rejection;
  for (int i = 0; i < 30; ++i) {
    auto r = HttpPost(server.QueryUrl("sc-domain:a.com"), kBody);
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++rejected;
      last_rejection = r;
    }
  }
  EXPECT_EQ(ok, 20);
  EXPECT_EQ(rejected, 10);
  auto error = ErrorOf(last_rejection);
  EXPECT_EQ(error.at("status").as_string(), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(error.at("errors").at(0).at("reason").as_string(), "rateLimitExceeded");
  EXPECT_EQ(error.at("errors").at(0).at("domain").as_string(), "usageLimits");
  auto stats = server.Stats();
  EXPECT_EQ(stats.at("quota_rejections").as_int64(), 10);
  EXPECT_EQ(stats.at("max_window_requests").as_int64(), 30);
}

TEST(MockGscQuotaTest, QuotaStatus403UsesQuotaExceededReason) {
  MockGsc server({"--qpm", "1", "--quota-status", "403"});
  EXPECT_EQ(HttpPost(server.QueryUrl("sc-domain:a.com"), kBody).status, 200);
  auto r = HttpPost(server.QueryUrl("sc-domain:a.com"), kBody);
  ASSERT_EQ(r.status, 403);
  auto error = ErrorOf(r);
  EXPECT_EQ(error.at("status").as_string(), "PERMISSION_DENIED");
  EXPECT_EQ(error.at("errors").at(0).at("reason").as_string(), "quotaExceeded");
}

TEST(MockGscQuotaTest, PerTokenQuotaSpansSites) {
  MockGsc server({"--qpm", "10", "--qpm-window", "5"});
  int rejected = 0;
  for (int i = 0; i < 16; ++i) {
    auto site = i % 2 ? "sc-domain:a.com" : "sc-domain:b.com";  // 8 per site, 16 per token.
    rejected +=
        HttpPost(server.QueryUrl(site), kBody, {{"Authorization", "Bearer t"}}).status == 429;
  }
  EXPECT_EQ(rejected, 6);
}

TEST(MockGscQuotaTest, PacedClientIsNeverRejected) {
  MockGsc server({"--qpm", "10", "--qpm-window", "1"});
  // 8 per second against a budget of 10 per second.
  auto next = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_until(next);
    next += std::chrono::milliseconds(125);
    EXPECT_EQ(HttpPost(server.QueryUrl("sc-domain:a.com"), kBody).status, 200) << i;
  }
  auto stats = server.Stats();
  EXPECT_EQ(stats.at("quota_rejections").as_int64(), 0);
  EXPECT_LE(stats.at("max_window_requests").as_int64(), 10);
}

TEST(MockGscFaultTest, ErrorRateInjectsEveryFaultKindAtTheConfiguredRate) {
  MockGsc server({"--error-rate", "0.2", "--stall-ms", "30", "--seed", "5"});
  const int kRequests = 1000;
  int ok = 0, s500 = 0, s503 = 0, s429 = 0, transport = 0, malformed = 0;
  for (int i = 0; i < kRequests; ++i) {
    auto r = HttpPost(server.QueryUrl("sc-domain:a.com"), kBody, {}, std::chrono::seconds(5));
    if (r.status == 200) {
      boost::system::error_code ec;
      json::parse(r.body, ec);
      (ec ? malformed : ok)++;
    } else if (r.status == 500) {
      ++s500;
    } else if (r.status == 503) {
      ++s503;
      EXPECT_EQ(r.headers["retry-after"], "1");
    } else if (r.status == 429) {
      ++s429;
      EXPECT_EQ(r.headers["retry-after"], "1");
    } else {
      ASSERT_EQ(r.status, 0);
      ++transport;  // reset, truncated body or stall.
    }
  }
  const int faults = kRequests - ok;
  EXPECT_GT(faults, 150);
  EXPECT_LT(faults, 250);
  for (int n : {s500, s503, s429, malformed}) {
    EXPECT_GT(n, 10);
    EXPECT_LT(n, 55);
  }
  EXPECT_GT(transport, 50);
  auto stats = server.Stats();
  EXPECT_EQ(stats.at("requests").as_int64(), kRequests);
  const auto& by = stats.at("by_status").as_object();
  EXPECT_EQ(by.at("200").as_int64(), ok);
  EXPECT_EQ(by.at("malformed").as_int64(), malformed);
  EXPECT_EQ(by.at("reset").as_int64() + by.at("truncated").as_int64() + by.at("stall").as_int64(),
            transport);
}

}  // namespace
}  // namespace batchfetch::testing
