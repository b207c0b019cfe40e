#include "ratelimit/limit_learner.h"

#include <algorithm>

namespace batchfetch {

void LimitLearner::Prune(TimePoint now) {
  while (!accepted_.empty() && accepted_.front() <= now - window_) accepted_.pop_front();
}

void LimitLearner::OnAccepted(TimePoint t) {
  Prune(t);
  accepted_.push_back(t);
}

void LimitLearner::OnRejected(TimePoint t, double ledger_fill) {
  Prune(t);
  if (ledger_fill >= kEdgeFill) return;
  observations_.push_back(static_cast<int64_t>(accepted_.size()));
  while (observations_.size() > kObservations) observations_.pop_front();
}

std::optional<int64_t> LimitLearner::Proposal() const {
  if (observations_.size() < kObservations) return std::nullopt;
  const auto [lo, hi] = std::minmax_element(observations_.begin(), observations_.end());
  // Nothing accepted at all is not a rate: it is an outage or the load quota.
  if (*lo < 1 || *lo >= budget_) return std::nullopt;
  // Steady: every observation within 20% of the smallest.
  if (*hi * 5 > *lo * 6) return std::nullopt;
  return *lo;
}

void LimitLearner::Adopt(int64_t budget) {
  budget_ = std::min(budget_, std::max<int64_t>(1, budget));
  observations_.clear();
}

}  // namespace batchfetch
