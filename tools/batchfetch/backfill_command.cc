// batchfetch backfill: register the job, then run the coordinator on one io thread with
// the writer on its own thread until every page is done, the run halts, or a signal
// stops it.

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "coordinator/coordinator.h"
#include "persistence/ledger.h"
#include "persistence/ledger_writer.h"
#include "persistence/quota_ledger.h"
#include "ratelimit/composite_limiter.h"
#include "ratelimit/shared_qpm_limiter.h"
#include "telemetry/audit_log.h"
#include "telemetry/engine_metrics.h"
#include "telemetry/logging.h"
#include "telemetry/metrics_server.h"
#include "telemetry/progress_display.h"
#include "telemetry/run_observer.h"
#include "tools/batchfetch/backfill_flags.h"
#include "tools/batchfetch/commands.h"
#include "workers/http_client.h"
#include "workers/token_source.h"

namespace batchfetch {

namespace asio = boost::asio;

namespace {

std::string Today() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string DefaultWorkerId() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::mt19937 rng(std::random_device{}());
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%04x", static_cast<unsigned>(rng() & 0xffff));
  return std::string(host) + "-" + std::to_string(getpid()) + "-" + suffix;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const std::size_t k =
      std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(p * v.size())) - (p > 0 ? 1 : 0));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

const char* OutcomeWord(RunSummary::Outcome o) {
  switch (o) {
    case RunSummary::Outcome::kDone:
      return "done";
    case RunSummary::Outcome::kDeadPages:
      return "finished with dead pages";
    case RunSummary::Outcome::kHalted:
      return "halted";
    case RunSummary::Outcome::kInterrupted:
      return "interrupted";
  }
  return "?";
}

void PrintSummary(const BackfillFlags& flags, const RunSummary& s) {
  const double secs = std::chrono::duration<double>(s.elapsed).count();
  const double per_minute = secs > 0 ? static_cast<double>(s.requests) * 60.0 / secs : 0;
  std::printf(
      "batchfetch: %s: %lld pages, %lld rows in %.1f s; %lld requests (%.0f/min; peak %lld in "
      "one %gs window, budget %ld); retries %lld, quota errors %lld, dead pages %lld; latency "
      "p50/p95/p99 %.0f/%.0f/%.0f ms; mailbox peak %lld; ledger %lld/%lld pages done\n",
      OutcomeWord(s.outcome), static_cast<long long>(s.pages), static_cast<long long>(s.rows), secs,
      static_cast<long long>(s.requests), per_minute, static_cast<long long>(s.peak_window_grants),
      flags.qpm_window_s, flags.Budget(), static_cast<long long>(s.retries),
      static_cast<long long>(s.quota_errors), static_cast<long long>(s.progress.dead),
      Percentile(s.latency_ms, 0.5), Percentile(s.latency_ms, 0.95), Percentile(s.latency_ms, 0.99),
      static_cast<long long>(s.max_mailbox_depth), static_cast<long long>(s.progress.done),
      static_cast<long long>(s.progress.total()));
  std::fflush(stdout);
  if (s.outcome == RunSummary::Outcome::kHalted) {
    std::fprintf(stderr, "batchfetch: halted: %s\n", s.halt_reason.c_str());
  }
}

// /metrics (Prometheus text), /health and /stats (JSON) from metrics.
void AddMetricsRoutes(MetricsServer& server, EngineMetrics& metrics) {
  server.Route("/metrics", [&metrics] {
    return HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", metrics.RenderPrometheus()};
  });
  server.Route("/stats", [&metrics] {
    return HttpReply{200, "application/json", metrics.RenderStatsJson() + "\n"};
  });
  server.Route("/health", [&metrics] {
    auto [state, status] = metrics.Health();
    return HttpReply{status, "application/json", "{\"status\":\"" + state + "\"}\n"};
  });
}

// A stable, non-secret name for a credential's quota key.
std::string HashForKey(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// One summary for several jobs run side by side: counts add up, the worst outcome wins.
RunSummary MergeSummaries(const std::vector<RunSummary>& all) {
  if (all.size() == 1) return all.front();
  RunSummary m;
  for (const RunSummary& s : all) {
    m.pages += s.pages;
    m.rows += s.rows;
    m.requests += s.requests;
    m.retries += s.retries;
    m.quota_errors += s.quota_errors;
    m.dead += s.dead;
    m.lost_leases += s.lost_leases;
    m.max_mailbox_depth = std::max(m.max_mailbox_depth, s.max_mailbox_depth);
    m.peak_window_grants = std::max(m.peak_window_grants, s.peak_window_grants);
    m.progress.pending += s.progress.pending;
    m.progress.leased += s.progress.leased;
    m.progress.done += s.progress.done;
    m.progress.dead += s.progress.dead;
    m.progress.rows += s.progress.rows;
    m.progress.truncated_days += s.progress.truncated_days;
    m.progress.provisional_days += s.progress.provisional_days;
    m.elapsed = std::max(m.elapsed, s.elapsed);
    m.latency_ms.insert(m.latency_ms.end(), s.latency_ms.begin(), s.latency_ms.end());
    if (s.signal) m.signal = s.signal;
    if (s.outcome == RunSummary::Outcome::kHalted && m.halt_reason.empty()) {
      m.halt_reason = s.halt_reason;
    }
  }
  if (!m.halt_reason.empty()) {
    m.outcome = RunSummary::Outcome::kHalted;
  } else if (m.signal) {
    m.outcome = RunSummary::Outcome::kInterrupted;
  } else if (m.progress.dead > 0) {
    m.outcome = RunSummary::Outcome::kDeadPages;
  }
  return m;
}

}  // namespace

int BackfillCommand(int argc, char** argv) {
  const char* env_token = std::getenv("BATCHFETCH_TOKEN");
  BackfillFlags flags;
  std::string error;
  if (auto code =
          ParseBackfillFlags(argc, argv, env_token ? env_token : "", Today(), &flags, &error)) {
    if (*code != 0) {
      std::fprintf(stderr, "batchfetch backfill: %s\n%s\n", error.c_str(), BackfillExample());
    }
    return *code;
  }
  if (flags.run.worker_id.empty()) flags.run.worker_id = DefaultWorkerId();
  if (!SetupLogging(flags.log_format, flags.log_level, flags.run.worker_id, &error)) {
    std::fprintf(stderr, "batchfetch backfill: %s\n", error.c_str());
    return kExitUsage;
  }
  for (const std::string& w : flags.warnings) spdlog::warn("{}", w);

  // Everything the flags enable that can fail on bad input comes before the ledger is
  // touched, so a usage error writes nothing.
  asio::io_context io(1);
  const std::string job_id = flags.spec.Id();
  CompositeObserver observers;
  AuditLog audit(flags.run.worker_id);
  if (!flags.audit_log.empty()) {
    if (!audit.Open(flags.audit_log, &error)) {
      std::fprintf(stderr, "batchfetch backfill: %s\n", error.c_str());
      return kExitUsage;
    }
    observers.Add(&audit);
  }
  EngineMetrics metrics(flags.run.worker_id, job_id);
  MetricsServer metrics_server(io.get_executor());
  if (flags.metrics) {
    AddMetricsRoutes(metrics_server, metrics);
    if (!metrics_server.Listen(*flags.metrics, &error)) {
      std::fprintf(stderr, "batchfetch backfill: %s\n", error.c_str());
      return kExitUsage;
    }
    observers.Add(&metrics);
    const bool v6 = flags.metrics->host.find(':') != std::string::npos;
    spdlog::info("metrics on http://{}{}{}:{}/metrics (also /health, /stats)", v6 ? "[" : "",
                 flags.metrics->host, v6 ? "]" : "", metrics_server.port());
  }
  ProgressDisplay progress(io.get_executor(), SetStatusLine);
  const bool show_progress =
      flags.progress == "always" || (flags.progress == "auto" && isatty(STDERR_FILENO));
  if (show_progress) observers.Add(&progress);

  std::unique_ptr<Ledger> ledger;
  if (Status s = OpenLedger(flags.db, &ledger); !s.ok()) {
    std::fprintf(stderr, "batchfetch backfill: cannot use --db %s: %s\n", flags.db.c_str(),
                 s.ToString().c_str());
    return kExitUsage;
  }
  std::vector<std::shared_ptr<Job>> jobs;
  RefreshPolicy refresh;
  refresh.today = Today();
  refresh.refresh_days = flags.refresh_days;
  for (const JobSpec& spec : flags.jobs) {
    auto job = std::make_shared<Job>();
    job->spec = spec;
    job->id = spec.Id();
    if (Status s = ledger->RegisterJob(*job, refresh); !s.ok()) {
      std::fprintf(stderr, "batchfetch backfill: cannot register the job in %s: %s\n",
                   flags.db.c_str(), s.ToString().c_str());
      return s.IsFatal() ? kExitHalted : kExitUsage;
    }
    spdlog::info("job {}: {} {} {}..{} dimensions {} into {}", job->id, spec.site, spec.search_type,
                 spec.start_date, spec.end_date, spec.DimensionsCsv(), flags.db);
    jobs.push_back(std::move(job));
  }

  LedgerWriter writer(std::move(ledger));
  HttpClientOptions http_options;
  http_options.max_connections = std::max<long>(8, flags.run.max_concurrency);
  HttpClient http(io.get_executor(), http_options);

  TokenSourceOptions token_options;
  token_options.token = flags.token;
  token_options.token_cmd = flags.token_cmd;
  token_options.credentials = flags.credentials;
  token_options.ReadEnvironment();
  if (!flags.token.empty() || !flags.token_cmd.empty() || !flags.credentials.empty()) {
    token_options.env_credentials.clear();  // an explicit credential wins
  }
  std::unique_ptr<TokenSource> tokens =
      MakeTokenSource(token_options, io.get_executor(), http, &error);
  if (!tokens && !error.empty()) {
    std::fprintf(stderr, "batchfetch backfill: %s\n", error.c_str());
    return kExitUsage;
  }

  // The API counts quota per site and per credential (and per project across sites).
  // Every key has one budget for every process on this ledger: the grant log lives beside
  // the ledger. The server counts arrivals, which jitter against grant times, so the
  // limiter keeps a margin of the window.
  const auto quota_window = std::chrono::duration_cast<Clock::Duration>(
      std::chrono::duration<double>(flags.qpm_window_s));
  std::map<std::string, std::unique_ptr<SharedQpmLimiter>> quota_keys;
  auto limiter_for = [&](const std::string& key, long budget) -> RateLimiter* {
    auto& slot = quota_keys[key];
    if (!slot) {
      std::unique_ptr<QuotaLedger> quota;
      if (Status s = OpenQuotaLedger(flags.db, &quota); !s.ok()) {
        error = "cannot open the shared quota for " + flags.db + ": " + s.ToString();
        return nullptr;
      }
      slot = std::make_unique<SharedQpmLimiter>(io.get_executor(), std::move(quota), key, budget,
                                                quota_window,
                                                SharedQpmLimiter::DefaultMargin(quota_window));
    }
    return slot.get();
  };
  const std::string credential_key =
      "user:" + (tokens ? HashForKey(tokens->Describe()) : std::string("anonymous"));
  std::set<std::string> sites;
  for (const auto& job : jobs) sites.insert(job->spec.site);
  const long project_budget = std::max(1L, static_cast<long>(40000 * flags.qpm_utilization));
  const bool project_binds = static_cast<long>(sites.size()) * flags.Budget() > project_budget;

  std::vector<std::unique_ptr<CompositeLimiter>> job_limiters;
  std::vector<std::unique_ptr<Coordinator>> coordinators;
  const int n_jobs = static_cast<int>(jobs.size());
  for (int i = 0; i < n_jobs; ++i) {
    std::vector<RateLimiter*> keys = {limiter_for("site:" + jobs[i]->spec.site, flags.Budget()),
                                      limiter_for(credential_key, flags.Budget())};
    if (project_binds) keys.push_back(limiter_for("project", project_budget));
    for (RateLimiter* key : keys) {
      if (!key) {
        std::fprintf(stderr, "batchfetch backfill: %s\n", error.c_str());
        return kExitHalted;
      }
    }
    job_limiters.push_back(std::make_unique<CompositeLimiter>(std::move(keys)));
    WorkerConfig worker_config;
    worker_config.job = jobs[i];
    worker_config.api_base = flags.api_base;
    worker_config.tokens = tokens.get();
    worker_config.request_timeout =
        std::chrono::milliseconds(static_cast<int64_t>(flags.request_timeout_s * 1000));
    // --max-concurrency is the total: shared out among the jobs, at least one each.
    RunOptions run = flags.run;
    run.max_concurrency =
        std::max(1, flags.run.max_concurrency / n_jobs + (i < flags.run.max_concurrency % n_jobs));
    coordinators.push_back(std::make_unique<Coordinator>(
        io.get_executor(), writer, http, *job_limiters.back(), worker_config, run, &observers));
  }
  // One job's unrecoverable error halts them all.
  for (auto& c : coordinators) {
    c->OnHalt([&, self = c.get()](const std::string& reason) {
      for (auto& other : coordinators) {
        if (other.get() != self) other->RequestHalt(reason);
      }
    });
  }

  asio::signal_set signals(io, SIGINT, SIGTERM);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int signo) {
      if (ec) return;
      for (auto& c : coordinators) c->RequestStop(signo);
      wait_signal();
    });
  };
  wait_signal();

  std::vector<RunSummary> summaries(coordinators.size());
  RunSummary summary;
  std::size_t running = coordinators.size();
  asio::steady_timer metrics_hold(io);
  if (show_progress) progress.Start();
  auto finished = [&] {
    signals.cancel();
    progress.Stop();
    summary = MergeSummaries(summaries);
    // The summary comes first so a caller can read it and then take a last scrape.
    if (summaries.size() > 1) {
      for (std::size_t i = 0; i < summaries.size(); ++i) {
        std::printf("batchfetch: job %s (%s %s): ", jobs[i]->id.c_str(), jobs[i]->spec.site.c_str(),
                    jobs[i]->spec.search_type.c_str());
        PrintSummary(flags, summaries[i]);
      }
    }
    PrintSummary(flags, summary);
    if (summary.progress.provisional_days > 0) {
      spdlog::info("{} provisional days stored (fresh data; a later run re-fetches them)",
                   summary.progress.provisional_days);
    }
    if (!flags.metrics || flags.metrics_hold_s <= 0) {
      metrics_server.Stop();
      return;
    }
    metrics_hold.expires_after(
        std::chrono::milliseconds(std::llround(flags.metrics_hold_s * 1000)));
    metrics_hold.async_wait([&](boost::system::error_code) { metrics_server.Stop(); });
    signals.async_wait([&](boost::system::error_code ec, int) {
      if (!ec) metrics_hold.cancel();
    });
  };
  for (std::size_t i = 0; i < coordinators.size(); ++i) {
    asio::co_spawn(io, coordinators[i]->Run(), [&, i](std::exception_ptr e, RunSummary s) {
      if (e) {
        s.outcome = RunSummary::Outcome::kHalted;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          s.halt_reason = std::string("internal error: ") + ex.what();
        }
        for (auto& other : coordinators) other->RequestHalt(s.halt_reason);
      }
      summaries[i] = std::move(s);
      if (--running == 0) finished();
    });
  }
  io.run();
  writer.Stop();
  return ExitCode(summary);
}

}  // namespace batchfetch
