#ifndef BATCHFETCH_WORKERS_RETRY_POLICY_H_
#define BATCHFETCH_WORKERS_RETRY_POLICY_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

#include "core/clock.h"

namespace batchfetch {

// Exponential back-off with full jitter: the delay before retry number `attempt`
// (1 = first retry) is uniform in [0, min(cap, base * 2^(attempt-1))]; a server's
// Retry-After, when given, is a floor.
class RetryPolicy {
 public:
  RetryPolicy(std::chrono::milliseconds base = std::chrono::seconds(1),
              std::chrono::milliseconds cap = std::chrono::seconds(60),
              uint64_t seed = std::random_device{}());

  std::chrono::milliseconds Delay(
      int attempt, std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

  std::chrono::milliseconds base() const { return base_; }
  std::chrono::milliseconds cap() const { return cap_; }

 private:
  std::chrono::milliseconds base_;
  std::chrono::milliseconds cap_;
  std::mt19937_64 rng_;
};

// Parses a Retry-After value: delta-seconds ("120") or an HTTP-date
// ("Wed, 21 Oct 2015 07:28:00 GMT", resolved against now). nullopt when unparsable;
// a date in the past gives 0.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value, WallTime now);

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_RETRY_POLICY_H_
