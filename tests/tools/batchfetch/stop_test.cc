// Stop means stop (issue 12), measured against mockgsc: a graceful stop ends as soon as
// the last in-flight page commits, never waits out --halt-timeout, never ends as a halt
// (exit 3), releases its leases and loses nothing, however the signal lands.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <map>
#include <optional>
#include <random>
#include <sstream>
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

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

int64_t BatchesIn(LedgerReader& reader, const std::string& state) {
  return reader.Scalar("SELECT COUNT(*) FROM batches WHERE state = '" + state + "'");
}

// Fails the test unless every day of dates holds at most max_rows rows on the server:
// the premise of a test that wants short, predictable runs (no huge, truncated day).
void ExpectSmallDays(const MockGsc& server, const std::vector<std::string>& dates,
                     int64_t max_rows) {
  for (const std::string& date : dates) {
    ASSERT_LE(server.Expected(BackfillRunner::kSite, "web", date, BackfillRunner::kDims).rows,
              max_rows)
        << "test premise: pick another seed or range; day " << date;
  }
}

class StopTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

// One request in flight at --max-concurrency 1 when SIGTERM arrives: the run exits 143
// within a second of that request's answer (not after the 8 s halt timeout), the page
// is committed, and every other page is still pending, none dead, none leased.
TEST_F(StopTest, SigtermWithOneRequestInFlightExitsWithinOneSecondOfItsAnswer) {
  MockGsc server(
      {"--latency-ms", "1500", "--latency-p99-ms", "1500", "--rows-per-day", "100", "--seed", "1"});
  BackfillRunner runner(dir_.File("ledger.db"));
  const auto dates = BackfillRunner::Dates("2025-07-01", 5);
  ASSERT_NO_FATAL_FAILURE(ExpectSmallDays(server, dates, BackfillRunner::kRowLimit - 1));
  Subprocess::Options options;
  options.argv = runner.Args(server, dates.front(), dates.back(), 1, {"--halt-timeout", "8"});
  options.stdout_path = dir_.File("out.txt");
  options.stderr_path = dir_.File("err.txt");
  Subprocess run(options);

  Clock::time_point deadline = Clock::now() + seconds(30);
  while (JsonInt(server.Stats(), "in_flight") != 1) {
    ASSERT_LT(Clock::now(), deadline) << "no request ever went in flight";
    ASSERT_TRUE(run.running()) << "exited before its first request";
    std::this_thread::sleep_for(milliseconds(2));
  }
  const Clock::time_point signalled = Clock::now();
  ASSERT_TRUE(run.Kill(SIGTERM));

  // The answer lands between the last poll that saw it in flight and the first that did
  // not; measuring from the last busy poll over-estimates the exit delay, never under.
  Clock::time_point last_busy = signalled;
  bool answered = false;
  std::optional<int> code;
  deadline = Clock::now() + seconds(20);
  while (!(code = run.Wait(milliseconds(0)))) {
    ASSERT_LT(Clock::now(), deadline) << "still running 20 s after SIGTERM";
    if (!answered) {
      const Clock::time_point polled = Clock::now();
      if (JsonInt(server.Stats(), "in_flight") > 0) {
        last_busy = polled;
      } else {
        answered = true;
      }
    }
    std::this_thread::sleep_for(milliseconds(2));
  }
  const Clock::time_point exited = Clock::now();
  ASSERT_EQ(*code, 143);
  const double after_answer = Seconds(exited - last_busy);
  std::printf("exit 143 %.3f s after the in-flight request was answered (%.3f s after SIGTERM)\n",
              after_answer, Seconds(exited - signalled));
  EXPECT_LT(after_answer, 1.0) << "a graceful stop waited after its last request";

  // Exactly that request, and its page committed; the rest pending.
  boost::json::object stats = server.Stats();
  EXPECT_EQ(JsonInt(stats, "requests"), 1);
  EXPECT_EQ(JsonInt(stats, "in_flight"), 0);
  runner.ExpectAllDaysMatch(server, {dates.front()});
  LedgerReader reader(runner.db());
  EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state = 'done' AND date = '" +
                          dates.front() + "'"),
            1);
  EXPECT_EQ(BatchesIn(reader, "done"), 1);
  EXPECT_EQ(BatchesIn(reader, "pending"), static_cast<int64_t>(dates.size()) - 1);
  EXPECT_EQ(BatchesIn(reader, "dead"), 0);
  EXPECT_EQ(BatchesIn(reader, "leased"), 0);
  CommandResult status = RunCommand({runner.bin(), "status", "--db", runner.db()}, seconds(30));
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
}

// Signals at random moments of short runs, from before the handlers exist to the last
// commit: each run ends 143 (interrupted) or 0 (it had finished), never 3 or a crash, and
// a rerun completes every day exactly once.
class RandomSignalTest : public StopTest {
 protected:
  struct Tally {
    std::map<int, int> codes;  // exit code -> runs
    int runs = 0;
  };

  // groups fresh ledgers; per group, runs_per_group interrupted runs, then a rerun to
  // completion that must store every day exactly. second_signal: also send a second
  // SIGTERM 0-100 ms after the first (the halt path, which cancels the workers).
  Tally Run(uint32_t seed, int groups, int runs_per_group, bool second_signal) {
    MockGsc server({"--latency-ms", "60", "--rows-per-day", "400", "--seed", "1"});
    const auto dates = BackfillRunner::Dates("2025-05-01", 20);
    Tally tally;
    ExpectSmallDays(server, dates, 2 * BackfillRunner::kRowLimit - 1);
    if (::testing::Test::HasFatalFailure()) return tally;
    std::mt19937 rng(seed);
    for (int g = 0; g < groups; ++g) {
      BackfillRunner runner(dir_.File("ledger-" + std::to_string(g) + ".db"));
      const auto args = runner.Args(server, dates.front(), dates.back(), 4);
      for (int i = 0; i < runs_per_group; ++i) {
        // One run in five is signalled in its first 25 ms, before or while it installs
        // its signal handlers; the rest anywhere in 0-400 ms.
        const int delay_ms = tally.runs % 5 == 0 ? std::uniform_int_distribution<int>(0, 25)(rng)
                                                 : std::uniform_int_distribution<int>(0, 400)(rng);
        const int second_ms = std::uniform_int_distribution<int>(0, 100)(rng);
        Subprocess::Options options;
        options.argv = args;
        options.stdout_path = dir_.File("out.txt");
        options.stderr_path = dir_.File("err-" + std::to_string(tally.runs) + ".txt");
        Subprocess run(options);
        std::this_thread::sleep_for(milliseconds(delay_ms));
        run.Kill(SIGTERM);
        if (second_signal) {
          std::this_thread::sleep_for(milliseconds(second_ms));
          run.Kill(SIGTERM);
        }
        std::optional<int> code = run.Wait(seconds(20));
        ++tally.runs;
        EXPECT_TRUE(code.has_value()) << "run " << tally.runs << " still up 20 s after SIGTERM";
        if (!code) continue;
        ++tally.codes[*code];
        EXPECT_TRUE(*code == 143 || *code == 0)
            << "run " << tally.runs << " (SIGTERM at " << delay_ms << " ms) exited " << *code
            << "; stderr in " << options.stderr_path;
      }
      CommandResult rerun = RunCommand(args, seconds(60));
      EXPECT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
      runner.ExpectAllDaysMatch(server, dates);
      LedgerReader reader(runner.db());
      EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state <> 'done'"), 0);
    }
    return tally;
  }

  static std::string Describe(const Tally& tally) {
    std::ostringstream out;
    for (auto [code, n] : tally.codes) out << " exit " << code << " x" << n;
    return out.str();
  }
};

TEST_F(RandomSignalTest, FiftySigtermsAtRandomMomentsEndIn143Or0AndLoseNothing) {
  const uint32_t seed = 20261203;
  SCOPED_TRACE("seed " + std::to_string(seed));
  Tally tally = Run(seed, 10, 5, false);
  std::printf("%d runs:%s\n", tally.runs, Describe(tally).c_str());
  EXPECT_EQ(tally.runs, 50);
  EXPECT_EQ(tally.codes[0] + tally.codes[143], 50) << Describe(tally);
  EXPECT_GT(tally.codes[143], 0) << "no signal landed during a run: the test proves nothing";
}

TEST_F(RandomSignalTest, DoubleSigtermsAtRandomMomentsNeverEndAsAHalt) {
  const uint32_t seed = 1207;
  SCOPED_TRACE("seed " + std::to_string(seed));
  Tally tally = Run(seed, 2, 5, true);
  std::printf("%d runs with two signals:%s\n", tally.runs, Describe(tally).c_str());
  EXPECT_EQ(tally.codes[0] + tally.codes[143], 10) << Describe(tally);
}

// SIGINT and SIGHUP stop as gracefully as SIGTERM, with their own exit codes (README:
// 128 + signal), and release every lease: a run started right after does not wait for
// them to expire (--lease 60) and completes the range.
TEST_F(StopTest, SigintAndSighupStopGracefullyAndReleaseTheirLeases) {
  MockGsc server({"--latency-ms", "300", "--rows-per-day", "300", "--seed", "12"});
  const auto dates = BackfillRunner::Dates("2025-08-01", 30);
  for (auto [sig, want] : {std::pair{SIGINT, 130}, std::pair{SIGHUP, 129}}) {
    SCOPED_TRACE("signal " + std::to_string(sig));
    BackfillRunner runner(dir_.File("ledger-" + std::to_string(sig) + ".db"));
    const auto args = runner.Args(server, dates.front(), dates.back(), 4, {"--lease", "60"});
    Subprocess::Options options;
    options.argv = args;
    options.stdout_path = dir_.File("out.txt");
    options.stderr_path = dir_.File("err.txt");
    const int64_t before = JsonInt(server.Stats(), "page_fetches_total");
    Subprocess run(options);
    const Clock::time_point deadline = Clock::now() + seconds(30);
    // Mid-run: some pages committed, requests in flight, claimed pages queued.
    while (true) {
      boost::json::object stats = server.Stats();
      if (JsonInt(stats, "page_fetches_total") >= before + 6 && JsonInt(stats, "in_flight") > 0)
        break;
      ASSERT_LT(Clock::now(), deadline);
      ASSERT_TRUE(run.running());
      std::this_thread::sleep_for(milliseconds(5));
    }
    ASSERT_TRUE(run.Kill(sig));
    std::optional<int> code = run.Wait(seconds(10));
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, want);
    {
      LedgerReader reader(runner.db());
      EXPECT_EQ(BatchesIn(reader, "leased"), 0) << "a graceful stop releases every lease";
      EXPECT_EQ(BatchesIn(reader, "dead"), 0);
      EXPECT_EQ(BatchesIn(reader, "done"), JsonInt(server.Stats(), "page_fetches_total") - before)
          << "every page the server answered was committed";
      EXPECT_GT(BatchesIn(reader, "pending"), 0);
    }
    const Clock::time_point rerun_start = Clock::now();
    CommandResult rerun = RunCommand(args, seconds(60));
    const double rerun_s = Seconds(Clock::now() - rerun_start);
    std::printf("signal %d: exit %d; the rerun completed in %.2f s\n", sig, *code, rerun_s);
    ASSERT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
    EXPECT_LT(rerun_s, 20.0) << "the rerun waited for leases the stopped run held";
    runner.ExpectAllDaysMatch(server, dates);
  }
}

}  // namespace
}  // namespace batchfetch::testing
