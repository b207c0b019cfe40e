#ifndef TOOLS_MOCKGSC_QUOTA_WINDOW_H_
#define TOOLS_MOCKGSC_QUOTA_WINDOW_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <unordered_map>

namespace mockgsc {

// Counts request arrivals per quota key in a sliding window, as the API's per-site and
// per-user QPM quotas do. Every arrival counts, rejected ones included. Time is passed in
// explicitly so tests need no clock. Thread-compatible (the caller locks).
class QuotaWindow {
 public:
  using Duration = std::chrono::microseconds;  // Time since an arbitrary fixed origin.

  // REQUIRES: window > 0.
  explicit QuotaWindow(Duration window);

  // Records one arrival for `key` at `now` and returns the arrivals for `key` in the window
  // (now - window, now], this one included. REQUIRES: `now` never decreases.
  int64_t Arrive(const std::string& key, Duration now);

  // The largest value Arrive() has returned, over all keys.
  int64_t max_window_arrivals() const { return max_overall_; }
  // The largest value Arrive() has returned, per key.
  std::map<std::string, int64_t> MaxByKey() const;

 private:
  struct KeyState {
    std::deque<Duration> arrivals;  // Arrivals still inside the window, oldest first.
    int64_t max_in_window = 0;
  };

  const Duration window_;
  std::unordered_map<std::string, KeyState> keys_;
  int64_t max_overall_ = 0;
};

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_QUOTA_WINDOW_H_
