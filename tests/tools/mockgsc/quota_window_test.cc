#include "tools/mockgsc/quota_window.h"

#include <gtest/gtest.h>

namespace mockgsc {
namespace {

using std::chrono::milliseconds;

TEST(QuotaWindowTest, CountsArrivalsInsideTheWindowOnly) {
  QuotaWindow window(milliseconds(1000));
  EXPECT_EQ(window.Arrive("a", milliseconds(0)), 1);
  EXPECT_EQ(window.Arrive("a", milliseconds(500)), 2);
  EXPECT_EQ(window.Arrive("a", milliseconds(999)), 3);
  // The arrival at 0 is exactly one window old: out.
  EXPECT_EQ(window.Arrive("a", milliseconds(1000)), 3);
  EXPECT_EQ(window.Arrive("a", milliseconds(2500)), 1);
  EXPECT_EQ(window.max_window_arrivals(), 3);
}

TEST(QuotaWindowTest, KeysAreCountedSeparately) {
  QuotaWindow window(milliseconds(1000));
  for (int i = 0; i < 5; ++i) window.Arrive("site:a", milliseconds(i));
  EXPECT_EQ(window.Arrive("site:b", milliseconds(10)), 1);
  auto by_key = window.MaxByKey();
  EXPECT_EQ(by_key["site:a"], 5);
  EXPECT_EQ(by_key["site:b"], 1);
  EXPECT_EQ(window.max_window_arrivals(), 5);
}

TEST(QuotaWindowTest, PacedArrivalsNeverExceedTheirRate) {
  QuotaWindow window(milliseconds(60'000));
  // 1200 per minute exactly: one every 50 ms.
  int64_t max_seen = 0;
  for (int i = 0; i < 5000; ++i)
    max_seen = std::max(max_seen, window.Arrive("k", milliseconds(i * 50)));
  EXPECT_EQ(max_seen, 1200);
}

}  // namespace
}  // namespace mockgsc
