#include "tools/mockgsc/latency_model.h"

#include <cmath>

namespace mockgsc {

LatencyModel::LatencyModel(double median_ms, double p99_ms, uint64_t seed)
    : median_ms_(median_ms),
      sigma_(median_ms > 0 && p99_ms > median_ms ? std::log(p99_ms / median_ms) / 2.326 : 0.0),
      rng_(seed ^ 0x1a7e9c7ULL) {}

std::chrono::microseconds LatencyModel::Draw() {
  if (median_ms_ <= 0) return std::chrono::microseconds(0);
  double ms = median_ms_;
  if (sigma_ > 0) {
    std::normal_distribution<double> normal(0.0, sigma_);
    ms = median_ms_ * std::exp(normal(rng_));
  }
  return std::chrono::microseconds(int64_t(ms * 1000.0));
}

}  // namespace mockgsc
