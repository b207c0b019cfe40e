#include "ratelimit/limit_learner.h"

#include <gtest/gtest.h>

#include <chrono>

namespace batchfetch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using TimePoint = Clock::TimePoint;

// A server that accepts `limit` per window (fixed windows for simplicity) and a client
// that sends `per_window` evenly spread: feeds every outcome to the learner.
void Simulate(LimitLearner& learner, int64_t limit, int64_t per_window, int windows,
              TimePoint start = TimePoint{}) {
  const auto window = seconds(6);
  for (int w = 0; w < windows; ++w) {
    int64_t accepted = 0;
    for (int64_t i = 0; i < per_window; ++i) {
      const TimePoint t = start + w * window + i * (window / per_window);
      if (accepted < limit) {
        ++accepted;
        learner.OnAccepted(t);
      } else {
        learner.OnRejected(t);
      }
    }
  }
}

TEST(LimitLearnerTest, ASteadyLimitBelowTheBudgetIsProposed) {
  LimitLearner learner(96, seconds(6));
  Simulate(learner, /*limit=*/6, /*per_window=*/96, /*windows=*/1);
  ASSERT_TRUE(learner.Proposal().has_value());
  EXPECT_EQ(*learner.Proposal(), 6);
}

TEST(LimitLearnerTest, NoRejectionsProposeNothing) {
  LimitLearner learner(96, seconds(6));
  Simulate(learner, /*limit=*/96, /*per_window=*/90, /*windows=*/3);
  EXPECT_FALSE(learner.Proposal().has_value());
}

TEST(LimitLearnerTest, TooFewRejectionsProposeNothing) {
  LimitLearner learner(96, seconds(6));
  const TimePoint t0{};
  for (int i = 0; i < 10; ++i) learner.OnAccepted(t0 + milliseconds(10 * i));
  learner.OnRejected(t0 + milliseconds(200));
  learner.OnRejected(t0 + milliseconds(210));
  EXPECT_FALSE(learner.Proposal().has_value());
}

TEST(LimitLearnerTest, RejectionsAtScatteredTrafficAreNotARate) {
  // The load quota: rejections after 2, then 9, then 20 accepted requests in the window.
  LimitLearner learner(96, seconds(6));
  TimePoint t{};
  auto accept = [&](int n) {
    for (int i = 0; i < n; ++i) learner.OnAccepted(t += milliseconds(1));
  };
  accept(2);
  learner.OnRejected(t += milliseconds(1));
  accept(7);
  learner.OnRejected(t += milliseconds(1));
  accept(11);
  learner.OnRejected(t += milliseconds(1));
  EXPECT_FALSE(learner.Proposal().has_value());
}

TEST(LimitLearnerTest, RejectionsWithNothingAcceptedAreNotARate) {
  LimitLearner learner(96, seconds(6));
  for (int i = 0; i < 5; ++i) learner.OnRejected(TimePoint{} + milliseconds(i));
  EXPECT_FALSE(learner.Proposal().has_value());
}

TEST(LimitLearnerTest, AdoptingStartsAfreshAndNeverRaisesTheBudget) {
  LimitLearner learner(96, seconds(6));
  Simulate(learner, 6, 96, 1);
  learner.Adopt(*learner.Proposal());
  EXPECT_EQ(learner.budget(), 6);
  EXPECT_FALSE(learner.Proposal().has_value());
  learner.Adopt(50);
  EXPECT_EQ(learner.budget(), 6);
}

TEST(LimitLearnerTest, AcceptedRequestsOlderThanTheWindowDoNotCount) {
  LimitLearner learner(96, seconds(6));
  const TimePoint t0{};
  for (int i = 0; i < 30; ++i) learner.OnAccepted(t0 + milliseconds(i));
  // A window later only the last 5 accepted count.
  for (int i = 0; i < 5; ++i) learner.OnAccepted(t0 + seconds(7) + milliseconds(i));
  for (int i = 0; i < 3; ++i) learner.OnRejected(t0 + seconds(7) + milliseconds(10 + i));
  ASSERT_TRUE(learner.Proposal().has_value());
  EXPECT_EQ(*learner.Proposal(), 5);
}

TEST(LimitLearnerTest, RejectionsWhileTheSharedLedgerIsFullAreTheBudgetsEdgeNotALimit) {
  // Two processes share 30 per window; this one had 17 accepted when a late arrival
  // pushed the server's window over and its 8 requests in flight were rejected at once.
  LimitLearner learner(30, seconds(6));
  const TimePoint t0{};
  for (int i = 0; i < 17; ++i) learner.OnAccepted(t0 + milliseconds(10 * i));
  for (int i = 0; i < 8; ++i) learner.OnRejected(t0 + milliseconds(200 + i), /*ledger_fill=*/1.0);
  EXPECT_FALSE(learner.Proposal().has_value()) << "the ledger held the whole budget";
  // The same rejections while the ledger held half the budget: a lower limit.
  for (int i = 0; i < 3; ++i) learner.OnRejected(t0 + milliseconds(300 + i), /*ledger_fill=*/0.5);
  ASSERT_TRUE(learner.Proposal().has_value());
  EXPECT_EQ(*learner.Proposal(), 17);
}

}  // namespace
}  // namespace batchfetch
