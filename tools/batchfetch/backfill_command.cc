// batchfetch backfill: register the job, then run the coordinator on one io thread with
// the writer on its own thread until every page is done, the run halts, or a signal
// stops it.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <random>
#include <string>

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "coordinator/coordinator.h"
#include "persistence/ledger.h"
#include "persistence/ledger_writer.h"
#include "ratelimit/qpm_limiter.h"
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
  const std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(p * v.size())) - (p > 0 ? 1 : 0));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

const char* OutcomeWord(RunSummary::Outcome o) {
  switch (o) {
    case RunSummary::Outcome::kDone: return "done";
    case RunSummary::Outcome::kDeadPages: return "finished with dead pages";
    case RunSummary::Outcome::kHalted: return "halted";
    case RunSummary::Outcome::kInterrupted: return "interrupted";
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
      OutcomeWord(s.outcome), static_cast<long long>(s.pages), static_cast<long long>(s.rows),
      secs, static_cast<long long>(s.requests), per_minute,
      static_cast<long long>(s.peak_window_grants), flags.qpm_window_s, flags.Budget(),
      static_cast<long long>(s.retries), static_cast<long long>(s.quota_errors),
      static_cast<long long>(s.progress.dead), Percentile(s.latency_ms, 0.5),
      Percentile(s.latency_ms, 0.95), Percentile(s.latency_ms, 0.99),
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

}  // namespace

int BackfillCommand(int argc, char** argv) {
  const char* env_token = std::getenv("BATCHFETCH_TOKEN");
  BackfillFlags flags;
  std::string error;
  if (auto code = ParseBackfillFlags(argc, argv, env_token ? env_token : "", Today(), &flags,
                                     &error)) {
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
  auto job = std::make_shared<Job>();
  job->spec = flags.spec;
  job->id = job_id;
  if (Status s = ledger->RegisterJob(*job); !s.ok()) {
    std::fprintf(stderr, "batchfetch backfill: cannot register the job in %s: %s\n",
                 flags.db.c_str(), s.ToString().c_str());
    return s.IsFatal() ? kExitHalted : kExitUsage;
  }
  spdlog::info("job {}: {} {} {}..{} dimensions {} into {}; {} workers, budget {} per {} s",
               job->id, flags.spec.site, flags.spec.search_type, flags.spec.start_date,
               flags.spec.end_date, flags.spec.DimensionsCsv(), flags.db,
               flags.run.max_concurrency, flags.Budget(), flags.qpm_window_s);

  LedgerWriter writer(std::move(ledger));
  HttpClientOptions http_options;
  http_options.max_connections = std::max<long>(8, flags.run.max_concurrency);
  HttpClient http(io.get_executor(), http_options);
  // The server counts arrivals, which jitter against our grant times: the limiter keeps
  // 2% of the window as margin, so a window of arrivals never holds more than the budget.
  QpmLimiter limiter(io.get_executor(), flags.Budget(),
                     std::chrono::duration_cast<Clock::Duration>(
                         std::chrono::duration<double>(flags.qpm_window_s * 1.02)));
  TokenSourceOptions token_options;
  token_options.token = flags.token;
  std::unique_ptr<TokenSource> tokens =
      MakeTokenSource(token_options, io.get_executor(), http, &error);
  if (!tokens && !error.empty()) {
    std::fprintf(stderr, "batchfetch backfill: %s\n", error.c_str());
    return kExitUsage;
  }
  WorkerConfig worker_config;
  worker_config.job = job;
  worker_config.api_base = flags.api_base;
  worker_config.tokens = tokens.get();
  worker_config.request_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(flags.request_timeout_s * 1000));
  Coordinator coordinator(io.get_executor(), writer, http, limiter, worker_config, flags.run,
                          &observers);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int signo) {
      if (ec) return;
      coordinator.RequestStop(signo);
      wait_signal();
    });
  };
  wait_signal();

  RunSummary summary;
  asio::steady_timer metrics_hold(io);
  if (show_progress) progress.Start();
  asio::co_spawn(io, coordinator.Run(), [&](std::exception_ptr e, RunSummary s) {
    signals.cancel();
    progress.Stop();
    if (e) {
      summary.outcome = RunSummary::Outcome::kHalted;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        summary.halt_reason = std::string("internal error: ") + ex.what();
      }
    } else {
      summary = std::move(s);
    }
    // The summary comes first so a caller can read it and then take a last scrape.
    PrintSummary(flags, summary);
    if (!flags.metrics || flags.metrics_hold_s <= 0) {
      metrics_server.Stop();
      return;
    }
    metrics_hold.expires_after(std::chrono::milliseconds(std::llround(flags.metrics_hold_s * 1000)));
    metrics_hold.async_wait([&](boost::system::error_code) { metrics_server.Stop(); });
    signals.async_wait([&](boost::system::error_code ec, int) {
      if (!ec) metrics_hold.cancel();
    });
  });
  io.run();
  writer.Stop();
  return ExitCode(summary);
}

}  // namespace batchfetch
