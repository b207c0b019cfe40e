#include "workers/worker.h"

#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace batchfetch {

namespace asio = boost::asio;

Worker::Worker(int id, WorkerHost& host, HttpClient& http, RateLimiter& limiter,
               WorkerConfig config)
    : id_(id), host_(host), http_(http), limiter_(limiter), config_(std::move(config)) {}

asio::awaitable<void> Worker::Run() {
  while (true) {
    std::optional<Lease> lease = co_await host_.NextBatch(id_);
    if (!lease) co_return;
    co_await FetchOnce(*lease);
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
  }
}

asio::awaitable<void> Worker::FetchOnce(const Lease& lease) {
  if (host_.Stopping()) {
    host_.Returned(id_, lease);
    co_return;
  }
  const auto wait_start = std::chrono::steady_clock::now();
  boost::system::error_code ec = co_await limiter_.Acquire(1);
  RequestInfo info;
  info.limiter_wait = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - wait_start);
  if (ec || host_.Stopping()) {
    host_.Returned(id_, lease);
    co_return;
  }

  const JobSpec& spec = config_.job->spec;
  HttpRequest request;
  request.url = QueryUrl(config_.api_base, spec.site);
  request.body = QueryBody(spec, lease.key.date, lease.key.start_row);
  request.headers.push_back("Content-Type: application/json");
  if (config_.auth) {
    std::string auth = config_.auth();
    if (!auth.empty()) request.headers.push_back("Authorization: " + auth);
  }
  request.timeout = config_.request_timeout;

  auto [perform_ec, response] =
      co_await http_.AsyncPerform(std::move(request), asio::as_tuple(asio::use_awaitable));
  if (perform_ec || host_.Halted()) {
    host_.Returned(id_, lease);
    co_return;
  }

  info.http_status = response.status;
  info.latency = response.elapsed;
  Classification verdict = Classify(response, WallClock::now());
  if (verdict.kind == ErrorKind::kNone) {
    ParsedPage parsed;
    std::string parse_error;
    if (ParseQueryResponse(response.body, spec.dimensions, &parsed, &parse_error)) {
      // One request covers one day: rows carry it even when "date" is not a dimension.
      for (Row& row : parsed.rows) {
        if (row.date.empty()) row.date = lease.key.date;
      }
      FetchedPage page{config_.job, lease, std::move(parsed.rows)};
      co_await host_.Submit(id_, std::move(page), info);
      co_return;
    }
    verdict.kind = ErrorKind::kTransient;
    verdict.reason = "malformed response: " + parse_error;
  }
  host_.Failed(id_, lease, verdict, info);
}

}  // namespace batchfetch
