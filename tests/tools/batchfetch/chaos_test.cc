// Chaos: SIGKILL the backfill at 20 random moments, re-run after each; the final database
// must match /__expected for every day with no duplicate rows. Seeded; the seed is
// printed and can be replayed with BATCHFETCH_SEED.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>

#include "tests/support/mockgsc_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/backfill_runner.h"
#include "tests/tools/batchfetch/ledger_reader.h"

namespace batchfetch::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ChaosTest, TwentyRandomKillsThenResumeStoresEveryRowExactlyOnce) {
  const char* env_seed = std::getenv("BATCHFETCH_SEED");
  const uint64_t seed = env_seed ? std::strtoull(env_seed, nullptr, 10) : std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (replay with BATCHFETCH_SEED)");
  std::mt19937_64 rng(seed);

  TempDir dir;
  BackfillRunner runner(dir.File("ledger.db"));
  // Many pages per day (row limit 500, rows up to 2x1000) so kills land mid-day too.
  MockGsc server({"--latency-ms", "15", "--latency-p99-ms", "60", "--rows-per-day", "1000",
                  "--seed", "17", "--qpm", "100000"});
  const auto dates = BackfillRunner::Dates("2025-08-01", 45);
  const auto args = runner.Args(server, dates.front(), dates.back(), 8, {"--lease", "2"});

  int killed_mid_run = 0;
  for (int round = 0; round < 20; ++round) {
    Subprocess::Options options;
    options.argv = args;
    options.stdout_path = dir.File("out.txt");
    options.stderr_path = dir.File("err.txt");
    Subprocess run(options);
    std::uniform_int_distribution<int> delay_ms(20, 400);
    std::this_thread::sleep_for(milliseconds(delay_ms(rng)));
    if (run.Kill(SIGKILL)) {
      std::optional<int> code = run.Wait(seconds(5));
      ASSERT_TRUE(code.has_value());
      if (*code == 128 + SIGKILL) ++killed_mid_run;
    }
    // A lease left by a killed process expires after --lease (2 s); the next round claims
    // what is free now and the rest once it expires.
  }
  EXPECT_GT(killed_mid_run, 10) << "most kills should land while the run is working";
  // Let the last leases expire, then finish.
  std::this_thread::sleep_for(milliseconds(2100));
  CommandResult final_run = RunCommand(args, seconds(300));
  ASSERT_EQ(final_run.exit_code, 0) << final_run.out << final_run.err;
  runner.ExpectAllDaysMatch(server, dates);
  LedgerReader reader(runner.db());
  EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state <> 'done'"), 0);
}

}  // namespace
}  // namespace batchfetch::testing
