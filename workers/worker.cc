#include "workers/worker.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

#include "workers/token_error.h"

namespace batchfetch {

namespace asio = boost::asio;

namespace {
// Pseudo transport codes for a request that never left because its token failed.
constexpr int kTokenFatal = -1;
constexpr int kTokenTransient = -2;
}  // namespace

Worker::Worker(int id, WorkerHost& host, HttpClient& http, RateLimiter& limiter,
               WorkerConfig config)
    : id_(id), host_(host), http_(http), limiter_(limiter), config_(std::move(config)) {
  const JobSpec& spec = config_.job->spec;
  if (spec.aggregation_type != "auto" || !spec.filters.empty()) {
    QueryShape shape;
    shape.type = spec.search_type;
    shape.dimensions = spec.dimensions;
    shape.aggregation_type = spec.aggregation_type;
    shape.data_state = spec.data_state;
    for (const std::string& text : spec.filters) {
      std::string error;  // validated by the CLI already
      if (auto filter = ParseFilter(text, &error)) shape.filters.push_back(*filter);
    }
    extras_ = std::move(shape);
  }
}

asio::awaitable<void> Worker::Run() {
  while (true) {
    std::optional<Lease> lease = co_await host_.NextBatch(id_);
    if (!lease) co_return;
    co_await FetchOnce(*lease);
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
  }
}

asio::awaitable<bool> Worker::RequestOnce(const Lease& lease, RequestInfo* info,
                                          HttpResponse* response, std::string* token) {
  if (host_.Stopping()) co_return false;
  const auto wait_start = std::chrono::steady_clock::now();
  boost::system::error_code ec = co_await limiter_.Acquire(1);
  info->limiter_wait = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - wait_start);
  if (ec || host_.Stopping()) co_return false;

  const JobSpec& spec = config_.job->spec;
  HttpRequest request;
  request.url = QueryUrl(config_.api_base, spec.site);
  request.body = QueryBody(spec, lease.key.date, lease.key.start_row);
  if (extras_) request.body = WithQueryExtras(request.body, *extras_);
  request.headers.push_back("Content-Type: application/json");
  if (config_.tokens) {
    std::string error;
    if (auto token_ec = co_await config_.tokens->Token(token, &error)) {
      if (token_ec == asio::error::operation_aborted || host_.Halted()) co_return false;
      response->status = 0;
      response->curl_code = IsTransientTokenError(token_ec) ? kTokenTransient : kTokenFatal;
      response->error = error;
      co_return true;
    }
    request.headers.push_back("Authorization: Bearer " + *token);
  }
  request.timeout = config_.request_timeout;

  auto [perform_ec, answer] =
      co_await http_.AsyncPerform(std::move(request), asio::as_tuple(asio::use_awaitable));
  if (perform_ec || host_.Halted()) co_return false;
  *response = std::move(answer);
  co_return true;
}

asio::awaitable<void> Worker::FetchOnce(const Lease& lease) {
  RequestInfo info;
  HttpResponse response;
  std::string token;
  if (!co_await RequestOnce(lease, &info, &response, &token)) {
    host_.Returned(id_, lease);
    co_return;
  }
  if (response.curl_code == kTokenFatal || response.curl_code == kTokenTransient) {
    // The credential itself failed (command, key file, token endpoint).
    const ErrorKind kind =
        response.curl_code == kTokenTransient ? ErrorKind::kTransient : ErrorKind::kFatal;
    host_.Failed(id_, lease, Classification{kind, response.error, std::nullopt}, info);
    co_return;
  }
  if (response.status == 401 && config_.tokens) {
    config_.tokens->Invalidate(token);
    if (!co_await RequestOnce(lease, &info, &response, &token)) {
      host_.Returned(id_, lease);
      co_return;
    }
  }

  info.http_status = response.status;
  // CURLE_COULDNT_RESOLVE_HOST (6), CURLE_COULDNT_CONNECT (7): nothing reached a server.
  info.unreachable = response.curl_code == 6 || response.curl_code == 7;
  info.latency = response.elapsed;
  Classification verdict = Classify(response, WallClock::now());
  if (verdict.kind == ErrorKind::kUnauthorized && config_.tokens) {
    verdict.reason += " (credential: " + config_.tokens->Describe() + ")";
  }
  if (verdict.kind == ErrorKind::kNone) {
    ParsedPage parsed;
    std::string parse_error;
    if (ParseQueryResponse(response.body, config_.job->spec.dimensions, &parsed, &parse_error)) {
      // One request covers one day: rows carry it even when "date" is not a dimension.
      for (Row& row : parsed.rows) {
        if (row.date.empty()) row.date = lease.key.date;
      }
      // Dates compare as text (YYYY-MM-DD): on/after firstIncompleteDate is provisional.
      const bool provisional =
          !parsed.first_incomplete_date.empty() && lease.key.date >= parsed.first_incomplete_date;
      FetchedPage page{config_.job, lease, std::move(parsed.rows), provisional};
      co_await host_.Submit(id_, std::move(page), info);
      co_return;
    }
    verdict.kind = ErrorKind::kTransient;
    verdict.reason = "malformed response: " + parse_error;
  }
  host_.Failed(id_, lease, verdict, info);
}

}  // namespace batchfetch
