#include "telemetry/histogram.h"

#include <gtest/gtest.h>

namespace batchfetch {
namespace {

TEST(HistogramTest, ValueLandsInFirstBucketWhoseBoundIsAtLeastIt) {
  Histogram h({1, 2, 5});
  h.Observe(0.5);
  h.Observe(1);  // le="1" is inclusive
  h.Observe(1.5);
  h.Observe(7);  // +Inf only
  EXPECT_EQ(h.Cumulative(), (std::vector<uint64_t>{2, 3, 3, 4}));
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum(), 10);
}

TEST(HistogramTest, QuantileIsTheBoundOfTheBucketHoldingIt) {
  Histogram h({0.01, 0.1, 1});
  EXPECT_EQ(h.Quantile(0.5), 0);
  for (int i = 0; i < 90; ++i) h.Observe(0.005);
  for (int i = 0; i < 10; ++i) h.Observe(0.5);
  EXPECT_DOUBLE_EQ(h.Quantile(0.5), 0.01);
  EXPECT_DOUBLE_EQ(h.Quantile(0.9), 0.01);
  EXPECT_DOUBLE_EQ(h.Quantile(0.95), 1);
  h.Observe(100);
  EXPECT_DOUBLE_EQ(h.Quantile(1.0), 1) << "+Inf reports the last finite bound";
}

TEST(HistogramTest, LatencyBucketsAscend) {
  const auto b = LatencyBuckets();
  for (std::size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
}

}  // namespace
}  // namespace batchfetch
