#ifndef BATCHFETCH_CORE_CLOCK_H_
#define BATCHFETCH_CORE_CLOCK_H_

#include <chrono>

namespace batchfetch {

// Wall-clock time: what the ledger stores and what PostgreSQL servers agree on. Never
// used to measure a wait on one host (it can step); Clock below is for that.
using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;

// The monotonic time seam: limiters, timers and the batch plan's deadlines read time only
// through a Clock (or take it as an argument), so tests drive them with a FakeClock and
// never sleep.
class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

// The real monotonic clock.
class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  // A process-wide instance.
  static const SteadyClock& Instance();
};

// A clock that moves only when told. Not thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint{}) : now_(start) {}
  TimePoint Now() const override { return now_; }
  void Advance(Duration d) { now_ += d; }
  void Set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_CORE_CLOCK_H_
