#include "ratelimit/shared_qpm_limiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace batchfetch {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using std::chrono::milliseconds;
using Time = std::chrono::steady_clock::time_point;

// An in-memory QuotaLedger on the steady clock, counting its decisions; each decision
// takes `delay` (a round trip).
class MemoryQuota final : public QuotaLedger {
 public:
  explicit MemoryQuota(milliseconds delay = milliseconds(0)) : delay_(delay) {}
  Status TryGrant(const std::string& /*key*/, int64_t n, int64_t budget, milliseconds window,
                  QuotaDecision* out) override {
    std::this_thread::sleep_for(delay_);
    std::lock_guard lock(*mu_);
    ++*decisions_;
    const Time now = std::chrono::steady_clock::now();
    while (!grants_->empty() && grants_->front() <= now - window) grants_->pop_front();
    const int64_t used = static_cast<int64_t>(grants_->size());
    if (used + n <= budget) {
      for (int64_t i = 0; i < n; ++i) grants_->push_back(now);
      *out = QuotaDecision{true, milliseconds(0), used + n};
    } else {
      const Time blocker = (*grants_)[static_cast<std::size_t>(used - (budget - n) - 1)];
      *out = QuotaDecision{
          false, std::max(milliseconds(1), std::chrono::ceil<milliseconds>(blocker + window - now)),
          used};
    }
    return Status::Ok();
  }
  // Another handle on the same state, as a second process's connection would be.
  std::unique_ptr<MemoryQuota> Share() const {
    auto other = std::make_unique<MemoryQuota>(delay_);
    other->mu_ = mu_;
    other->grants_ = grants_;
    other->decisions_ = decisions_;
    return other;
  }
  int decisions() const {
    std::lock_guard lock(*mu_);
    return *decisions_;
  }

 private:
  milliseconds delay_;
  std::shared_ptr<std::mutex> mu_ = std::make_shared<std::mutex>();
  std::shared_ptr<std::deque<Time>> grants_ = std::make_shared<std::deque<Time>>();
  std::shared_ptr<int> decisions_ = std::make_shared<int>(0);
};

struct Outcome {
  bool done = false;
  error_code ec;
  Time at{};
};

void Spawn(asio::io_context& io, RateLimiter& limiter, Outcome* out,
           asio::cancellation_slot slot = {}) {
  asio::co_spawn(io, limiter.Acquire(1),
                 asio::bind_cancellation_slot(slot, [out](std::exception_ptr e, error_code ec) {
                   if (e) std::rethrow_exception(e);
                   *out = Outcome{true, ec, std::chrono::steady_clock::now()};
                 }));
}

// Runs io until every outcome is done or `limit` passes.
void RunUntilDone(asio::io_context& io, const std::vector<Outcome>& outcomes,
                  milliseconds limit = milliseconds(5000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end &&
         !std::all_of(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return o.done; })) {
    io.run_for(milliseconds(5));
    io.restart();
  }
}

TEST(SharedQpmLimiterTest, GrantsTheBudgetAtOnceAndTheRestWhenTheWindowMoves) {
  asio::io_context io;
  auto quota = std::make_unique<MemoryQuota>();
  SharedQpmLimiter limiter(io.get_executor(), std::move(quota), "site:a", 3, milliseconds(300),
                           milliseconds(0));
  const Time start = std::chrono::steady_clock::now();
  std::vector<Outcome> outcomes(5);
  for (auto& o : outcomes) Spawn(io, limiter, &o);
  RunUntilDone(io, outcomes);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(outcomes[i].done) << i;
    EXPECT_FALSE(outcomes[i].ec) << i;
    if (i < 3) {
      EXPECT_LT(outcomes[i].at - start, milliseconds(150)) << i;
    } else {
      EXPECT_GE(outcomes[i].at - start, milliseconds(295)) << i;
    }
  }
  EXPECT_EQ(limiter.total_grants(), 5);
}

TEST(SharedQpmLimiterTest, WaitersQueuedTogetherShareOneDecision) {
  asio::io_context io;
  auto quota = std::make_unique<MemoryQuota>(milliseconds(30));
  MemoryQuota* raw = quota.get();
  SharedQpmLimiter limiter(io.get_executor(), std::move(quota), "k", 100, milliseconds(1000),
                           milliseconds(0));
  std::vector<Outcome> outcomes(20);
  for (auto& o : outcomes) Spawn(io, limiter, &o);
  RunUntilDone(io, outcomes);
  for (const Outcome& o : outcomes) EXPECT_TRUE(o.done && !o.ec);
  EXPECT_LE(raw->decisions(), 3) << "one round trip per group of waiters, not per token";
  EXPECT_EQ(limiter.decisions(), raw->decisions());
}

TEST(SharedQpmLimiterTest, CancelledWaiterLeavesAndCloseAbortsTheRest) {
  asio::io_context io;
  SharedQpmLimiter limiter(io.get_executor(), std::make_unique<MemoryQuota>(), "k", 1,
                           milliseconds(60000), milliseconds(0));
  std::vector<Outcome> first(1);
  Spawn(io, limiter, &first[0]);
  RunUntilDone(io, first);
  ASSERT_TRUE(first[0].done && !first[0].ec);
  asio::cancellation_signal signal;
  std::vector<Outcome> waiting(2);
  Spawn(io, limiter, &waiting[0], signal.slot());
  Spawn(io, limiter, &waiting[1]);
  io.run_for(milliseconds(50));
  io.restart();
  EXPECT_FALSE(waiting[0].done);
  signal.emit(asio::cancellation_type::terminal);
  io.run_for(milliseconds(50));
  io.restart();
  EXPECT_TRUE(waiting[0].done);
  EXPECT_EQ(waiting[0].ec, asio::error::operation_aborted);
  EXPECT_FALSE(waiting[1].done);
  limiter.Close();
  RunUntilDone(io, waiting);
  EXPECT_EQ(waiting[1].ec, asio::error::operation_aborted);
  std::vector<Outcome> late(1);
  Spawn(io, limiter, &late[0]);
  RunUntilDone(io, late);
  EXPECT_EQ(late[0].ec, asio::error::operation_aborted);
}

TEST(SharedQpmLimiterTest, PauseHoldsGrantsUntilItEnds) {
  asio::io_context io;
  SharedQpmLimiter limiter(io.get_executor(), std::make_unique<MemoryQuota>(), "k", 10,
                           milliseconds(1000), milliseconds(0));
  const Time start = std::chrono::steady_clock::now();
  limiter.PauseUntil(start + milliseconds(200));
  std::vector<Outcome> outcomes(1);
  Spawn(io, limiter, &outcomes[0]);
  RunUntilDone(io, outcomes);
  ASSERT_TRUE(outcomes[0].done);
  EXPECT_GE(outcomes[0].at - start, milliseconds(200));
}

// Three limiters (three processes) on one quota: the union of their grants never holds
// more than the budget in any window, and all of them get tokens.
TEST(SharedQpmLimiterTest, LimitersSharingAQuotaNeverExceedTheBudgetTogether) {
  constexpr int kProcesses = 3;
  constexpr int64_t kBudget = 12;
  const milliseconds window(300);
  MemoryQuota shared;
  std::mutex mu;
  std::vector<Time> grants;
  std::vector<int> per_process(kProcesses);
  std::vector<std::thread> threads;
  for (int p = 0; p < kProcesses; ++p) {
    threads.emplace_back([&, p] {
      asio::io_context io;
      SharedQpmLimiter limiter(io.get_executor(), shared.Share(), "k", kBudget, window,
                               milliseconds(0));
      std::vector<Outcome> outcomes(14);
      for (auto& o : outcomes) Spawn(io, limiter, &o);
      RunUntilDone(io, outcomes);
      std::lock_guard lock(mu);
      for (const Outcome& o : outcomes) {
        if (o.done && !o.ec) {
          grants.push_back(o.at);
          ++per_process[p];
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(grants.size(), 42u);
  for (int n : per_process) EXPECT_EQ(n, 14);
  std::sort(grants.begin(), grants.end());
  for (std::size_t i = 0; i + kBudget < grants.size(); ++i) {
    EXPECT_GE(grants[i + kBudget] - grants[i], window - milliseconds(20)) << i;
  }
}

}  // namespace
}  // namespace batchfetch
