#include "ratelimit/composite_limiter.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <vector>

#include "ratelimit/qpm_limiter.h"

namespace batchfetch {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

TEST(CompositeLimiterTest, TheTightestQuotaKeyBoundsEveryWindow) {
  asio::io_context io;
  QpmLimiter site(io.get_executor(), 5, milliseconds(200));
  QpmLimiter user(io.get_executor(), 3, milliseconds(200));
  CompositeLimiter both({&site, &user});
  std::vector<std::chrono::steady_clock::time_point> grants;
  for (int i = 0; i < 12; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          if (!co_await both.Acquire(1)) grants.push_back(std::chrono::steady_clock::now());
        },
        asio::detached);
  }
  io.run_for(std::chrono::seconds(5));
  ASSERT_EQ(grants.size(), 12u);
  std::sort(grants.begin(), grants.end());
  for (std::size_t i = 0; i + 3 < grants.size(); ++i) {
    EXPECT_GE(grants[i + 3] - grants[i], milliseconds(199))
        << "4 grants inside one window at " << i;
  }
  EXPECT_EQ(both.total_grants(), 12);
  EXPECT_EQ(site.total_grants(), 12);
  EXPECT_EQ(user.total_grants(), 12);
}

TEST(CompositeLimiterTest, CloseAbortsWaitersOnEveryKey) {
  asio::io_context io;
  QpmLimiter site(io.get_executor(), 1, std::chrono::seconds(60));
  QpmLimiter user(io.get_executor(), 1, std::chrono::seconds(60));
  CompositeLimiter both({&site, &user});
  int granted = 0, aborted = 0;
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          if (co_await both.Acquire(1)) {
            ++aborted;
          } else {
            ++granted;
          }
        },
        asio::detached);
  }
  io.run_for(milliseconds(50));
  both.Close();
  io.run_for(milliseconds(200));
  EXPECT_EQ(granted, 1);
  EXPECT_EQ(aborted, 2);
}

}  // namespace
}  // namespace batchfetch
