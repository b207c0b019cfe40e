#include "workers/worker.h"

#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <exception>
#include <utility>
#include <variant>

#include "workers/search_console_codec.h"
#include "workers/token_error.h"

// GCC 12 reports a false -Wmismatched-new-delete for Asio awaitable frames that the
// awaitable operators (||) allocate and free through the frame's own operators
// (GCC bug 109224).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace batchfetch {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

namespace {

// Pseudo transport codes for a request that never left because its token failed.
constexpr int kTokenFatal = -1;
constexpr int kTokenTransient = -2;
// Grants a request may miss that way before its page is given back.
constexpr int kMaxLateSends = 3;

// The token, with anything thrown turned into operation_aborted: a branch of || must not
// throw, or the race waits for the other branch.
asio::awaitable<error_code> TokenNoThrow(TokenSource& tokens, std::string* token,
                                         std::string* error) {
  try {
    co_return co_await tokens.Token(token, error);
  } catch (...) {
    co_return asio::error::operation_aborted;
  }
}

asio::awaitable<error_code> AcquireNoThrow(RateLimiter& limiter) {
  try {
    co_return co_await limiter.Acquire(1);
  } catch (...) {
    co_return asio::error::operation_aborted;
  }
}

asio::awaitable<bool> Cancelled() {
  auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

}  // namespace

bool IsUnreachableCurlCode(int curl_code) {
  switch (curl_code) {
    case 6:   // CURLE_COULDNT_RESOLVE_HOST
    case 7:   // CURLE_COULDNT_CONNECT
    case 35:  // CURLE_SSL_CONNECT_ERROR
    case 51:  // CURLE_PEER_FAILED_VERIFICATION
    case 53:  // CURLE_SSL_ENGINE_NOTFOUND
    case 54:  // CURLE_SSL_ENGINE_SETFAILED
    case 58:  // CURLE_SSL_CERTPROBLEM
    case 59:  // CURLE_SSL_CIPHER
    case 60:  // CURLE_PEER_FAILED_VERIFICATION (CA cert)
    case 64:  // CURLE_USE_SSL_FAILED
    case 66:  // CURLE_SSL_ENGINE_INITFAILED
    case 77:  // CURLE_SSL_CACERT_BADFILE
    case 80:  // CURLE_SSL_SHUTDOWN_FAILED
    case 82:  // CURLE_SSL_CRL_BADFILE
    case 83:  // CURLE_SSL_ISSUER_ERROR
    case 90:  // CURLE_SSL_PINNEDPUBKEYNOTMATCH
    case 91:  // CURLE_SSL_INVALIDCERTSTATUS
      return true;
    default:
      return false;
  }
}

Worker::Worker(int id, WorkerHost& host, HttpTransport& http, WorkerConfig config)
    : id_(id), host_(host), http_(http), config_(std::move(config)) {}

asio::awaitable<void> Worker::Run() {
  // Cancellation is read from the state after every await, never thrown.
  co_await asio::this_coro::throw_if_cancelled(false);
  while (true) {
    std::optional<Assignment> page = co_await host_.Idle(id_);
    if (!page) co_return;
    if (co_await Cancelled()) {
      host_.Returned(id_, page->lease);
      co_return;
    }
    co_await FetchOnce(*page);
    if (co_await Cancelled()) co_return;
  }
}

asio::awaitable<Worker::Step> Worker::RequestOnce(const Assignment& page, RequestInfo* info,
                                                  HttpResponse* response, std::string* token) {
  if (host_.Stopping()) co_return Step::kGaveBack;
  const ReportSpec& spec = page.report->spec;
  HttpRequest request;
  request.url = QueryUrl(config_.api_base, spec.site);
  request.body = QueryBody(spec, page.lease.key.date, page.lease.key.start_row,
                           PageRowLimit(config_.row_limit, page.lease.key.start_row));
  request.headers.push_back("Content-Type: application/json");
  if (!config_.quota_project.empty()) {
    request.headers.push_back("x-goog-user-project: " + config_.quota_project);
  }
  request.timeout = config_.request_timeout;

  // The bearer token first: fetching it may take seconds, and a grant must not age.
  if (config_.tokens) {
    std::string error;
    std::variant<error_code, std::monostate> got;
    try {
      got = co_await (TokenNoThrow(*config_.tokens, token, &error) || host_.UntilStopping());
    } catch (...) {
      co_return Step::kGaveBack;
    }
    if (got.index() == 1 || host_.Stopping() || co_await Cancelled()) co_return Step::kGaveBack;
    if (const error_code token_ec = std::get<0>(got)) {
      if (token_ec == asio::error::operation_aborted) co_return Step::kGaveBack;
      response->status = 0;
      response->curl_code = IsTransientTokenError(token_ec) ? kTokenTransient : kTokenFatal;
      response->error = error;
      co_return Step::kAnswered;
    }
    request.headers.push_back("Authorization: Bearer " + *token);
  }
  if (host_.Stopping()) co_return Step::kGaveBack;

  // Then the grant for every quota key of the request, and the request at once. A request
  // that could not go on the wire soon enough after its grant (a slow connect) was not
  // sent: it waits for a fresh grant, a few times, then the page is given back.
  const auto wait_start = std::chrono::steady_clock::now();
  for (int late = 0;; ++late) {
    std::variant<error_code, std::monostate> granted;
    try {
      granted = co_await (AcquireNoThrow(*page.limiter) || host_.UntilStopping());
    } catch (...) {
      co_return Step::kGaveBack;
    }
    info->limiter_wait = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - wait_start);
    if (granted.index() == 1 || std::get<0>(granted) || host_.Stopping() || co_await Cancelled()) {
      co_return Step::kGaveBack;
    }
    HttpRequest attempt = request;
    const RateLimiter::Duration slack = page.limiter->send_within();
    if (slack != RateLimiter::Duration::max()) {
      attempt.send_by = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(slack);
    }
    auto [ec, answer] = co_await http_.Perform(std::move(attempt));
    if (ec || host_.Halted() || co_await Cancelled()) co_return Step::kGaveBack;
    if (answer.missed_send_by) {
      if (late + 1 < kMaxLateSends) continue;
      co_return Step::kGaveBack;
    }
    *response = std::move(answer);
    co_return Step::kAnswered;
  }
}

asio::awaitable<void> Worker::FetchOnce(const Assignment& page) {
  const Lease& lease = page.lease;
  RequestInfo info;
  HttpResponse response;
  std::string token;
  if (co_await RequestOnce(page, &info, &response, &token) == Step::kGaveBack) {
    host_.Returned(id_, lease);
    co_return;
  }
  if (response.curl_code == kTokenFatal || response.curl_code == kTokenTransient) {
    // The credential itself failed (command, key file, token endpoint).
    Classification failure;
    failure.kind =
        response.curl_code == kTokenTransient ? ErrorKind::kTransient : ErrorKind::kFatal;
    failure.reason = response.error;
    host_.Failed(id_, page, failure, info);
    co_return;
  }
  if (response.status == 401 && config_.tokens) {
    // One refresh: a new token and a new grant, the whole sequence again.
    config_.tokens->Invalidate(token);
    response = HttpResponse{};
    if (co_await RequestOnce(page, &info, &response, &token) == Step::kGaveBack) {
      host_.Returned(id_, lease);
      co_return;
    }
  }

  info.http_status = response.status;
  info.unreachable = IsUnreachableCurlCode(response.curl_code);
  info.latency = response.elapsed;
  Classification verdict = Classify(response, WallClock::now());
  // Every answer the API gave teaches the limiter whether its budget is the API's real one.
  if (response.status != 0) page.limiter->OnApiAnswer(verdict.kind == ErrorKind::kQuota);
  if (verdict.kind == ErrorKind::kUnauthorized && config_.tokens) {
    verdict.reason += " (credential: " + config_.tokens->Describe() + ")";
  }
  if (verdict.kind == ErrorKind::kNone) {
    const ReportSpec& spec = page.report->spec;
    const int64_t row_limit = PageRowLimit(config_.row_limit, lease.key.start_row);
    ParsedPage parsed;
    std::string parse_error;
    if (ParseQueryResponse(response.body,
                           QueryExpectation{spec.dimensions, lease.key.date, row_limit}, &parsed,
                           &parse_error)) {
      // One request covers one day: rows carry it even when "date" is not a dimension.
      for (Row& row : parsed.rows) {
        if (row.date.empty()) row.date = lease.key.date;
      }
      // Dates compare as text (YYYY-MM-DD): on/after firstIncompleteDate is provisional.
      const bool provisional =
          !parsed.first_incomplete_date.empty() && lease.key.date >= parsed.first_incomplete_date;
      FetchedPage fetched{page.report, lease, row_limit, std::move(parsed.rows), provisional};
      co_await host_.Submit(id_, std::move(fetched), info);
      co_return;
    }
    verdict.kind = ErrorKind::kTransient;
    verdict.reason = "malformed response: " + parse_error;
  }
  host_.Failed(id_, page, verdict, info);
}

}  // namespace batchfetch
