#include "telemetry/metrics_registry.h"

#include <gtest/gtest.h>

#include "tests/telemetry/prometheus_parser.h"

namespace batchfetch {
namespace {

using testing::ParsePrometheusText;
using testing::PromExposition;

TEST(MetricsRegistryTest, RendersParsableExpositionWithEveryKind) {
  MetricsRegistry r;
  *r.Counter("x_requests_total", "Requests", {{"status", "200"}}) += 3;
  *r.Counter("x_requests_total", "Requests", {{"status", "503"}}) += 1;
  *r.Gauge("x_depth", "Depth\nwith a newline and \\ backslash") = 2.5;
  Histogram* h = r.Histo("x_latency_seconds", "Latency", {0.1, 1});
  h->Observe(0.05);
  h->Observe(3);
  const std::string text = r.Render();
  PromExposition e;
  std::string error;
  ASSERT_TRUE(ParsePrometheusText(text, &e, &error)) << error << "\n" << text;
  EXPECT_EQ(e.types.at("x_requests_total"), "counter");
  EXPECT_EQ(e.types.at("x_latency_seconds"), "histogram");
  EXPECT_EQ(e.Value("x_requests_total", {{"status", "200"}}), 3);
  EXPECT_EQ(e.Sum("x_requests_total"), 4);
  EXPECT_EQ(e.Value("x_depth"), 2.5);
  EXPECT_EQ(e.Value("x_latency_seconds_bucket", {{"le", "0.1"}}), 1);
  EXPECT_EQ(e.Value("x_latency_seconds_bucket", {{"le", "+Inf"}}), 2);
  EXPECT_EQ(e.Value("x_latency_seconds_count"), 2);
  EXPECT_DOUBLE_EQ(e.Value("x_latency_seconds_sum"), 3.05);
}

TEST(MetricsRegistryTest, LabelValuesAreEscapedAndReadBackUnchanged) {
  MetricsRegistry r;
  const std::string nasty = "a\"b\\c\nd";
  *r.Gauge("x_info", "Info", {{"worker", nasty}}) = 1;
  PromExposition e;
  std::string error;
  ASSERT_TRUE(ParsePrometheusText(r.Render(), &e, &error)) << error;
  EXPECT_EQ(e.samples.at(0).labels.at("worker"), nasty);
}

TEST(MetricsRegistryTest, SameNameAndLabelsIsTheSameSeries) {
  MetricsRegistry r;
  EXPECT_EQ(r.Counter("x_total", "X", {{"a", "1"}}), r.Counter("x_total", "X", {{"a", "1"}}));
  EXPECT_NE(r.Counter("x_total", "X", {{"a", "1"}}), r.Counter("x_total", "X", {{"a", "2"}}));
}

TEST(MetricsRegistryTest, SampleValuesUseIntegersInfAndShortestDecimals) {
  EXPECT_EQ(FormatSampleValue(42), "42");
  EXPECT_EQ(FormatSampleValue(0.0001), "0.0001");
  EXPECT_EQ(FormatSampleValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatSampleValue(-1.0 / 0.0), "-Inf");
}

// The parser itself must reject what Prometheus rejects, or the tests above prove nothing.
TEST(PrometheusParserTest, RejectsMalformedExpositions) {
  const char* bad[] = {
      "x 1",                                // no final newline
      "x{a=\"1} 1\n",                       // unterminated label value
      "x{a=\"\\q\"} 1\n",                   // bad escape
      "1x 1\n",                             // bad name
      "x one\n",                            // bad value
      "# TYPE x counter\nx -1\n",           // negative counter
      "# TYPE x foo\nx 1\n",                // unknown type
      "x 1\n# TYPE x gauge\n",              // TYPE after samples
      "x{a=\"1\"} 1\ny 1\nx{a=\"2\"} 1\n",  // not contiguous
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",     // no +Inf
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",  // count != +Inf
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",           // no sum
  };
  for (const char* text : bad) {
    testing::PromExposition e;
    std::string error;
    EXPECT_FALSE(ParsePrometheusText(text, &e, &error)) << text;
  }
}

}  // namespace
}  // namespace batchfetch
