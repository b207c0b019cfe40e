#ifndef BATCHFETCH_TELEMETRY_HISTOGRAM_H_
#define BATCHFETCH_TELEMETRY_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace batchfetch {

// A histogram over fixed upper bounds, as Prometheus exposes one: a value v lands in
// every bucket whose bound is >= v, plus the implicit +Inf bucket.
//
// Thread rule: not synchronised; one thread (the io thread) observes and renders.
class Histogram {
 public:
  // REQUIRES: upper_bounds strictly ascending and finite.
  explicit Histogram(std::vector<double> upper_bounds);

  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts, one per bound then one for +Inf (== count()).
  std::vector<uint64_t> Cumulative() const;
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  // The bound of the bucket holding the q-quantile (an upper estimate); 0 when empty,
  // the last finite bound when it falls in +Inf.
  double Quantile(double q) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> buckets_;  // non-cumulative; size bounds_ + 1 (+Inf last)
  uint64_t count_ = 0;
  double sum_ = 0;
};

// Bucket bounds in seconds for waits from 100 us to 2 min.
std::vector<double> LatencyBuckets();

}  // namespace batchfetch

#endif  // BATCHFETCH_TELEMETRY_HISTOGRAM_H_
