// Micro-benchmarks of the engine's per-request hot paths (Google Benchmark):
//
//   BM_SlidingWindowLogGrant/N   one EarliestGrant + Record of N grants on a saturated
//                                log (budget 960 per 60 s window); time per call.
//   BM_ParseQueryResponse        ParseQueryResponse on one full 25,000-row page of
//                                date,query,page (~4 MB of JSON); bytes/s and rows/s.
//
// Each runs 5 repetitions and reports min, median and max. Run:
//   build/bench/micro_benchmarks [--benchmark_filter=Parse]

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "ratelimit/sliding_window_log.h"
#include "workers/search_console_codec.h"

namespace batchfetch {
namespace {

double Min(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }
double Max(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }

void BM_SlidingWindowLogGrant(benchmark::State& state) {
  const int64_t n = state.range(0);
  SlidingWindowLog log(960, std::chrono::seconds(60));
  SlidingWindowLog::TimePoint t{};
  for (auto _ : state) {
    t = log.EarliestGrant(n, t);
    log.Record(n, t);
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_SlidingWindowLogGrant)
    ->Arg(1)
    ->Arg(5)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true)
    ->ComputeStatistics("min", Min)
    ->ComputeStatistics("max", Max);

// A page shaped like the API's: clicks descending, realistic query and page lengths.
std::string FullPage(int rows) {
  std::string body = "{\"rows\":[";
  for (int i = 0; i < rows; ++i) {
    if (i > 0) {
      body += ',';
    }
    body += "{\"keys\":[\"2024-03-01\",\"how to choose running shoes size ";
    body += std::to_string(i);
    body += "\",\"https://www.example.com/blog/2023/running/shoes-guide-";
    body += std::to_string(i % 4099);
    body += "\"],\"clicks\":";
    body += std::to_string(rows - i);
    body += ",\"impressions\":";
    body += std::to_string(10 * (rows - i) + 7);
    body += ",\"ctr\":0.0987654321,\"position\":";
    body += std::to_string(1 + i % 80) + ".25}";
  }
  body += "],\"responseAggregationType\":\"byPage\"}";
  return body;
}

void BM_ParseQueryResponse(benchmark::State& state) {
  const int rows = static_cast<int>(state.range(0));
  const std::string body = FullPage(rows);
  const std::vector<std::string> dimensions = {"date", "query", "page"};
  ParsedPage page;
  std::string error;
  for (auto _ : state) {
    if (!ParseQueryResponse(body, dimensions, &page, &error)) {
      state.SkipWithError(error.c_str());
      break;
    }
    benchmark::DoNotOptimize(page.rows.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.SetItemsProcessed(state.iterations() * rows);
  state.counters["page_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_ParseQueryResponse)
    ->Arg(25000)
    ->Unit(benchmark::kMillisecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true)
    ->ComputeStatistics("min", Min)
    ->ComputeStatistics("max", Max);

}  // namespace
}  // namespace batchfetch

int main(int argc, char** argv) {
#if !defined(__OPTIMIZE__)
  std::fprintf(stderr,
               "WARNING: micro_benchmarks was built without optimisation; its figures mean "
               "nothing. Configure with -DCMAKE_BUILD_TYPE=Release or RelWithDebInfo.\n");
#endif
#if !defined(NDEBUG)
  std::fprintf(stderr, "WARNING: assertions are enabled (no NDEBUG).\n");
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
