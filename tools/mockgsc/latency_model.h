#ifndef TOOLS_MOCKGSC_LATENCY_MODEL_H_
#define TOOLS_MOCKGSC_LATENCY_MODEL_H_

#include <chrono>
#include <cstdint>
#include <random>

namespace mockgsc {

// Per-request service delay, log-normal with a given median and 99th percentile
// (sigma = ln(p99 / median) / 2.326). Thread-compatible (the caller locks).
class LatencyModel {
 public:
  // REQUIRES: 0 <= median_ms <= p99_ms.
  LatencyModel(double median_ms, double p99_ms, uint64_t seed);

  // The next delay; zero when the median is zero.
  std::chrono::microseconds Draw();

 private:
  const double median_ms_;
  const double sigma_;  // Of the underlying normal; 0 = constant delay.
  std::mt19937_64 rng_;
};

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_LATENCY_MODEL_H_
