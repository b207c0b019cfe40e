#ifndef BATCHFETCH_COORDINATOR_DETAIL_RUN_STATS_H_
#define BATCHFETCH_COORDINATOR_DETAIL_RUN_STATS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string_view>
#include <vector>

#include "coordinator/run_options.h"
#include "core/page.h"
#include "ratelimit/rate_limiter.h"
#include "telemetry/run_observer.h"
#include "workers/worker.h"

namespace batchfetch::detail {

// What the coordinator's actor counts for the summary and the gauges, and tells the
// observer (nullable). Thread rule: the io thread only.
class RunStats {
 public:
  using Time = std::chrono::steady_clock::time_point;

  explicit RunStats(RunObserver* observer) : observer_(observer) {}

  void Claimed(const PageKey& key, Time now) { claimed_at_[key] = now; }
  void Assigned(const PageKey& key, Time now);  // reports the page's queue wait
  void Released(const PageKey& key) { claimed_at_.erase(key); }
  void FetchEnded(bool fetched) { --fetching_, committing_ += fetched ? 1 : 0; }
  void Committed(const PageKey& key, bool ok, int64_t rows, std::chrono::microseconds persist);
  // A failed attempt is recorded: a retry, or the page's last (dead).
  void FailureRecorded(const Lease& lease, int max_attempts);
  void Halted(std::string_view reason) {
    if (observer_) observer_->OnHalt(reason);
  }
  void Request(const PageKey& key, std::string_view outcome, const RequestInfo& info,
               const RateLimiter& limiter);
  // A message entered (+1) or left (-1) the mailbox.
  void Mailbox(int delta) {
    depth_ += delta;
    max_depth_ = std::max(max_depth_, depth_);
  }
  void Gauges(const std::set<RateLimiter*>& limiters, int64_t writer_backlog, Time now);
  void Progress(const ReportProgress& progress) { progress_ = progress; }
  // Fills the shell's part of summary: requests, latencies, peak window, mailbox depth.
  void Fill(const std::set<RateLimiter*>& limiters, RunSummary* summary);

  RunObserver* observer() const { return observer_; }

 private:
  RunObserver* observer_;
  std::map<PageKey, Time> claimed_at_;  // claimed, not yet assigned
  std::vector<double> latency_ms_;      // a bounded sample
  ReportProgress progress_;
  int64_t depth_ = 0, max_depth_ = 0, peak_window_ = 0, fetching_ = 0, committing_ = 0;
};

}  // namespace batchfetch::detail

#endif  // BATCHFETCH_COORDINATOR_DETAIL_RUN_STATS_H_
