#ifndef BATCHFETCH_RATELIMIT_SHARED_QPM_LIMITER_H_
#define BATCHFETCH_RATELIMIT_SHARED_QPM_LIMITER_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "persistence/quota_ledger.h"
#include "persistence/status.h"
#include "core/clock.h"
#include "ratelimit/rate_limiter.h"

namespace batchfetch {

// A RateLimiter whose grant log lives in the ledger (QuotaLedger), so every process
// that shares the ledger draws from one budget: together they never exceed `budget`
// grants in any window.
//
// A thread of its own, with the QuotaLedger's own connection, makes the decisions, so
// the io thread never blocks on the database and the writer's big commits never delay a
// token. The waiters queued when the thread wakes are decided together in ONE TryGrant
// (FIFO, up to the budget): one transaction per group of tokens, however many workers
// wait. A grant is used at once, so the ledger's grant time is the send time give or
// take a few milliseconds; `margin` is added to the window in the ledger's arithmetic
// to absorb that delay (and its jitter) between the grant and the server's arrival.
// A grant is never refunded, even when its waiter was cancelled meanwhile.
//
// Thread rule: Acquire, PauseUntil, Close and the getters on the executor's thread.
class SharedQpmLimiter final : public RateLimiter {
 public:
  // Default margin: max(100 ms, 2% of the window).
  static Duration DefaultMargin(Duration window);

  // quota is used only by the limiter's thread. key names the quota ("site:..."). clock
  // (for PauseUntil and GrantsInWindow) must outlive the limiter.
  // REQUIRES: budget >= 1, window > 0, margin >= 0.
  SharedQpmLimiter(boost::asio::any_io_executor ex, std::unique_ptr<QuotaLedger> quota,
                   std::string key, int64_t budget, Duration window, Duration margin,
                   const Clock& clock = SteadyClock::Instance());
  // Closes, then joins the thread.
  ~SharedQpmLimiter() override;

  SharedQpmLimiter(const SharedQpmLimiter&) = delete;
  SharedQpmLimiter& operator=(const SharedQpmLimiter&) = delete;

  boost::asio::awaitable<boost::system::error_code> Acquire(int64_t n = 1) override;
  // Local to this process (the quota error that caused it was seen here).
  void PauseUntil(TimePoint t) override;
  void Close() override;
  // Every process's grants in the window, as of this process's last decision within
  // the window; 0 when it has decided nothing for a window.
  int64_t GrantsInWindow() const override;
  int64_t budget() const override { return budget_; }
  Duration window() const override { return window_; }
  int64_t total_grants() const override;
  // TryGrant transactions so far (round trips to the quota ledger for grants).
  int64_t decisions() const;
  // The last ledger error, ok when the last decision succeeded.
  Status last_error() const;

 private:
  struct Ticket;

  void Run();
  // Posts a wake-up of t's waiting coroutine to the executor.
  void Wake(const std::shared_ptr<Ticket>& t);

  boost::asio::any_io_executor ex_;
  std::unique_ptr<QuotaLedger> quota_;
  const std::string key_;
  const int64_t budget_;
  const Duration window_;
  const Duration margin_;
  const Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Ticket>> queue_;  // guarded by mu_; FIFO of waiting Acquires
  TimePoint paused_until_{};                   // guarded by mu_
  bool closed_ = false;                        // guarded by mu_
  bool stopping_ = false;                      // guarded by mu_
  int64_t total_grants_ = 0;                   // guarded by mu_
  int64_t room_hint_ = -1;                     // guarded by mu_; room the last refusal saw
  int64_t decisions_ = 0;                      // guarded by mu_
  int64_t last_in_window_ = 0;                 // guarded by mu_
  TimePoint last_decision_at_{};               // guarded by mu_
  Status last_error_;                          // guarded by mu_
  std::thread thread_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_RATELIMIT_SHARED_QPM_LIMITER_H_
