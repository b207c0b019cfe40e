#include "telemetry/histogram.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace batchfetch {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  ++buckets_[static_cast<std::size_t>(it - bounds_.begin())];
  ++count_;
  sum_ += value;
}

std::vector<uint64_t> Histogram::Cumulative() const {
  std::vector<uint64_t> out(buckets_.size());
  uint64_t running = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    running += buckets_[i];
    out[i] = running;
  }
  return out;
}

double Histogram::Quantile(double q) const {
  if (count_ == 0 || bounds_.empty()) return 0;
  const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  uint64_t running = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    running += buckets_[i];
    if (running >= std::max<uint64_t>(rank, 1)) return bounds_[i];
  }
  return bounds_.back();
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
          0.25,   0.5,     1,      2.5,   5,      10,    30,   60,    120};
}

}  // namespace batchfetch
