#include "ratelimit/sliding_window_log.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace batchfetch {

SlidingWindowLog::SlidingWindowLog(int64_t budget, Duration window)
    : budget_(budget),
      window_(window),
      // Grown on demand up to budget: a huge budget (no real quota) costs no memory until
      // that many grants happen.
      ring_(static_cast<std::size_t>(std::min<int64_t>(budget, 1024))) {
  assert(budget >= 1);
  assert(window > Duration::zero());
}

SlidingWindowLog::TimePoint SlidingWindowLog::EarliestGrant(int64_t n, TimePoint now) const {
  assert(n >= 1 && n <= budget_);
  // After n more grants, the newest of them must stand at least `window` after the grant
  // `budget` places before it: the (budget - n + 1)-th most recent grant recorded now.
  const auto k = static_cast<std::size_t>(budget_ - n + 1);
  if (size_ < k) {
    return now;
  }
  const TimePoint bound = At(size_ - k) + window_;
  return std::max(now, bound);
}

void SlidingWindowLog::Record(int64_t n, TimePoint t) {
  assert(n >= 1 && n <= budget_);
  assert(size_ == 0 || t >= At(size_ - 1));
  for (int64_t i = 0; i < n; ++i) {
    if (size_ == ring_.size() && ring_.size() < static_cast<std::size_t>(budget_)) Grow();
    const std::size_t cap = ring_.size();
    if (size_ < cap) {
      ring_[(head_ + size_) % cap] = t;
      ++size_;
    } else {
      ring_[head_] = t;  // overwrite the oldest, which no future bound needs
      head_ = (head_ + 1) % cap;
    }
  }
}

void SlidingWindowLog::Grow() {
  const std::size_t bigger =
      static_cast<std::size_t>(std::min<int64_t>(budget_, static_cast<int64_t>(ring_.size()) * 2));
  std::vector<TimePoint> grown(bigger);
  for (std::size_t i = 0; i < size_; ++i) grown[i] = At(i);
  ring_ = std::move(grown);
  head_ = 0;
}

int64_t SlidingWindowLog::GrantsInWindow(TimePoint t) const {
  // The ring is sorted oldest first: binary-search the first grant inside (t - window, t]
  // and the first grant after t.
  const TimePoint from = t - window_;
  auto first_after = [this](auto pred) {
    std::size_t lo = 0;
    std::size_t hi = size_;
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (pred(At(mid))) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  };
  const std::size_t begin = first_after([from](TimePoint g) { return g > from; });
  const std::size_t end = first_after([t](TimePoint g) { return g > t; });
  return end > begin ? static_cast<int64_t>(end - begin) : 0;
}

}  // namespace batchfetch
