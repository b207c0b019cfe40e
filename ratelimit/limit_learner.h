#ifndef BATCHFETCH_RATELIMIT_LIMIT_LEARNER_H_
#define BATCHFETCH_RATELIMIT_LIMIT_LEARNER_H_

#include <cstdint>
#include <deque>
#include <optional>

#include "core/clock.h"

namespace batchfetch {

// Learns a rate limit below the budget (a new or unbilled Cloud project gets 60 QPM where
// the documented limit is 1,200) from the outcomes of the requests one limiter granted.
// Plain code: time is an argument, no I/O.
//
// At each quota rejection it notes how many requests the API accepted in the window
// ending then. When the last kObservations rejections all saw about the same accepted
// count (within 20% of each other) and that count is below the budget, the API is
// accepting a steady rate below the budget: Proposal() is that count, the budget to
// adopt. Rejections at low traffic that are not steady (the unseen load quota) propose
// nothing. A rejection while the shared ledger held (nearly) the whole budget in the
// window is the budget's own edge (a late arrival, another process's request), not a
// lower limit: it is no observation. After a proposal is taken (Adopt) the observations
// start afresh.
//
// Thread rule: one thread at a time.
class LimitLearner {
 public:
  using TimePoint = Clock::TimePoint;
  using Duration = Clock::Duration;

  static constexpr int kObservations = 3;
  // A ledger this full (grants in the window / budget, on any key) explains a rejection.
  static constexpr double kEdgeFill = 0.9;

  // REQUIRES: budget >= 1, window > 0.
  LimitLearner(int64_t budget, Duration window) : budget_(budget), window_(window) {}

  // The API answered a request sent at t: accepted (any answer but a quota error) or
  // rejected for quota; ledger_fill is the largest (grants in the window / budget) the
  // shared ledger reported on the request's keys, every process's grants counted (0 if
  // unknown). REQUIRES: t never decreases.
  void OnAccepted(TimePoint t);
  void OnRejected(TimePoint t, double ledger_fill = 0);

  // The budget per window the API's answers support, when it is steadily below the
  // current budget; nullopt otherwise.
  std::optional<int64_t> Proposal() const;
  // Takes `budget` as the new budget (<= the current one) and forgets the observations.
  void Adopt(int64_t budget);

  int64_t budget() const { return budget_; }

 private:
  void Prune(TimePoint now);

  int64_t budget_;
  const Duration window_;
  std::deque<TimePoint> accepted_;    // accepted requests' send times within the window
  std::deque<int64_t> observations_;  // accepted-in-window at the last rejections
};

}  // namespace batchfetch

#endif  // BATCHFETCH_RATELIMIT_LIMIT_LEARNER_H_
