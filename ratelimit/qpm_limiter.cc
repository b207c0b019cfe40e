#include "ratelimit/qpm_limiter.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cassert>

namespace batchfetch {

namespace asio = boost::asio;

// One queued Acquire. Its timer expires when the head's turn may have come; waiters
// behind the head wait forever until they become the head and are woken.
struct QpmLimiter::Waiter {
  explicit Waiter(QpmLimiter* o) : owner(o), timer(o->ex_) {}
  QpmLimiter* owner;  // null once the limiter is gone
  asio::steady_timer timer;

  // Completes a pending wait, if any. Cancelling a timer fails only if the reactor is
  // broken; the waiter then wakes at its deadline or when the next state change wakes it.
  void Wake() noexcept {
    try {
      timer.cancel();
    } catch (...) {
    }
  }
};

QpmLimiter::QpmLimiter(asio::any_io_executor ex, int64_t budget, Duration window,
                       const Clock& clock)
    : ex_(std::move(ex)), clock_(clock), log_(budget, window) {}

QpmLimiter::~QpmLimiter() {
  for (Waiter* w : waiters_) {
    w->owner = nullptr;
    w->Wake();
  }
}

asio::awaitable<boost::system::error_code> QpmLimiter::Acquire(int64_t n) {
  assert(n >= 1 && n <= budget());
  const asio::cancellation_state cancel = co_await asio::this_coro::cancellation_state;
  const boost::system::error_code aborted = asio::error::operation_aborted;
  if (closed_ || cancel.cancelled() != asio::cancellation_type::none) {
    co_return aborted;
  }

  if (waiters_.empty()) {
    const TimePoint now = clock_.Now();
    if (std::max(log_.EarliestGrant(n, now), paused_until_) <= now) {
      log_.Record(n, now);
      total_grants_ += n;
      co_return boost::system::error_code{};
    }
  }

  Waiter self(this);
  waiters_.push_back(&self);
  // Leaves the queue however the coroutine ends, even when its frame is destroyed.
  struct Guard {
    Waiter* w;
    ~Guard() {
      if (w->owner != nullptr) {
        w->owner->Leave(w);
      }
    }
  } guard{&self};

  for (;;) {
    if (self.owner == nullptr || closed_ || cancel.cancelled() != asio::cancellation_type::none) {
      co_return aborted;
    }
    TimePoint wake_at = TimePoint::max();
    if (waiters_.front() == &self) {
      const TimePoint now = clock_.Now();
      const TimePoint at = std::max(log_.EarliestGrant(n, now), paused_until_);
      if (at <= now) {
        log_.Record(n, now);
        total_grants_ += n;
        co_return boost::system::error_code{};  // the guard wakes the next head
      }
      wake_at = at;
    }
    self.timer.expires_at(wake_at);
    // Completes on expiry, on a wake-up (cancel) or on per-operation cancellation; the
    // loop re-reads the state either way.
    co_await self.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void QpmLimiter::PauseUntil(TimePoint t) {
  if (t <= paused_until_) {
    return;
  }
  paused_until_ = t;
  WakeHead();
}

void QpmLimiter::Close() {
  closed_ = true;
  for (Waiter* w : waiters_) {
    w->Wake();
  }
}

int64_t QpmLimiter::GrantsInWindow() const { return log_.GrantsInWindow(clock_.Now()); }

void QpmLimiter::Leave(Waiter* w) {
  const bool was_head = !waiters_.empty() && waiters_.front() == w;
  auto it = std::find(waiters_.begin(), waiters_.end(), w);
  if (it != waiters_.end()) {
    waiters_.erase(it);
  }
  if (was_head) {
    WakeHead();
  }
}

void QpmLimiter::WakeHead() {
  if (!waiters_.empty()) {
    waiters_.front()->Wake();
  }
}

}  // namespace batchfetch
