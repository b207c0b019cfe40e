#ifndef BATCHFETCH_COORDINATOR_COORDINATOR_H_
#define BATCHFETCH_COORDINATOR_COORDINATOR_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/run_options.h"
#include "core/report.h"
#include "persistence/ledger_writer.h"
#include "ratelimit/rate_limiter.h"
#include "telemetry/run_observer.h"
#include "workers/http_transport.h"
#include "workers/worker.h"

namespace batchfetch {

// One report of the run and the limiter its requests draw from (its site, principal and
// project quota keys, decided together).
struct ReportRun {
  std::shared_ptr<const Report> report;
  RateLimiter* limiter = nullptr;  // not owned
};

// The one actor of the process that runs every report of a run over one pool of
// options.max_concurrency workers. Its decisions live in BatchPlan; the actor receives
// messages (from workers, the writer, timers, signals) on one coroutine and carries out
// the plan's effects. Nothing else touches its state.
//
// Thread rule: the io thread only (a single-threaded io_context). RequestStop and
// RequestHalt may be called from any handler on that thread.
class Coordinator {
 public:
  // observer (nullable, not owned) hears about every request, commit and gauge snapshot.
  // REQUIRES: reports registered and planned in the ledger; not empty.
  Coordinator(boost::asio::any_io_executor ex, LedgerWriter& writer, HttpTransport& http,
              std::vector<ReportRun> reports, WorkerConfig worker_config, RunOptions options,
              RunObserver* observer = nullptr);
  ~Coordinator();

  // Runs every report to its end (done, dead, stopped or halted). Never throws.
  boost::asio::awaitable<RunSummary> Run();

  // The first call stops gracefully (no new requests; the run ends as soon as the
  // in-flight ones commit, at most halt_timeout), a second one halts at once. signal is
  // reported in the summary (SIGINT, SIGTERM).
  void RequestStop(int signal);

  // Halts the run for a reason found elsewhere.
  void RequestHalt(std::string reason);

 private:
  class Actor;  // coordinator.cc
  std::unique_ptr<Actor> actor_;
  boost::asio::any_io_executor ex_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_COORDINATOR_COORDINATOR_H_
