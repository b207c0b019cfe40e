#include "telemetry/engine_metrics.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "tests/telemetry/prometheus_parser.h"

namespace batchfetch {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

testing::PromExposition Scrape(EngineMetrics& m) {
  testing::PromExposition e;
  std::string error;
  const std::string text = m.RenderPrometheus();
  EXPECT_TRUE(testing::ParsePrometheusText(text, &e, &error)) << error << "\n" << text;
  return e;
}

TEST(EngineMetricsTest, ObserverCallsBecomeCountersGaugesAndHistograms) {
  EngineMetrics m("worker-1", 3);
  PageKey page{"report-1", "2025-01-01", 0};
  m.OnRequest(page, 200, "ok", milliseconds(20), microseconds(5), 1, 960);
  m.OnRequest(page, 503, "transient", milliseconds(30), microseconds(5), 2, 960);
  m.OnRequest(page, 429, "quota", milliseconds(3), microseconds(5), 3, 960);
  m.OnRetry(page);
  m.OnQueueWait(milliseconds(1));
  m.OnCommitted(page, 500, milliseconds(4));
  m.OnCommitted(page, 20, milliseconds(4));
  m.OnDead(page);
  EngineGauges g;
  g.queued = 7;
  g.fetching = 3;
  g.writer_backlog = 2;
  g.mailbox_depth = 1;
  g.grants_in_window = 3;
  g.budget = 960;
  g.window_seconds = 6;
  g.oldest_pending_age_s = 0.25;
  g.progress.pending = 10;
  g.progress.done = 2;
  g.progress.dead = 1;
  g.progress.rows = 520;
  m.OnGauges(g);

  testing::PromExposition e = Scrape(m);
  EXPECT_EQ(e.Sum("batchfetch_requests_total"), 3);
  EXPECT_EQ(e.Value("batchfetch_requests_total", {{"status", "503"}, {"outcome", "transient"}}), 1);
  EXPECT_EQ(e.Value("batchfetch_quota_errors_total"), 1);
  EXPECT_EQ(e.Value("batchfetch_retries_total"), 1);
  EXPECT_EQ(e.Value("batchfetch_pages_committed_total"), 2);
  EXPECT_EQ(e.Value("batchfetch_rows_written_total"), 520);
  EXPECT_EQ(e.Value("batchfetch_dead_pages_total"), 1);
  EXPECT_EQ(e.Value("batchfetch_pages", {{"state", "pending"}}), 10);
  EXPECT_EQ(e.Value("batchfetch_pages", {{"state", "dead"}}), 1);
  EXPECT_EQ(e.Value("batchfetch_queue_depth"), 7);
  EXPECT_EQ(e.Value("batchfetch_in_flight"), 3);
  EXPECT_EQ(e.Value("batchfetch_writer_backlog"), 2);
  EXPECT_EQ(e.Value("batchfetch_mailbox_depth"), 1);
  EXPECT_EQ(e.Value("batchfetch_limiter_budget"), 960);
  EXPECT_EQ(e.Value("batchfetch_oldest_pending_age_seconds"), 0.25);
  EXPECT_EQ(e.Value("batchfetch_request_duration_seconds_count"), 3);
  EXPECT_EQ(e.Value("batchfetch_persist_duration_seconds_count"), 2);
  EXPECT_EQ(e.Value("batchfetch_queue_wait_seconds_count"), 1);
  EXPECT_EQ(e.Value("batchfetch_halts_total"), 0);

  m.OnHalt("bad credentials");
  m.OnHalt("again");
  EXPECT_EQ(Scrape(m).Value("batchfetch_halts_total"), 1);
  EXPECT_EQ(m.Health().second, 503);
}

TEST(EngineMetricsTest, StatsIsOneJsonObjectWithTheRunCounters) {
  EngineMetrics m("w", 1);
  m.OnRequest(PageKey{"j", "2025-01-01", 0}, 200, "ok", milliseconds(20), microseconds(0), 1, 9);
  m.OnCommitted(PageKey{"j", "2025-01-01", 0}, 12, milliseconds(1));
  m.OnFinished();
  const std::string stats = m.RenderStatsJson();
  EXPECT_EQ(stats.find('\n'), std::string::npos);
  boost::json::object o = boost::json::parse(stats).as_object();
  EXPECT_EQ(o.at("requests").to_number<int64_t>(), 1);
  EXPECT_EQ(o.at("rows_written").to_number<int64_t>(), 12);
  EXPECT_EQ(o.at("state").as_string(), "finished");
  EXPECT_EQ(o.at("reports").to_number<int64_t>(), 1);
  EXPECT_EQ(m.Health(), std::make_pair(std::string("finished"), 200));
}

}  // namespace
}  // namespace batchfetch
