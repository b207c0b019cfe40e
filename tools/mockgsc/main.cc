// mockgsc: a simulated Google Search Console Search Analytics API for tests and benchmarks.
// Example: mockgsc --port 0 --latency-ms 50 --qpm 1200 --qpm-window 6 --error-rate 0.05

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "tools/mockgsc/fault_plan.h"
#include "tools/mockgsc/misbehavior.h"
#include "tools/mockgsc/server.h"
#include "tools/mockgsc/server_options.h"

namespace {

// Thousands of concurrent test connections need more descriptors than the default soft cap.
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int Main(int argc, char** argv) {
  mockgsc::ServerOptions options;
  std::vector<std::string> fail_pages;
  std::string today;
  CLI::App app{"mockgsc: simulated Search Console Search Analytics API on 127.0.0.1", "mockgsc"};
  app.footer("Example: mockgsc --port 0 --latency-ms 50 --qpm 1200 --qpm-window 6");
  app.add_option("--port", options.port, "TCP port on 127.0.0.1 (0 = any free)")->required();
  app.add_option("--seed", options.seed, "Seed for data, latency and faults");
  app.add_option("--latency-ms", options.latency_ms, "Median response delay (ms)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--latency-p99-ms", options.latency_p99_ms,
                 "99th percentile delay (ms); default = --latency-ms");
  app.add_option("--qpm", options.qpm, "Quota per window, per site and per token")
      ->check(CLI::PositiveNumber);
  app.add_option("--qpm-window", options.qpm_window_s, "Quota window (s)")
      ->check(CLI::PositiveNumber);
  app.add_option("--project-qpm", options.project_qpm,
                 "Quota per window over every query request (0 = no project limit)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--forbid-site", options.forbid_sites,
                 "Answer this site's queries 403 PERMISSION_DENIED, reason forbidden (repeatable)");
  app.add_option("--forbid-message", options.forbid_message,
                 "The message of that 403; given without --forbid-site, every site gets it");
  app.add_option("--sites", options.sites,
                 "Properties GET /webmasters/v3/sites lists, comma list (default "
                 "sc-domain:example.com,https://www.example.org/,sc-domain:example.net)")
      ->delimiter(',');
  app.add_option("--quota-status", options.quota_status, "Quota error status")
      ->check(CLI::IsMember({429, 403}));
  app.add_option("--error-rate", options.error_rate, "Fraction of requests given a fault")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--fatal-after", options.fatal_after,
                 "From the Nth query request on, answer 403 permission denied")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--fail-page", fail_pages, "DATE:START_ROW that always gets 500 (repeatable)");
  app.add_option("--token", options.token, "Required bearer token");
  app.add_option("--service-account-key", options.service_account_key,
                 "Service-account JSON key: serve POST /token (JWT bearer grant) and accept "
                 "the tokens it issues")
      ->check(CLI::ExistingFile);
  app.add_option("--refresh-token", options.refresh_token,
                 "Serve the refresh-token grant on POST /token for this refresh token (OAuth "
                 "user credentials) and accept the tokens it issues");
  app.add_option("--token-lifetime-s", options.token_lifetime_s,
                 "Lifetime of tokens issued by /token (s)")
      ->check(CLI::PositiveNumber);
  app.add_option("--rows-per-day", options.rows_per_day, "Mean rows of an ordinary day")
      ->check(CLI::PositiveNumber);
  app.add_option("--huge-days", options.huge_day_percent,
                 "Percent of days with 60,000 rows (the API serves 50,000: two full pages, "
                 "truncated); 5 in 100 more are empty")
      ->check(CLI::Range(0, 95));
  app.add_option("--stall-ms", options.stall_ms, "How long a stall fault lasts (ms)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--stall-after", options.stall_after,
                 "From this query request on, stall every non-fatal query (0 = never)");
  app.add_option("--misbehave", options.misbehave,
                 "Answer every query wrongly: "
                 "wrong-date|too-many-rows|bad-numbers|oversized|shifting-rows")
      ->check([](const std::string& v) {
        return mockgsc::ParseMisbehavior(v) ? std::string() : "unknown --misbehave mode " + v;
      });
  app.add_option("--oversized-mb", options.oversized_mb,
                 "Body size of --misbehave oversized (MB, streamed)")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  app.add_option("--threads", options.threads, "io_context threads")->check(CLI::Range(1, 64));
  app.add_option("--today", today,
                 "YYYY-MM-DD: the date the freshness rule counts from (default: today, UTC); "
                 "with dataState all, days on/after today - 2 serve provisional rows");
  try {
    app.parse(argc, argv);
    for (const std::string& text : fail_pages) {
      auto page = mockgsc::FaultPlan::ParseFailPage(text);
      if (!page) throw CLI::ValidationError("--fail-page", "expected YYYY-MM-DD:START_ROW");
      options.fail_pages.insert(*page);
    }
    if (!today.empty()) {
      options.today = mockgsc::CivilDate::Parse(today);
      if (!options.today) throw CLI::ValidationError("--today", "expected YYYY-MM-DD");
    }
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 1;
  }

  RaiseFileLimit();
  boost::asio::io_context io(options.threads);
  std::unique_ptr<mockgsc::Server> server_holder;
  try {
    server_holder = std::make_unique<mockgsc::Server>(io, options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mockgsc: %s\n", e.what());
    return 1;
  }
  mockgsc::Server& server = *server_holder;
  uint16_t port;
  try {
    port = server.Listen();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mockgsc: cannot listen on 127.0.0.1:%u: %s\n", options.port, e.what());
    return 1;
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server.Stop();
    io.stop();
  });
  server.Start();
  std::printf("listening on 127.0.0.1:%u\n", port);
  std::fflush(stdout);

  std::vector<std::thread> threads;
  for (int i = 1; i < options.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  return 0;
}

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mockgsc: %s\n", e.what());
    return 1;
  }
}
