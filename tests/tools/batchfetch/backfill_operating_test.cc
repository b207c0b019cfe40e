// Operating a backfill, as a process: --dry-run writes and sends nothing; a --config file
// plus BATCHFETCH_* variables store the same rows as the flags; under --log-format json
// every stderr line is JSON (the summary and a usage error too) and --json prints one
// JSON object on stdout.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/backfill_runner.h"
#include "tests/tools/batchfetch/ledger_reader.h"

namespace batchfetch::testing {
namespace {

using std::chrono::seconds;

constexpr char kToken[] = "ya29.operating-test-secret";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every non-empty line of text parsed as a JSON object; a gtest failure names a line
// that is not one.
std::vector<boost::json::object> JsonLines(const std::string& text) {
  std::vector<boost::json::object> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    EXPECT_FALSE(ec) << "not JSON: " << line;
    if (!ec && v.is_object()) out.push_back(v.as_object());
    if (!ec) {
      EXPECT_TRUE(v.is_object()) << line;
    }
  }
  return out;
}

// args[2..] ("--flag value" pairs and bare "--flag"s) as a TOML config file; a repeated
// flag becomes a list.
std::string AsToml(const std::vector<std::string>& args) {
  std::map<std::string, std::vector<std::string>> values;
  std::vector<std::string> order;
  for (std::size_t i = 2; i < args.size(); ++i) {
    const std::string name = args[i].substr(2);
    if (!values.count(name)) order.push_back(name);
    const bool has_value = i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0;
    values[name].push_back(has_value ? "\"" + args[++i] + "\"" : "true");
  }
  std::string toml = "# written by backfill_operating_test\n";
  for (const std::string& name : order) {
    const std::vector<std::string>& v = values[name];
    if (v.size() == 1) {
      toml += name + " = " + v[0] + "\n";
    } else {
      toml += name + " = [";
      for (std::size_t i = 0; i < v.size(); ++i) toml += (i ? ", " : "") + v[i];
      toml += "]\n";
    }
  }
  return toml;
}

TEST(BackfillOperatingTest, DryRunPrintsThePlanAndWritesAndSendsNothing) {
  TempDir dir;
  MockGsc server({"--rows-per-day", "300", "--seed", "3"});
  BackfillRunner runner(dir.File("ledger.db"));

  CommandResult dry =
      RunCommand(runner.Args(server, "2025-03-01", "2025-03-10", 2, {"--dry-run", "--qpm", "10"}),
                 seconds(30));
  ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_NE(dry.out.find("does not exist yet"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("10 days, 0 held (0 pages), 10 to fetch"), std::string::npos) << dry.out;
  // 10 requests at floor(10 x 0.8) = 8 per 6 s window: 7.5 s.
  EXPECT_NE(dry.out.find("estimate: 10 requests"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("about 8s at 8 requests per 6 s window"), std::string::npos) << dry.out;
  EXPECT_FALSE(std::filesystem::exists(runner.db())) << "no database is created";
  EXPECT_EQ(JsonInt(server.Stats(), "requests"), 0);

  CommandResult run = RunCommand(runner.Args(server, "2025-03-01", "2025-03-10", 2), seconds(60));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const int64_t requests = JsonInt(server.Stats(), "requests");
  ASSERT_GT(requests, 0);
  const std::string before = ReadFile(runner.db());

  CommandResult again = RunCommand(
      runner.Args(server, "2025-03-01", "2025-03-15", 2, {"--dry-run", "--json"}), seconds(30));
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  std::vector<boost::json::object> lines = JsonLines(again.out);
  ASSERT_EQ(lines.size(), 1u) << again.out;
  const boost::json::object& plan = lines[0];
  EXPECT_TRUE(plan.at("db_exists").as_bool());
  const boost::json::object& report = plan.at("reports").as_array().at(0).as_object();
  EXPECT_EQ(JsonInt(report, "days"), 15);
  EXPECT_EQ(JsonInt(report, "days_held"), 10);
  const int64_t pages = JsonInt(report, "pages_held");
  EXPECT_EQ(pages, requests) << "every request of that run fetched a page";
  EXPECT_EQ(JsonInt(report, "days_to_fetch"), 5);
  // The held days' pages per day, for each day to fetch.
  EXPECT_EQ(JsonInt(plan, "estimated_requests"), (5 * pages + 9) / 10);
  EXPECT_EQ(JsonInt(server.Stats(), "requests"), requests) << "the dry run sent nothing";
  EXPECT_EQ(ReadFile(runner.db()), before) << "the dry run wrote nothing";
}

TEST(BackfillOperatingTest, ConfigFileAndEnvironmentStoreTheSameRowsAsTheFlags) {
  TempDir dir;
  MockGsc server({"--rows-per-day", "700", "--seed", "8", "--token", kToken});
  BackfillRunner by_flags(dir.File("flags.db"));
  const std::vector<std::string> extra = {"--dimensions", "date,query", "--row-limit", "400"};
  CommandResult a = RunCommand(by_flags.Args(server, "2025-05-01", "2025-05-06", 3, extra),
                               seconds(60), {{"BATCHFETCH_TOKEN", kToken}});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;

  // The same flags, the token among them, in a file; the database and the concurrency in
  // the environment (which wins over the file's).
  BackfillRunner by_config(dir.File("config.db"));
  std::vector<std::string> args = by_config.Args(server, "2025-05-01", "2025-05-06", 1, extra);
  args.insert(args.end(), {"--token", kToken});
  const std::string config = dir.File("batchfetch.toml");
  std::ofstream(config) << AsToml(args);
  CommandResult b = RunCommand({by_config.bin(), "backfill", "--config", config}, seconds(60),
                               {{"BATCHFETCH_DB", by_config.db()},
                                {"BATCHFETCH_MAX_CONCURRENCY", "3"},
                                {"BATCHFETCH_TOKEN", ""}});
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
  EXPECT_EQ(b.err.find("visible to other users"), std::string::npos) << "a file is not ps";

  LedgerReader flags_rows(by_flags.db());
  LedgerReader config_rows(by_config.db());
  const auto want = flags_rows.Days(BackfillRunner::kSite, "web", "date,query");
  ASSERT_EQ(want.size(), 6u);
  const auto got = config_rows.Days(BackfillRunner::kSite, "web", "date,query");
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [date, day] : want) {
    EXPECT_EQ(got.at(date).rows, day.rows) << date;
    EXPECT_EQ(got.at(date).checksum, day.checksum) << date;
  }
  EXPECT_EQ(config_rows.TotalRows(), flags_rows.TotalRows());
  for (const std::string& text : {a.out, a.err, b.out, b.err}) {
    EXPECT_EQ(text.find(kToken), std::string::npos) << text;
  }
  CommandResult help = RunCommand({by_config.bin(), "backfill", "--config", config, "--help"},
                                  seconds(30), {{"BATCHFETCH_TOKEN", kToken}});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_EQ((help.out + help.err).find(kToken), std::string::npos);
}

TEST(BackfillOperatingTest, JsonLogsAreJsonOnEveryStderrLineAndJsonPrintsOneObject) {
  TempDir dir;
  MockGsc server({"--rows-per-day", "300", "--seed", "4"});
  BackfillRunner runner(dir.File("ledger.db"));
  CommandResult run = RunCommand(
      runner.Args(server, "2025-06-01", "2025-06-04", 2, {"--log-format", "json", "--json"}),
      seconds(60));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  bool summary_logged = false;
  for (const boost::json::object& line : JsonLines(run.err)) {
    EXPECT_TRUE(line.contains("level")) << boost::json::serialize(line);
    const std::string msg(line.at("msg").as_string());
    if (msg.rfind("summary {", 0) == 0) {
      summary_logged = true;
      EXPECT_TRUE(boost::json::parse(msg.substr(8)).is_object()) << msg;
    }
  }
  EXPECT_TRUE(summary_logged) << run.err;
  std::vector<boost::json::object> out = JsonLines(run.out);
  ASSERT_EQ(out.size(), 1u) << run.out;
  EXPECT_EQ(out[0].at("outcome").as_string(), "done");
  EXPECT_EQ(JsonInt(out[0], "rows"), LedgerReader(runner.db()).TotalRows());
  EXPECT_EQ(JsonInt(out[0], "requests"), JsonInt(server.Stats(), "requests"));

  // Usage errors, with the format from the flag, the environment or a config file.
  const std::string json_config = dir.File("json.toml");
  std::ofstream(json_config) << "log-format = \"json\"\nquota-cooldown = -1\n";
  const std::string json_config2 = dir.File("json2.toml");
  std::ofstream(json_config2) << "log-format = \"json\"\nmetrics-hold = 5\n";
  for (const auto& [args, env] : std::vector<
           std::pair<std::vector<std::string>, std::vector<std::pair<std::string, std::string>>>>{
           {{"--log-format", "json", "--qpm", "0"}, {}},
           {{"--qpm", "0"}, {{"BATCHFETCH_LOG_FORMAT", "json"}}},
           {{"--log-format", "json", "--config", dir.File("missing.toml")}, {}},
           {{"--log-format", "json", "--no-such-flag"}, {}},
           {{"--config", json_config}, {}},
           {{"--config", json_config2}, {}}}) {
    std::vector<std::string> argv = runner.Args(server, "2025-06-01", "2025-06-04", 2);
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult bad = RunCommand(argv, seconds(30), env);
    EXPECT_EQ(bad.exit_code, 1) << bad.err;
    std::vector<boost::json::object> lines = JsonLines(bad.err);
    ASSERT_EQ(lines.size(), 1u) << bad.err;
    EXPECT_EQ(lines[0].at("level").as_string(), "error");
  }
}

}  // namespace
}  // namespace batchfetch::testing
