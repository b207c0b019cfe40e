#include "tools/batchfetch/backfill_run.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <utility>
#include <vector>

#include "coordinator/coordinator.h"
#include "persistence/ledger.h"
#include "persistence/ledger_writer.h"
#include "persistence/quota_ledger.h"
#include "ratelimit/quota_keys.h"
#include "ratelimit/quota_service.h"
#include "telemetry/audit_log.h"
#include "telemetry/engine_metrics.h"
#include "telemetry/logging.h"
#include "telemetry/metrics_server.h"
#include "telemetry/progress_display.h"
#include "telemetry/run_observer.h"
#include "tools/batchfetch/commands.h"
#include "tools/batchfetch/report_planner.h"
#include "tools/batchfetch/run_summary.h"
#include "workers/http_client.h"
#include "workers/token_source.h"

namespace batchfetch {

namespace asio = boost::asio;

namespace {

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

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(std::llround(seconds * 1000));
}

}  // namespace

struct BackfillRun::State {
  State(asio::io_context& io, const BackfillFlags& flags)
      : http(io.get_executor(),
             HttpClientOptions{.max_connections = std::max<long>(8, flags.run.max_concurrency)}),
        audit(flags.run.worker_id),
        metrics(flags.run.worker_id, static_cast<int64_t>(flags.job.reports.size())),
        metrics_server(io.get_executor()),
        progress(io.get_executor(), SetStatusLine),
        signals(io, SIGINT, SIGTERM, SIGHUP),
        metrics_hold(io) {}

  HttpClient http;
  std::unique_ptr<TokenSource> tokens;
  CompositeObserver observers;
  AuditLog audit;
  EngineMetrics metrics;
  MetricsServer metrics_server;
  ProgressDisplay progress;
  bool show_progress = false;
  std::unique_ptr<Ledger> ledger;  // until the writer takes it
  std::unique_ptr<QuotaService> quota;
  std::vector<ReportRun> runs;
  std::unique_ptr<LedgerWriter> writer;
  std::unique_ptr<Coordinator> coordinator;
  asio::signal_set signals;
  asio::steady_timer metrics_hold;
  RunSummary summary;
};

BackfillRun::BackfillRun(BackfillFlags flags) : flags_(std::move(flags)) {}

BackfillRun::~BackfillRun() = default;

int BackfillRun::Fail(int code, const std::string& message) {
  spdlog::error("batchfetch backfill: {}", message);
  return code;
}

int BackfillRun::Prepare() {
  State& st = *state_;
  std::string error;
  TokenSourceOptions token_options;
  token_options.token = flags_.token;
  token_options.token_cmd = flags_.token_cmd;
  token_options.credentials = flags_.credentials;
  token_options.subject = flags_.subject;
  token_options.ReadEnvironment();
  if (!flags_.token.empty() || !flags_.token_cmd.empty() || !flags_.credentials.empty()) {
    token_options.env_credentials.clear();  // an explicit credential wins
    token_options.adc_path.clear();
  }
  st.tokens = MakeTokenSource(token_options, io_.get_executor(), st.http, &error);
  if (!st.tokens && !error.empty()) return Fail(kExitUsage, error);
  quota_project_ = !flags_.quota_project.empty() ? flags_.quota_project
                   : st.tokens                   ? st.tokens->QuotaProject()
                                                 : std::string();
  if (flags_.metrics) {
    AddMetricsRoutes(st.metrics_server, st.metrics);
    if (!st.metrics_server.Listen(*flags_.metrics, &error)) return Fail(kExitUsage, error);
    st.observers.Add(&st.metrics);
    const bool v6 = flags_.metrics->host.find(':') != std::string::npos;
    spdlog::info("metrics on http://{}{}{}:{}/metrics (also /health, /stats)", v6 ? "[" : "",
                 flags_.metrics->host, v6 ? "]" : "", st.metrics_server.port());
  }

  const std::string db = RedactTarget(flags_.db);
  if (Status s = OpenLedger(flags_.db, OpenMode::kCreate, &st.ledger); !s.ok()) {
    return Fail(ExitForUnusableLedger(s), "cannot use --db " + db + ": " + s.ToString());
  }
  std::vector<PlannedReport> planned;
  if (Status s = PlanReports(*st.ledger, flags_.job, flags_.today, &planned); !s.ok()) {
    return Fail(kExitHalted, "cannot plan the reports in " + db + ": " + s.ToString());
  }

  // One quota service for the ledger; each report draws from its site, its principal and
  // the project, decided together.
  std::unique_ptr<QuotaLedger> quota_ledger;
  if (Status s = OpenQuotaLedger(flags_.db, &quota_ledger); !s.ok()) {
    return Fail(kExitHalted, "cannot open the shared quota in " + db + ": " + s.ToString());
  }
  const QuotaPolicy policy = Policy();
  QuotaService::Options quota_options;
  quota_options.window = policy.window;
  quota_options.margin = QuotaService::DefaultMargin(policy.window);
  quota_options.utilization = flags_.qpm_utilization;
  quota_options.notice = [](std::string_view line) { spdlog::warn("{}", line); };
  st.quota = std::make_unique<QuotaService>(io_.get_executor(), std::move(quota_ledger),
                                            std::move(quota_options));
  const std::string principal = st.tokens ? st.tokens->QuotaPrincipal() : std::string();
  for (const auto& report : flags_.job.reports) {
    st.runs.push_back(ReportRun{
        report, &st.quota->Limiter(RequestQuotaKeys(report->spec.site, principal, policy))});
  }

  // The audit file is created only now that the run starts.
  if (!flags_.audit_log.empty()) {
    if (!st.audit.Open(flags_.audit_log, &error)) return Fail(kExitUsage, error);
    st.observers.Add(&st.audit);
  }
  // Never under --log-format json: every stderr line is JSON there.
  st.show_progress =
      flags_.log_format != "json" &&
      (flags_.progress == "always" || (flags_.progress == "auto" && isatty(STDERR_FILENO)));
  if (st.show_progress) st.observers.Add(&st.progress);
  return 0;
}

QuotaPolicy BackfillRun::Policy() const {
  // --qpm counts per --qpm-window (README: a 6 s window runs the same ratios ten times
  // faster), while QuotaPolicy counts per minute and scales to the window: convert.
  const double per_minute = 60.0 / flags_.qpm_window_s;
  QuotaPolicy policy;
  policy.qpm = flags_.qpm * per_minute;
  policy.utilization = flags_.qpm_utilization;
  policy.project_qpm = flags_.project_qpm * per_minute;
  policy.window = Millis(flags_.qpm_window_s);
  policy.quota_user = flags_.quota_user;
  return policy;
}

int BackfillRun::Execute() {
  state_ = std::make_unique<State>(io_, flags_);
  State& st = *state_;
  // Signals are caught from the start: one that arrives while the ledger is prepared
  // stops the run as soon as the coordinator starts.
  int early_signal = 0;
  std::function<void()> wait_signal = [&] {
    st.signals.async_wait([&](boost::system::error_code ec, int signo) {
      if (ec) return;
      if (st.coordinator) {
        st.coordinator->RequestStop(signo);
      } else {
        early_signal = signo;
      }
      wait_signal();
    });
  };
  wait_signal();
  if (int code = Prepare(); code != 0) return code;

  WorkerConfig worker_config;
  worker_config.api_base = flags_.api_base;
  worker_config.row_limit = flags_.job.row_limit;
  worker_config.tokens = st.tokens.get();
  worker_config.request_timeout = Millis(flags_.request_timeout_s);
  worker_config.quota_project = quota_project_;
  st.writer = std::make_unique<LedgerWriter>(std::move(st.ledger), LedgerWriter::kDefaultMaxGroup,
                                             flags_.run.max_attempts);
  st.coordinator = std::make_unique<Coordinator>(io_.get_executor(), *st.writer, st.http, st.runs,
                                                 worker_config, flags_.run, &st.observers);
  if (early_signal != 0) st.coordinator->RequestStop(early_signal);
  if (st.show_progress) st.progress.Start();
  asio::co_spawn(io_, st.coordinator->Run(), [&](std::exception_ptr e, RunSummary s) {
    if (e) {
      s.outcome = RunSummary::Outcome::kHalted;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        s.halt_reason = std::string("internal error: ") + ex.what();
      }
    }
    st.summary = std::move(s);
    Finished();
  });
  io_.run();
  st.writer->Stop();
  return ExitCode(st.summary);
}

void BackfillRun::Finished() {
  State& st = *state_;
  st.progress.Stop();
  const RunSummary& s = st.summary;
  // The summary comes first so a caller can read it and then take a last scrape.
  const SummaryContext context{static_cast<int64_t>(st.runs.size()), flags_.Budget(),
                               flags_.qpm_window_s};
  const std::string json = SummaryJson(s, context);
  std::printf("%s\n", flags_.json ? json.c_str() : SummaryText(s, context).c_str());
  std::fflush(stdout);
  // Under --log-format json every stderr line is JSON: the summary is one of them.
  if (flags_.log_format == "json") spdlog::info("summary {}", json);
  // The plan logs its own halt once, as it decides it ("halting: <reason>"); only an
  // internal error, which the plan never saw, is said here: one line either way.
  if (s.outcome == RunSummary::Outcome::kHalted && s.halt_reason.starts_with("internal error: ")) {
    spdlog::error("batchfetch: halted: {}", s.halt_reason);
  }
  if (s.progress.provisional_days > 0) {
    spdlog::info("{} provisional days stored (fresh data; a later run re-fetches them)",
                 s.progress.provisional_days);
  }
  st.quota->Close();
  if (!flags_.metrics || flags_.metrics_hold_s <= 0) {
    st.signals.cancel();
    st.metrics_server.Stop();
    return;
  }
  // Serve a last scrape for --metrics-hold seconds; a signal ends the hold early.
  st.metrics_hold.expires_after(Millis(flags_.metrics_hold_s));
  st.metrics_hold.async_wait([&st](boost::system::error_code) {
    st.signals.cancel();
    st.metrics_server.Stop();
  });
  st.signals.cancel();
  st.signals.async_wait([&st](boost::system::error_code ec, int) {
    if (!ec) st.metrics_hold.cancel();
  });
}

}  // namespace batchfetch
