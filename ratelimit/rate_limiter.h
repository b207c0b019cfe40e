#ifndef BATCHFETCH_RATELIMIT_RATE_LIMITER_H_
#define BATCHFETCH_RATELIMIT_RATE_LIMITER_H_

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>

#include "core/clock.h"

namespace batchfetch {

// What a worker needs from a limiter: tokens, never more than budget() in any window().
// QpmLimiter counts the grants of this process; QuotaService's limiters count every process
// that shares the ledger.
//
// Thread rule: the io thread only.
class RateLimiter {
 public:
  using TimePoint = Clock::TimePoint;
  using Duration = Clock::Duration;

  virtual ~RateLimiter() = default;

  // Waits until n grants are allowed, then records them. {} on a grant;
  // operation_aborted when cancelled or after Close(). REQUIRES: 1 <= n <= budget().
  virtual boost::asio::awaitable<boost::system::error_code> Acquire(int64_t n = 1) = 0;
  // No grant before t (quota back-off, load-quota cool-down); never shortens a pause.
  virtual void PauseUntil(TimePoint t) = 0;
  // Refuses every current and future Acquire (halt).
  virtual void Close() = 0;
  // Grants in the window ending now (this process's view).
  virtual int64_t GrantsInWindow() const = 0;
  virtual int64_t budget() const = 0;
  virtual Duration window() const = 0;
  // Grants made by this process since it started.
  virtual int64_t total_grants() const = 0;
  // The API answered a request granted here: quota_rejected for a quota error, false for
  // any other answer. A limiter that learns a limit below its budget (QuotaService's)
  // uses it; the default ignores it.
  virtual void OnApiAnswer(bool quota_rejected) { (void)quota_rejected; }
  // How long after Acquire returns its request may still go on the wire; a request that
  // cannot be sent by then (a slow connect) must not be sent on that grant. max() = any.
  virtual Duration send_within() const { return Duration::max(); }
};

}  // namespace batchfetch

#endif  // BATCHFETCH_RATELIMIT_RATE_LIMITER_H_
