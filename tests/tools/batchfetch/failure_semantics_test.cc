// Failure semantics end to end: retries under injected faults, dead pages and `retry`,
// halt latency, graceful SIGTERM, hostile databases. Each test starts its own mockgsc.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/backfill_runner.h"
#include "tests/tools/batchfetch/ledger_reader.h"

namespace batchfetch::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

int64_t StatusCount(const boost::json::object& stats, const char* status) {
  const auto& by = stats.at("by_status").as_object();
  auto it = by.find(status);
  return it == by.end() ? 0 : it->value().to_number<int64_t>();
}

class FailureSemanticsTest : public ::testing::Test {
 protected:
  TempDir dir_;
  BackfillRunner runner_{dir_.File("ledger.db")};
};

TEST_F(FailureSemanticsTest, TwentyPercentFaultsStillStoreEveryRowOnceUnderQuota) {
  MockGsc server({"--latency-ms", "5", "--qpm", "1200", "--qpm-window", "6", "--rows-per-day",
                  "300", "--seed", "21", "--error-rate", "0.2", "--stall-ms", "1500"});
  const auto dates = runner_.Dates("2025-02-01", 60);
  CommandResult run = RunCommand(runner_.Args(server, dates.front(), dates.back(), 8,
                                              {"--request-timeout", "0.7", "--max-attempts", "12",
                                               "--retry-cap", "0.4", "--quota-cooldown", "1"}),
                                 seconds(240));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  runner_.ExpectAllDaysMatch(server, dates);
  boost::json::object stats = server.Stats();
  EXPECT_EQ(JsonInt(stats, "quota_rejections"), 0);
  EXPECT_LE(JsonInt(stats, "max_window_requests"), 960);
  // Every kind of fault happened and the summary shows the retries.
  for (const char* kind : {"500", "503", "429", "reset", "truncated", "malformed", "stall"}) {
    EXPECT_GT(StatusCount(stats, kind), 0) << kind;
  }
  EXPECT_EQ(run.out.find("retries 0,"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("retries "), std::string::npos) << run.out;
}

TEST_F(FailureSemanticsTest, AlwaysFailingPageGoesDeadExitsTwoAndRetryCompletesIt) {
  const auto dates = runner_.Dates("2025-04-01", 10);
  const std::string bad_day = dates[3];
  {
    MockGsc server({"--latency-ms", "2", "--rows-per-day", "300", "--seed", "4", "--fail-page",
                    bad_day + ":0"});
    CommandResult run =
        RunCommand(runner_.Args(server, dates.front(), dates.back(), 4, {"--max-attempts", "3"}),
                   seconds(120));
    ASSERT_EQ(run.exit_code, 2) << run.out << run.err;
    EXPECT_EQ(server.Stats().at("by_status").as_object().at("500").to_number<int64_t>(), 3);
    LedgerReader reader(runner_.db());
    EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state = 'dead' AND date = '" +
                            bad_day + "' AND attempts = 3 AND last_error LIKE '%500%'"),
              1);
    EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state NOT IN ('done', 'dead')"), 0);
  }
  // The fault is gone: retry + re-run completes the day.
  MockGsc healed({"--latency-ms", "2", "--rows-per-day", "300", "--seed", "4"});
  CommandResult retry = RunCommand({runner_.bin(), "retry", "--db", runner_.db()}, seconds(30));
  ASSERT_EQ(retry.exit_code, 0) << retry.out << retry.err;
  EXPECT_NE(retry.out.find("1 dead pages back to pending"), std::string::npos) << retry.out;
  CommandResult rerun =
      RunCommand(runner_.Args(healed, dates.front(), dates.back(), 4), seconds(120));
  ASSERT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
  runner_.ExpectAllDaysMatch(healed, dates);
  // Only the healed day was fetched again.
  EXPECT_LE(JsonInt(healed.Stats(), "requests"), 3);
}

TEST_F(FailureSemanticsTest, FatalErrorHaltsWithinOneSecondWithSixteenRequestsStalled) {
  // Requests 1..29 are served; from 30 on every request stalls for 30 s, except the
  // 46th, which is answered at once with a permission error. With 17 workers, 16 are
  // stalled when the 17th gets the 403.
  MockGsc server({"--latency-ms", "2", "--rows-per-day", "300", "--seed", "8", "--stall-after",
                  "30", "--fatal-after", "46", "--stall-ms", "30000"});
  const auto dates = runner_.Dates("2025-06-01", 60);
  Subprocess::Options options;
  options.argv = runner_.Args(server, dates.front(), dates.back(), 17, {"--request-timeout", "60"});
  options.stdout_path = dir_.File("out.txt");
  options.stderr_path = dir_.File("err.txt");
  Subprocess run(options);

  Clock::time_point fatal_seen;
  const Clock::time_point deadline = Clock::now() + seconds(60);
  while (true) {
    ASSERT_LT(Clock::now(), deadline) << "the fatal response never came";
    if (StatusCount(server.Stats(), "403") > 0) {
      fatal_seen = Clock::now();
      break;
    }
    ASSERT_TRUE(run.running()) << "exited before the fatal response";
    std::this_thread::sleep_for(milliseconds(5));
  }
  std::optional<int> code = run.Wait(seconds(10));
  const auto halt = std::chrono::duration_cast<milliseconds>(Clock::now() - fatal_seen);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 3);
  EXPECT_LT(halt.count(), 1000) << "halt took " << halt.count() << " ms";
  std::ifstream err(dir_.File("err.txt"));
  std::string err_text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  EXPECT_NE(err_text.find("sufficient permission"), std::string::npos) << err_text;

  boost::json::object stats = server.Stats();
  EXPECT_GE(JsonInt(stats, "max_in_flight"), 17);
  LedgerReader reader(runner_.db());
  EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state = 'leased'"), 0)
      << "no lease may stay held after a halt";
  EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state = 'done'"),
            JsonInt(stats, "page_fetches_total"))
      << "every page fetched before the halt is stored";
}

TEST_F(FailureSemanticsTest, SigtermFinishesInFlightPagesReleasesLeasesAndExits143) {
  MockGsc server({"--latency-ms", "300", "--rows-per-day", "300", "--seed", "9"});
  const auto dates = runner_.Dates("2025-07-01", 60);
  Subprocess::Options options;
  options.argv = runner_.Args(server, dates.front(), dates.back(), 8);
  options.stdout_path = dir_.File("out.txt");
  options.stderr_path = dir_.File("err.txt");
  Subprocess run(options);
  const Clock::time_point deadline = Clock::now() + seconds(30);
  while (JsonInt(server.Stats(), "requests") < 20) {
    ASSERT_LT(Clock::now(), deadline);
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE(run.Kill(SIGTERM));
  std::optional<int> code = run.Wait(seconds(10));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 143);
  // Let the server finish answering anything still in flight before counting.
  boost::json::object stats = server.Stats();
  EXPECT_EQ(JsonInt(stats, "in_flight"), 0);
  LedgerReader reader(runner_.db());
  EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state = 'leased'"), 0);
  EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state = 'done'"),
            JsonInt(stats, "page_fetches_total"))
      << "every page the server answered was committed";
  EXPECT_GT(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state = 'pending'"), 0);
}

TEST_F(FailureSemanticsTest, QuotaErrorsSlowTheJobCoolDownAtLowTrafficAndBurnNoAttempts) {
  // The server allows 1 request per second: the engine's own budget (960 per 6 s) never
  // binds, so every 429 it meets at its low traffic looks like the API's load quota.
  MockGsc server({"--qpm", "1", "--qpm-window", "1", "--rows-per-day", "100", "--seed", "6"});
  const auto dates = runner_.Dates("2025-03-01", 4);
  CommandResult run = RunCommand(
      runner_.Args(server, dates.front(), dates.back(), 4,
                   {"--max-attempts", "1", "--quota-cooldown", "1", "--retry-cap", "0.5"}),
      seconds(120));
  ASSERT_EQ(run.exit_code, 0) << "quota errors must not burn attempts\n" << run.out << run.err;
  runner_.ExpectAllDaysMatch(server, dates);
  EXPECT_GT(JsonInt(server.Stats(), "quota_rejections"), 0);
  // A steady limit far below the budget is either learned (the run goes on at the API's
  // rate and names the --qpm to use) or, before the learner has seen enough, taken for
  // the load quota (a cool-down with the local time it resumes). Either is said on stderr.
  const bool learned = run.err.find("Next time pass --qpm") != std::string::npos;
  const bool cooled = run.err.find("load quota") != std::string::npos &&
                      run.err.find("resuming at") != std::string::npos;
  EXPECT_TRUE(learned || cooled) << run.err;
  EXPECT_EQ(run.out.find("quota errors 0,"), std::string::npos) << run.out;
}

TEST_F(FailureSemanticsTest, UnreachableApiHaltsWithOneLineAndLeavesPagesPending) {
  // Nothing listens on the port of a server that was started and stopped.
  std::string dead_base;
  {
    MockGsc gone({"--rows-per-day", "10"});
    dead_base = gone.base_url();
  }
  MockGsc server({"--rows-per-day", "10"});  // only for the runner's defaults
  const auto dates = runner_.Dates("2025-03-01", 5);
  const auto start = Clock::now();
  CommandResult run = RunCommand(
      runner_.Args(server, dates.front(), dates.back(), 2, {"--api-base", dead_base}), seconds(60));
  EXPECT_EQ(run.exit_code, 3) << run.out << run.err;
  EXPECT_LT(Clock::now() - start, seconds(20));
  EXPECT_NE(run.err.find("cannot reach the API"), std::string::npos) << run.err;
  EXPECT_NE(run.out.find("run the same command again to resume"), std::string::npos) << run.out;
  LedgerReader reader(runner_.db());
  EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state = 'dead'"), 0);
  EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state = 'leased'"), 0);
  EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state = 'pending'"), 5);
  // The same command against a live server then completes.
  CommandResult again =
      RunCommand(runner_.Args(server, dates.front(), dates.back(), 2), seconds(60));
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
}

TEST_F(FailureSemanticsTest, NoCredentialForARealApiIsRefusedBeforeAnythingIsWritten) {
  const std::string db = dir_.File("never.db");
  const std::string audit = dir_.File("audit.jsonl");
  CommandResult run =
      RunCommand({runner_.bin(), "backfill", "--site", "sc-domain:example.com", "--from",
                  "2025-01-01", "--to", "2025-01-02", "--allow-old-dates", "--db", db, "--api-base",
                  "https://api.example.invalid", "--audit-log", audit},
                 seconds(30), {{"BATCHFETCH_TOKEN", ""}, {"GOOGLE_APPLICATION_CREDENTIALS", ""}});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_NE(run.err.find("no credential"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(db));
  EXPECT_FALSE(std::filesystem::exists(audit));
}

TEST_F(FailureSemanticsTest, HostileDatabasesAreRefusedWithOneLineAndTouchedNot) {
  MockGsc server({"--rows-per-day", "10"});
  const auto dates = runner_.Dates("2025-01-01", 2);
  auto run_with_db = [&](const std::string& db) {
    BackfillRunner other(db);
    return RunCommand(other.Args(server, dates.front(), dates.back(), 2), seconds(30));
  };
  // A directory that does not exist.
  CommandResult missing = run_with_db(dir_.File("no/such/dir/ledger.db"));
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  EXPECT_NE(missing.err.find("cannot use --db"), std::string::npos) << missing.err;
  // A text file: a damaged ledger as far as anyone can tell, so the run halts (3).
  const std::string text = dir_.File("notes.txt");
  std::ofstream(text) << "these are my notes, not a database\n";
  CommandResult garbage = run_with_db(text);
  EXPECT_EQ(garbage.exit_code, 3) << garbage.err;
  std::ifstream kept(text);
  std::string content((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "these are my notes, not a database\n") << "the file must be left alone";
  // Another program's SQLite database.
  const std::string foreign = dir_.File("other.db");
  RunCommand({"sqlite3", foreign, "CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL);"});
  CommandResult other = run_with_db(foreign);
  EXPECT_EQ(other.exit_code, 1) << other.err;
  EXPECT_NE(other.err.find("not a batchfetch database"), std::string::npos) << other.err;
  EXPECT_EQ(JsonInt(server.Stats(), "requests"), 0) << "nothing may be fetched for a bad --db";
}

}  // namespace
}  // namespace batchfetch::testing
