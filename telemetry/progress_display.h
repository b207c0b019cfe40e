#ifndef BATCHFETCH_TELEMETRY_PROGRESS_DISPLAY_H_
#define BATCHFETCH_TELEMETRY_PROGRESS_DISPLAY_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "telemetry/run_observer.h"

namespace batchfetch {

// The live one-line progress display of a terminal run:
//   "412/1,500 pages (27%) | 98,112 rows | window 23/30 | 912/960 req/min | ETA 1m05s | dead 0"
// redrawn every period through draw (normally SetStatusLine on stderr); draw("") removes
// it. Pages known grow as full pages reveal next pages. "window" is the requests granted
// in the current quota window against its budget; the req/min rate appears only once the
// run has lasted one window. ETA is the known pages left at the rate this run has
// committed pages so far.
//
// Thread rule: the io thread only.
class ProgressDisplay final : public RunObserver {
 public:
  using Clock = std::chrono::steady_clock;
  using Draw = std::function<void(std::string_view line)>;

  ProgressDisplay(boost::asio::any_io_executor ex, Draw draw,
                  std::chrono::milliseconds period = std::chrono::milliseconds(500));

  // Starts redrawing every period. Stop() (or OnFinished) removes the line for good.
  void Start();
  void Stop();

  void OnRequest(const PageKey& page, long http_status, std::string_view outcome,
                 std::chrono::microseconds latency, std::chrono::microseconds limiter_wait,
                 int64_t grants_in_window, int64_t budget) override;
  void OnCommitted(const PageKey& page, int64_t rows,
                   std::chrono::microseconds persist_time) override;
  void OnDead(const PageKey& page) override;
  void OnGauges(const EngineGauges& gauges) override;
  void OnFinished() override { Stop(); }

  // The line for the state seen so far, as of now.
  std::string Line(Clock::time_point now);

 private:
  void Arm();

  boost::asio::any_io_executor ex_;
  Draw draw_;
  std::chrono::milliseconds period_;
  boost::asio::steady_timer timer_;
  bool running_ = false;
  Clock::time_point started_ = Clock::now();

  EngineGauges gauges_;  // the last snapshot
  bool have_gauges_ = false;
  int64_t pages_since_gauges_ = 0;  // committed after the last snapshot
  int64_t rows_since_gauges_ = 0;
  int64_t rows_shown_ = 0;  // the rows figure last drawn (it never goes back)
  int64_t dead_since_gauges_ = 0;
  int64_t committed_ = 0;                 // pages this run committed (for the ETA)
  int64_t budget_ = 0;                    // grants per window, from the last request
  int64_t window_grants_ = 0;             // grants in the current window, from the newest
                                          // request or snapshot
  std::deque<Clock::time_point> recent_;  // request times within the last minute
};

// 1234567 -> "1,234,567".
std::string WithThousands(int64_t n);
// 65 s -> "1m05s", 3725 s -> "1h02m", 7 s -> "7s".
std::string ShortDuration(double seconds);

}  // namespace batchfetch

#endif  // BATCHFETCH_TELEMETRY_PROGRESS_DISPLAY_H_
