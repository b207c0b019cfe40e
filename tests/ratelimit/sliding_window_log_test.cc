#include "ratelimit/sliding_window_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"

namespace batchfetch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using TimePoint = Clock::TimePoint;

// A seed from BATCHFETCH_SEED when set (to replay a failure), else a fresh one.
uint64_t TestSeed() {
  if (const char* env = std::getenv("BATCHFETCH_SEED")) {
    return std::strtoull(env, nullptr, 10);
  }
  return std::random_device{}();
}

// "At most budget grants in any half-open window": with the grants sorted, every grant
// stands at least `window` after the one `budget` places before it.
void ExpectNoWindowOverBudget(const std::vector<TimePoint>& grants, int64_t budget,
                              Clock::Duration window) {
  ASSERT_TRUE(std::is_sorted(grants.begin(), grants.end()));
  const auto b = static_cast<std::size_t>(budget);
  for (std::size_t i = 0; i + b < grants.size(); ++i) {
    ASSERT_GE(grants[i + b] - grants[i], window)
        << "grants " << i << " and " << i + b << " fall in one window";
  }
}

TEST(SlidingWindowLogTest, GrantsTheWholeBudgetAtOnceThenWaitsAWindow) {
  FakeClock clock;
  SlidingWindowLog log(3, seconds(60));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(log.EarliestGrant(1, clock.Now()), clock.Now());
    log.Record(1, clock.Now());
    clock.Advance(seconds(1));
  }
  // Grants at 0 s, 1 s, 2 s: the fourth waits until the first is a window old.
  EXPECT_EQ(log.EarliestGrant(1, clock.Now()), TimePoint{} + seconds(60));
  EXPECT_EQ(log.EarliestGrant(2, clock.Now()), TimePoint{} + seconds(61));
  EXPECT_EQ(log.EarliestGrant(3, clock.Now()), TimePoint{} + seconds(62));
  EXPECT_EQ(log.EarliestGrant(1, TimePoint{} + seconds(90)), TimePoint{} + seconds(90));
}

TEST(SlidingWindowLogTest, BatchOfNNeedsRoomForAllN) {
  SlidingWindowLog log(5, milliseconds(100));
  log.Record(4, TimePoint{});
  EXPECT_EQ(log.EarliestGrant(1, TimePoint{}), TimePoint{});
  EXPECT_EQ(log.EarliestGrant(2, TimePoint{}), TimePoint{} + milliseconds(100));
  EXPECT_EQ(log.EarliestGrant(5, TimePoint{} + milliseconds(7)), TimePoint{} + milliseconds(100));
}

TEST(SlidingWindowLogTest, BudgetOfOneSpacesGrantsByAWindow) {
  SlidingWindowLog log(1, seconds(2));
  log.Record(1, TimePoint{} + seconds(5));
  EXPECT_EQ(log.EarliestGrant(1, TimePoint{} + seconds(5)), TimePoint{} + seconds(7));
  EXPECT_EQ(log.EarliestGrant(1, TimePoint{} + seconds(9)), TimePoint{} + seconds(9));
}

TEST(SlidingWindowLogTest, GrantsInWindowCountsTheHalfOpenWindowEndingAtT) {
  SlidingWindowLog log(10, seconds(10));
  log.Record(2, TimePoint{} + seconds(1));
  log.Record(1, TimePoint{} + seconds(5));
  log.Record(3, TimePoint{} + seconds(11));
  EXPECT_EQ(log.GrantsInWindow(TimePoint{} + seconds(0)), 0);
  EXPECT_EQ(log.GrantsInWindow(TimePoint{} + seconds(1)), 2);
  EXPECT_EQ(log.GrantsInWindow(TimePoint{} + seconds(10)), 3);
  EXPECT_EQ(log.GrantsInWindow(TimePoint{} + seconds(11)), 4);  // (1 s, 11 s]
  EXPECT_EQ(log.GrantsInWindow(TimePoint{} + seconds(15)), 3);  // (5 s, 15 s]
  EXPECT_EQ(log.GrantsInWindow(TimePoint{} + seconds(21)), 0);
  EXPECT_EQ(log.GrantsInWindow(TimePoint{} + seconds(6)), 3);  // ignores later grants
}

TEST(SlidingWindowLogTest, RemembersOnlyTheLastBudgetGrants) {
  SlidingWindowLog log(4, seconds(1));
  for (int i = 0; i < 10; ++i) {
    log.Record(3, TimePoint{} + seconds(i));
  }
  EXPECT_EQ(log.size(), 4);
  EXPECT_EQ(log.GrantsInWindow(TimePoint{} + seconds(9)), 3);
  // The 4th most recent grant is at 8 s.
  EXPECT_EQ(log.EarliestGrant(1, TimePoint{} + seconds(9)), TimePoint{} + seconds(9));
  EXPECT_EQ(log.EarliestGrant(2, TimePoint{} + seconds(9)), TimePoint{} + seconds(10));
}

// Random bursts, gaps and batch sizes, always granting at EarliestGrant: no window ever
// holds more than the budget, and no grant waits longer than the log demands.
TEST(SlidingWindowLogTest, NeverExceedsBudgetInAnyWindowUnderRandomBursts) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed) + " (replay with BATCHFETCH_SEED)");
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 40; ++round) {
    const int64_t budget = std::uniform_int_distribution<int64_t>(1, 60)(rng);
    const auto window = milliseconds(std::uniform_int_distribution<int>(1, 5000)(rng));
    SlidingWindowLog log(budget, window);
    FakeClock clock(TimePoint{} + seconds(1000));
    std::vector<TimePoint> grants;
    const auto mean_gap = window / budget;
    for (int i = 0; i < 2000; ++i) {
      // Bursts: often no gap at all, sometimes a long one.
      const int pick = std::uniform_int_distribution<int>(0, 9)(rng);
      Clock::Duration gap{0};
      if (pick >= 5) {
        gap = mean_gap * std::uniform_int_distribution<int>(0, 3)(rng);
      }
      if (pick == 9) {
        gap = window * std::uniform_int_distribution<int>(0, 2)(rng);
      }
      clock.Advance(gap);
      const int64_t n =
          std::uniform_int_distribution<int64_t>(1, std::min<int64_t>(5, budget))(rng);

      const TimePoint at = log.EarliestGrant(n, clock.Now());
      ASSERT_GE(at, clock.Now());
      // Exactness: the grant waits for the (budget - n + 1)-th most recent grant, no more.
      const auto k = static_cast<std::size_t>(budget - n + 1);
      const TimePoint expected = grants.size() < k
                                     ? clock.Now()
                                     : std::max(clock.Now(), grants[grants.size() - k] + window);
      ASSERT_EQ(at, expected) << "round " << round << " step " << i;

      clock.Set(at);
      log.Record(n, at);
      grants.insert(grants.end(), static_cast<std::size_t>(n), at);
      ASSERT_LE(log.GrantsInWindow(at), budget);
    }
    ExpectNoWindowOverBudget(grants, budget, window);
    if (HasFatalFailure()) {
      return;
    }
  }
}

// Under constant demand the log sustains its budget: over 20+ windows it grants at least
// 98% of budget x windows. (Batches that are a large fraction of the budget fragment it,
// e.g. batches of 1..5 reach ~80% of a budget of 7 and ~97.6% of 60; small budgets ask 1.)
TEST(SlidingWindowLogTest, SustainsTheFullBudgetUnderConstantDemand) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed) + " (replay with BATCHFETCH_SEED)");
  std::mt19937_64 rng(seed);
  for (const int64_t budget : {1, 7, 60, 960}) {
    const int64_t max_batch = budget < 200 ? 1 : 5;
    const auto window = seconds(60);
    const int windows = 25;
    SlidingWindowLog log(budget, window);
    FakeClock clock;
    const TimePoint end = clock.Now() + window * windows;
    int64_t granted = 0;
    std::vector<TimePoint> grants;
    for (;;) {
      const int64_t n = std::uniform_int_distribution<int64_t>(1, max_batch)(rng);
      const TimePoint at = log.EarliestGrant(n, clock.Now());
      if (at >= end) {
        break;
      }
      clock.Set(at);
      log.Record(n, at);
      granted += n;
      grants.insert(grants.end(), static_cast<std::size_t>(n), at);
    }
    ExpectNoWindowOverBudget(grants, budget, window);
    EXPECT_GE(static_cast<double>(granted), 0.98 * static_cast<double>(budget * windows))
        << "budget " << budget;
    EXPECT_LE(granted, budget * windows) << "budget " << budget;
  }
}

}  // namespace
}  // namespace batchfetch

namespace batchfetch {
namespace {

TEST(SlidingWindowLogGrowthTest, HugeBudgetCostsNoMemoryUntilUsedAndStaysExactAcrossGrowth) {
  using std::chrono::milliseconds;
  SlidingWindowLog huge(100'000'000, std::chrono::seconds(60));
  EXPECT_LE(huge.capacity(), 1024u) << "a budget no one reaches must not be allocated up front";

  // A budget crossing several growth steps: every window still holds at most the budget.
  const int64_t budget = 5000;
  SlidingWindowLog log(budget, milliseconds(1000));
  Clock::TimePoint now{};
  std::vector<Clock::TimePoint> grants;
  for (int i = 0; i < 3 * budget; ++i) {
    now = log.EarliestGrant(1, now);
    log.Record(1, now);
    grants.push_back(now);
    now += std::chrono::microseconds(50);
  }
  EXPECT_EQ(log.capacity(), static_cast<std::size_t>(budget));
  for (std::size_t i = 0; i + budget < grants.size(); ++i) {
    ASSERT_GE(grants[i + budget] - grants[i], milliseconds(1000)) << "at grant " << i;
  }
}

}  // namespace
}  // namespace batchfetch
