// Issue 13's acceptance: never over quota, whoever the caller and however the token
// arrives; a permission error halts whatever its words; an API no request reaches (TLS)
// halts with every page pending. Every quota figure is the simulated server's own count
// of arrivals (GET /__stats), never the engine's belief. Time-scaled: 6 s windows.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
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

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t StatusCount(const boost::json::object& stats, const char* status) {
  const auto& by = stats.at("by_status").as_object();
  auto it = by.find(status);
  return it == by.end() ? 0 : it->value().to_number<int64_t>();
}

// The most arrivals the server saw in one window for a site / a token, or for the project.
int64_t MaxInWindow(const boost::json::object& stats, const char* kind, const std::string& key) {
  const auto& of = stats.at("max_in_window").as_object().at(kind).as_object();
  auto it = of.find(key);
  return it == of.end() ? 0 : it->value().to_number<int64_t>();
}
int64_t ProjectMaxInWindow(const boost::json::object& stats) {
  return stats.at("max_in_window").as_object().at("project").to_number<int64_t>();
}

// Lines of text that hold needle.
int CountLines(const std::string& text, const std::string& needle) {
  int n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

class QuotaAcceptanceTest : public ::testing::Test {
 protected:
  // One backfill process with its output in files named after `name`.
  std::unique_ptr<Subprocess> Start(const std::vector<std::string>& argv, const std::string& name,
                                    std::vector<std::pair<std::string, std::string>> env = {}) {
    Subprocess::Options options;
    options.argv = argv;
    options.env = std::move(env);
    options.stdout_path = dir_.File(name + ".out");
    options.stderr_path = dir_.File(name + ".err");
    return std::make_unique<Subprocess>(options);
  }
  std::string Output(const std::string& name) {
    return "--- " + name + " stdout:\n" + Slurp(dir_.File(name + ".out")) + "--- stderr:\n" +
           Slurp(dir_.File(name + ".err"));
  }
  std::string Err(const std::string& name) { return Slurp(dir_.File(name + ".err")); }

  // Runs argv against a server that answers every query with a permission 403; expects
  // exit 3 within 1 s of the server's first 403 and one line naming `reason`.
  void ExpectHaltOnForbidden(const MockGsc& server, const std::vector<std::string>& argv,
                             const std::string& reason) {
    auto run = Start(argv, "forbidden");
    Clock::time_point forbidden_at;
    const Clock::time_point deadline = Clock::now() + seconds(30);
    while (true) {
      ASSERT_LT(Clock::now(), deadline) << "no 403 was ever sent\n" << Output("forbidden");
      if (StatusCount(server.Stats(), "403") > 0) {
        forbidden_at = Clock::now();
        break;
      }
      ASSERT_TRUE(run->running()) << "exited before any 403\n" << Output("forbidden");
      std::this_thread::sleep_for(milliseconds(5));
    }
    const std::optional<int> code = run->Wait(seconds(10));
    const auto halt = std::chrono::duration_cast<milliseconds>(Clock::now() - forbidden_at);
    ASSERT_TRUE(code.has_value()) << Output("forbidden");
    EXPECT_EQ(*code, 3) << Output("forbidden");
    EXPECT_LT(halt.count(), 1000) << "halt took " << halt.count() << " ms";
    const std::string err = Err("forbidden");
    EXPECT_EQ(CountLines(err, "halting:"), 1) << err;
    EXPECT_EQ(CountLines(err, reason), 1) << "one line names the reason\n" << err;
    EXPECT_EQ(CountLines(err, "quota error"), 0) << "a permission error is not a quota error\n"
                                                 << err;
    EXPECT_EQ(CountLines(err, "cooling down"), 0) << err;
    EXPECT_EQ(JsonInt(server.Stats(), "quota_rejections"), 0);
    LedgerReader reader(runner_.db());
    EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state IN ('leased', 'dead')"), 0)
        << "leases released, nothing dead";
  }

  // Runs argv against an https:// API base no request can reach; expects exit 3, one
  // line, and every page still pending.
  void ExpectUnreachableHalt(const std::vector<std::string>& argv) {
    CommandResult run = RunCommand(argv, seconds(60));
    ASSERT_EQ(run.exit_code, 3) << run.out << run.err;
    EXPECT_EQ(CountLines(run.err, "halting:"), 1) << run.err;
    EXPECT_EQ(CountLines(run.err, "cannot reach the API"), 1) << run.err;
    LedgerReader reader(runner_.db());
    EXPECT_GT(reader.Scalar("SELECT COUNT(*) FROM batches"), 0);
    EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state <> 'pending'"), 0)
        << "every page still pending (none done, leased or dead)";
    CommandResult status =
        RunCommand({runner_.bin(), "status", "--db", runner_.db(), "--json"}, seconds(30));
    ASSERT_EQ(status.exit_code, 0) << status.out << status.err;
    const boost::json::value parsed = boost::json::parse(status.out);
    const auto& reports = parsed.at("reports").as_array();
    ASSERT_EQ(reports.size(), 1u) << status.out;
    const auto& pages = reports[0].at("pages").as_object();
    EXPECT_EQ(pages.at("done").to_number<int64_t>(), 0) << status.out;
    EXPECT_EQ(pages.at("dead").to_number<int64_t>(), 0) << status.out;
    EXPECT_EQ(pages.at("leased").to_number<int64_t>(), 0) << status.out;
    EXPECT_EQ(pages.at("pending").to_number<int64_t>(), pages.at("total").to_number<int64_t>());
  }

  // Every day of site's kSmallDims report holds /__expected's rows and checksum.
  void ExpectDaysMatch(const MockGsc& server, const std::string& site,
                       const std::vector<std::string>& dates) {
    LedgerReader reader(runner_.db());
    const auto stored = reader.Days(site, "web", kSmallDims);
    for (const std::string& date : dates) {
      const MockGsc::ExpectedDay want = server.Expected(site, "web", date, kSmallDims);
      auto it = stored.find(date);
      EXPECT_EQ(it == stored.end() ? 0 : it->second.rows, want.rows) << site << " " << date;
      if (it != stored.end() && want.rows > 0) {
        EXPECT_EQ(it->second.checksum, want.checksum) << site << " " << date;
      }
    }
    EXPECT_EQ(reader.DuplicateRows(), 0);
  }

  // At most ~250 rows a day: one small page per day, so the server's arrival stamps are
  // not delayed behind the rendering of 25,000-row answers on its one thread.
  static constexpr const char* kSmallDims = "date,country";

  TempDir dir_;
  BackfillRunner runner_{dir_.File("ledger.db")};
};

// 1. A token command that takes 1.5 s: every worker waits for the token first, then for
// its grant; no grant ages during the wait, so no window goes over.
TEST_F(QuotaAcceptanceTest, SlowTokenCommandNeverPushesAWindowOverBudget) {
  MockGsc server({"--token", "T", "--qpm", "30", "--qpm-window", "6", "--latency-ms", "20",
                  "--rows-per-day", "300", "--seed", "31"});
  const auto dates = BackfillRunner::Dates("2025-03-01", 50);
  CommandResult run =
      RunCommand(runner_.Args(server, dates.front(), dates.back(), 8,
                              {"--token-cmd", "sleep 1.5; echo T", "--qpm", "30",
                               "--qpm-utilization", "1", "--dimensions", kSmallDims}),
                 seconds(90));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  ExpectDaysMatch(server, BackfillRunner::kSite, dates);
  const boost::json::object stats = server.Stats();
  EXPECT_EQ(JsonInt(stats, "quota_rejections"), 0);
  EXPECT_EQ(StatusCount(stats, "401"), 0);
  EXPECT_LE(MaxInWindow(stats, "site", BackfillRunner::kSite), 30);
  EXPECT_LE(MaxInWindow(stats, "token", "T"), 30);
  EXPECT_LE(ProjectMaxInWindow(stats), 30);
  EXPECT_GE(JsonInt(stats, "requests"), 50) << "the run outlasts one window";
  std::cout << "[ figures ] slow token: requests " << JsonInt(stats, "requests")
            << ", server max per window " << ProjectMaxInWindow(stats) << " / 30, rejections "
            << JsonInt(stats, "quota_rejections") << "\n";
}

// 2. One token given two ways (BATCHFETCH_TOKEN, --token-cmd) to two processes on one
// ledger: one principal key, one budget; no rejection, no cooldown.
TEST_F(QuotaAcceptanceTest, OneTokenGivenTwoWaysIsOneBudgetAcrossProcesses) {
  MockGsc server({"--token", "T", "--qpm", "30", "--qpm-window", "6", "--latency-ms", "20",
                  "--rows-per-day", "300", "--seed", "32"});
  const auto dates = BackfillRunner::Dates("2025-04-01", 40);
  const std::string site_a = BackfillRunner::kSite;
  const std::string site_b = "sc-domain:other.example";
  const std::vector<std::string> common = {"--qpm", "30",           "--qpm-utilization",
                                           "1",     "--dimensions", kSmallDims};
  std::vector<std::string> a_extra = common;
  a_extra.insert(a_extra.end(), {"--worker-id", "env"});
  std::vector<std::string> b_extra = common;
  b_extra.insert(b_extra.end(), {"--site", site_b, "--token-cmd", "echo T", "--worker-id", "cmd"});
  auto a = Start(runner_.Args(server, dates.front(), dates.back(), 8, a_extra), "env",
                 {{"BATCHFETCH_TOKEN", "T"}});
  auto b = Start(runner_.Args(server, dates.front(), dates.back(), 8, b_extra), "cmd");
  const std::optional<int> code_a = a->Wait(seconds(90));
  const std::optional<int> code_b = b->Wait(seconds(30));
  ASSERT_EQ(code_a.value_or(-1), 0) << Output("env");
  ASSERT_EQ(code_b.value_or(-1), 0) << Output("cmd");
  ExpectDaysMatch(server, site_a, dates);
  ExpectDaysMatch(server, site_b, dates);
  const boost::json::object stats = server.Stats();
  EXPECT_EQ(JsonInt(stats, "quota_rejections"), 0);
  EXPECT_LE(MaxInWindow(stats, "token", "T"), 30) << "one token, one budget";
  EXPECT_GT(JsonInt(stats, "requests"), 30) << "the run outlasts one window";
  for (const char* name : {"env", "cmd"}) {
    EXPECT_EQ(CountLines(Err(name), "cooling down"), 0) << Output(name);
    EXPECT_EQ(CountLines(Err(name), "quota error"), 0) << Output(name);
  }
  std::cout << "[ figures ] token two ways: requests " << JsonInt(stats, "requests")
            << ", server max per token window " << MaxInWindow(stats, "token", "T")
            << " / 30, rejections " << JsonInt(stats, "quota_rejections") << "\n";
}

// 3. 45 single-site processes on one ledger: the project key counts for every request,
// so the server's project-wide count never exceeds the (scaled) project budget.
TEST_F(QuotaAcceptanceTest, FortyFiveSingleSiteProcessesStayUnderTheProjectBudget) {
  constexpr int kProcesses = 45;
  constexpr int kProjectBudget = 15;
  MockGsc server({"--project-qpm", std::to_string(kProjectBudget), "--qpm-window", "6",
                  "--latency-ms", "20", "--rows-per-day", "300", "--seed", "33"});
  std::vector<std::unique_ptr<Subprocess>> fleet;
  for (int i = 0; i < kProcesses; ++i) {
    fleet.push_back(Start(
        runner_.Args(server, "2025-05-01", "2025-05-01", 2,
                     {"--site", "sc-domain:s" + std::to_string(i) + ".example", "--project-qpm",
                      std::to_string(kProjectBudget), "--qpm-utilization", "1", "--dimensions",
                      kSmallDims, "--worker-id", "p" + std::to_string(i), "--lease", "30"}),
        "p" + std::to_string(i)));
  }
  const Clock::time_point end = Clock::now() + seconds(100);
  for (int i = 0; i < kProcesses; ++i) {
    const auto left =
        std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(end - Clock::now()));
    const std::optional<int> code = fleet[static_cast<std::size_t>(i)]->Wait(left);
    EXPECT_EQ(code.value_or(-1), 0) << Output("p" + std::to_string(i));
  }
  const boost::json::object stats = server.Stats();
  EXPECT_LE(ProjectMaxInWindow(stats), kProjectBudget) << "the project-wide budget";
  EXPECT_EQ(JsonInt(stats, "quota_rejections"), 0);
  EXPECT_GE(JsonInt(stats, "requests"), kProcesses) << "every process sent its page";
  LedgerReader reader(runner_.db());
  EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM batches WHERE state <> 'done'"), 0);
  std::cout << "[ figures ] 45 processes: requests " << JsonInt(stats, "requests")
            << ", server project max per window " << ProjectMaxInWindow(stats) << " / "
            << kProjectBudget << ", rejections " << JsonInt(stats, "quota_rejections") << "\n";
}

// 4a. Google's "requires a quota project" 403 is a permission error: halt, not a pause.
TEST_F(QuotaAcceptanceTest, QuotaProjectPermissionErrorHaltsWithinOneSecond) {
  const std::string message =
      "Your application is authenticating by using local Application Default Credentials. "
      "The searchconsole.googleapis.com API requires a quota project, which is not set by "
      "default.";
  MockGsc server({"--forbid-message", message, "--latency-ms", "20", "--rows-per-day", "300"});
  ExpectHaltOnForbidden(server, runner_.Args(server, "2025-06-01", "2025-06-20", 8),
                        "requires a quota project");
}

// 4b. A site whose name holds "quota", answered with a plain permission 403: halt.
TEST_F(QuotaAcceptanceTest, PermissionErrorOnASiteNamedQuotaHaltsWithinOneSecond) {
  const std::string site = "sc-domain:quotaboard.example";
  MockGsc server({"--forbid-site", site, "--latency-ms", "20", "--rows-per-day", "300"});
  ExpectHaltOnForbidden(server,
                        runner_.Args(server, "2025-06-01", "2025-06-20", 8, {"--site", site}),
                        "sufficient permission");
}

// 5. A project allowed 60 per scaled minute, run with the default --qpm 1200: the lower
// limit is learned (one line names the --qpm to use), the run completes exactly, few
// rejections, no load-quota cooldown.
TEST_F(QuotaAcceptanceTest, SixtyPerMinuteProjectIsLearnedAndTheRunCompletes) {
  MockGsc server({"--qpm", "60", "--qpm-window", "6", "--latency-ms", "20", "--rows-per-day",
                  "1200", "--seed", "35"});
  const auto dates = BackfillRunner::Dates("2025-07-01", 50);
  CommandResult run = RunCommand(
      runner_.Args(server, dates.front(), dates.back(), 4, {"--qpm", "1200"}), seconds(120));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  runner_.ExpectAllDaysMatch(server, dates);
  const boost::json::object stats = server.Stats();
  const int64_t requests = JsonInt(stats, "requests");
  const int64_t rejections = JsonInt(stats, "quota_rejections");
  EXPECT_LT(rejections * 20, requests) << rejections << " rejections of " << requests;
  EXPECT_EQ(CountLines(run.err, "cooling down"), 0) << run.err;
  // 60 per window at --qpm-utilization 0.8: --qpm 75 (per --qpm-window) next time.
  EXPECT_EQ(CountLines(run.err, "--qpm 75"), 1) << run.err;
  std::cout << "[ figures ] 60 QPM project: requests " << requests << ", rejections " << rejections
            << ", server max per site window " << MaxInWindow(stats, "site", BackfillRunner::kSite)
            << "\n";
}

// 6a. https:// to a server that speaks plain HTTP: the TLS handshake fails; halt.
TEST_F(QuotaAcceptanceTest, HttpsToAPlainHttpServerHaltsWithEveryPagePending) {
  MockGsc server({"--latency-ms", "5"});
  const std::string https = "https://127.0.0.1:" + std::to_string(server.port());
  ExpectUnreachableHalt(runner_.Args(server, "2025-08-01", "2025-08-10", 4, {"--api-base", https}));
  EXPECT_EQ(JsonInt(server.Stats(), "requests"), 0) << "no query was ever read";
}

// 6b. https:// to a server whose certificate is self-signed: verification fails; halt.
TEST_F(QuotaAcceptanceTest, SelfSignedCertificateHaltsWithEveryPagePending) {
  const std::string key = dir_.File("key.pem"), cert = dir_.File("cert.pem");
  CommandResult made =
      RunCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-subj",
                  "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1"},
                 seconds(30));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  Subprocess::Options options;
  // Loopback, any free port; killed with this test (never through a wrapper such as
  // timeout(1), whose child would outlive it).
  options.argv = {"openssl", "s_server", "-accept", "127.0.0.1:0", "-cert",
                  cert,      "-key",     key,       "-www"};
  options.stderr_path = dir_.File("s_server.err");
  options.pipe_stdout = true;
  Subprocess tls(options);
  std::string port;
  for (int i = 0; i < 20 && port.empty(); ++i) {
    std::optional<std::string> line = tls.ReadLine(milliseconds(500));
    if (line && line->rfind("ACCEPT 127.0.0.1:", 0) == 0) port = line->substr(17);
  }
  ASSERT_FALSE(port.empty()) << "openssl s_server did not say its port";
  MockGsc unused({"--latency-ms", "5"});  // Args wants a server; its base is overridden
  ExpectUnreachableHalt(runner_.Args(unused, "2025-08-01", "2025-08-10", 4,
                                     {"--api-base", "https://127.0.0.1:" + port}));
}

}  // namespace
}  // namespace batchfetch::testing
