#ifndef BATCHFETCH_WORKERS_WORKER_H_
#define BATCHFETCH_WORKERS_WORKER_H_

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/page.h"
#include "core/report.h"
#include "ratelimit/rate_limiter.h"
#include "workers/error_classifier.h"
#include "workers/http_transport.h"
#include "workers/token_source.h"

namespace batchfetch {

// How one request went, for metrics and the audit log.
struct RequestInfo {
  long http_status = 0;                       // 0 when the transfer failed
  bool unreachable = false;                   // no server answered: DNS, connect or TLS
  std::chrono::microseconds latency{0};       // the request itself
  std::chrono::microseconds limiter_wait{0};  // waiting for the grant
};

// A page handed to a worker: its lease, its report and the limiter its requests draw
// from (every quota key of the request, decided together).
struct Assignment {
  Lease lease;
  std::shared_ptr<const Report> report;
  RateLimiter* limiter = nullptr;  // not owned
};

// What a worker needs from its coordinator: every call is a message to it (or its
// answer). All calls on the io thread; none throws.
class WorkerHost {
 public:
  virtual ~WorkerHost() = default;

  // The worker is idle: the next page, or nullopt when it is dismissed (or cancelled).
  virtual boost::asio::awaitable<std::optional<Assignment>> Idle(int worker) = 0;

  // True once the run stops or halts: the worker must not send another request.
  virtual bool Stopping() const = 0;

  // True once the run halts (or a stop runs out of time): an answer that arrives now is
  // dropped, not persisted. During a graceful stop Stopping() is true but Halted() is
  // not, so requests in flight still finish and commit.
  virtual bool Halted() const = 0;

  // Completes once Stopping() is true (at once if it already is), or when cancelled.
  virtual boost::asio::awaitable<void> UntilStopping() = 0;

  // Hands a fetched page to the writer; waits while inflight_limit pages already wait
  // for the database (the in-flight backpressure).
  virtual boost::asio::awaitable<void> Submit(int worker, FetchedPage page,
                                              const RequestInfo& info) = 0;

  // The fetch of lease failed as classified; the coordinator decides what follows.
  virtual void Failed(int worker, const Assignment& page, const Classification& failure,
                      const RequestInfo& info) = 0;

  // The worker gave lease back unfetched (stopping, halted, or its request was cancelled).
  virtual void Returned(int worker, const Lease& lease) = 0;
};

struct WorkerConfig {
  std::string api_base;
  int row_limit = 25000;          // --row-limit; a page asks for PageRowLimit(row_limit, start)
  TokenSource* tokens = nullptr;  // not owned; nullptr = no Authorization header
  std::chrono::milliseconds request_timeout{60000};
  std::string quota_project;  // sent as x-goog-user-project on every request; "" = none
};

// True for a libcurl result that means no server answered at all: name resolution,
// connection, and TLS or certificate failures.
bool IsUnreachableCurlCode(int curl_code);

// One worker coroutine: Idle → bearer token → check stop → the report limiter's grant →
// check stop → send at once → check halt → classify, check and parse → submit, until
// dismissed. A 401 invalidates the token and runs the whole sequence once more.
//
// Thread rule: the io thread only. Cancelling Run() (terminal) abandons the request in
// flight; the page goes back through Returned(). No cancellation throws out of Run().
class Worker {
 public:
  Worker(int id, WorkerHost& host, HttpTransport& http, WorkerConfig config);

  boost::asio::awaitable<void> Run();

  int id() const { return id_; }

 private:
  enum class Step { kAnswered, kGaveBack };

  // Fetches one page and reports it to the host.
  boost::asio::awaitable<void> FetchOnce(const Assignment& page);

  // One request for page: token, grant, POST. kGaveBack when the page must go back
  // (stopping, halted or cancelled); else *response holds the answer (a failed token is
  // a pseudo transport failure, see worker.cc).
  boost::asio::awaitable<Step> RequestOnce(const Assignment& page, RequestInfo* info,
                                           HttpResponse* response, std::string* token);

  const int id_;
  WorkerHost& host_;
  HttpTransport& http_;
  WorkerConfig config_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_WORKER_H_
