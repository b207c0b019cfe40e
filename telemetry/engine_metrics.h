#ifndef BATCHFETCH_TELEMETRY_ENGINE_METRICS_H_
#define BATCHFETCH_TELEMETRY_ENGINE_METRICS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "telemetry/metrics_registry.h"
#include "telemetry/run_observer.h"

namespace batchfetch {

// The engine's metrics, fed by RunObserver calls and served as /metrics (Prometheus
// text), /stats (one JSON object) and /health. Names start with batchfetch_; counters
// count this process's run, gauges mirror the last EngineGauges. No label ever holds a
// token, a URL or a query: only states, outcomes, HTTP status codes and the worker id.
//
// Thread rule: the io thread only (observer calls and the metrics server both run there).
class EngineMetrics final : public RunObserver {
 public:
  // worker_id and the number of reports of the run label batchfetch_info.
  EngineMetrics(std::string worker_id, int64_t reports);

  void OnRequest(const PageKey& page, long http_status, std::string_view outcome,
                 std::chrono::microseconds latency, std::chrono::microseconds limiter_wait,
                 int64_t grants_in_window, int64_t budget) override;
  void OnQueueWait(std::chrono::microseconds wait) override;
  void OnCommitted(const PageKey& page, int64_t rows,
                   std::chrono::microseconds persist_time) override;
  void OnRetry(const PageKey& page) override;
  void OnDead(const PageKey& page) override;
  void OnHalt(std::string_view reason) override;
  void OnGauges(const EngineGauges& gauges) override;
  void OnFinished() override;

  // Prometheus text exposition of every metric.
  std::string RenderPrometheus();
  // {"worker":…,"reports":…,"state":…,"requests":…,"pages_committed":…,…} on one line.
  std::string RenderStatsJson() const;
  // ("ok"|"finished"|"halted", HTTP status 200 or 503 when halted) for /health.
  std::pair<std::string, int> Health() const;

  int64_t requests() const { return requests_; }

 private:
  MetricsRegistry registry_;
  std::string worker_id_;
  int64_t reports_;
  std::chrono::steady_clock::time_point started_;

  std::map<std::pair<long, std::string>, double*> requests_by_status_;
  double* pages_committed_;
  double* rows_written_;
  double* retries_;
  double* quota_errors_;
  double* dead_;
  double* halts_;
  double* pages_by_state_[4];  // pending, leased, done, dead
  double* rows_stored_;
  double* truncated_days_;
  double* queued_;
  double* fetching_;
  double* committing_;
  double* writer_backlog_;
  double* mailbox_depth_;
  double* max_mailbox_depth_;
  double* grants_in_window_;
  double* budget_;
  double* window_seconds_;
  double* oldest_pending_age_;
  double* uptime_;
  double* finished_gauge_;
  Histogram* request_latency_;
  Histogram* queue_wait_;
  Histogram* limiter_wait_;
  Histogram* persist_time_;

  int64_t requests_ = 0;  // mirrors for /stats
  int64_t pages_ = 0;
  int64_t rows_ = 0;
  int64_t retries_n_ = 0;
  int64_t quota_n_ = 0;
  int64_t dead_n_ = 0;
  EngineGauges last_gauges_;
  bool halted_ = false;
  bool finished_ = false;
  std::string halt_reason_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_TELEMETRY_ENGINE_METRICS_H_
