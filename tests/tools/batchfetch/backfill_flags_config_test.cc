// Where a backfill flag's value may come from: the command line, a BATCHFETCH_* environment
// variable, a --config TOML file; and what --help shows.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"
#include "tools/batchfetch/backfill_flags.h"

namespace batchfetch {
namespace {

using testing::TempDir;

constexpr const char* kToday = "2026-11-24";

struct Parsed {
  std::optional<int> code;
  std::string error;
  BackfillFlags flags;
  std::string out;  // stdout (--help)
};

Parsed Parse(std::vector<std::string> args, const std::string& env_token = "env-token") {
  std::vector<std::string> argv_storage = {"backfill"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  CredentialEnv env;
  env.token = env_token;
  Parsed p;
  ::testing::internal::CaptureStdout();
  p.code = ParseBackfillFlags(static_cast<int>(argv.size()), argv.data(), env, kToday, &p.flags,
                              &p.error);
  p.out = ::testing::internal::GetCapturedStdout();
  return p;
}

std::vector<std::string> Base() {
  return {"--site", "sc-domain:example.com", "--from", "2026-01-01", "--to", "2026-01-31"};
}

// Sets an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
    setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() { unsetenv(name_.c_str()); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
};

std::string WriteConfig(const TempDir& dir, const std::string& text) {
  const std::string path = dir.File("batchfetch.toml");
  std::ofstream(path) << text;
  return path;
}

// One row: a flag, a value as given on the command line and in the environment, the same
// value in TOML, and what the parsed flags hold.
struct SourceCase {
  std::string flag;  // without dashes
  std::string value;
  std::string toml;
  std::function<std::string(const BackfillFlags&)> read;
};

std::vector<SourceCase> SourceCases() {
  return {
      {"max-concurrency", "3", "3",
       [](const BackfillFlags& f) { return std::to_string(f.run.max_concurrency); }},
      {"qpm", "600", "600", [](const BackfillFlags& f) { return std::to_string(f.qpm); }},
      {"qpm-window", "6", "6",
       [](const BackfillFlags& f) { return std::to_string(f.qpm_window_s); }},
      {"db", "other.db", "\"other.db\"", [](const BackfillFlags& f) { return f.db; }},
      {"row-limit", "1000", "1000",
       [](const BackfillFlags& f) { return std::to_string(f.job.row_limit); }},
      {"log-format", "json", "\"json\"", [](const BackfillFlags& f) { return f.log_format; }},
      {"lease", "30", "30",
       [](const BackfillFlags& f) { return std::to_string(f.run.lease.count()); }},
      {"data-state", "all", "\"all\"",
       [](const BackfillFlags& f) { return f.job.reports.at(0)->spec.data_state; }},
      {"dry-run", "true", "true", [](const BackfillFlags& f) { return std::to_string(f.dry_run); }},
  };
}

TEST(BackfillFlagsConfigTest, FlagEnvironmentAndConfigFileGiveTheSameValue) {
  const Parsed defaults = Parse(Base());
  ASSERT_FALSE(defaults.code) << defaults.error;
  for (const SourceCase& c : SourceCases()) {
    SCOPED_TRACE(c.flag);
    std::vector<std::string> args = Base();
    args.insert(args.end(), {"--" + c.flag, c.value});
    if (c.flag == "dry-run") args.pop_back();  // a flag takes no value on the command line
    const Parsed by_flag = Parse(args);
    ASSERT_FALSE(by_flag.code) << by_flag.error;

    std::optional<Parsed> by_env;
    {
      ScopedEnv env(FlagEnvName(c.flag), c.value);
      by_env = Parse(Base());
    }
    ASSERT_FALSE(by_env->code) << by_env->error;

    TempDir dir;
    std::vector<std::string> with_config = Base();
    with_config.insert(with_config.end(),
                       {"--config", WriteConfig(dir, c.flag + " = " + c.toml + "\n")});
    const Parsed by_config = Parse(with_config);
    ASSERT_FALSE(by_config.code) << by_config.error;

    EXPECT_NE(c.read(by_flag.flags), c.read(defaults.flags)) << "the case must change a value";
    EXPECT_EQ(c.read(by_env->flags), c.read(by_flag.flags));
    EXPECT_EQ(c.read(by_config.flags), c.read(by_flag.flags));
  }
}

TEST(BackfillFlagsConfigTest, EnvironmentNamesAreTheFlagInCapitals) {
  EXPECT_EQ(FlagEnvName("max-concurrency"), "BATCHFETCH_MAX_CONCURRENCY");
  EXPECT_EQ(FlagEnvName("db"), "BATCHFETCH_DB");
  EXPECT_EQ(FlagEnvName("qpm-utilization"), "BATCHFETCH_QPM_UTILIZATION");
}

TEST(BackfillFlagsConfigTest, FlagBeatsEnvironmentBeatsConfigFileBeatsDefault) {
  TempDir dir;
  const std::string config =
      WriteConfig(dir,
                  "max-concurrency = 2\nqpm = 300\nlease = 20\nsite = [\"sc-domain:a.com\", "
                  "\"sc-domain:b.com\"]\nfrom = \"2026-02-01\"\n");
  ScopedEnv env_concurrency("BATCHFETCH_MAX_CONCURRENCY", "5");
  ScopedEnv env_qpm("BATCHFETCH_QPM", "400");
  const Parsed p = Parse({"--config", config, "--max-concurrency", "7", "--to", "2026-02-03"});
  ASSERT_FALSE(p.code) << p.error;
  EXPECT_EQ(p.flags.run.max_concurrency, 7);    // flag over env and file
  EXPECT_EQ(p.flags.qpm, 400);                  // env over file
  EXPECT_EQ(p.flags.run.lease.count(), 20000);  // file over default
  EXPECT_EQ(p.flags.qpm_window_s, 60);          // the default
  ASSERT_EQ(p.flags.job.reports.size(), 2u);    // a list from the file
  EXPECT_EQ(p.flags.job.reports[1]->spec.site, "sc-domain:b.com");
  EXPECT_EQ(p.flags.job.from, "2026-02-01");
}

TEST(BackfillFlagsConfigTest, ConfigFileIsCheckedLikeFlags) {
  TempDir dir;
  std::vector<std::string> args = Base();
  args.insert(args.end(), {"--config", WriteConfig(dir, "max-concurrency = 0\n")});
  Parsed out_of_bounds = Parse(args);
  EXPECT_EQ(out_of_bounds.code, 1);
  EXPECT_NE(out_of_bounds.error.find("max-concurrency"), std::string::npos) << out_of_bounds.error;

  args.back() = WriteConfig(dir, "max_concurency = 4\n");
  Parsed typo = Parse(args);
  EXPECT_EQ(typo.code, 1) << "an unknown key is an error, not ignored";
  EXPECT_NE(typo.error.find("max_concurency"), std::string::npos) << typo.error;

  args.back() = dir.File("missing.toml");
  Parsed missing = Parse(args);
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.error.find("missing.toml"), std::string::npos) << missing.error;
}

TEST(BackfillFlagsConfigTest, TokenInAConfigFileOrEnvironmentIsNeverEchoed) {
  TempDir dir;
  const std::string secret = "ya29.secret-config-token";
  // A token in the file is a credential like --token, without the ps warning.
  std::vector<std::string> args = Base();
  args.insert(args.end(), {"--config", WriteConfig(dir, "token = \"" + secret + "\"\n")});
  Parsed from_file = Parse(args, "");
  ASSERT_FALSE(from_file.code) << from_file.error;
  EXPECT_EQ(from_file.flags.token, secret);
  EXPECT_FALSE(from_file.flags.token_from_flag);
  EXPECT_TRUE(from_file.flags.warnings.empty());

  // Not in --help, not in an error about another key.
  args.push_back("--help");
  Parsed help = Parse(args, secret);
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--config"), std::string::npos) << help.out;
  EXPECT_EQ(help.out.find(secret), std::string::npos) << help.out;
  args.pop_back();
  args.back() = WriteConfig(dir, "token = \"" + secret + "\"\nqpm = 0\n");
  Parsed bad = Parse(args, secret);
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.error.find(secret), std::string::npos) << bad.error;
  {
    ScopedEnv env("BATCHFETCH_TOKEN_CMD", "print-token");
    Parsed both = Parse(args);
    EXPECT_EQ(both.error.find(secret), std::string::npos) << both.error;
  }

  // The environment's token wins over the file's.
  args.back() = WriteConfig(dir, "token = \"file-token\"\n");
  Parsed env_wins = Parse(args, "env-token");
  EXPECT_EQ(env_wins.flags.token, "env-token");
}

TEST(BackfillFlagsConfigTest, HelpShowsDefaultsInNamedGroups) {
  Parsed help = Parse({"--help"});
  ASSERT_EQ(help.code, 0);
  std::size_t last = 0;
  for (const char* group : {"Login:", "What to fetch:", "Quota:", "Concurrency and retries:",
                            "Database:", "Output and telemetry:"}) {
    const std::size_t at = help.out.find(group);
    ASSERT_NE(at, std::string::npos) << group << "\n" << help.out;
    EXPECT_GT(at, last) << group << " is out of order";
    last = at;
  }
  EXPECT_NE(help.out.find("FLOAT:in [1, 100000]=1200"), std::string::npos) << "--qpm's default\n"
                                                                           << help.out;
  EXPECT_NE(help.out.find("--db TEXT=batchfetch.db"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("BATCHFETCH_MAX_CONCURRENCY"), std::string::npos) << help.out;
  EXPECT_EQ(help.out.find("--today"), std::string::npos) << "hidden";
}

TEST(BackfillFlagsConfigTest, EveryFlagIsInANamedGroupWithItsVariable) {
  Parsed help = Parse({"--help"});
  ASSERT_EQ(help.code, 0);
  // The only flags outside the six groups are --help and --config.
  const std::size_t first_group = help.out.find("Login:");
  ASSERT_NE(first_group, std::string::npos);
  const std::string general = help.out.substr(0, first_group);
  std::size_t flags = 0;
  for (std::size_t at = general.find("\n  --"); at != std::string::npos;
       at = general.find("\n  --", at + 1)) {
    ++flags;
  }
  EXPECT_EQ(flags, 1u) << general;  // --config (--help is listed as -h,--help)
  EXPECT_NE(help.out.find("BATCHFETCH_SITE"), std::string::npos);
  EXPECT_NE(help.out.find("BATCHFETCH_LOG_FORMAT"), std::string::npos);
}

}  // namespace
}  // namespace batchfetch
