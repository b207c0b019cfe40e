#include "telemetry/progress_display.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace batchfetch {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ProgressDisplayTest, LineShowsPagesRowsRateBudgetEtaAndDead) {
  boost::asio::io_context io;
  ProgressDisplay d(io.get_executor(), [](std::string_view) {});
  d.Start();
  const auto t0 = ProgressDisplay::Clock::now();
  EngineGauges g;
  g.budget = 96;  // per 6 s window: 960/min
  g.window_seconds = 6;
  g.progress.done = 400;
  g.progress.pending = 600;
  g.progress.rows = 98112;
  d.OnGauges(g);
  PageKey page{"j", "2025-01-01", 0};
  for (int i = 0; i < 10; ++i) {
    d.OnRequest(page, 200, "ok", microseconds(1), microseconds(0), i + 1, 96);
    d.OnCommitted(page, 100, microseconds(1));
  }
  const std::string line = d.Line(t0 + seconds(10));
  EXPECT_NE(line.find("window 10/96"), std::string::npos) << line;
  EXPECT_NE(line.find("410/1,000 pages (41%)"), std::string::npos) << line;
  EXPECT_NE(line.find("99,112 rows"), std::string::npos) << line;
  EXPECT_NE(line.find("60/960 req/min"), std::string::npos) << line;  // 10 in 10 s
  EXPECT_NE(line.find("ETA 9m50s"), std::string::npos) << line;       // 590 left at 1/s
  EXPECT_NE(line.find("dead 0"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(ProgressDisplayTest, RowsNeverGoBackWhenASnapshotMissesStagedPages) {
  boost::asio::io_context io;
  ProgressDisplay d(io.get_executor(), [](std::string_view) {});
  d.Start();
  const auto t0 = ProgressDisplay::Clock::now();
  EngineGauges g;
  g.progress.pending = 10;
  g.progress.rows = 582;
  d.OnGauges(g);
  PageKey page{"j", "2025-01-01", 0};
  d.OnCommitted(page, 1000, microseconds(1));  // staged: the day's swap is still to come
  d.OnCommitted(page, 1000, microseconds(1));
  EXPECT_NE(d.Line(t0).find(" 2,582 rows"), std::string::npos) << d.Line(t0);
  d.OnGauges(g);  // the new snapshot still counts only the days swapped in
  EXPECT_NE(d.Line(t0).find(" 2,582 rows"), std::string::npos) << d.Line(t0);
  g.progress.rows = 2600;  // the day swapped in
  d.OnGauges(g);
  EXPECT_NE(d.Line(t0).find(" 2,600 rows"), std::string::npos) << d.Line(t0);
}

TEST(ProgressDisplayTest, ARunShorterThanOneWindowShowsTheWindowAndNoRate) {
  boost::asio::io_context io;
  ProgressDisplay d(io.get_executor(), [](std::string_view) {});
  d.Start();
  const auto t0 = ProgressDisplay::Clock::now();
  EngineGauges g;
  g.budget = 30;
  g.window_seconds = 60;
  g.grants_in_window = 20;
  g.progress.pending = 100;
  d.OnGauges(g);
  PageKey page{"j", "2025-01-01", 0};
  for (int i = 0; i < 3; ++i) {
    d.OnRequest(page, 200, "ok", microseconds(1), microseconds(0), 21 + i, 30);
  }
  // 23 requests in 2 s would extrapolate to 690/min against 30/min: never shown.
  const std::string line = d.Line(t0 + seconds(2));
  EXPECT_NE(line.find(" | window 23/30 | "), std::string::npos) << line;
  EXPECT_EQ(line.find("req/min"), std::string::npos) << line;
  g.grants_in_window = 4;  // a new window began
  d.OnGauges(g);
  EXPECT_NE(d.Line(t0 + seconds(61)).find("window 4/30"), std::string::npos);
  EXPECT_NE(d.Line(t0 + seconds(61)).find("req/min"), std::string::npos) << "after one window";
}

TEST(ProgressDisplayTest, RedrawsPeriodicallyAndClearsOnFinish) {
  boost::asio::io_context io;
  std::vector<std::string> draws;
  ProgressDisplay d(
      io.get_executor(), [&](std::string_view s) { draws.emplace_back(s); }, milliseconds(10));
  d.Start();
  boost::asio::steady_timer stop(io, milliseconds(100));
  stop.async_wait([&](boost::system::error_code) { d.OnFinished(); });
  io.run();
  ASSERT_GE(draws.size(), 3u);
  EXPECT_EQ(draws.back(), "") << "the line is removed at the end";
  EXPECT_NE(draws.front().find("pages"), std::string::npos);
}

TEST(ProgressDisplayTest, NumbersAndDurationsAreShort) {
  EXPECT_EQ(WithThousands(0), "0");
  EXPECT_EQ(WithThousands(999), "999");
  EXPECT_EQ(WithThousands(1234567), "1,234,567");
  EXPECT_EQ(ShortDuration(7), "7s");
  EXPECT_EQ(ShortDuration(65), "1m05s");
  EXPECT_EQ(ShortDuration(3725), "1h02m");
}

}  // namespace
}  // namespace batchfetch
