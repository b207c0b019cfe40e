#ifndef BATCHFETCH_RATELIMIT_COMPOSITE_LIMITER_H_
#define BATCHFETCH_RATELIMIT_COMPOSITE_LIMITER_H_

#include <vector>

#include "ratelimit/rate_limiter.h"

namespace batchfetch {

// A request that counts against several quota keys at once (the API counts per site and
// per credential) takes a token from each, in order. A token taken from an earlier
// limiter while a later one makes it wait is spent, not refunded: that can only lower
// the rate, never break a window.
//
// Thread rule: the io thread only. The limiters are not owned and must outlive this.
class CompositeLimiter final : public RateLimiter {
 public:
  // REQUIRES: limiters is not empty. budget() and window() report the first one.
  explicit CompositeLimiter(std::vector<RateLimiter*> limiters);

  boost::asio::awaitable<boost::system::error_code> Acquire(int64_t n = 1) override;
  void PauseUntil(TimePoint t) override;
  void Close() override;
  int64_t GrantsInWindow() const override;
  int64_t budget() const override;
  Duration window() const override;
  int64_t total_grants() const override { return total_grants_; }

 private:
  std::vector<RateLimiter*> limiters_;
  int64_t total_grants_ = 0;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_RATELIMIT_COMPOSITE_LIMITER_H_
