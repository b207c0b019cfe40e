#include "telemetry/progress_display.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace batchfetch {

namespace {

constexpr std::chrono::seconds kRateSpan(60);

}  // namespace

std::string WithThousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string ShortDuration(double seconds) {
  const auto s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  }
  return buf;
}

ProgressDisplay::ProgressDisplay(boost::asio::any_io_executor ex, Draw draw,
                                 std::chrono::milliseconds period)
    : ex_(ex), draw_(std::move(draw)), period_(period), timer_(ex) {}

void ProgressDisplay::Start() {
  if (running_) return;
  running_ = true;
  started_ = Clock::now();
  Arm();
}

void ProgressDisplay::Stop() {
  if (!running_) return;
  running_ = false;
  timer_.cancel();
  draw_("");
}

void ProgressDisplay::Arm() {
  timer_.expires_after(period_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !running_) return;
    draw_(Line(Clock::now()));
    Arm();
  });
}

void ProgressDisplay::OnRequest(const PageKey&, long, std::string_view, std::chrono::microseconds,
                                std::chrono::microseconds, int64_t grants_in_window,
                                int64_t budget) {
  const Clock::time_point now = Clock::now();
  recent_.push_back(now);
  while (!recent_.empty() && recent_.front() < now - kRateSpan) recent_.pop_front();
  budget_ = budget;
  window_grants_ = grants_in_window;
}

void ProgressDisplay::OnCommitted(const PageKey&, int64_t rows, std::chrono::microseconds) {
  ++pages_since_gauges_;
  rows_since_gauges_ += rows;
  ++committed_;
}

void ProgressDisplay::OnDead(const PageKey&) { ++dead_since_gauges_; }

void ProgressDisplay::OnGauges(const EngineGauges& gauges) {
  gauges_ = gauges;
  have_gauges_ = true;
  pages_since_gauges_ = rows_since_gauges_ = dead_since_gauges_ = 0;
  if (gauges.budget > 0) budget_ = gauges.budget;
  window_grants_ = gauges.grants_in_window;
}

std::string ProgressDisplay::Line(Clock::time_point now) {
  while (!recent_.empty() && recent_.front() < now - kRateSpan) recent_.pop_front();
  const ReportProgress& p = gauges_.progress;
  const int64_t total = std::max<int64_t>(p.total(), 0);
  const int64_t done = std::min(total, p.done + pages_since_gauges_);
  const int64_t dead = p.dead + dead_since_gauges_;
  // A snapshot counts a day's rows once its last page swaps the day in, while pages
  // committed since count at once: a snapshot taken between a day's staged pages and its
  // swap would make the count dip, so the number shown never goes back.
  rows_shown_ = std::max(rows_shown_, p.rows + rows_since_gauges_);
  const int64_t rows = rows_shown_;
  const double elapsed = std::chrono::duration<double>(now - started_).count();

  std::string line;
  char buf[96];
  if (have_gauges_ && total > 0) {
    std::snprintf(
        buf, sizeof buf, " (%d%%)",
        static_cast<int>(100.0 * static_cast<double>(done + dead) / static_cast<double>(total)));
    line = WithThousands(done) + "/" + WithThousands(total) + " pages" + buf;
  } else {
    line = WithThousands(committed_) + " pages";
  }
  line += " | " + WithThousands(rows) + " rows";

  // Requests in the current quota window against its budget; a rate only once a whole
  // window has passed (a shorter run's rate is an extrapolation that reads as over budget).
  const double window = gauges_.window_seconds > 0 ? gauges_.window_seconds : 60;
  if (budget_ > 0) {
    line += " | window " + WithThousands(window_grants_) + "/" + WithThousands(budget_);
  }
  if (elapsed >= window) {
    // Requests per minute over the last minute (or the time since the start, if shorter),
    // against the budget per minute.
    const double span = std::clamp(elapsed, 1.0, 60.0);
    const auto per_minute =
        static_cast<int64_t>(std::llround(static_cast<double>(recent_.size()) * 60.0 / span));
    line += " | " + WithThousands(per_minute);
    if (have_gauges_ && budget_ > 0) {
      line += "/" + WithThousands(static_cast<int64_t>(
                        std::llround(static_cast<double>(budget_) * 60.0 / window)));
    }
    line += " req/min";
  }

  const int64_t left = have_gauges_ ? std::max<int64_t>(0, total - done - dead) : 0;
  if (committed_ > 0 && elapsed > 0 && left > 0) {
    line += " | ETA " +
            ShortDuration(static_cast<double>(left) * elapsed / static_cast<double>(committed_));
  } else {
    line += " | ETA --";
  }
  line += " | dead " + WithThousands(dead);
  return line;
}

}  // namespace batchfetch
