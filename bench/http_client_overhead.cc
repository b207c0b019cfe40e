// HTTP client overhead: requests per second of HttpClient alone (no limiter, codec,
// coordinator or writer) against a running mockgsc, to split "HTTP client" from "engine
// pipeline" when batchfetch fetches slower than curl.
//
//   http_client_overhead --api-base http://127.0.0.1:PORT [--concurrency 8] [--requests 3000]
//
// N coroutines on one io_context each POST the Search Analytics query of a day (the
// engine's body shape, one day per request, 2017-01-01 onwards) in a loop until
// --requests have been sent. Prints requests/s, the latency percentiles seen by the
// caller (AsyncPerform to completion), and how many answers were not 200. Compare with
// `curl --parallel --parallel-max N` (bench/fetch_overhead.py).
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "workers/http_client.h"

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string api_base;
  int concurrency = 8;
  int requests = 3000;
};

std::string DayOf(int index) {
  std::tm tm{};
  tm.tm_year = 2017 - 1900;
  tm.tm_mon = 0;
  tm.tm_mday = 1 + index;
  tm.tm_hour = 12;
  std::mktime(&tm);  // normalises the day count into a date
  char out[16];
  std::strftime(out, sizeof out, "%Y-%m-%d", &tm);
  return out;
}

struct State {
  int next = 0;
  int not_ok = 0;
  std::vector<double> latency_ms;
};

asio::awaitable<void> Loop(batchfetch::HttpClient& http, const Options& o, State& s) {
  const std::string url =
      o.api_base + "/webmasters/v3/sites/sc-domain%3Aexample.com/searchAnalytics/query";
  while (s.next < o.requests) {
    const std::string day = DayOf(s.next++);
    batchfetch::HttpRequest request;
    request.url = url;
    request.body = "{\"startDate\":\"" + day + "\",\"endDate\":\"" + day +
                   "\",\"dimensions\":[\"date\",\"country\",\"device\"],\"type\":\"web\","
                   "\"dataState\":\"final\",\"rowLimit\":25000,\"startRow\":0}";
    request.headers.push_back("Content-Type: application/json");
    const auto start = Clock::now();
    auto [ec, response] =
        co_await http.AsyncPerform(std::move(request), asio::as_tuple(asio::use_awaitable));
    s.latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (ec || response.status != 200) ++s.not_ok;
  }
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--api-base")
      o.api_base = argv[i + 1];
    else if (flag == "--concurrency")
      o.concurrency = std::atoi(argv[i + 1]);
    else if (flag == "--requests")
      o.requests = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 1;
    }
  }
  if (o.api_base.empty() || o.concurrency < 1 || o.requests < 1) {
    std::fprintf(stderr,
                 "usage: http_client_overhead --api-base http://127.0.0.1:PORT "
                 "[--concurrency N] [--requests N]\n");
    return 1;
  }
  asio::io_context io(1);
  batchfetch::HttpClient http(io.get_executor());
  State s;
  const auto start = Clock::now();
  for (int i = 0; i < o.concurrency; ++i) asio::co_spawn(io, Loop(http, o, s), asio::detached);
  io.run();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "concurrency %d: %d requests in %.3f s = %.0f requests/s; latency ms p50 %.2f "
      "p95 %.2f p99 %.2f; not 200: %d\n",
      o.concurrency, o.requests, secs, o.requests / secs, Percentile(s.latency_ms, 0.5),
      Percentile(s.latency_ms, 0.95), Percentile(s.latency_ms, 0.99), s.not_ok);
  return s.not_ok == 0 ? 0 : 2;
}
