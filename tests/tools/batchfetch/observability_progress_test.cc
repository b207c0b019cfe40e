// The live progress line: drawn on a terminal (stderr on a pseudo-terminal), absent when
// stderr is a file, forced by --progress always, and never on stdout.

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace batchfetch::testing {
namespace {

using std::chrono::seconds;

constexpr char kErase[] = "\r\033[K";

std::string Bin() {
  const char* bin = std::getenv("BATCHFETCH_BIN");
  if (!bin) throw std::runtime_error("BATCHFETCH_BIN is not set");
  return bin;
}

std::vector<std::string> Args(const MockGsc& server, const std::string& db,
                              const std::string& progress) {
  return {Bin(),
          "backfill",
          "--site",
          "sc-domain:example.com",
          "--from",
          "2025-04-01",
          "--to",
          "2025-04-20",
          "--row-limit",
          "500",
          "--db",
          db,
          "--api-base",
          server.base_url(),
          "--qpm-window",
          "6",
          "--max-concurrency",
          "1",
          "--allow-old-dates",
          "--progress",
          progress};
}

struct PtyRun {
  int exit_code = -1;
  std::string terminal;  // what the child wrote to the terminal (its stderr)
  std::string out;       // its stdout (a file)
};

// Runs argv with stderr on a pseudo-terminal and stdout in out_path.
PtyRun RunOnPty(const std::vector<std::string>& argv, const std::string& out_path) {
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) throw std::runtime_error("forkpty failed");
  if (pid == 0) {
    // The pty is stdin/stdout/stderr now; stdout goes to a file so only stderr is a tty.
    FILE* out = std::fopen(out_path.c_str(), "w");
    if (!out) _exit(127);
    dup2(fileno(out), STDOUT_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  PtyRun run;
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    const ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the child has closed the terminal
    run.terminal.append(buf, static_cast<std::size_t>(n));
  }
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(out_path);
  std::stringstream s;
  s << in.rdbuf();
  run.out = s.str();
  return run;
}

TEST(ObservabilityProgressTest, DrawnOnATerminalAndClearedBeforeTheSummary) {
  TempDir dir;
  MockGsc server(
      {"--latency-ms", "80", "--qpm-window", "6", "--rows-per-day", "300", "--seed", "5"});
  PtyRun run = RunOnPty(Args(server, dir.File("a.db"), "auto"), dir.File("out.txt"));
  ASSERT_EQ(run.exit_code, 0) << run.terminal << run.out;
  EXPECT_NE(run.terminal.find(kErase), std::string::npos) << run.terminal;
  EXPECT_NE(run.terminal.find(" pages ("), std::string::npos) << run.terminal;
  // Requests in the current window against the budget, once the engine's gauges arrive.
  EXPECT_TRUE(std::regex_search(run.terminal, std::regex(R"( \| window \d+/\d+ \| )")))
      << run.terminal;
  EXPECT_NE(run.terminal.find(" rows | "), std::string::npos) << run.terminal;
  EXPECT_NE(run.terminal.find(" | ETA "), std::string::npos) << run.terminal;
  // The display ends by erasing itself: nothing follows the last erase.
  const std::size_t last = run.terminal.rfind(kErase);
  EXPECT_EQ(run.terminal.find_first_not_of("\r\n", last + sizeof kErase - 1), std::string::npos)
      << run.terminal.substr(last);
  // The summary stays on stdout, free of terminal escapes.
  EXPECT_NE(run.out.find("batchfetch: done:"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find('\033'), std::string::npos);
}

// A run shorter than one quota window: the line shows the requests granted in the window
// against its budget and no requests-per-minute rate (which would extrapolate some 50
// requests in a few seconds to far over the budget of 240 per minute).
TEST(ObservabilityProgressTest, ARunShorterThanOneWindowShowsTheWindowAndNoRate) {
  TempDir dir;
  MockGsc server(
      {"--latency-ms", "100", "--qpm-window", "60", "--rows-per-day", "300", "--seed", "6"});
  std::vector<std::string> args = Args(server, dir.File("a.db"), "auto");
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--qpm-window") args[i + 1] = "60";
    if (args[i] == "--to") args[i + 1] = "2025-04-16";  // 16 days: some 50 requests
  }
  args.insert(args.end(), {"--qpm", "300", "--qpm-utilization", "0.8"});  // budget 240
  const auto started = std::chrono::steady_clock::now();
  PtyRun run = RunOnPty(args, dir.File("out.txt"));
  ASSERT_EQ(run.exit_code, 0) << run.terminal << run.out;
  ASSERT_LT(std::chrono::steady_clock::now() - started, seconds(60)) << "not a short run";
  std::smatch m;
  ASSERT_TRUE(std::regex_search(run.terminal, m, std::regex(R"( \| window (\d+)/240 \| )")))
      << run.terminal;
  EXPECT_GE(std::stoi(m[1]), 1);
  EXPECT_LE(std::stoi(m[1]), 240);
  EXPECT_EQ(run.terminal.find("req/min"), std::string::npos) << run.terminal;
}

TEST(ObservabilityProgressTest, NeverDisablesItOnATerminal) {
  TempDir dir;
  MockGsc server({"--latency-ms", "5", "--qpm-window", "6", "--rows-per-day", "300"});
  PtyRun run = RunOnPty(Args(server, dir.File("a.db"), "never"), dir.File("out.txt"));
  ASSERT_EQ(run.exit_code, 0) << run.terminal;
  EXPECT_EQ(run.terminal.find(" | window "), std::string::npos) << run.terminal;
  EXPECT_EQ(run.terminal.find(kErase), std::string::npos);
}

TEST(ObservabilityProgressTest, AbsentWhenStderrIsAFileUnlessForced) {
  TempDir dir;
  MockGsc server({"--latency-ms", "40", "--qpm-window", "6", "--rows-per-day", "300"});
  CommandResult plain = RunCommand(Args(server, dir.File("a.db"), "auto"), seconds(60));
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.err.find("window "), std::string::npos) << plain.err;
  EXPECT_EQ(plain.err.find('\033'), std::string::npos);

  CommandResult forced = RunCommand(Args(server, dir.File("b.db"), "always"), seconds(60));
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(forced.err.find(" | window "), std::string::npos) << forced.err;
  EXPECT_EQ(forced.out.find("| window"), std::string::npos) << "never on stdout";
}

}  // namespace
}  // namespace batchfetch::testing
