#include "ratelimit/qpm_limiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "core/clock.h"

namespace batchfetch {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using std::chrono::milliseconds;
using TimePoint = Clock::TimePoint;

// The real clock, remembering the last time it told: right after an Acquire returns that
// is the grant time the limiter recorded.
class LastReadingClock final : public Clock {
 public:
  TimePoint Now() const override { return last_ = std::chrono::steady_clock::now(); }
  TimePoint last() const { return last_; }

 private:
  mutable TimePoint last_{};
};

// The result of one spawned Acquire.
struct Outcome {
  bool done = false;
  error_code ec;
  TimePoint at{};  // when the completion ran
};

// Spawns Acquire(n) on io, its completion recorded in *out; slot, when connected,
// cancels it.
void SpawnAcquire(asio::io_context& io, QpmLimiter& limiter, int64_t n, Outcome* out,
                  asio::cancellation_slot slot = {}) {
  asio::co_spawn(io, limiter.Acquire(n),
                 asio::bind_cancellation_slot(slot, [out](std::exception_ptr e, error_code ec) {
                   if (e) {
                     std::rethrow_exception(e);
                   }
                   out->done = true;
                   out->ec = ec;
                   out->at = std::chrono::steady_clock::now();
                 }));
}

void RunUntil(asio::io_context& io, TimePoint t) {
  io.restart();
  io.run_until(t);
}

TEST(QpmLimiterTest, NeverExceedsBudgetInAnySlidingWindow) {
  constexpr int64_t kBudget = 20;
  constexpr auto kWindow = milliseconds(200);
  asio::io_context io;
  LastReadingClock clock;
  QpmLimiter limiter(io.get_executor(), kBudget, kWindow, clock);
  std::vector<TimePoint> grants;
  const TimePoint start = std::chrono::steady_clock::now();
  constexpr int kWorkers = 8;
  constexpr int kPerWorker = 9;  // 108 grants in batches of 1 and 2: 6 windows of work
  int finished = 0;
  for (int w = 0; w < kWorkers; ++w) {
    asio::co_spawn(
        io,
        [&, w]() -> asio::awaitable<void> {
          for (int i = 0; i < kPerWorker; ++i) {
            const int64_t n = 1 + (w + i) % 2;  // batches of 1 and 2
            const error_code ec = co_await limiter.Acquire(n);
            EXPECT_FALSE(ec);
            grants.insert(grants.end(), static_cast<std::size_t>(n), clock.last());
          }
          ++finished;
        },
        [](std::exception_ptr e) {
          if (e) {
            std::rethrow_exception(e);
          }
        });
  }
  io.run_for(std::chrono::seconds(3));
  ASSERT_EQ(finished, kWorkers);
  std::sort(grants.begin(), grants.end());
  const std::size_t total = grants.size();
  ASSERT_EQ(static_cast<int64_t>(total), limiter.total_grants());
  for (std::size_t i = 0; i + kBudget < total; ++i) {
    ASSERT_GE(grants[i + kBudget] - grants[i], kWindow) << "grants " << i << ".." << i + kBudget;
  }
  // It also sustains the budget: the 108th grant comes 5 windows after the first, no later.
  const auto span = grants.back() - start;
  EXPECT_LT(span, kWindow * ((static_cast<int64_t>(total) - 1) / kBudget) + milliseconds(100));
}

TEST(QpmLimiterTest, ServesWaitersInCallOrder) {
  asio::io_context io;
  QpmLimiter limiter(io.get_executor(), 2, milliseconds(40));
  std::vector<int> order;
  for (int i = 0; i < 7; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          if (!co_await limiter.Acquire(1)) order.push_back(i);
        },
        [](std::exception_ptr e) {
          if (e) {
            std::rethrow_exception(e);
          }
        });
  }
  io.run_for(std::chrono::seconds(2));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(QpmLimiterTest, SmallRequestDoesNotOvertakeLargeHead) {
  asio::io_context io;
  QpmLimiter limiter(io.get_executor(), 4, milliseconds(100));
  Outcome a, b, c;
  SpawnAcquire(io, limiter, 3, &a);  // granted at once
  SpawnAcquire(io, limiter, 3, &b);  // must wait a window
  SpawnAcquire(io, limiter, 1, &c);  // would fit now, but queues behind b
  io.run_for(std::chrono::seconds(1));
  ASSERT_TRUE(a.done && b.done && c.done);
  EXPECT_FALSE(a.ec || b.ec || c.ec);
  EXPECT_LE(b.at, c.at);
  EXPECT_GE(c.at - a.at, milliseconds(95));
}

TEST(QpmLimiterTest, CancellingAWaitingAcquireAbortsItPromptly) {
  asio::io_context io;
  QpmLimiter limiter(io.get_executor(), 1, std::chrono::seconds(10));
  Outcome first, second;
  asio::cancellation_signal cancel;
  SpawnAcquire(io, limiter, 1, &first);
  SpawnAcquire(io, limiter, 1, &second, cancel.slot());
  RunUntil(io, std::chrono::steady_clock::now() + milliseconds(20));
  ASSERT_TRUE(first.done);
  ASSERT_FALSE(second.done);
  EXPECT_EQ(limiter.waiting(), 1u);

  const TimePoint emitted = std::chrono::steady_clock::now();
  cancel.emit(asio::cancellation_type::terminal);
  RunUntil(io, emitted + milliseconds(50));
  ASSERT_TRUE(second.done);
  EXPECT_EQ(second.ec, asio::error::operation_aborted);
  EXPECT_LT(second.at - emitted, milliseconds(25));  // the window is 10 s
  EXPECT_EQ(limiter.waiting(), 0u);
  EXPECT_EQ(limiter.total_grants(), 1);
}

TEST(QpmLimiterTest, LosingAnOrRaceWithATimerAbortsTheAcquire) {
  using namespace asio::experimental::awaitable_operators;
  asio::io_context io;
  QpmLimiter limiter(io.get_executor(), 1, std::chrono::seconds(10));
  std::optional<std::size_t> winner;
  milliseconds took{};
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await limiter.Acquire(1);
        asio::steady_timer deadline(io, milliseconds(30));
        const TimePoint t0 = std::chrono::steady_clock::now();
        auto result = co_await (limiter.Acquire(1) || deadline.async_wait(asio::use_awaitable));
        took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
        winner = result.index();
      },
      [](std::exception_ptr e) {
        if (e) {
          std::rethrow_exception(e);
        }
      });
  io.run_for(std::chrono::seconds(2));
  ASSERT_TRUE(winner.has_value());
  EXPECT_EQ(*winner, 1u);  // the timer
  EXPECT_LT(took, milliseconds(80));
  EXPECT_EQ(limiter.waiting(), 0u);
  EXPECT_EQ(limiter.total_grants(), 1);
}

TEST(QpmLimiterTest, CancelledHeadDoesNotHoldUpTheWaitersBehindIt) {
  asio::io_context io;
  QpmLimiter limiter(io.get_executor(), 1, milliseconds(150));
  Outcome a, b, c, d;
  asio::cancellation_signal cancel_b, cancel_d;
  SpawnAcquire(io, limiter, 1, &a);
  SpawnAcquire(io, limiter, 1, &b, cancel_b.slot());  // head of the queue
  SpawnAcquire(io, limiter, 1, &c);
  SpawnAcquire(io, limiter, 1, &d, cancel_d.slot());  // behind c
  RunUntil(io, std::chrono::steady_clock::now() + milliseconds(30));
  ASSERT_TRUE(a.done);
  cancel_b.emit(asio::cancellation_type::terminal);
  cancel_d.emit(asio::cancellation_type::terminal);
  io.restart();
  io.run_for(std::chrono::seconds(1));
  ASSERT_TRUE(b.done && c.done && d.done);
  EXPECT_EQ(b.ec, asio::error::operation_aborted);
  EXPECT_EQ(d.ec, asio::error::operation_aborted);
  EXPECT_FALSE(c.ec);
  // c takes b's turn: one window after a, not later.
  EXPECT_GE(c.at - a.at, milliseconds(145));
  EXPECT_LT(c.at - a.at, milliseconds(250));
}

TEST(QpmLimiterTest, CloseAbortsEveryWaiterAndEveryLaterAcquire) {
  asio::io_context io;
  QpmLimiter limiter(io.get_executor(), 1, std::chrono::seconds(10));
  Outcome a, b, c, later;
  SpawnAcquire(io, limiter, 1, &a);
  SpawnAcquire(io, limiter, 1, &b);
  SpawnAcquire(io, limiter, 1, &c);
  RunUntil(io, std::chrono::steady_clock::now() + milliseconds(20));
  const TimePoint closed = std::chrono::steady_clock::now();
  limiter.Close();
  SpawnAcquire(io, limiter, 1, &later);
  RunUntil(io, closed + milliseconds(50));
  ASSERT_TRUE(a.done && b.done && c.done && later.done);
  EXPECT_FALSE(a.ec);
  for (const Outcome* o : {&b, &c, &later}) {
    EXPECT_EQ(o->ec, asio::error::operation_aborted);
    EXPECT_LT(o->at - closed, milliseconds(25));  // the window is 10 s
  }
  EXPECT_EQ(limiter.waiting(), 0u);
}

TEST(QpmLimiterTest, PauseUntilDelaysGrantsAndIsNeverShortened) {
  asio::io_context io;
  QpmLimiter limiter(io.get_executor(), 10, milliseconds(100));
  const TimePoint start = std::chrono::steady_clock::now();
  limiter.PauseUntil(start + milliseconds(80));
  limiter.PauseUntil(start + milliseconds(10));  // does not shorten the pause
  Outcome a, b;
  SpawnAcquire(io, limiter, 1, &a);
  RunUntil(io, start + milliseconds(30));
  EXPECT_FALSE(a.done);
  // A longer pause while a waiter is waiting moves its grant later.
  limiter.PauseUntil(start + milliseconds(120));
  SpawnAcquire(io, limiter, 2, &b);
  io.restart();
  io.run_for(std::chrono::seconds(1));
  ASSERT_TRUE(a.done && b.done);
  EXPECT_FALSE(a.ec || b.ec);
  EXPECT_GE(a.at - start, milliseconds(120));
  EXPECT_LT(a.at - start, milliseconds(220));
  EXPECT_EQ(limiter.total_grants(), 3);
}

TEST(QpmLimiterTest, DestroyingTheLimiterAbortsItsWaiters) {
  asio::io_context io;
  auto limiter = std::make_unique<QpmLimiter>(io.get_executor(), 1, std::chrono::seconds(10));
  Outcome a, b;
  SpawnAcquire(io, *limiter, 1, &a);
  SpawnAcquire(io, *limiter, 1, &b);
  RunUntil(io, std::chrono::steady_clock::now() + milliseconds(10));
  ASSERT_TRUE(a.done);
  ASSERT_FALSE(b.done);
  limiter.reset();
  io.restart();
  io.run_for(milliseconds(50));
  ASSERT_TRUE(b.done);
  EXPECT_EQ(b.ec, asio::error::operation_aborted);
}

TEST(QpmLimiterTest, GrantsInWindowCountsRecentGrants) {
  asio::io_context io;
  QpmLimiter limiter(io.get_executor(), 5, std::chrono::seconds(10));
  Outcome a, b;
  SpawnAcquire(io, limiter, 2, &a);
  SpawnAcquire(io, limiter, 3, &b);
  io.run_for(milliseconds(20));
  ASSERT_TRUE(a.done && b.done);
  EXPECT_EQ(limiter.GrantsInWindow(), 5);
  EXPECT_EQ(limiter.budget(), 5);
  EXPECT_EQ(limiter.window(), std::chrono::seconds(10));
}

}  // namespace
}  // namespace batchfetch
