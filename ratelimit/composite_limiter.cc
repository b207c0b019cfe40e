#include "ratelimit/composite_limiter.h"

#include <algorithm>
#include <utility>

namespace batchfetch {

CompositeLimiter::CompositeLimiter(std::vector<RateLimiter*> limiters)
    : limiters_(std::move(limiters)) {}

boost::asio::awaitable<boost::system::error_code> CompositeLimiter::Acquire(int64_t n) {
  for (RateLimiter* limiter : limiters_) {
    boost::system::error_code ec = co_await limiter->Acquire(n);
    if (ec) co_return ec;
  }
  total_grants_ += n;
  co_return boost::system::error_code{};
}

void CompositeLimiter::PauseUntil(TimePoint t) {
  for (RateLimiter* limiter : limiters_) limiter->PauseUntil(t);
}

void CompositeLimiter::Close() {
  for (RateLimiter* limiter : limiters_) limiter->Close();
}

int64_t CompositeLimiter::GrantsInWindow() const {
  int64_t most = 0;
  for (const RateLimiter* limiter : limiters_) most = std::max(most, limiter->GrantsInWindow());
  return most;
}

int64_t CompositeLimiter::budget() const { return limiters_.front()->budget(); }

CompositeLimiter::Duration CompositeLimiter::window() const { return limiters_.front()->window(); }

}  // namespace batchfetch
