#ifndef BATCHFETCH_WORKERS_WORKER_H_
#define BATCHFETCH_WORKERS_WORKER_H_

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/page.h"
#include "ratelimit/rate_limiter.h"
#include "workers/error_classifier.h"
#include "workers/http_client.h"
#include "workers/query_rules.h"
#include "workers/search_console_codec.h"
#include "workers/token_source.h"

namespace batchfetch {

// How one request went, for metrics and the audit log.
struct RequestInfo {
  long http_status = 0;                       // 0 when the transfer failed
  bool unreachable = false;                   // could not resolve or connect to the host
  std::chrono::microseconds latency{0};       // the request itself
  std::chrono::microseconds limiter_wait{0};  // waiting for the QPM token
};

// What a worker needs from its coordinator. All calls on the io thread.
class WorkerHost {
 public:
  virtual ~WorkerHost() = default;

  // The next page to fetch, or nullopt when the worker should stop.
  virtual boost::asio::awaitable<std::optional<Lease>> NextBatch(int worker) = 0;

  // True once the run halts or stops: the worker must not send another request.
  virtual bool Stopping() const = 0;

  // True once the run halts (or a stop runs out of time): a response that arrives now is
  // dropped, not persisted. During a graceful stop Stopping() is true but Halted() is
  // not, so requests in flight still finish and commit.
  virtual bool Halted() const = 0;

  // Hands a fetched page to the writer; waits while inflight_limit pages already wait
  // for the database (the in-flight backpressure).
  virtual boost::asio::awaitable<void> Submit(int worker, FetchedPage page,
                                              const RequestInfo& info) = 0;

  // The fetch of lease failed as classified; the coordinator decides what follows.
  virtual void Failed(int worker, const Lease& lease, const Classification& failure,
                      const RequestInfo& info) = 0;

  // The worker gave lease back unfetched (stopping, or its request was cancelled).
  virtual void Returned(int worker, const Lease& lease) = 0;
};

struct WorkerConfig {
  std::string api_base;
  int row_limit = 25000;          // --row-limit; a page asks for PageRowLimit(row_limit, start)
  TokenSource* tokens = nullptr;  // not owned; nullptr = no Authorization header
  std::chrono::milliseconds request_timeout{60000};
};

// One worker coroutine: take batch → acquire a token → check stop → request → check
// stop → classify and parse → submit to the writer, until the host says stop.
//
// Thread rule: the io thread only. Cancelling Run() (terminal) aborts the request in
// flight; the page goes back to the host through Returned().
class Worker {
 public:
  Worker(int id, WorkerHost& host, HttpClient& http, RateLimiter& limiter, WorkerConfig config);

  boost::asio::awaitable<void> Run();

  int id() const { return id_; }

 private:
  // Fetches one page and reports it to the host. A 401 invalidates the token and tries
  // once more with a fresh one; a second 401 is reported as kUnauthorized.
  boost::asio::awaitable<void> FetchOnce(const Lease& lease);

  // One request for lease: token from the limiter, bearer token, POST. Returns false when
  // the page went back to the host (stopping, halted or cancelled).
  boost::asio::awaitable<bool> RequestOnce(const Lease& lease, RequestInfo* info,
                                           HttpResponse* response, std::string* token);

  const int id_;
  WorkerHost& host_;
  HttpClient& http_;
  RateLimiter& limiter_;
  WorkerConfig config_;
  std::optional<QueryShape> extras_;  // aggregation type and filters, when the job has any
};

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_WORKER_H_
