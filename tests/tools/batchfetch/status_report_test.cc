// batchfetch status: pages by state, rows, dead pages with their last error, and the live
// leases of a worker that died holding them; text for people, --json for scripts.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace batchfetch::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string Bin() {
  const char* bin = std::getenv("BATCHFETCH_BIN");
  if (!bin) throw std::runtime_error("BATCHFETCH_BIN is not set");
  return bin;
}

std::vector<std::string> Backfill(const MockGsc& server, const std::string& db,
                                  const std::string& to, const std::string& worker) {
  return {Bin(),
          "backfill",
          "--site",
          "sc-domain:example.com",
          "--from",
          "2025-07-01",
          "--to",
          to,
          "--row-limit",
          "500",
          "--db",
          db,
          "--api-base",
          server.base_url(),
          "--qpm-window",
          "6",
          "--max-attempts",
          "2",
          "--retry-base",
          "0.01",
          "--retry-cap",
          "0.02",
          "--lease",
          "30",
          "--worker-id",
          worker,
          "--progress",
          "never",
          "--allow-old-dates"};
}

TEST(StatusReportTest, ShowsPagesRowsAndDeadPagesWithTheirLastError) {
  TempDir dir;
  MockGsc server({"--latency-ms", "5", "--qpm-window", "6", "--rows-per-day", "300", "--fail-page",
                  "2025-07-02:0"});
  const std::string db = dir.File("ledger.db");
  CommandResult run = RunCommand(Backfill(server, db, "2025-07-05", "w-status"), seconds(60));
  ASSERT_EQ(run.exit_code, 2) << run.out << run.err;

  CommandResult json = RunCommand({Bin(), "status", "--db", db, "--json"}, seconds(30));
  ASSERT_EQ(json.exit_code, 0) << json.err;
  boost::json::object o = boost::json::parse(json.out).as_object();
  ASSERT_EQ(o.at("reports").as_array().size(), 1u);
  const auto& job = o.at("reports").as_array().at(0).as_object();
  EXPECT_EQ(job.at("site").as_string(), "sc-domain:example.com");
  EXPECT_EQ(job.at("id").as_string().size(), 16u);
  EXPECT_NE(job.at("describe").as_string().find("sc-domain:example.com"), std::string::npos);
  // The failed day is not held: the held days are two ranges around it.
  const auto& held = job.at("days_held_ranges").as_array();
  ASSERT_EQ(held.size(), 2u) << json.out;
  EXPECT_EQ(held.at(0).as_string(), "2025-07-01");
  EXPECT_EQ(held.at(1).as_string(), "2025-07-03..2025-07-05");
  EXPECT_EQ(job.at("days_held").to_number<int64_t>(), 4);
  EXPECT_EQ(job.at("pages").at("dead").to_number<int64_t>(), 1);
  EXPECT_EQ(job.at("pages").at("pending").to_number<int64_t>(), 0);
  EXPECT_GT(job.at("pages").at("done").to_number<int64_t>(), 3);
  EXPECT_GT(job.at("rows").to_number<int64_t>(), 0);
  ASSERT_EQ(job.at("dead_pages").as_array().size(), 1u);
  const auto& dead = job.at("dead_pages").as_array().at(0).as_object();
  EXPECT_EQ(dead.at("date").as_string(), "2025-07-02");
  EXPECT_EQ(dead.at("start_row").to_number<int64_t>(), 0);
  EXPECT_EQ(dead.at("attempts").to_number<int64_t>(), 2);
  EXPECT_FALSE(dead.at("last_error").as_string().empty());
  EXPECT_TRUE(job.at("leases").as_array().empty()) << "a finished run holds no lease";

  CommandResult text = RunCommand({Bin(), "status", "--db", db}, seconds(30));
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("1 dead"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("days held (4): 2025-07-01, 2025-07-03..2025-07-05"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("2025-07-02:0  2 attempts  last error: "), std::string::npos) << text.out;
}

TEST(StatusReportTest, ShowsTheLiveLeasesOfAWorkerThatDied) {
  TempDir dir;
  MockGsc server({"--latency-ms", "200", "--qpm-window", "6", "--rows-per-day", "300"});
  const std::string db = dir.File("ledger.db");
  Subprocess::Options options;
  options.argv = Backfill(server, db, "2025-07-30", "w-doomed");
  options.stdout_path = dir.File("out.txt");
  options.stderr_path = dir.File("err.txt");
  {
    Subprocess run(options);
    for (int i = 0; i < 200 && server.Stats().at("requests").to_number<int64_t>() < 4; ++i) {
      std::this_thread::sleep_for(milliseconds(25));
    }
    ASSERT_TRUE(run.Kill(SIGKILL));
    run.Wait(seconds(5));
  }
  CommandResult json = RunCommand({Bin(), "status", "--db", db, "--json"}, seconds(30));
  ASSERT_EQ(json.exit_code, 0) << json.err;
  boost::json::object o = boost::json::parse(json.out).as_object();
  const auto& job = o.at("reports").as_array().at(0).as_object();
  ASSERT_EQ(job.at("leases").as_array().size(), 1u) << json.out;
  const auto& lease = job.at("leases").as_array().at(0).as_object();
  EXPECT_EQ(lease.at("owner").as_string(), "w-doomed");
  EXPECT_GT(lease.at("pages").to_number<int64_t>(), 0);
  EXPECT_EQ(lease.at("pages").to_number<int64_t>(),
            job.at("pages").at("leased").to_number<int64_t>());
  EXPECT_FALSE(lease.at("last_heartbeat").as_string().empty());

  CommandResult text = RunCommand({Bin(), "status", "--db", db}, seconds(30));
  EXPECT_NE(text.out.find("live leases:"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("w-doomed"), std::string::npos) << text.out;
}

TEST(StatusReportTest, ReadCommandsRefuseAPathWithNoLedgerAndCreateNothing) {
  TempDir dir;
  const std::string typo = dir.File("typo.db");
  for (const char* command : {"status", "verify", "retry"}) {
    CommandResult r = RunCommand({Bin(), command, "--db", typo}, seconds(30));
    EXPECT_EQ(r.exit_code, 1) << command << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("no batchfetch ledger"), std::string::npos) << command << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
    EXPECT_FALSE(std::filesystem::exists(typo)) << command << " created " << typo;
  }
}

TEST(StatusReportTest, AnUnknownReportIdIsRefusedWithOneLine) {
  TempDir dir;
  MockGsc server({"--latency-ms", "1", "--qpm-window", "6", "--rows-per-day", "30"});
  const std::string db = dir.File("ledger.db");
  CommandResult run = RunCommand(Backfill(server, db, "2025-07-02", "w-ids"), seconds(60));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  for (std::vector<std::string> args :
       {std::vector<std::string>{"retry", "--report", "0123456789abcdef"},
        std::vector<std::string>{"retry", "--job", "0123456789abcdef"},
        std::vector<std::string>{"verify", "--report", "0123456789abcdef"},
        std::vector<std::string>{"status", "--report", "0123456789abcdef"}}) {
    args.insert(args.begin(), Bin());
    args.insert(args.end(), {"--db", db});
    CommandResult r = RunCommand(args, seconds(30));
    EXPECT_EQ(r.exit_code, 1) << args[1] << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("no report 0123456789abcdef"), std::string::npos) << r.err;
  }
  // The real id works for each, --job being an alias of --report.
  CommandResult json = RunCommand({Bin(), "status", "--db", db, "--json"}, seconds(30));
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const std::string id(
      boost::json::parse(json.out).as_object().at("reports").as_array().at(0).at("id").as_string());
  EXPECT_EQ(RunCommand({Bin(), "retry", "--db", db, "--job", id}, seconds(30)).exit_code, 0);
  EXPECT_EQ(RunCommand({Bin(), "verify", "--db", db, "--report", id}, seconds(30)).exit_code, 0);
}

}  // namespace
}  // namespace batchfetch::testing
