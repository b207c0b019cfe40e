#include "tools/batchfetch/backfill_flags.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace batchfetch {
namespace {

struct Parsed {
  std::optional<int> code;
  std::string error;
  BackfillFlags flags;
};

Parsed Parse(std::vector<std::string> args, const std::string& env_token = "") {
  std::vector<std::string> argv_storage = {"backfill"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  Parsed p;
  p.code = ParseBackfillFlags(static_cast<int>(argv.size()), argv.data(), env_token, "2026-11-24",
                              &p.flags, &p.error);
  return p;
}

std::vector<std::string> Base() {
  return {"--site", "sc-domain:example.com", "--from", "2026-01-01", "--to", "2026-01-31"};
}

TEST(BackfillFlagsTest, AcceptsTheDocumentedDefaults) {
  Parsed p = Parse(Base());
  ASSERT_FALSE(p.code) << p.error;
  EXPECT_EQ(p.flags.Budget(), 960);
  EXPECT_EQ(p.flags.spec.row_limit, 25000);
  EXPECT_EQ(p.flags.spec.DimensionsCsv(), "date,query,page");
  EXPECT_EQ(p.flags.run.max_concurrency, 8);
  EXPECT_EQ(p.flags.db, "batchfetch.db");
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
                      BadInput{{"--dimensions", "date,keyword"}, "unknown dimension 'keyword'"},
                      BadInput{{"--dimensions", "date,date"}, "given twice"},
                      BadInput{{"--type", "books"}, "--type 'books'"},
                      BadInput{{"--row-limit", "0"}, "--row-limit must be between 1 and 25000"},
                      BadInput{{"--row-limit", "25001"}, "--row-limit must be between 1 and 25000"},
                      BadInput{{"--row-limit", "many"}, "--row-limit"},
                      BadInput{{"--max-concurrency", "0"}, "--max-concurrency"},
                      BadInput{{"--qpm-utilization", "1.5"}, "--qpm-utilization"},
                      BadInput{{"--qpm-window", "0"}, "--qpm-window"},
                      BadInput{{"--data-state", "fresh"}, "--data-state"},
                      BadInput{{"--api-base", "http://example.com"}, "must be https://"},
                      BadInput{{"--log-format", "xml"}, "--log-format"},
                      BadInput{{"--progress", "sometimes"}, "--progress"},
                      BadInput{{"--no-such-flag"}, "no-such-flag"}));

TEST(BackfillFlagsTest, MissingRequiredFlagIsAUsageError) {
  Parsed p = Parse({"--site", "sc-domain:example.com"});
  ASSERT_TRUE(p.code.has_value());
  EXPECT_EQ(*p.code, 1);
  EXPECT_NE(p.error.find("--from"), std::string::npos) << p.error;
}

TEST(BackfillFlagsTest, TokenOnTheCommandLineWarnsAndEnvTokenDoesNot) {
  std::vector<std::string> args = Base();
  args.insert(args.end(), {"--token", "s3cret"});
  Parsed with_flag = Parse(args);
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
  Parsed p = Parse({"--site", "s", "--from", "2023-01-01", "--to", "2023-01-31"});
  ASSERT_FALSE(p.code) << p.error;
  ASSERT_EQ(p.flags.warnings.size(), 1u);
  EXPECT_NE(p.flags.warnings[0].find("16 months"), std::string::npos);
}

TEST(BackfillFlagsTest, LoopbackHttpIsAllowedForTestServers) {
  std::vector<std::string> args = Base();
  args.insert(args.end(), {"--api-base", "http://127.0.0.1:8080"});
  EXPECT_FALSE(Parse(args).code);
}

}  // namespace
}  // namespace batchfetch
