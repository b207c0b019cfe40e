#include "tools/batchfetch/site_url.h"

#include <gtest/gtest.h>

#include <string>

#include "tools/batchfetch/site_list.h"

namespace batchfetch {
namespace {

TEST(SiteFormWarningTest, DomainAndUrlPrefixPropertiesPassSilently) {
  for (const char* site :
       {"sc-domain:example.com", "sc-domain:sub.example.co.uk", "https://www.example.com/",
        "http://example.com/", "https://example.com/blog/", "https://localhost:8080/"}) {
    EXPECT_EQ(SiteFormWarning(site), std::nullopt) << site;
  }
}

TEST(SiteFormWarningTest, ABareDomainIsToldBothPropertyForms) {
  auto warning = SiteFormWarning("example.com");
  ASSERT_TRUE(warning);
  EXPECT_EQ(*warning,
            "--site example.com is neither a domain property nor a URL prefix: write "
            "sc-domain:example.com or https://example.com/ (batchfetch sites lists yours)");
}

TEST(SiteFormWarningTest, AUrlPrefixWithoutItsSlashIsToldToAddIt) {
  auto warning = SiteFormWarning("https://www.example.com");
  ASSERT_TRUE(warning);
  EXPECT_NE(warning->find("write https://www.example.com/ "), std::string::npos) << *warning;
  EXPECT_NE(warning->find("ends in /"), std::string::npos) << *warning;
}

TEST(SiteFormWarningTest, ADomainPropertyWithASchemeOrPathIsToldTheBareDomain) {
  auto warning = SiteFormWarning("sc-domain:https://www.example.com/");
  ASSERT_TRUE(warning);
  EXPECT_NE(warning->find("write sc-domain:www.example.com "), std::string::npos) << *warning;
}

TEST(SiteFormWarningTest, NonsenseGetsBothExamplesOnOneLine) {
  for (const char* site : {"my site", "https:///", "sc-domain:", "??"}) {
    auto warning = SiteFormWarning(site);
    ASSERT_TRUE(warning) << site;
    EXPECT_NE(warning->find("sc-domain:"), std::string::npos) << *warning;
    EXPECT_EQ(warning->find('\n'), std::string::npos) << *warning;
  }
}

TEST(SiteListTest, ParsesSiteEntriesAndANoneAnswer) {
  std::string error;
  auto entries = ParseSiteList(
      R"({"siteEntry":[{"siteUrl":"sc-domain:example.com","permissionLevel":"siteOwner"},)"
      R"({"siteUrl":"https://www.example.org/","permissionLevel":"siteUnverifiedUser"}]})",
      &error);
  ASSERT_TRUE(entries) << error;
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].site_url, "sc-domain:example.com");
  EXPECT_EQ((*entries)[1].permission_level, "siteUnverifiedUser");
  EXPECT_EQ(FormatSiteList(*entries),
            "PROPERTY                  PERMISSION\n"
            "sc-domain:example.com     siteOwner\n"
            "https://www.example.org/  siteUnverifiedUser (not verified: no data)\n");

  auto none = ParseSiteList("{}", &error);
  ASSERT_TRUE(none) << error;
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(FormatSiteList(*none), "this credential can read no Search Console property\n");
}

TEST(SiteListTest, RefusesAnAnswerOfAnotherShape) {
  std::string error;
  EXPECT_FALSE(ParseSiteList("<html>", &error));
  EXPECT_FALSE(ParseSiteList(R"({"siteEntry":{}})", &error));
  EXPECT_FALSE(ParseSiteList(R"({"siteEntry":[{"permissionLevel":"siteOwner"}]})", &error));
  EXPECT_EQ(error, "a siteEntry of the sites answer has no siteUrl");
}

TEST(SiteListTest, SitesUrlIgnoresATrailingSlash) {
  EXPECT_EQ(SitesUrl("https://www.googleapis.com"),
            "https://www.googleapis.com/webmasters/v3/sites");
  EXPECT_EQ(SitesUrl("http://127.0.0.1:9/"), "http://127.0.0.1:9/webmasters/v3/sites");
}

}  // namespace
}  // namespace batchfetch
