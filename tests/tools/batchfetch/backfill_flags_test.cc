#include "tools/batchfetch/backfill_flags.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace batchfetch {
namespace {

struct Parsed {
  std::optional<int> code;
  std::string error;
  BackfillFlags flags;
};

constexpr const char* kToday = "2026-11-24";  // the API's day the tests count from

Parsed Parse(std::vector<std::string> args, const std::string& env_token = "env-token",
             const std::string& env_credentials = "") {
  std::vector<std::string> argv_storage = {"backfill"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  Parsed p;
  p.code =
      ParseBackfillFlags(static_cast<int>(argv.size()), argv.data(),
                         CredentialEnv{env_token, env_credentials, ""}, kToday, &p.flags, &p.error);
  return p;
}

std::vector<std::string> Base() {
  return {"--site", "sc-domain:example.com", "--from", "2026-01-01", "--to", "2026-01-31"};
}

TEST(BackfillFlagsTest, AcceptsTheDocumentedDefaults) {
  Parsed p = Parse(Base());
  ASSERT_FALSE(p.code) << p.error;
  EXPECT_EQ(p.flags.Budget(), 960);
  EXPECT_EQ(p.flags.job.row_limit, 25000);
  EXPECT_EQ(p.flags.job.refresh_days, 3);
  EXPECT_EQ(p.flags.job.from, "2026-01-01");
  EXPECT_EQ(p.flags.job.to, "2026-01-31");
  ASSERT_EQ(p.flags.job.reports.size(), 1u);
  EXPECT_EQ(p.flags.job.reports[0]->spec.DimensionsCsv(), "date,query,page");
  EXPECT_EQ(p.flags.job.reports[0]->spec.data_state, "final");
  EXPECT_EQ(p.flags.job.reports[0]->id, p.flags.job.reports[0]->spec.Id());
  EXPECT_EQ(p.flags.today, kToday);
  EXPECT_EQ(p.flags.run.max_concurrency, 8);
  EXPECT_EQ(p.flags.run.lease, std::chrono::milliseconds(60000));
  EXPECT_EQ(p.flags.db, "batchfetch.db");
}

TEST(BackfillFlagsTest, EverySiteTimesEveryTypeIsOneReportInTheOrderGiven) {
  Parsed p =
      Parse({"--site", "a", "--site", "b", "--type", "web", "--type", "image", "--from",
             "2026-01-01", "--filter", "country:equals:usa", "--aggregation-type", "byPage"});
  ASSERT_FALSE(p.code) << p.error;
  ASSERT_EQ(p.flags.job.reports.size(), 4u);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"a", "web"}, {"a", "image"}, {"b", "web"}, {"b", "image"}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    const ReportSpec& spec = p.flags.job.reports[i]->spec;
    EXPECT_EQ(spec.site, want[i].first);
    EXPECT_EQ(spec.search_type, want[i].second);
    EXPECT_EQ(spec.filters, std::vector<std::string>{"country:equals:usa"});
    EXPECT_EQ(spec.aggregation_type, "byPage");
  }
}

TEST(BackfillFlagsTest, LastDayWithDataIsYesterdayForFinalAndTodayForFreshData) {
  EXPECT_EQ(LastDayWithData("2026-03-01", "final"), "2026-02-28");
  EXPECT_EQ(LastDayWithData("2024-03-01", "final"), "2024-02-29");
  EXPECT_EQ(LastDayWithData("2026-01-01", "final"), "2025-12-31");
  EXPECT_EQ(LastDayWithData("2026-03-01", "all"), "2026-03-01");
  EXPECT_EQ(LastDayWithData("2026-03-01", "hourly_all"), "2026-03-01");
}

TEST(BackfillFlagsTest, ToDefaultsToTheLastDayWithDataInTheApisDay) {
  Parsed final_data = Parse({"--site", "s", "--from", "2026-11-01"});
  ASSERT_FALSE(final_data.code) << final_data.error;
  EXPECT_EQ(final_data.flags.job.to, "2026-11-23");
  Parsed fresh = Parse({"--site", "s", "--from", "2026-11-01", "--data-state", "all"});
  ASSERT_FALSE(fresh.code) << fresh.error;
  EXPECT_EQ(fresh.flags.job.to, "2026-11-24");
}

TEST(BackfillFlagsTest, TodayOverridesTheApisDayForToAndTheRefreshWindow) {
  Parsed p = Parse(
      {"--site", "s", "--from", "2025-06-01", "--today", "2025-06-10", "--refresh-days", "5"});
  ASSERT_FALSE(p.code) << p.error;
  EXPECT_EQ(p.flags.today, "2025-06-10");
  EXPECT_EQ(p.flags.job.to, "2025-06-09");
  EXPECT_EQ(p.flags.job.refresh_days, 5);
  Parsed bad = Parse({"--site", "s", "--from", "2025-06-01", "--today", "2025-06-31"});
  ASSERT_TRUE(bad.code.has_value());
  EXPECT_EQ(*bad.code, 1);
  EXPECT_NE(bad.error.find("--today"), std::string::npos) << bad.error;
}

TEST(BackfillFlagsTest, FromAfterTheLastDayWithDataIsRefused) {
  Parsed p = Parse({"--site", "s", "--from", "2026-11-24"});
  ASSERT_TRUE(p.code.has_value());
  EXPECT_NE(p.error.find("after the last day with data 2026-11-23"), std::string::npos) << p.error;
}

TEST(BackfillFlagsTest, ToInTheFutureIsRefused) {
  Parsed p = Parse({"--site", "s", "--from", "2026-11-01", "--to", "2026-11-25"});
  ASSERT_TRUE(p.code.has_value());
  EXPECT_NE(p.error.find("after the API's today 2026-11-24"), std::string::npos) << p.error;
}

struct BadInput {
  std::vector<std::string> extra;  // flags merged into Base()
  std::string message_part;
};

class BackfillFlagsRejectTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(BackfillFlagsRejectTest, RejectsWithOneLineMessageAndExitOne) {
  // A flag already in Base() gets its value replaced; others are appended.
  std::vector<std::string> args = Base();
  const std::vector<std::string>& extra = GetParam().extra;
  for (std::size_t i = 0; i < extra.size(); ++i) {
    auto it = std::find(args.begin(), args.end(), extra[i]);
    if (it != args.end() && i + 1 < extra.size()) {
      *(it + 1) = extra[++i];
    } else {
      args.push_back(extra[i]);
    }
  }
  Parsed p = Parse(args);
  ASSERT_TRUE(p.code.has_value());
  EXPECT_EQ(*p.code, 1);
  EXPECT_NE(p.error.find(GetParam().message_part), std::string::npos) << p.error;
  EXPECT_EQ(p.error.find('\n'), std::string::npos) << "one line: " << p.error;
}

INSTANTIATE_TEST_SUITE_P(
    HostileInput, BackfillFlagsRejectTest,
    ::testing::Values(BadInput{{"--from", "2026-02-30"}, "not a real date"},
                      BadInput{{"--to", "2026-13-01"}, "not a real date"},
                      BadInput{{"--from", "yesterday"}, "not a real date"},
                      BadInput{{"--from", "2026-03-01"}, "is after --to"},
                      BadInput{{"--dimensions", "date,keyword"}, "keyword"},
                      BadInput{{"--dimensions", "date,date"}, "given twice"},
                      BadInput{{"--type", "books"}, "--type"},
                      BadInput{{"--data-state", "fresh"}, "--data-state"},
                      BadInput{{"--aggregation-type", "byMoon"}, "--aggregation-type"},
                      BadInput{{"--log-format", "xml"}, "--log-format"},
                      BadInput{{"--log-level", "loud"}, "--log-level"},
                      BadInput{{"--progress", "sometimes"}, "--progress"},
                      BadInput{{"--filter", "country:equals"}, "--filter"},
                      BadInput{{"--api-base", "http://example.com"}, "must be https://"},
                      BadInput{{"--api-base", "http://127.0.0.1@192.0.2.1:8080"}, "user name"},
                      BadInput{{"--api-base", "http://localhost:x@evil.example.com"}, "--api-base"},
                      BadInput{{"--api-base", "ftp://127.0.0.1/"}, "https://"},
                      BadInput{{"--no-such-flag"}, "no-such-flag"},
                      // Every number has finite, sensible bounds (issue 14).
                      BadInput{{"--row-limit", "0"}, "--row-limit"},
                      BadInput{{"--row-limit", "25001"}, "--row-limit"},
                      BadInput{{"--row-limit", "many"}, "--row-limit"},
                      BadInput{{"--max-concurrency", "0"}, "--max-concurrency"},
                      BadInput{{"--max-concurrency", "100000"}, "--max-concurrency"},
                      BadInput{{"--qpm", "inf"}, "--qpm"}, BadInput{{"--qpm", "1e20"}, "--qpm"},
                      BadInput{{"--qpm", "nan"}, "--qpm"}, BadInput{{"--qpm", "0"}, "--qpm"},
                      BadInput{{"--qpm-utilization", "1.5"}, "--qpm-utilization"},
                      BadInput{{"--qpm-utilization", "0"}, "--qpm-utilization"},
                      BadInput{{"--qpm-window", "0"}, "--qpm-window"},
                      BadInput{{"--qpm-window", "inf"}, "--qpm-window"},
                      BadInput{{"--queue-limit", "0"}, "--queue-limit"},
                      BadInput{{"--queue-limit", "1e12"}, "--queue-limit"},
                      BadInput{{"--inflight-limit", "0"}, "--inflight-limit"},
                      BadInput{{"--max-attempts", "0"}, "--max-attempts"},
                      BadInput{{"--max-attempts", "1e9"}, "--max-attempts"},
                      BadInput{{"--refresh-days", "-1"}, "--refresh-days"},
                      BadInput{{"--refresh-days", "100000"}, "--refresh-days"},
                      BadInput{{"--lease", "0.0004"}, "--lease"},
                      BadInput{{"--lease", "inf"}, "--lease"},
                      BadInput{{"--halt-timeout", "-1"}, "--halt-timeout"},
                      BadInput{{"--halt-timeout", "inf"}, "--halt-timeout"},
                      BadInput{{"--retry-base", "-1"}, "--retry-base"},
                      BadInput{{"--retry-cap", "inf"}, "--retry-cap"},
                      BadInput{{"--retry-base", "10", "--retry-cap", "5"}, "--retry-cap"},
                      BadInput{{"--quota-cooldown", "1e300"}, "--quota-cooldown"},
                      BadInput{{"--request-timeout", "0"}, "--request-timeout"},
                      BadInput{{"--request-timeout", "nan"}, "--request-timeout"},
                      BadInput{{"--metrics-hold", "-1"}, "--metrics-hold"},
                      BadInput{{"--metrics-hold", "5"}, "--metrics-hold needs --metrics-addr"},
                      BadInput{{"--today", "tomorrow"}, "--today"},
                      // A range far beyond the API's 16 months is refused unless asked for.
                      BadInput{{"--from", "2023-01-01"}, "--allow-old-dates"},
                      BadInput{{"--from", "0001-01-01", "--to", "9999-12-31"}, "--to"},
                      BadInput{{"--token", "a", "--token-cmd", "b"}, "only one of"}));

TEST(BackfillFlagsTest, MissingRequiredFlagIsAUsageError) {
  Parsed p = Parse({"--site", "sc-domain:example.com"});
  ASSERT_TRUE(p.code.has_value());
  EXPECT_EQ(*p.code, 1);
  EXPECT_NE(p.error.find("--from"), std::string::npos) << p.error;
}

TEST(BackfillFlagsTest, TokenOnTheCommandLineWarnsAndEnvTokenDoesNot) {
  std::vector<std::string> args = Base();
  args.insert(args.end(), {"--token", "s3cret"});
  Parsed with_flag = Parse(args, "");
  ASSERT_FALSE(with_flag.code);
  EXPECT_EQ(with_flag.flags.token, "s3cret");
  ASSERT_EQ(with_flag.flags.warnings.size(), 1u);
  EXPECT_NE(with_flag.flags.warnings[0].find("BATCHFETCH_TOKEN"), std::string::npos);
  EXPECT_EQ(with_flag.flags.warnings[0].find("s3cret"), std::string::npos);

  Parsed from_env = Parse(Base(), "envtoken");
  ASSERT_FALSE(from_env.code);
  EXPECT_EQ(from_env.flags.token, "envtoken");
  EXPECT_TRUE(from_env.flags.warnings.empty());
}

TEST(BackfillFlagsTest, RangeOlderThanSixteenMonthsWarnsButIsAccepted) {
  Parsed p = Parse({"--site", "sc-domain:s.com", "--from", "2025-01-01", "--to", "2025-01-31"});
  ASSERT_FALSE(p.code) << p.error;
  ASSERT_EQ(p.flags.warnings.size(), 1u);
  EXPECT_NE(p.flags.warnings[0].find("16 months"), std::string::npos);
}

TEST(BackfillFlagsTest, AllowOldDatesAcceptsARangeBeyondTwiceTheRetention) {
  Parsed p = Parse({"--site", "sc-domain:s.com", "--from", "2023-01-01", "--to", "2023-01-31",
                    "--allow-old-dates"});
  ASSERT_FALSE(p.code) << p.error;
  EXPECT_EQ(p.flags.warnings.size(), 1u);
  Parsed huge =
      Parse({"--site", "s", "--from", "0001-01-01", "--to", "2026-11-01", "--allow-old-dates"});
  ASSERT_TRUE(huge.code.has_value()) << "a run never plans millions of days";
  EXPECT_NE(huge.error.find("at most"), std::string::npos) << huge.error;
}

TEST(BackfillFlagsTest, NoCredentialAtAllIsRefusedForARealApi) {
  Parsed p = Parse(Base(), "", "");
  ASSERT_TRUE(p.code.has_value());
  EXPECT_EQ(*p.code, 1);
  EXPECT_NE(p.error.find("no credential"), std::string::npos) << p.error;
  EXPECT_FALSE(Parse(Base(), "", "/keys/sa.json").code) << "GOOGLE_APPLICATION_CREDENTIALS";
  std::vector<std::string> cmd = Base();
  cmd.insert(cmd.end(), {"--token-cmd", "gcloud auth print-access-token"});
  EXPECT_FALSE(Parse(cmd, "").code);
}

TEST(BackfillFlagsTest, NumbersWithinTheirBoundsBecomeRunOptions) {
  std::vector<std::string> args = Base();
  args.insert(args.end(), {"--lease", "1.5", "--halt-timeout", "0", "--retry-base", "0.05",
                           "--retry-cap", "0.4", "--quota-cooldown", "1", "--qpm", "40000",
                           "--qpm-window", "6", "--max-concurrency", "330"});
  Parsed p = Parse(args);
  ASSERT_FALSE(p.code) << p.error;
  EXPECT_EQ(p.flags.run.lease, std::chrono::milliseconds(1500));
  EXPECT_EQ(p.flags.run.halt_timeout, std::chrono::milliseconds(0));
  EXPECT_EQ(p.flags.run.retry_base, std::chrono::milliseconds(50));
  EXPECT_EQ(p.flags.run.retry_cap, std::chrono::milliseconds(400));
  EXPECT_EQ(p.flags.run.quota_cooldown, std::chrono::milliseconds(1000));
  EXPECT_EQ(p.flags.run.max_concurrency, 330);
  EXPECT_DOUBLE_EQ(p.flags.qpm_window_s, 6);
}

TEST(BackfillFlagsTest, LoopbackHttpIsAllowedForTestServers) {
  std::vector<std::string> args = Base();
  args.insert(args.end(), {"--api-base", "http://127.0.0.1:8080"});
  EXPECT_FALSE(Parse(args).code);
  for (const char* base : {"http://127.0.0.1:8080", "http://localhost:9/", "http://[::1]:80"}) {
    std::vector<std::string> anonymous = Base();
    anonymous.insert(anonymous.end(), {"--api-base", base});
    Parsed p = Parse(anonymous, "");
    EXPECT_FALSE(p.code) << base << ": a loopback test server needs no credential: " << p.error;
  }
}

TEST(BackfillFlagsTest, ASiteOfNeitherPropertyFormIsWarnedAboutNotRefused) {
  Parsed p = Parse({"--site", "example.com", "--site", "https://www.example.org", "--site",
                    "sc-domain:example.net", "--from", "2026-01-01", "--to", "2026-01-31"});
  ASSERT_FALSE(p.code) << p.error;
  ASSERT_EQ(p.flags.warnings.size(), 2u);
  EXPECT_NE(p.flags.warnings[0].find("write sc-domain:example.com or https://example.com/"),
            std::string::npos)
      << p.flags.warnings[0];
  EXPECT_NE(p.flags.warnings[1].find("write https://www.example.org/"), std::string::npos)
      << p.flags.warnings[1];
}

TEST(BackfillFlagsTest, TypeAllAndPresetsExpandIntoReports) {
  Parsed p = Parse({"--site", "sc-domain:example.com", "--type", "all", "--preset", "by-device",
                    "--from", "2026-01-01", "--to", "2026-01-31"});
  ASSERT_FALSE(p.code) << p.error;
  ASSERT_EQ(p.flags.job.reports.size(), 6u);
  EXPECT_EQ(p.flags.job.reports[5]->spec.search_type, "googleNews");
  EXPECT_EQ(p.flags.job.reports[5]->spec.DimensionsCsv(), "date,device");
  EXPECT_FALSE(p.flags.appearance_second_pass);

  Parsed both = Parse({"--site", "sc-domain:example.com", "--preset", "by-page", "--dimensions",
                       "date", "--from", "2026-01-01", "--to", "2026-01-31"});
  ASSERT_TRUE(both.code.has_value());
  EXPECT_EQ(both.error, "give --preset or --dimensions, not both (--preset by-page sets them)");

  Parsed appearance = Parse({"--site", "sc-domain:example.com", "--preset", "by-search-appearance",
                             "--from", "2026-01-01", "--to", "2026-01-31"});
  ASSERT_FALSE(appearance.code) << appearance.error;
  EXPECT_TRUE(appearance.flags.appearance_second_pass);
  EXPECT_EQ(appearance.flags.job.reports[0]->spec.DimensionsCsv(), "searchAppearance");
}

}  // namespace
}  // namespace batchfetch
