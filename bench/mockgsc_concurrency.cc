// mockgsc_concurrency: can mockgsc hold 2,000 concurrent delayed requests without queueing
// them? Starts `mockgsc --latency-ms 500`, opens 2,000 keep-alive connections, then for each
// of several rounds sends one request on every connection at once and measures each
// request's latency (write start -> full response). Reports per-round median/p99 and
// min/median/max over rounds; exits 1 unless the overall median is within 10% of 500 ms.
// Usage: mockgsc_concurrency [MOCKGSC_BIN] [--connections N] [--rounds R]

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/support/mockgsc_process.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr double kLatencyMs = 500;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// One "everyone may go" gate per phase; opened once, waiters released by cancel.
struct Gate {
  explicit Gate(asio::io_context& io) : timer(io, Clock::time_point::max()) {}
  asio::awaitable<void> Wait() {
    if (!open) co_await timer.async_wait(kUseTuple);
  }
  void Open() {
    open = true;
    timer.cancel();
  }
  asio::steady_timer timer;
  bool open = false;
};

struct Run {
  int connections = 2000;
  int rounds = 3;
  std::string target;
  std::string body;
  std::vector<Gate> gates;                   // gates[r]: round r may start.
  std::vector<int> arrived;                  // Per gate: clients waiting at it.
  std::vector<std::vector<double>> latency;  // Per round, ms.
  int failures = 0;
};

void Arrive(Run& run, size_t gate) {
  if (++run.arrived[gate] == run.connections) run.gates[gate].Open();
}

asio::awaitable<void> Client(Run& run, tcp::endpoint endpoint) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  auto [connect_ec] = co_await stream.socket().async_connect(endpoint, kUseTuple);
  if (connect_ec) ++run.failures;
  beast::flat_buffer buffer;
  for (int r = 0; r < run.rounds; ++r) {
    Arrive(run, size_t(r));
    co_await run.gates[size_t(r)].Wait();
    if (connect_ec) continue;
    http::request<http::string_body> request(http::verb::post, run.target, 11);
    request.set(http::field::host, "127.0.0.1");
    request.set(http::field::content_type, "application/json");
    request.keep_alive(true);
    request.body() = run.body;
    request.prepare_payload();
    auto start = Clock::now();
    auto [write_ec, w] = co_await http::async_write(stream, request, kUseTuple);
    http::response<http::string_body> response;
    auto [read_ec, n] = co_await http::async_read(stream, buffer, response, kUseTuple);
    if (write_ec || read_ec || response.result_int() != 200) {
      ++run.failures;
      continue;
    }
    run.latency[size_t(r)].push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
#if !defined(__OPTIMIZE__)
  std::fprintf(stderr, "WARNING: built without optimisation; figures are pessimistic\n");
#endif
  std::string bin = std::getenv("MOCKGSC_BIN") ? std::getenv("MOCKGSC_BIN") : MOCKGSC_DEFAULT_BIN;
  Run run;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--connections" && i + 1 < argc) {
      run.connections = std::atoi(argv[++i]);
    } else if (arg == "--rounds" && i + 1 < argc) {
      run.rounds = std::atoi(argv[++i]);
    } else if (arg.starts_with("--") || run.connections <= 0) {
      std::fprintf(stderr, "usage: %s [MOCKGSC_BIN] [--connections 2000] [--rounds 3]\n", argv[0]);
      return 1;
    } else {
      bin = arg;
    }
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  setenv("MOCKGSC_BIN", bin.c_str(), 1);
  // A quota high enough never to interfere; a constant 500 ms delay (p99 = median).
  batchfetch::testing::MockGsc server({"--latency-ms", "500", "--qpm", "100000000"});

  asio::io_context io(1);
  run.target = "/webmasters/v3/sites/sc-domain%3Aexample.com/searchAnalytics/query";
  run.body = R"({"startDate":"2024-01-05","endDate":"2024-01-05","dimensions":["query"],)"
             R"("rowLimit":1})";
  for (int r = 0; r <= run.rounds; ++r) run.gates.emplace_back(io);
  run.arrived.assign(size_t(run.rounds) + 1, 0);
  run.latency.resize(size_t(run.rounds));
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), server.port());
  for (int c = 0; c < run.connections; ++c) {
    asio::co_spawn(io, Client(run, endpoint), [&run](std::exception_ptr e) {
      if (e) ++run.failures;
    });
  }
  io.run();

  std::printf("mockgsc_concurrency: %d keep-alive connections, %d rounds, target %.0f ms\n",
              run.connections, run.rounds, kLatencyMs);
  std::vector<double> medians, all;
  for (int r = 0; r < run.rounds; ++r) {
    const auto& v = run.latency[size_t(r)];
    double median = Percentile(v, 0.5);
    medians.push_back(median);
    all.insert(all.end(), v.begin(), v.end());
    std::printf("  round %d: %zu ok, median %.1f ms, p99 %.1f ms, max %.1f ms\n", r + 1, v.size(),
                median, Percentile(v, 0.99), Percentile(v, 1.0));
  }
  double overall = Percentile(all, 0.5);
  std::sort(medians.begin(), medians.end());
  std::printf("  median over rounds: min %.1f / median %.1f / max %.1f ms; overall p99 %.1f ms\n",
              medians.front(), medians[medians.size() / 2], medians.back(), Percentile(all, 0.99));
  auto stats = server.Stats();
  std::printf("  server: max_in_flight %lld, failures %d\n",
              static_cast<long long>(stats.at("max_in_flight").as_int64()), run.failures);
  const bool ok = run.failures == 0 && overall >= kLatencyMs * 0.9 && overall <= kLatencyMs * 1.1;
  std::printf("%s: overall median %.1f ms (%s 10%% of %.0f ms)\n", ok ? "PASS" : "FAIL", overall,
              ok ? "within" : "NOT within", kLatencyMs);
  return ok ? 0 : 1;
}
