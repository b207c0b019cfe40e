// tools/grafana/batchfetch-dashboard.json reads only metrics the engine exports.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "telemetry/engine_metrics.h"
#include "tests/telemetry/prometheus_parser.h"

namespace batchfetch {
namespace {

TEST(GrafanaDashboardTest, EveryQueriedMetricIsExported) {
  const char* root = std::getenv("BATCHFETCH_SOURCE_DIR");
  ASSERT_NE(root, nullptr) << "BATCHFETCH_SOURCE_DIR is not set";
  std::ifstream in(std::string(root) + "/tools/grafana/batchfetch-dashboard.json");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  boost::json::object dashboard = boost::json::parse(text.str()).as_object();

  EngineMetrics metrics("w", 1);
  testing::PromExposition e;
  std::string error;
  ASSERT_TRUE(testing::ParsePrometheusText(metrics.RenderPrometheus(), &e, &error)) << error;
  std::set<std::string> exported;
  for (const testing::PromSample& s : e.samples) exported.insert(s.name);
  exported.insert("batchfetch_requests_total");  // series appear with the first request

  const std::regex kName("batchfetch_[a-z_]+");
  int queries = 0;
  for (const auto& panel : dashboard.at("panels").as_array()) {
    for (const auto& target : panel.at("targets").as_array()) {
      const std::string expr(target.at("expr").as_string());
      ++queries;
      for (std::sregex_iterator it(expr.begin(), expr.end(), kName), end; it != end; ++it) {
        EXPECT_TRUE(exported.count(it->str())) << it->str() << " in " << expr;
      }
    }
  }
  EXPECT_GT(queries, 10);
}

}  // namespace
}  // namespace batchfetch
