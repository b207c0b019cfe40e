#include "ratelimit/shared_qpm_limiter.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cassert>
#include <vector>

namespace batchfetch {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// After a ledger error the thread tries again this much later.
constexpr milliseconds kErrorBackoff{200};

}  // namespace

// One Acquire. state is guarded by the limiter's mu_; timer is touched on the io thread
// only and is null once the waiting coroutine has ended.
struct SharedQpmLimiter::Ticket {
  enum class State { kWaiting, kDeciding, kGranted, kAborted };
  explicit Ticket(int64_t n) : n(n) {}
  const int64_t n;
  State state = State::kWaiting;
  asio::steady_timer* timer = nullptr;
};

SharedQpmLimiter::Duration SharedQpmLimiter::DefaultMargin(Duration window) {
  return std::max<Duration>(milliseconds(100), window / 50);
}

SharedQpmLimiter::SharedQpmLimiter(asio::any_io_executor ex, std::unique_ptr<QuotaLedger> quota,
                                   std::string key, int64_t budget, Duration window,
                                   Duration margin, const Clock& clock)
    : ex_(std::move(ex)),
      quota_(std::move(quota)),
      key_(std::move(key)),
      budget_(budget),
      window_(window),
      margin_(margin),
      clock_(clock) {
  thread_ = std::thread([this] { Run(); });
}

SharedQpmLimiter::~SharedQpmLimiter() {
  Close();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SharedQpmLimiter::Wake(const std::shared_ptr<Ticket>& t) {
  asio::post(ex_, [t] {
    if (t->timer != nullptr) t->timer->cancel();
  });
}

asio::awaitable<boost::system::error_code> SharedQpmLimiter::Acquire(int64_t n) {
  assert(n >= 1 && n <= budget_);
  const asio::cancellation_state cancel = co_await asio::this_coro::cancellation_state;
  const boost::system::error_code aborted = asio::error::operation_aborted;
  auto ticket = std::make_shared<Ticket>(n);
  asio::steady_timer timer(ex_);
  {
    std::lock_guard lock(mu_);
    if (closed_ || cancel.cancelled() != asio::cancellation_type::none) co_return aborted;
    queue_.push_back(ticket);
  }
  cv_.notify_all();
  ticket->timer = &timer;
  // However the coroutine ends (even a destroyed frame), the thread must not grant a
  // ticket nobody waits for, nor wake a dead timer.
  struct Guard {
    SharedQpmLimiter* self;
    std::shared_ptr<Ticket> t;
    ~Guard() {
      t->timer = nullptr;
      std::lock_guard lock(self->mu_);
      if (t->state == Ticket::State::kWaiting) {
        self->queue_.erase(std::find(self->queue_.begin(), self->queue_.end(), t));
      }
      if (t->state != Ticket::State::kGranted) t->state = Ticket::State::kAborted;
    }
  } guard{this, ticket};

  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (ticket->state == Ticket::State::kGranted) co_return boost::system::error_code{};
      if (ticket->state == Ticket::State::kAborted || closed_) co_return aborted;
    }
    if (cancel.cancelled() != asio::cancellation_type::none) co_return aborted;
    timer.expires_at(TimePoint::max());
    // Completes on a wake-up (cancel) or on per-operation cancellation.
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void SharedQpmLimiter::Run() {
  std::vector<std::shared_ptr<Ticket>> batch;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const TimePoint now = clock_.Now();
    if (queue_.empty() || closed_) {
      cv_.wait(lock);
      continue;
    }
    if (paused_until_ > now) {
      cv_.wait_for(lock, paused_until_ - now);
      continue;
    }
    // The waiters at the head, FIFO, as many as fit in one budget — or in the room the
    // last refusal reported, so a window with room for some is not refused for all.
    batch.clear();
    int64_t want = 0;
    const int64_t cap = room_hint_ > 0 ? std::min(budget_, room_hint_) : budget_;
    for (const auto& t : queue_) {
      // The head always goes (its own refusal says when it fits); the rest while they fit.
      if (!batch.empty() && want + t->n > cap) break;
      want += t->n;
      batch.push_back(t);
    }
    room_hint_ = -1;
    for (const auto& t : batch) t->state = Ticket::State::kDeciding;
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(batch.size()));

    lock.unlock();
    QuotaDecision decision;
    const Status status =
        quota_->TryGrant(key_, want, budget_,
                         std::chrono::duration_cast<milliseconds>(window_ + margin_), &decision);
    lock.lock();

    ++decisions_;
    last_error_ = status;
    if (status.ok() && decision.granted) {
      total_grants_ += want;
      last_in_window_ = decision.in_window;
      last_decision_at_ = clock_.Now();
      for (const auto& t : batch) {
        // A waiter cancelled meanwhile wastes its grant: grants are never refunded.
        if (t->state == Ticket::State::kDeciding) {
          t->state = Ticket::State::kGranted;
          Wake(t);
        }
      }
      continue;
    }
    // Not granted (or the ledger failed): back to the head of the queue, in order.
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
      if ((*it)->state != Ticket::State::kDeciding) continue;
      if (closed_) {  // Close() ran during the decision and could not see these
        (*it)->state = Ticket::State::kAborted;
        Wake(*it);
      } else {
        (*it)->state = Ticket::State::kWaiting;
        queue_.push_front(*it);
      }
    }
    if (status.ok()) {
      last_in_window_ = decision.in_window;
      last_decision_at_ = clock_.Now();
      const int64_t room = budget_ - decision.in_window;
      if (room > 0 && room < want) {
        room_hint_ = room;  // some fit now: ask again at once for fewer
        continue;
      }
    }
    const Duration wait = status.ok() ? Duration(decision.retry_after) : Duration(kErrorBackoff);
    cv_.wait_for(lock, wait, [this] { return stopping_ || closed_; });
  }
}

void SharedQpmLimiter::PauseUntil(TimePoint t) {
  {
    std::lock_guard lock(mu_);
    if (t <= paused_until_) return;
    paused_until_ = t;
  }
  cv_.notify_all();
}

void SharedQpmLimiter::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (const auto& t : queue_) {
      t->state = Ticket::State::kAborted;
      Wake(t);
    }
    queue_.clear();
  }
  cv_.notify_all();
}

int64_t SharedQpmLimiter::GrantsInWindow() const {
  std::lock_guard lock(mu_);
  if (decisions_ == 0 || clock_.Now() - last_decision_at_ >= window_) return 0;
  return last_in_window_;
}

int64_t SharedQpmLimiter::total_grants() const {
  std::lock_guard lock(mu_);
  return total_grants_;
}

int64_t SharedQpmLimiter::decisions() const {
  std::lock_guard lock(mu_);
  return decisions_;
}

Status SharedQpmLimiter::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

}  // namespace batchfetch
