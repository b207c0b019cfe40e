#include "coordinator/detail/run_stats.h"

#include <algorithm>

namespace batchfetch::detail {

namespace {
constexpr std::size_t kLatencySampleCap = 200000;
}  // namespace

void RunStats::Assigned(const PageKey& key, Time now) {
  ++fetching_;
  auto it = claimed_at_.find(key);
  if (it == claimed_at_.end()) return;
  if (observer_) {
    observer_->OnQueueWait(std::chrono::duration_cast<std::chrono::microseconds>(now - it->second));
  }
  claimed_at_.erase(it);
}

void RunStats::Committed(const PageKey& key, bool ok, int64_t rows,
                         std::chrono::microseconds persist) {
  --committing_;
  if (ok && observer_) observer_->OnCommitted(key, rows, persist);
}

void RunStats::FailureRecorded(const Lease& lease, int max_attempts) {
  if (!observer_) return;
  if (lease.attempts + 1 >= max_attempts) {
    observer_->OnDead(lease.key);
  } else {
    observer_->OnRetry(lease.key);
  }
}

void RunStats::Request(const PageKey& key, std::string_view outcome, const RequestInfo& info,
                       const RateLimiter& limiter) {
  if (latency_ms_.size() < kLatencySampleCap) {
    latency_ms_.push_back(static_cast<double>(info.latency.count()) / 1000.0);
  }
  const int64_t in_window = limiter.GrantsInWindow();
  peak_window_ = std::max(peak_window_, in_window);
  if (observer_) {
    observer_->OnRequest(key, info.http_status, outcome, info.latency, info.limiter_wait, in_window,
                         limiter.budget());
  }
}

void RunStats::Gauges(const std::set<RateLimiter*>& limiters, int64_t writer_backlog, Time now) {
  if (!observer_ || limiters.empty()) return;
  EngineGauges g;
  g.queued = static_cast<int64_t>(claimed_at_.size());
  g.fetching = fetching_;
  g.committing = committing_;
  g.writer_backlog = writer_backlog;
  g.mailbox_depth = depth_;
  g.max_mailbox_depth = max_depth_;
  // The busiest limiter speaks for the run.
  const RateLimiter* busiest = *limiters.begin();
  for (const RateLimiter* l : limiters) {
    if (l->GrantsInWindow() > busiest->GrantsInWindow()) busiest = l;
  }
  g.grants_in_window = busiest->GrantsInWindow();
  g.budget = busiest->budget();
  g.window_seconds = std::chrono::duration<double>(busiest->window()).count();
  for (const auto& [key, at] : claimed_at_) {
    g.oldest_pending_age_s =
        std::max(g.oldest_pending_age_s, std::chrono::duration<double>(now - at).count());
  }
  g.progress = progress_;
  observer_->OnGauges(g);
}

void RunStats::Fill(const std::set<RateLimiter*>& limiters, RunSummary* summary) {
  summary->requests = 0;
  for (const RateLimiter* l : limiters) summary->requests += l->total_grants();
  summary->latency_ms = std::move(latency_ms_);
  summary->peak_window_grants = peak_window_;
  summary->max_mailbox_depth = max_depth_;
}

}  // namespace batchfetch::detail
