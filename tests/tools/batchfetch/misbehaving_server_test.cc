// Issue 14: a server that answers wrongly. Each page it spoils is refused (dead after its
// attempts, or a halt), never stored; eight oversized answers at once stay inside the
// process's body budget; a ledger that turns read-only mid-run halts the run.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/backfill_runner.h"
#include "tests/tools/batchfetch/ledger_reader.h"
#include "tests/tools/batchfetch/measured_run.h"

namespace batchfetch::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Fast retries: a refused page is dead after 2 attempts in well under a second.
const std::vector<std::string> kFastRetries = {"--max-attempts", "2",           "--retry-base",
                                               "0.01",           "--retry-cap", "0.05"};

struct Spoiled {
  const char* mode;
  const char* refusal;  // in the dead page's error
};

TEST(MisbehavingServerTest, EverySpoiledPageIsRefusedAndNoRowIsStored) {
  for (const Spoiled& s :
       {Spoiled{"wrong-date", "dated 2025-01-0"},
        Spoiled{"too-many-rows", "rows for a rowLimit of 500"}, Spoiled{"bad-numbers", "clicks"}}) {
    SCOPED_TRACE(s.mode);
    TempDir dir;
    MockGsc server(
        {"--misbehave", s.mode, "--latency-ms", "1", "--qpm-window", "6", "--rows-per-day", "20"});
    BackfillRunner runner(dir.File("ledger.db"));
    const auto dates = BackfillRunner::Dates("2025-01-01", 3);
    const MeasuredRun run = RunMeasured(
        runner.Args(server, dates.front(), dates.back(), 2, kFastRetries), {}, "", seconds(60));
    EXPECT_TRUE(run.exit_code == 2 || run.exit_code == 3) << run.exit_code << run.out << run.err;
    EXPECT_NE(run.err.find(s.refusal), std::string::npos) << run.err;
    LedgerReader reader(runner.db());
    EXPECT_EQ(reader.Scalar("SELECT count(*) FROM batches WHERE state = 'done'"), 0);
    EXPECT_EQ(reader.Scalar("SELECT count(*) FROM search_analytics"), 0);
    EXPECT_EQ(reader.Scalar("SELECT count(*) FROM days"), 0);
  }
}

// A server whose days shift between pages on every fetch: each multi-page day restarts
// from row 0 each time its last page lands, and without a bound would be fetched forever.
// Each restart counts an attempt, so the run ends with those days dead (their old rows, if
// any, untouched) and every single-page day stored.
TEST(MisbehavingServerTest, DaysThatShiftOnEveryFetchEndDeadAfterTheirAttempts) {
  TempDir dir;
  MockGsc server({"--misbehave", "shifting-rows", "--latency-ms", "1", "--qpm-window", "6",
                  "--rows-per-day", "8", "--huge-days", "0"});
  BackfillRunner runner(dir.File("ledger.db"));
  const auto dates = BackfillRunner::Dates("2025-01-01", 20);
  const MeasuredRun run = RunMeasured(runner.Args(server, dates.front(), dates.back(), 2,
                                                  {"--row-limit", "5", "--max-attempts", "3",
                                                   "--retry-base", "0.01", "--retry-cap", "0.05"}),
                                      {}, "", seconds(60));
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  LedgerReader reader(runner.db());
  const int64_t dead = reader.Scalar("SELECT count(*) FROM batches WHERE state = 'dead'");
  const int64_t held = reader.Scalar("SELECT count(*) FROM days");
  EXPECT_GE(dead, 3) << "days of 6 to 16 rows take 2+ pages of 5";
  EXPECT_EQ(dead + held, 20) << "every day ends: held or dead";
  EXPECT_EQ(reader.Scalar("SELECT count(*) FROM batches WHERE state = 'dead' AND start_row = 0"
                          " AND attempts = 3 AND last_error LIKE '%changed while it was fetched%'"),
            dead);
  EXPECT_EQ(reader.Scalar("SELECT count(*) FROM batches WHERE state IN ('pending', 'leased')"), 0);
  EXPECT_EQ(reader.Scalar("SELECT count(*) FROM staged_rows"), 0);
  EXPECT_EQ(reader.Scalar("SELECT count(*) FROM search_analytics WHERE date IN (SELECT date"
                          " FROM batches WHERE state = 'dead')"),
            0)
      << "no row of a day that never held still";
  // Each dead day was fetched 3 times, each fetch at most 4 pages (16 rows / 5).
  EXPECT_LE(JsonInt(server.Stats(), "requests"), held + dead * 3 * 4);
  EXPECT_NE(run.out.find("dead pages " + std::to_string(dead)), std::string::npos) << run.out;
}

TEST(MisbehavingServerTest, EightOversizedAnswersAtOnceStayUnder600MB) {
  TempDir dir;
  MockGsc server(
      {"--misbehave", "oversized", "--oversized-mb", "200", "--threads", "4", "--qpm-window", "6"});
  BackfillRunner runner(dir.File("ledger.db"));
  const auto dates = BackfillRunner::Dates("2025-01-01", 8);
  // Under AddressSanitizer freed buffers wait in a 256 MB quarantine before reuse; without
  // it the figure is the engine's own (plus ASan's shadow). Ignored by a plain build.
  const MeasuredRun run =
      RunMeasured(runner.Args(server, dates.front(), dates.back(), 8, kFastRetries),
                  {{"ASAN_OPTIONS", "quarantine_size_mb=0"}}, "", seconds(150));
  EXPECT_TRUE(run.exit_code == 2 || run.exit_code == 3) << run.exit_code << run.out << run.err;
  EXPECT_GE(JsonInt(server.Stats(), "requests"), 8);
  EXPECT_LT(run.peak_rss_kib, 600 * 1024) << "peak RSS " << run.peak_rss_kib << " KiB";
  std::printf("8 x 200 MB answers at once: peak RSS %ld KiB\n", run.peak_rss_kib);
  LedgerReader reader(runner.db());
  EXPECT_EQ(reader.Scalar("SELECT count(*) FROM batches WHERE state = 'done'"), 0);
  EXPECT_EQ(reader.Scalar("SELECT count(*) FROM search_analytics"), 0);
}

// A backfill of dates at concurrency 2 for a process of its own; its output goes to
// dir's out.txt and err.txt.
Subprocess::Options BackfillInBackground(const TempDir& dir, const BackfillRunner& runner,
                                         const MockGsc& server,
                                         const std::vector<std::string>& dates) {
  Subprocess::Options options;
  options.argv = runner.Args(server, dates.front(), dates.back(), 2);
  options.stdout_path = dir.File("out.txt");
  options.stderr_path = dir.File("err.txt");
  return options;
}

// Waits (at most 10 s) until the ledger at path holds n done pages.
void WaitForDonePages(const std::string& path, int64_t n) {
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(milliseconds(50));
    sqlite3* db = nullptr;
    int64_t done = 0;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT count(*) FROM batches WHERE state = 'done'", -1, &stmt,
                             nullptr) == SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW) {
        done = sqlite3_column_int64(stmt, 0);
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    if (done >= n) return;
  }
}

std::string ReadText(const std::string& path) {
  std::string text;
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  return text;
}

// Makes the ledger's files immutable (chattr +i: even root's open descriptors can no
// longer write them) until destroyed.
class ImmutableFiles {
 public:
  explicit ImmutableFiles(std::vector<std::string> paths) : paths_(std::move(paths)) {
    for (const std::string& p : paths_) {
      ok_ = RunCommand({"chattr", "+i", p}, seconds(10)).exit_code == 0 && ok_;
    }
  }
  ~ImmutableFiles() {
    for (const std::string& p : paths_) RunCommand({"chattr", "-i", p}, seconds(10));
  }
  bool ok() const { return ok_; }

 private:
  std::vector<std::string> paths_;
  bool ok_ = true;
};

TEST(MisbehavingServerTest, ALedgerThatTurnsReadOnlyMidRunHaltsInsteadOfRetryingForever) {
  TempDir dir;
  MockGsc server({"--latency-ms", "150", "--qpm-window", "6", "--rows-per-day", "20"});
  BackfillRunner runner(dir.File("ledger.db"));
  const auto dates = BackfillRunner::Dates("2025-01-01", 40);
  Subprocess backfill(BackfillInBackground(dir, runner, server, dates));
  // Wait for the first commits, then make the ledger read-only under the running process.
  WaitForDonePages(runner.db(), 2);
  ImmutableFiles read_only({runner.db(), runner.db() + "-wal"});
  ASSERT_TRUE(read_only.ok()) << "chattr +i must work here (root, ext4)";
  const auto frozen = std::chrono::steady_clock::now();
  const std::optional<int> code = backfill.Wait(seconds(60));
  const auto took = std::chrono::steady_clock::now() - frozen;
  ASSERT_TRUE(code.has_value()) << "still retrying after 60 s of a read-only ledger";
  EXPECT_EQ(*code, 3);
  EXPECT_LT(took, seconds(30));
  std::printf("read-only ledger: halted after %.1f s\n",
              std::chrono::duration<double>(took).count());
  const std::string text = ReadText(dir.File("err.txt"));
  EXPECT_NE(text.find("times in a row"), std::string::npos) << text;
}

// Another program holds a write transaction on the ledger (a GUI left open): commits wait
// SQLite's busy budget and fail; after five in a row the run halts. The ledger work the
// halt still asks for (releases, the final read) must not wait on the lock again: the
// process exits within one busy budget (10 s) of the halt, not one per remaining call.
TEST(MisbehavingServerTest, ALedgerLockedByAnotherProgramHaltsAndExitsSoonAfter) {
  TempDir dir;
  MockGsc server({"--latency-ms", "200", "--qpm-window", "6", "--rows-per-day", "5"});
  BackfillRunner runner(dir.File("ledger.db"));
  const auto dates = BackfillRunner::Dates("2025-01-01", 40);
  Subprocess backfill(BackfillInBackground(dir, runner, server, dates));
  // Once the first pages are in, take the write lock and keep it.
  WaitForDonePages(runner.db(), 2);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(runner.db().c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE; UPDATE reports SET site = site", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  const std::optional<int> code = backfill.Wait(seconds(120));
  const auto exited = std::chrono::system_clock::now();
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  ASSERT_TRUE(code.has_value()) << "still waiting on a locked ledger after 120 s";
  EXPECT_EQ(*code, 3);
  const std::string text = ReadText(dir.File("err.txt"));
  // The halt line's local time: "YYYY-MM-DD HH:MM:SS.mmm error [...] halting: database: ...".
  const std::size_t halting = text.find("halting: database:");
  ASSERT_NE(halting, std::string::npos) << text;
  const std::size_t line =
      text.rfind('\n', halting) == std::string::npos ? 0 : text.rfind('\n', halting) + 1;
  std::tm tm{};
  int millis = 0;
  ASSERT_EQ(std::sscanf(text.c_str() + line, "%d-%d-%d %d:%d:%d.%d", &tm.tm_year, &tm.tm_mon,
                        &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis),
            7)
      << text.substr(line, 80);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  const auto halted =
      std::chrono::system_clock::from_time_t(std::mktime(&tm)) + milliseconds(millis);
  const double after = std::chrono::duration<double>(exited - halted).count();
  std::printf("locked ledger: exited %.1f s after the halt\n", after);
  EXPECT_LT(after, 15.0) << "waited on the locked ledger again after halting\n" << text;
  EXPECT_EQ(text.find("releasing leases failed"), std::string::npos) << text;
}

}  // namespace
}  // namespace batchfetch::testing
