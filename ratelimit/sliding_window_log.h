#ifndef BATCHFETCH_RATELIMIT_SLIDING_WINDOW_LOG_H_
#define BATCHFETCH_RATELIMIT_SLIDING_WINDOW_LOG_H_

#include <cstdint>
#include <vector>

#include "core/clock.h"

namespace batchfetch {

// An exact sliding-window log: at most `budget` grants in any half-open window of
// length `window`. A grant of n at t is allowed iff the (budget - n + 1)-th most recent
// grant is at least `window` old. Sustains the full budget and bounds every window
// exactly (a token bucket bounds b + r*W and so wastes the burst).
//
// Pure arithmetic on the times it is given: no clock, no waiting. Not thread-safe.
class SlidingWindowLog {
 public:
  using TimePoint = Clock::TimePoint;
  using Duration = Clock::Duration;

  // REQUIRES: budget >= 1, window > 0.
  SlidingWindowLog(int64_t budget, Duration window);

  // The earliest time >= now at which n grants may be made. REQUIRES: 1 <= n <= budget.
  TimePoint EarliestGrant(int64_t n, TimePoint now) const;

  // Records n grants at t. REQUIRES: t >= EarliestGrant(n, t) and t >= the last grant.
  void Record(int64_t n, TimePoint t);

  // Grants in the window (t - window, t].
  int64_t GrantsInWindow(TimePoint t) const;

  int64_t budget() const { return budget_; }
  Duration window() const { return window_; }
  // Slots allocated now (grows with use, at most budget).
  std::size_t capacity() const { return ring_.size(); }
  // Grants remembered (at most budget).
  int64_t size() const { return static_cast<int64_t>(size_); }

 private:
  // The i-th remembered grant, 0 = oldest. REQUIRES: i < size_.
  // Doubles the ring (at most to budget_), keeping the grants in order.
  void Grow();
  TimePoint At(std::size_t i) const { return ring_[(head_ + i) % ring_.size()]; }

  const int64_t budget_;
  const Duration window_;
  std::vector<TimePoint> ring_;  // the last `budget_` grant times, oldest at head_
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_RATELIMIT_SLIDING_WINDOW_LOG_H_
