// A real run with --metrics-addr, --audit-log, JSON logs and --token: every /metrics
// scrape during the run parses as Prometheus text, the last one matches the summary
// line, every log and audit line parses as JSON, and the token is nowhere: not in a log
// line, a metric, /stats, the audit log or the bytes of the database files.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/mockgsc_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/telemetry/prometheus_parser.h"

namespace batchfetch::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kToken[] = "tok-Zq8Xv3SECRETw41";

std::string Bin() {
  const char* bin = std::getenv("BATCHFETCH_BIN");
  if (!bin) throw std::runtime_error("BATCHFETCH_BIN is not set");
  return bin;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Summary {
  long long pages = -1, rows = -1, requests = -1;
};

// Reads "batchfetch: done: P pages, R rows in S s; Q requests" (thousands separated) from
// the summary's first line.
bool ParseSummary(const std::string& out, Summary* s) {
  std::smatch m;
  static const std::regex kLine(
      R"(batchfetch: done: ([\d,]+) pages, ([\d,]+) rows in [0-9.]+ s; ([\d,]+) requests)");
  if (!std::regex_search(out, m, kLine)) return false;
  auto number = [](std::string text) {
    std::erase(text, ',');
    return std::stoll(text);
  };
  s->pages = number(m[1]);
  s->rows = number(m[2]);
  s->requests = number(m[3]);
  return true;
}

TEST(ObservabilityMetricsTest, ScrapesParseCountersMatchSummaryAndTokenLeaksNowhere) {
  TempDir dir;
  MockGsc server({"--latency-ms", "5", "--qpm", "1200", "--qpm-window", "6", "--rows-per-day",
                  "300", "--seed", "21", "--token", kToken});
  const std::string db = dir.File("ledger.db");
  Subprocess::Options options;
  options.argv = {Bin(),
                  "backfill",
                  "--site",
                  "sc-domain:example.com",
                  "--from",
                  "2025-02-01",
                  "--to",
                  "2025-02-28",
                  "--row-limit",
                  "500",
                  "--db",
                  db,
                  "--api-base",
                  server.base_url(),
                  "--qpm-window",
                  "6",
                  "--max-concurrency",
                  "4",
                  "--token",
                  kToken,
                  "--log-format",
                  "json",
                  "--log-level",
                  "debug",
                  "--metrics-addr",
                  "127.0.0.1:0",
                  "--metrics-hold",
                  "20",
                  "--audit-log",
                  dir.File("audit.jsonl"),
                  "--progress",
                  "never",
                  "--retry-base",
                  "0.05",
                  "--allow-old-dates"};
  options.stdout_path = dir.File("out.txt");
  options.stderr_path = dir.File("err.txt");
  Subprocess run(options);

  // The metrics URL is logged before the job starts.
  std::string url;
  static const std::regex kUrl(R"(http://127\.0\.0\.1:(\d+)/metrics)");
  for (int i = 0; i < 200 && url.empty(); ++i) {
    std::smatch m;
    const std::string err = Slurp(options.stderr_path);
    if (std::regex_search(err, m, kUrl)) url = m[0];
    if (url.empty()) std::this_thread::sleep_for(milliseconds(25));
  }
  ASSERT_FALSE(url.empty()) << Slurp(options.stderr_path);
  const std::string base = url.substr(0, url.size() - std::string("/metrics").size());

  // Scrape while it runs until the summary line shows up; every scrape must parse.
  std::vector<std::string> bodies;
  Summary summary;
  for (int i = 0; i < 600 && !ParseSummary(Slurp(options.stdout_path), &summary); ++i) {
    HttpResponse r = HttpGet(url);
    if (r.status == 200) {
      PromExposition e;
      std::string error;
      ASSERT_TRUE(ParsePrometheusText(r.body, &e, &error)) << error << "\n" << r.body;
      bodies.push_back(r.body);
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_TRUE(ParseSummary(Slurp(options.stdout_path), &summary)) << Slurp(options.stdout_path);
  EXPECT_GE(bodies.size(), 2u) << "scraped during the run";
  EXPECT_GT(summary.pages, 28);

  // The run is over and the server holds: the last scrape matches the summary.
  HttpResponse last = HttpGet(url);
  ASSERT_EQ(last.status, 200) << last.error;
  EXPECT_EQ(last.headers["content-type"].rfind("text/plain; version=0.0.4", 0), 0u);
  PromExposition e;
  std::string error;
  ASSERT_TRUE(ParsePrometheusText(last.body, &e, &error)) << error;
  EXPECT_EQ(e.Sum("batchfetch_requests_total"), summary.requests);
  EXPECT_EQ(e.Value("batchfetch_requests_total", {{"status", "200"}, {"outcome", "ok"}}),
            summary.requests);
  EXPECT_EQ(e.Value("batchfetch_pages_committed_total"), summary.pages);
  EXPECT_EQ(e.Value("batchfetch_rows_written_total"), summary.rows);
  EXPECT_EQ(e.Value("batchfetch_request_duration_seconds_count"), summary.requests);
  EXPECT_EQ(e.Value("batchfetch_persist_duration_seconds_count"), summary.pages);
  EXPECT_EQ(e.Value("batchfetch_pages", {{"state", "done"}}), summary.pages);
  EXPECT_EQ(e.Value("batchfetch_pages", {{"state", "pending"}}), 0);
  EXPECT_EQ(e.Value("batchfetch_rows_stored"), summary.rows);
  EXPECT_EQ(e.Value("batchfetch_run_finished"), 1);
  EXPECT_EQ(e.Value("batchfetch_halts_total"), 0);
  EXPECT_LE(e.Value("batchfetch_limiter_grants_in_window"), e.Value("batchfetch_limiter_budget"));
  EXPECT_EQ(e.types.at("batchfetch_queue_wait_seconds"), "histogram");
  EXPECT_EQ(e.types.at("batchfetch_limiter_wait_seconds"), "histogram");
  bodies.push_back(last.body);

  HttpResponse health = HttpGet(base + "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(boost::json::parse(health.body).at("status").as_string(), "finished");
  HttpResponse stats = HttpGet(base + "/stats");
  ASSERT_EQ(stats.status, 200);
  boost::json::object so = boost::json::parse(stats.body).as_object();
  EXPECT_EQ(so.at("requests").to_number<long long>(), summary.requests);
  EXPECT_EQ(so.at("rows_written").to_number<long long>(), summary.rows);
  EXPECT_EQ(HttpGet(base + "/nope").status, 404);

  // SIGTERM ends the hold early; the run's exit code stands.
  ASSERT_TRUE(run.Kill(SIGTERM));
  EXPECT_EQ(run.Wait(seconds(10)), 0);

  // JSON logs: every stderr line parses and names the worker.
  const std::string err = Slurp(options.stderr_path);
  std::istringstream lines(err);
  std::string line;
  int log_lines = 0;
  while (std::getline(lines, line)) {
    boost::json::object o;
    ASSERT_NO_THROW(o = boost::json::parse(line).as_object()) << line;
    EXPECT_FALSE(o.at("worker").as_string().empty()) << line;
    EXPECT_TRUE(o.contains("time") && o.contains("level") && o.contains("msg")) << line;
    ++log_lines;
  }
  EXPECT_GT(log_lines, 1);

  // The audit log: one JSON line per request, never over the budget.
  const std::string audit = Slurp(dir.File("audit.jsonl"));
  std::istringstream audit_lines(audit);
  long long audited = 0;
  while (std::getline(audit_lines, line)) {
    boost::json::object o = boost::json::parse(line).as_object();
    EXPECT_LE(o.at("grants_in_window").to_number<long long>(),
              o.at("budget").to_number<long long>());
    EXPECT_EQ(o.at("status").to_number<long long>(), 200);
    EXPECT_EQ(o.at("report").as_string().size(), 16u) << line;
    ++audited;
  }
  EXPECT_EQ(audited, summary.requests);

  // The token is nowhere.
  std::vector<std::pair<std::string, std::string>> places = {{"stderr", err},
                                                             {"stdout", Slurp(options.stdout_path)},
                                                             {"audit log", audit},
                                                             {"/stats", stats.body}};
  for (const std::string& body : bodies) places.emplace_back("/metrics", body);
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("ledger.db", 0) == 0) places.emplace_back(name, Slurp(entry.path().string()));
  }
  for (const auto& [where, bytes] : places) {
    EXPECT_EQ(bytes.find(kToken), std::string::npos) << "the token leaked into " << where;
    EXPECT_EQ(bytes.find("SECRET"), std::string::npos) << "part of the token leaked into " << where;
  }
}

TEST(ObservabilityMetricsTest, ABadMetricsAddressIsAUsageErrorThatWritesNothing) {
  TempDir dir;
  CommandResult r =
      RunCommand({Bin(), "backfill", "--site", "sc-domain:example.com", "--from", "2025-02-01",
                  "--to", "2025-02-02", "--db", dir.File("x.db"), "--api-base",
                  "http://127.0.0.1:9", "--allow-old-dates", "--metrics-addr", "localhost:99999",
                  "--audit-log", dir.File("audit.jsonl")},
                 seconds(30));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("--metrics-addr"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("x.db")));
  EXPECT_FALSE(std::filesystem::exists(dir.File("audit.jsonl"))) << "created although exit 1";
}

TEST(ObservabilityMetricsTest, UnderJsonLogsEvenAUsageErrorIsOneJsonLine) {
  TempDir dir;
  CommandResult r =
      RunCommand({Bin(), "backfill", "--site", "sc-domain:example.com", "--from", "2025-02-01",
                  "--qpm", "inf", "--db", dir.File("x.db"), "--log-format", "json"},
                 seconds(30));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  std::istringstream lines(r.err);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    boost::json::object o;
    ASSERT_NO_THROW(o = boost::json::parse(line).as_object()) << line;
    EXPECT_NE(o.at("msg").as_string().find("--qpm"), boost::json::string::npos) << line;
    ++n;
  }
  EXPECT_EQ(n, 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("x.db")));
}

}  // namespace
}  // namespace batchfetch::testing
