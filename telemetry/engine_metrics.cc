#include "telemetry/engine_metrics.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace batchfetch {

namespace {

double Seconds(std::chrono::microseconds d) { return static_cast<double>(d.count()) / 1e6; }

}  // namespace

EngineMetrics::EngineMetrics(std::string worker_id, int64_t reports)
    : worker_id_(std::move(worker_id)),
      reports_(reports),
      started_(std::chrono::steady_clock::now()) {
  MetricsRegistry& r = registry_;
  *r.Gauge("batchfetch_info",
           "Constant 1, labelled with this process's worker id and its number of reports",
           {{"worker", worker_id_}, {"reports", std::to_string(reports_)}}) = 1;
  static const char* kStates[] = {"pending", "leased", "done", "dead"};
  for (int i = 0; i < 4; ++i) {
    pages_by_state_[i] = r.Gauge("batchfetch_pages", "Pages of the run's reports by ledger state",
                                 {{"state", kStates[i]}});
  }
  rows_stored_ = r.Gauge("batchfetch_rows_stored", "Rows the ledger holds for the run's reports");
  truncated_days_ = r.Gauge("batchfetch_truncated_days", "Days at the API's daily row cap");
  requests_by_status_[{200, "ok"}] =
      r.Counter("batchfetch_requests_total", "Requests answered, by HTTP status and outcome",
                {{"status", "200"}, {"outcome", "ok"}});
  pages_committed_ = r.Counter("batchfetch_pages_committed_total", "Pages committed by this run");
  rows_written_ = r.Counter("batchfetch_rows_written_total", "Rows written by this run");
  retries_ = r.Counter("batchfetch_retries_total", "Transient failures that will be retried");
  quota_errors_ = r.Counter("batchfetch_quota_errors_total", "429 and quota 403 answers");
  dead_ = r.Counter("batchfetch_dead_pages_total", "Pages that became dead in this run");
  halts_ = r.Counter("batchfetch_halts_total", "Halts on an unrecoverable error (0 or 1)");
  queued_ = r.Gauge("batchfetch_queue_depth", "Claimed pages waiting for a worker");
  fetching_ = r.Gauge("batchfetch_in_flight", "Pages a worker holds (limiter wait + request)");
  committing_ = r.Gauge("batchfetch_committing", "Fetched pages waiting for or in the writer");
  writer_backlog_ = r.Gauge("batchfetch_writer_backlog", "Pages queued in the writer thread");
  mailbox_depth_ = r.Gauge("batchfetch_mailbox_depth", "Coordinator messages not yet handled");
  max_mailbox_depth_ =
      r.Gauge("batchfetch_mailbox_depth_max", "Largest coordinator mailbox depth seen");
  grants_in_window_ = r.Gauge("batchfetch_limiter_grants_in_window",
                              "Requests granted in the current quota window");
  budget_ = r.Gauge("batchfetch_limiter_budget", "Requests allowed per quota window");
  window_seconds_ = r.Gauge("batchfetch_limiter_window_seconds", "Length of the quota window");
  oldest_pending_age_ = r.Gauge("batchfetch_oldest_pending_age_seconds",
                                "Age of the oldest page claimed and not yet fetched");
  uptime_ = r.Gauge("batchfetch_uptime_seconds", "Seconds since the run started");
  finished_gauge_ = r.Gauge("batchfetch_run_finished", "1 once the run has ended");
  const std::vector<double> buckets = LatencyBuckets();
  request_latency_ = r.Histo("batchfetch_request_duration_seconds",
                             "Request latency, send to full answer", buckets);
  queue_wait_ =
      r.Histo("batchfetch_queue_wait_seconds", "Time a claimed page waited for a worker", buckets);
  limiter_wait_ =
      r.Histo("batchfetch_limiter_wait_seconds", "Time a worker waited for a quota token", buckets);
  persist_time_ = r.Histo("batchfetch_persist_duration_seconds",
                          "Time from submit to commit in the writer", buckets);
}

void EngineMetrics::OnRequest(const PageKey&, long http_status, std::string_view outcome,
                              std::chrono::microseconds latency,
                              std::chrono::microseconds limiter_wait, int64_t grants_in_window,
                              int64_t budget) {
  auto key = std::make_pair(http_status, std::string(outcome));
  double*& counter = requests_by_status_[key];
  if (!counter) {
    counter = registry_.Counter("batchfetch_requests_total", "",
                                {{"status", std::to_string(http_status)}, {"outcome", key.second}});
  }
  *counter += 1;
  ++requests_;
  if (outcome == "quota") {
    *quota_errors_ += 1;
    ++quota_n_;
  }
  request_latency_->Observe(Seconds(latency));
  limiter_wait_->Observe(Seconds(limiter_wait));
  *grants_in_window_ = static_cast<double>(grants_in_window);
  *budget_ = static_cast<double>(budget);
}

void EngineMetrics::OnQueueWait(std::chrono::microseconds wait) {
  queue_wait_->Observe(Seconds(wait));
}

void EngineMetrics::OnCommitted(const PageKey&, int64_t rows,
                                std::chrono::microseconds persist_time) {
  *pages_committed_ += 1;
  *rows_written_ += static_cast<double>(rows);
  ++pages_;
  rows_ += rows;
  persist_time_->Observe(Seconds(persist_time));
}

void EngineMetrics::OnRetry(const PageKey&) {
  *retries_ += 1;
  ++retries_n_;
}

void EngineMetrics::OnDead(const PageKey&) {
  *dead_ += 1;
  ++dead_n_;
}

void EngineMetrics::OnHalt(std::string_view reason) {
  if (!halted_) *halts_ += 1;
  halted_ = true;
  halt_reason_ = std::string(reason);
}

void EngineMetrics::OnGauges(const EngineGauges& g) {
  last_gauges_ = g;
  *pages_by_state_[0] = static_cast<double>(g.progress.pending);
  *pages_by_state_[1] = static_cast<double>(g.progress.leased);
  *pages_by_state_[2] = static_cast<double>(g.progress.done);
  *pages_by_state_[3] = static_cast<double>(g.progress.dead);
  *rows_stored_ = static_cast<double>(g.progress.rows);
  *truncated_days_ = static_cast<double>(g.progress.truncated_days);
  *queued_ = static_cast<double>(g.queued);
  *fetching_ = static_cast<double>(g.fetching);
  *committing_ = static_cast<double>(g.committing);
  *writer_backlog_ = static_cast<double>(g.writer_backlog);
  *mailbox_depth_ = static_cast<double>(g.mailbox_depth);
  *max_mailbox_depth_ = static_cast<double>(g.max_mailbox_depth);
  *grants_in_window_ = static_cast<double>(g.grants_in_window);
  *budget_ = static_cast<double>(g.budget);
  *window_seconds_ = g.window_seconds;
  *oldest_pending_age_ = g.oldest_pending_age_s;
}

void EngineMetrics::OnFinished() {
  finished_ = true;
  *finished_gauge_ = 1;
}

std::string EngineMetrics::RenderPrometheus() {
  *uptime_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return registry_.Render();
}

std::string EngineMetrics::RenderStatsJson() const {
  boost::json::object o;
  o["worker"] = worker_id_;
  o["reports"] = reports_;
  o["state"] = halted_ ? "halted" : finished_ ? "finished" : "running";
  if (halted_) o["halt_reason"] = halt_reason_;
  o["uptime_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  o["requests"] = requests_;
  o["pages_committed"] = pages_;
  o["rows_written"] = rows_;
  o["retries"] = retries_n_;
  o["quota_errors"] = quota_n_;
  o["dead_pages"] = dead_n_;
  const EngineGauges& g = last_gauges_;
  o["pages"] = boost::json::object{{"pending", g.progress.pending},
                                   {"leased", g.progress.leased},
                                   {"done", g.progress.done},
                                   {"dead", g.progress.dead},
                                   {"total", g.progress.total()}};
  o["rows_stored"] = g.progress.rows;
  o["queue_depth"] = g.queued;
  o["in_flight"] = g.fetching;
  o["committing"] = g.committing;
  o["writer_backlog"] = g.writer_backlog;
  o["mailbox_depth"] = g.mailbox_depth;
  o["grants_in_window"] = g.grants_in_window;
  o["budget"] = g.budget;
  o["window_s"] = g.window_seconds;
  o["oldest_pending_age_s"] = g.oldest_pending_age_s;
  o["latency_p50_s"] = request_latency_->Quantile(0.5);
  o["latency_p95_s"] = request_latency_->Quantile(0.95);
  o["latency_p99_s"] = request_latency_->Quantile(0.99);
  return boost::json::serialize(o);
}

std::pair<std::string, int> EngineMetrics::Health() const {
  if (halted_) return {"halted", 503};
  return {finished_ ? "finished" : "ok", 200};
}

}  // namespace batchfetch
