#include "ratelimit/quota_keys.h"

#include <gtest/gtest.h>

#include <chrono>

namespace batchfetch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ScaledBudgetTest, DefaultFlagsGive960PerMinute) {
  EXPECT_EQ(ScaledBudget(1200, 0.8, seconds(60)), 960);
}

TEST(ScaledBudgetTest, ScalesToTheWindow) {
  EXPECT_EQ(ScaledBudget(1200, 0.8, seconds(6)), 96);
  EXPECT_EQ(ScaledBudget(40000, 0.8, seconds(6)), 3200);
  EXPECT_EQ(ScaledBudget(300, 1.0, seconds(6)), 30);
}

TEST(ScaledBudgetTest, NeverBelowOne) { EXPECT_EQ(ScaledBudget(1, 0.1, milliseconds(100)), 1); }

TEST(PrincipalKeyNameTest, ServiceAccountIsItsClientEmail) {
  EXPECT_EQ(PrincipalKeyName("sa@p.iam.gserviceaccount.com", ""),
            "principal:sa@p.iam.gserviceaccount.com");
}

TEST(PrincipalKeyNameTest, BareTokenAndNoCredentialShareOneKey) {
  EXPECT_EQ(PrincipalKeyName("bearer", ""), "principal:bearer");
  EXPECT_EQ(PrincipalKeyName("", ""), "principal:bearer");
}

TEST(PrincipalKeyNameTest, QuotaUserNamesThePrincipal) {
  EXPECT_EQ(PrincipalKeyName("bearer", "alice"), "principal:alice");
  EXPECT_EQ(PrincipalKeyName("sa@p.iam.gserviceaccount.com", "alice"), "principal:alice");
}

TEST(RequestQuotaKeysTest, SitePrincipalAndAlwaysTheProject) {
  QuotaPolicy policy;
  policy.window = seconds(6);
  const auto keys = RequestQuotaKeys("sc-domain:example.com", "bearer", policy);
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0], (QuotaKey{"site:sc-domain:example.com", 96}));
  EXPECT_EQ(keys[1], (QuotaKey{"principal:bearer", 96}));
  EXPECT_EQ(keys[2], (QuotaKey{"project", 3200}));
}

TEST(RequestQuotaKeysTest, TwoSitesOfOneTokenShareThePrincipalAndProjectKeys) {
  const QuotaPolicy policy;
  const auto a = RequestQuotaKeys("https://a.example/", "bearer", policy);
  const auto b = RequestQuotaKeys("https://b.example/", "bearer", policy);
  EXPECT_NE(a[0].name, b[0].name);
  EXPECT_EQ(a[1], b[1]);
  EXPECT_EQ(a[2], b[2]);
}

TEST(RequestQuotaKeysTest, QuotaUserFlowsIntoThePrincipalKey) {
  QuotaPolicy policy;
  policy.quota_user = "team-a";
  EXPECT_EQ(RequestQuotaKeys("s", "bearer", policy)[1].name, "principal:team-a");
}

}  // namespace
}  // namespace batchfetch
