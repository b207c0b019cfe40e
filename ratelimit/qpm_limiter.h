#ifndef BATCHFETCH_RATELIMIT_QPM_LIMITER_H_
#define BATCHFETCH_RATELIMIT_QPM_LIMITER_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>

#include "core/clock.h"
#include "ratelimit/rate_limiter.h"
#include "ratelimit/sliding_window_log.h"

namespace batchfetch {

// Grants request tokens so that no window of `window` ever holds more than `budget`
// grants (budget = qpm x utilization), served first come, first served.
//
// Thread rule: all calls on the executor's thread (the io thread).
class QpmLimiter final : public RateLimiter {
 public:
  using TimePoint = Clock::TimePoint;
  using Duration = Clock::Duration;

  // REQUIRES: budget >= 1, window > 0. clock must outlive the limiter.
  QpmLimiter(boost::asio::any_io_executor ex, int64_t budget, Duration window,
             const Clock& clock = SteadyClock::Instance());
  // Waiters still queued complete with operation_aborted.
  ~QpmLimiter() override;

  QpmLimiter(const QpmLimiter&) = delete;
  QpmLimiter& operator=(const QpmLimiter&) = delete;

  // Waits until n grants are allowed, then records them. Returns {} on a grant,
  // operation_aborted when cancelled (terminal per-operation cancellation, e.g. the loser
  // of `||`) or after Close(). Waiters are served in call order; a cancelled waiter
  // leaves the queue at once and never holds up those behind it. Grants are never
  // refunded. REQUIRES: 1 <= n <= budget.
  boost::asio::awaitable<boost::system::error_code> Acquire(int64_t n = 1) override;

  // No grant before t (quota back-off, load-quota cool-down). Later calls with an
  // earlier t do not shorten an existing pause.
  void PauseUntil(TimePoint t) override;

  // Refuses every current and future Acquire with operation_aborted (halt).
  void Close() override;

  // Grants in the window ending now.
  int64_t GrantsInWindow() const override;
  int64_t budget() const override { return log_.budget(); }
  Duration window() const override { return log_.window(); }
  int64_t total_grants() const override { return total_grants_; }
  // Acquires waiting now.
  std::size_t waiting() const { return waiters_.size(); }

 private:
  struct Waiter;  // lives in the waiting coroutine's frame

  // Removes w from the queue; if it was the head, wakes the next head.
  void Leave(Waiter* w);
  // Makes the head re-check its turn (a grant, a pause or a departure changed it).
  void WakeHead();

  boost::asio::any_io_executor ex_;
  const Clock& clock_;
  SlidingWindowLog log_;
  TimePoint paused_until_{};
  bool closed_ = false;
  int64_t total_grants_ = 0;
  std::deque<Waiter*> waiters_;  // FIFO; only the head may be granted
};

}  // namespace batchfetch

#endif  // BATCHFETCH_RATELIMIT_QPM_LIMITER_H_
