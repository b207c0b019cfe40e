#include "ratelimit/quota_service.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cassert>
#include <cmath>
#include <deque>
#include <exception>
#include <optional>

#include "ratelimit/limit_learner.h"

namespace batchfetch {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// After a ledger error the thread asks again this much later.
constexpr milliseconds kErrorBackoff{200};

std::string WindowText(Clock::Duration window) {
  const auto ms = std::chrono::duration_cast<milliseconds>(window).count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

}  // namespace

// One quota key of this process. Guarded by the service's mu_.
struct QuotaService::KeyState {
  std::string name;
  int64_t asked = 0;     // the smallest budget any limiter of this process asks for
  int64_t in_force = 0;  // the ledger's answer at the last decision; 0 before any
  bool noticed = false;  // the "another process asks for less" line was given
};

namespace detail {

// The RateLimiter of one key set. Its state is guarded by the service's mu_; its timer
// pointers are touched on the io thread only.
class KeySetLimiter final : public RateLimiter {
 public:
  struct Ticket {
    enum class State { kWaiting, kDeciding, kGranted, kAborted };
    explicit Ticket(int64_t n) : n(n) {}
    const int64_t n;
    State state = State::kWaiting;
    TimePoint granted_at{};               // when the decision granted it (service clock)
    asio::steady_timer* timer = nullptr;  // null once the waiting coroutine has ended
  };

  KeySetLimiter(QuotaService& service, std::vector<QuotaService::KeyState*> keys)
      : service_(service), keys_(std::move(keys)) {}

  asio::awaitable<boost::system::error_code> Acquire(int64_t n) override;
  void PauseUntil(TimePoint t) override;
  void Close() override;
  int64_t GrantsInWindow() const override;
  int64_t budget() const override;
  Duration window() const override { return service_.window_; }
  int64_t total_grants() const override;
  void OnApiAnswer(bool quota_rejected) override;
  // A grant resumes at most margin/4 old; sent within margin/2 more, it reaches the API
  // within 3/4 of the margin, the rest absorbing the network and the server's reading.
  Duration send_within() const override { return service_.margin_ / 2; }

  // Below: REQUIRES the service's mu_.
  int64_t BudgetLocked() const;
  int64_t AskedLocked() const;
  void Wake(const std::shared_ptr<Ticket>& t) {
    asio::post(service_.ex_, [t] {
      if (t->timer != nullptr) t->timer->cancel();
    });
  }
  void AbortAllLocked() {
    for (const auto& t : queue) {
      t->state = Ticket::State::kAborted;
      Wake(t);
    }
    queue.clear();
  }

  QuotaService& service_;
  const std::vector<QuotaService::KeyState*> keys_;
  std::deque<std::shared_ptr<Ticket>> queue;  // FIFO of waiting Acquires
  TimePoint paused_until{};                   // PauseUntil
  TimePoint next_try_at{};                    // the ledger said no sooner
  bool closed = false;
  int64_t total = 0;
  int64_t room_hint = -1;  // room the last refusal saw
  int64_t last_in_window = 0;
  double last_fill = 0;  // max over keys of in_window / budget at the last decision
  TimePoint last_decision_at{};
  bool decided = false;
  std::optional<LimitLearner> learner;  // made at the first answer
};

void KeySetLimiter::OnApiAnswer(bool quota_rejected) {
  std::string line;
  {
    std::lock_guard lock(service_.mu_);
    const TimePoint now = service_.clock_.Now();
    const int64_t budget = BudgetLocked();
    if (!learner) learner.emplace(budget, service_.window_);
    if (quota_rejected) {
      const bool fresh = decided && now - last_decision_at < service_.window_;
      learner->OnRejected(now, fresh ? last_fill : 0);
    } else {
      learner->OnAccepted(now);
    }
    const std::optional<int64_t> learned = learner->Proposal();
    if (!learned || *learned >= budget) return;
    learner->Adopt(*learned);
    std::string names;
    for (QuotaService::KeyState* k : keys_) {
      k->asked = std::min(k->asked, *learned);
      if (k->in_force > 0) k->in_force = std::min(k->in_force, *learned);
      names += (names.empty() ? "" : ", ") + k->name;
    }
    // --qpm counts per --qpm-window (a minute unless time-scaled): the smallest --qpm
    // whose budget, floor(qpm x utilization), is the learned one.
    const auto qpm = static_cast<int64_t>(
        std::ceil(static_cast<double>(*learned) / service_.utilization_ - 1e-9));
    line = "quota: the API accepts about " + std::to_string(*learned) + " requests per " +
           WindowText(service_.window_) + " for " + names + ", fewer than the budget of " +
           std::to_string(budget) + "; using " + std::to_string(*learned) +
           " from now on (shared through the ledger). Next time pass --qpm " +
           std::to_string(std::max<int64_t>(1, qpm));
  }
  if (service_.notice_) service_.notice_(line);
}

int64_t KeySetLimiter::AskedLocked() const {
  int64_t b = INT64_MAX;
  for (const auto* k : keys_) b = std::min(b, k->asked);
  return b;
}

int64_t KeySetLimiter::BudgetLocked() const {
  int64_t b = INT64_MAX;
  for (const auto* k : keys_) b = std::min(b, k->in_force > 0 ? k->in_force : k->asked);
  return b;
}

int64_t KeySetLimiter::budget() const {
  std::lock_guard lock(service_.mu_);
  return BudgetLocked();
}

int64_t KeySetLimiter::total_grants() const {
  std::lock_guard lock(service_.mu_);
  return total;
}

int64_t KeySetLimiter::GrantsInWindow() const {
  std::lock_guard lock(service_.mu_);
  if (!decided || service_.clock_.Now() - last_decision_at >= service_.window_) return 0;
  return last_in_window;
}

void KeySetLimiter::PauseUntil(TimePoint t) {
  {
    std::lock_guard lock(service_.mu_);
    if (t <= paused_until) return;
    paused_until = t;
  }
  service_.cv_.notify_all();
}

void KeySetLimiter::Close() {
  {
    std::lock_guard lock(service_.mu_);
    closed = true;
    AbortAllLocked();
  }
  service_.cv_.notify_all();
}

asio::awaitable<boost::system::error_code> KeySetLimiter::Acquire(int64_t n) {
  const asio::cancellation_state cancel = co_await asio::this_coro::cancellation_state;
  const boost::system::error_code aborted = asio::error::operation_aborted;
  auto ticket = std::make_shared<Ticket>(n);
  asio::steady_timer timer(service_.ex_);
  {
    std::lock_guard lock(service_.mu_);
    if (n < 1 || n > AskedLocked()) co_return asio::error::invalid_argument;
    if (closed || service_.closed_ || cancel.cancelled() != asio::cancellation_type::none) {
      co_return aborted;
    }
    queue.push_back(ticket);
  }
  service_.cv_.notify_all();
  ticket->timer = &timer;
  // However the coroutine ends (even a destroyed frame), the thread must not grant a
  // ticket nobody waits for, nor wake a dead timer.
  struct Guard {
    KeySetLimiter* self;
    std::shared_ptr<Ticket> t;
    ~Guard() {
      t->timer = nullptr;
      std::lock_guard lock(self->service_.mu_);
      if (t->state == Ticket::State::kWaiting) {
        auto it = std::find(self->queue.begin(), self->queue.end(), t);
        if (it != self->queue.end()) self->queue.erase(it);
      }
      if (t->state != Ticket::State::kGranted) t->state = Ticket::State::kAborted;
    }
  } guard{this, ticket};

  for (;;) {
    {
      std::lock_guard lock(service_.mu_);
      if (ticket->state == Ticket::State::kGranted) {
        // A grant that waited too long for this coroutine to run (a busy io thread) could
        // reach the API after its window slot: waste it and wait for a fresh one.
        if (service_.clock_.Now() - ticket->granted_at <= service_.margin_ / 4) {
          co_return boost::system::error_code{};
        }
        ++service_.stale_grants_;
        ticket->state = Ticket::State::kWaiting;
        queue.push_front(ticket);
        service_.cv_.notify_all();
      }
      if (ticket->state == Ticket::State::kAborted || closed || service_.closed_) {
        co_return aborted;
      }
    }
    if (cancel.cancelled() != asio::cancellation_type::none) co_return aborted;
    timer.expires_at(TimePoint::max());
    // Completes on a wake-up (cancel) or on per-operation cancellation.
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace detail

using detail::KeySetLimiter;

QuotaService::Duration QuotaService::DefaultMargin(Duration window) {
  return std::max<Duration>(milliseconds(250), window / 50);
}

QuotaService::QuotaService(asio::any_io_executor ex, std::unique_ptr<QuotaLedger> ledger,
                           Options options, const Clock& clock)
    : ex_(std::move(ex)),
      ledger_(std::move(ledger)),
      window_(options.window),
      margin_(options.margin < Duration::zero() ? DefaultMargin(options.window) : options.margin),
      utilization_(options.utilization > 0 ? options.utilization : 1.0),
      notice_(std::move(options.notice)),
      clock_(clock) {
  thread_ = std::thread([this] { Run(); });
}

QuotaService::~QuotaService() {
  // A mutex or join that fails here leaves a thread no one can stop: end the process.
  try {
    Close();
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  } catch (...) {
    std::terminate();
  }
}

RateLimiter& QuotaService::Limiter(std::vector<QuotaKey> keys) {
  assert(!keys.empty());
  std::sort(keys.begin(), keys.end(),
            [](const QuotaKey& a, const QuotaKey& b) { return a.name < b.name; });
  std::vector<std::string> names;
  names.reserve(keys.size());
  for (const QuotaKey& k : keys) names.push_back(k.name);
  std::lock_guard lock(mu_);
  std::vector<KeyState*> states;
  for (const QuotaKey& k : keys) {
    auto& slot = keys_[k.name];
    if (!slot) {
      slot = std::make_unique<KeyState>();
      slot->name = k.name;
      slot->asked = k.budget;
    }
    slot->asked = std::min(slot->asked, k.budget);
    states.push_back(slot.get());
  }
  auto& limiter = limiters_[names];
  if (!limiter) {
    limiter = std::make_unique<KeySetLimiter>(*this, std::move(states));
    order_.push_back(limiter.get());
    if (closed_) limiter->closed = true;
  }
  return *limiter;
}

void QuotaService::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (KeySetLimiter* l : order_) {
      l->closed = true;
      l->AbortAllLocked();
    }
  }
  cv_.notify_all();
}

int64_t QuotaService::stale_grants() const {
  std::lock_guard lock(mu_);
  return stale_grants_;
}

int64_t QuotaService::decisions() const {
  std::lock_guard lock(mu_);
  return decisions_;
}

Status QuotaService::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

int64_t QuotaService::BudgetInForce(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = keys_.find(key);
  return it == keys_.end() ? 0 : it->second->in_force;
}

void QuotaService::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const Clock::TimePoint now = clock_.Now();
    // Every key set whose head may be decided now, in round-robin order from next_,
    // decided together in one ledger transaction.
    std::vector<KeySetLimiter*> ready;
    Clock::TimePoint wake = Clock::TimePoint::max();
    const std::size_t count = order_.size();
    const std::size_t start = next_;
    for (std::size_t i = 0; i < count && !closed_ && ready.size() < kMaxBatch; ++i) {
      const std::size_t at = (start + i) % count;
      KeySetLimiter* l = order_[at];
      if (l->queue.empty() || l->closed) continue;
      const Clock::TimePoint t = std::max(l->paused_until, l->next_try_at);
      if (t <= now) {
        // The first goes last next time: each key set takes its turn at the front, where
        // a shared key's last room goes.
        if (ready.empty()) next_ = (at + 1) % count;
        ready.push_back(l);
      } else {
        wake = std::min(wake, t);
      }
    }
    if (ready.empty()) {
      if (wake == Clock::TimePoint::max()) {
        cv_.wait(lock);
      } else {
        cv_.wait_for(lock, wake - now);
      }
      continue;
    }
    Decide(ready, lock);
  }
}

struct QuotaService::Pending {
  KeySetLimiter* limiter;
  std::vector<std::shared_ptr<KeySetLimiter::Ticket>> batch;
  int64_t want = 0;
  std::vector<QuotaAsk> asks;
};

QuotaService::Pending QuotaService::TakeHead(KeySetLimiter& l) {
  using Ticket = KeySetLimiter::Ticket;
  Pending p{&l, {}, 0, {}};
  // The waiters at the head, FIFO, as many as fit in one budget — or in the room the
  // last refusal reported, so a window with room for some is not refused for all.
  const int64_t budget = l.BudgetLocked();
  const int64_t cap = l.room_hint > 0 ? std::min(budget, l.room_hint) : budget;
  for (const auto& t : l.queue) {
    // The head always goes (its own refusal says when it fits); the rest while they fit.
    if (!p.batch.empty() && p.want + t->n > cap) break;
    p.want += t->n;
    p.batch.push_back(t);
  }
  l.room_hint = -1;
  for (const auto& t : p.batch) t->state = Ticket::State::kDeciding;
  l.queue.erase(l.queue.begin(), l.queue.begin() + static_cast<std::ptrdiff_t>(p.batch.size()));
  p.asks.reserve(l.keys_.size());
  for (const KeyState* k : l.keys_) p.asks.push_back({k->name, k->asked});
  // Never ask more than the smallest ask allows (the ledger refuses n > budget).
  p.want = std::min(p.want, l.AskedLocked());
  return p;
}

void QuotaService::Decide(const std::vector<KeySetLimiter*>& ready,
                          std::unique_lock<std::mutex>& lock) {
  std::vector<Pending> pending;
  pending.reserve(ready.size());
  for (KeySetLimiter* l : ready) pending.push_back(TakeHead(*l));
  std::vector<QuotaRequest> requests;
  requests.reserve(pending.size());
  for (const Pending& p : pending) requests.push_back({p.asks, p.want});

  // The ledger stamps a grant with its own clock, read inside the transaction: no earlier
  // than this. A grant's age counts from here, so a slow commit ages it too.
  const Clock::TimePoint asked_at = clock_.Now();
  lock.unlock();
  std::vector<QuotaDecision> decisions;
  Status status = ledger_->TryGrantAll(
      requests, std::chrono::duration_cast<milliseconds>(window_ + margin_), &decisions);
  if (status.ok() && decisions.size() != pending.size()) {
    status = Status::Error(Status::Code::kIoError, "the quota ledger left requests undecided");
  }
  lock.lock();

  const Clock::TimePoint now = clock_.Now();
  ++decisions_;
  last_error_ = status;
  std::vector<std::string> notices;
  for (std::size_t i = 0; i < pending.size(); ++i) {
    Apply(pending[i], status, status.ok() ? decisions[i] : QuotaDecision(), asked_at, now,
          &notices);
  }
  if (!notices.empty() && notice_) {
    lock.unlock();
    for (const std::string& line : notices) notice_(line);
    lock.lock();
  }
}

void QuotaService::Apply(Pending& p, const Status& status, const QuotaDecision& d,
                         Clock::TimePoint asked_at, Clock::TimePoint now,
                         std::vector<std::string>* notices_out) {
  using Ticket = KeySetLimiter::Ticket;
  KeySetLimiter& l = *p.limiter;
  const auto& batch = p.batch;
  const int64_t want = p.want;
  std::vector<std::string>& notices = *notices_out;
  if (status.ok()) {
    l.decided = true;
    l.last_decision_at = now;
    l.last_in_window = 0;
    l.last_fill = 0;
    for (std::size_t i = 0; i < l.keys_.size(); ++i) {
      KeyState* k = l.keys_[i];
      if (i < d.budget.size()) {
        k->in_force = d.budget[i];
        if (d.budget[i] < k->asked && !k->noticed) {
          k->noticed = true;
          notices.push_back("quota " + k->name + ": another process on this ledger asks for " +
                            std::to_string(d.budget[i]) + " per " + WindowText(window_) +
                            "; using that instead of " + std::to_string(k->asked));
        }
      }
      if (i < d.in_window.size()) {
        l.last_in_window = std::max(l.last_in_window, d.in_window[i]);
        if (i < d.budget.size() && d.budget[i] > 0) {
          l.last_fill = std::max(
              l.last_fill, static_cast<double>(d.in_window[i]) / static_cast<double>(d.budget[i]));
        }
      }
    }
  }
  if (status.ok() && d.granted) {
    l.total += want;
    for (const auto& t : batch) {
      // A waiter cancelled meanwhile wastes its grant: grants are never refunded.
      if (t->state == Ticket::State::kDeciding) {
        t->state = Ticket::State::kGranted;
        t->granted_at = asked_at;
        l.Wake(t);
      }
    }
  } else {
    // Not granted (or the ledger failed): back to the head of the queue, in order.
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
      if ((*it)->state != Ticket::State::kDeciding) continue;
      if (l.closed || closed_) {  // Close() ran during the decision and could not see these
        (*it)->state = Ticket::State::kAborted;
        l.Wake(*it);
      } else {
        (*it)->state = Ticket::State::kWaiting;
        l.queue.push_front(*it);
      }
    }
    if (!status.ok()) {
      l.next_try_at = now + kErrorBackoff;
    } else {
      int64_t room = INT64_MAX;
      for (std::size_t i = 0; i < d.in_window.size() && i < d.budget.size(); ++i) {
        room = std::min(room, d.budget[i] - d.in_window[i]);
      }
      if (room > 0 && room < want) {
        l.room_hint = room;  // some fit now: ask again at once for fewer
        l.next_try_at = now;
      } else {
        l.next_try_at = now + d.retry_after;
      }
    }
  }
}

}  // namespace batchfetch
