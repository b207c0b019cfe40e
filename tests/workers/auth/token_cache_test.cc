#include "workers/token_cache.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "workers/token_error.h"

namespace batchfetch {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct Got {
  boost::system::error_code ec;
  std::string token;
  std::string error;
};

class TokenCacheTest : public ::testing::Test {
 protected:
  // A fetch that takes `delay` and then yields `result` (numbered token on success).
  TokenCache::Fetch SlowFetch(std::chrono::milliseconds delay, boost::system::error_code ec = {}) {
    return [this, delay, ec]() -> asio::awaitable<TokenCache::Fetched> {
      asio::steady_timer timer(co_await asio::this_coro::executor, delay);
      auto [wait_ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      TokenCache::Fetched fetched;
      if (wait_ec) {
        fetched.ec = wait_ec;
        co_return fetched;
      }
      fetched.ec = ec;
      if (ec) {
        fetched.error = "fetch failed";
      } else {
        fetched.token = "tok-" + std::to_string(++served_);
        fetched.reuse_for = 60s;
      }
      co_return fetched;
    };
  }

  void Spawn(const TokenCache::Fetch& fetch, Got* out, asio::cancellation_slot slot = {}) {
    asio::co_spawn(
        io_,
        [this, fetch, out]() -> asio::awaitable<void> {
          out->ec = co_await cache_.Get(fetch, &out->token, &out->error);
        },
        asio::bind_cancellation_slot(slot, [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        }));
  }

  asio::io_context io_;
  FakeClock clock_;
  TokenCache cache_{clock_};
  int served_ = 0;
};

TEST_F(TokenCacheTest, WaitersShareOneFailedFetch) {
  std::vector<Got> got(4);
  for (Got& g : got) Spawn(SlowFetch(10ms, TokenError::kCommandFailed), &g);
  io_.run();
  for (const Got& g : got) {
    EXPECT_EQ(g.ec, TokenError::kCommandFailed);
    EXPECT_EQ(g.error, "fetch failed");
  }
  EXPECT_EQ(cache_.fetches(), 1);
}

TEST_F(TokenCacheTest, AWaiterTakesOverWhenTheFetcherIsCancelled) {
  asio::cancellation_signal cancel_first;
  Got first, second;
  Spawn(SlowFetch(10s), &first, cancel_first.slot());
  Spawn(SlowFetch(1ms), &second);
  asio::steady_timer timer(io_, 20ms);
  timer.async_wait([&](auto) { cancel_first.emit(asio::cancellation_type::terminal); });
  const auto start = std::chrono::steady_clock::now();
  io_.run();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(first.ec, asio::error::operation_aborted);
  EXPECT_FALSE(second.ec) << second.error;
  EXPECT_EQ(second.token, "tok-1");
  EXPECT_EQ(cache_.fetches(), 2);
}

TEST_F(TokenCacheTest, ACancelledWaiterLeavesTheFetchRunning) {
  asio::cancellation_signal cancel_waiter;
  Got fetcher, waiter;
  Spawn(SlowFetch(50ms), &fetcher);
  Spawn(SlowFetch(50ms), &waiter, cancel_waiter.slot());
  asio::steady_timer timer(io_, 10ms);
  timer.async_wait([&](auto) { cancel_waiter.emit(asio::cancellation_type::terminal); });
  io_.run();
  EXPECT_EQ(waiter.ec, asio::error::operation_aborted);
  EXPECT_FALSE(fetcher.ec) << fetcher.error;
  EXPECT_EQ(fetcher.token, "tok-1");
  EXPECT_EQ(cache_.fetches(), 1);
}

TEST_F(TokenCacheTest, FetchesAgainAtTheRefreshTimeOrAfterInvalidate) {
  Got a, b, c, d;
  Spawn(SlowFetch(0ms), &a);
  io_.run();
  clock_.Advance(59s);
  io_.restart();
  Spawn(SlowFetch(0ms), &b);
  io_.run();
  EXPECT_EQ(b.token, "tok-1");
  clock_.Advance(1s);
  io_.restart();
  Spawn(SlowFetch(0ms), &c);
  io_.run();
  EXPECT_EQ(c.token, "tok-2");
  cache_.Invalidate("tok-2");
  io_.restart();
  Spawn(SlowFetch(0ms), &d);
  io_.run();
  EXPECT_EQ(d.token, "tok-3");
  EXPECT_EQ(cache_.fetches(), 3);
}

}  // namespace
}  // namespace batchfetch
