#ifndef BATCHFETCH_COORDINATOR_COORDINATOR_H_
#define BATCHFETCH_COORDINATOR_COORDINATOR_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "coordinator/run_options.h"
#include "persistence/ledger_writer.h"
#include "ratelimit/rate_limiter.h"
#include "telemetry/run_observer.h"
#include "workers/http_client.h"
#include "workers/retry_policy.h"
#include "workers/worker.h"

namespace batchfetch {

// The actor that owns the batch plan of one job: it claims pages from the ledger in
// blocks, hands them to max_concurrency workers, learns what became of each, applies
// the in-flight backpressure, renews leases, and decides when the run is finished,
// stopped or halted. Workers reach it through its mailbox; only Run() touches its state.
//
// Thread rule: the io thread only (a single-threaded io_context). The LedgerWriter's
// callbacks are posted back to the io thread.
class Coordinator final : public WorkerHost {
 public:
  // observer (nullable, not owned) hears about every request, commit and gauge snapshot.
  Coordinator(boost::asio::any_io_executor ex, LedgerWriter& writer, HttpClient& http,
              RateLimiter& limiter, WorkerConfig worker_config, RunOptions options,
              RunObserver* observer = nullptr);
  ~Coordinator() override;

  // Runs the job to its end. The job must be registered in the ledger already.
  boost::asio::awaitable<RunSummary> Run();

  // The first call stops gracefully (no new requests, in-flight ones get halt_timeout),
  // a second one halts at once. signal is reported in the summary (SIGINT, SIGTERM).
  void RequestStop(int signal);

  // Halts this run for a reason found elsewhere (another job of the same process halted).
  void RequestHalt(std::string reason);

  // Called once, on the io thread, when this run decides to halt (with the reason).
  void OnHalt(std::function<void(const std::string&)> callback) { on_halt_ = std::move(callback); }

  // WorkerHost.
  boost::asio::awaitable<std::optional<Lease>> NextBatch(int worker) override;
  bool Stopping() const override { return stopping_; }
  bool Halted() const override { return halted_ || cancelled_; }
  boost::asio::awaitable<void> Submit(int worker, FetchedPage page,
                                      const RequestInfo& info) override;
  void Failed(int worker, const Lease& lease, const Classification& failure,
              const RequestInfo& info) override;
  void Returned(int worker, const Lease& lease) override;

 private:
  struct Claimed {
    Status status;
    std::vector<Lease> leases;
  };
  struct Committed {
    Lease lease;
    Status status;
    bool lease_held;
    std::size_t rows;
    std::chrono::microseconds persist_time;
  };
  struct Snapshot {
    Status status;
    JobProgress progress;
  };  // periodic progress read
  struct WriteDone {
    Status status;
    const char* what;
  };  // FailPage, Release, Renew
  struct Progressed {
    Status status;
    JobProgress progress;
  };
  struct PageFailed {
    Lease lease;
    Classification failure;
  };
  struct PageReturned {
    Lease lease;
  };
  struct WorkerExited {
    int worker;
  };
  struct StopRequested {
    int signal;
  };
  struct HaltRequested {
    std::string reason;
  };
  struct Tick {};
  using Message = std::variant<Claimed, Committed, WriteDone, Progressed, Snapshot, PageFailed,
                               PageReturned, WorkerExited, StopRequested, HaltRequested, Tick>;
  using Mailbox = boost::asio::experimental::channel<void(boost::system::error_code, Message)>;
  using ReadyQueue = boost::asio::experimental::channel<void(boost::system::error_code, Lease)>;
  using Slots = boost::asio::experimental::channel<void(boost::system::error_code)>;

  void Send(Message message);
  // Runs task on the writer thread and mails its result back here.
  template <typename Task>
  void OnWriter(Task task);

  void Handle(Claimed& m);
  void Handle(Committed& m);
  void Handle(WriteDone& m);
  void Handle(Progressed& m);
  void Handle(Snapshot& m);
  void Handle(PageFailed& m);
  void Handle(PageReturned& m);
  void Handle(WorkerExited& m);
  void Handle(StopRequested& m);
  void Handle(HaltRequested& m);
  void Handle(Tick& m);

  void MaybeClaim();
  void MaybeFinish();
  void Halt(std::string reason);
  void StopWorkers();
  void ReleaseOutstanding();
  void Forget(const Lease& lease);
  void ScheduleTick(std::chrono::milliseconds after);
  boost::asio::awaitable<void> RenewLoop();
  // Reads the ledger's progress and reports gauges to the observer about once a second.
  boost::asio::awaitable<void> GaugeLoop();
  void ReportGauges();
  void RecordRequest(const Lease& lease, std::string_view outcome, const RequestInfo& info);
  void Enqueue(const Lease& lease);
  bool Done() const;

  boost::asio::any_io_executor ex_;
  LedgerWriter& writer_;
  HttpClient& http_;
  RateLimiter& limiter_;
  WorkerConfig worker_config_;
  RunOptions options_;
  RunObserver null_observer_;
  RunObserver* observer_;
  RetryPolicy retry_policy_;
  const int claim_target_;  // claimed pages to hold: min(queue_limit, 4N + 8)

  Mailbox mailbox_;
  ReadyQueue ready_;
  Slots slots_;  // one per fetched page waiting for the writer
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<boost::asio::cancellation_signal> worker_signals_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer halt_timer_;
  boost::asio::cancellation_signal renew_signal_;
  boost::asio::cancellation_signal gauge_signal_;
  JobProgress last_progress_;  // the newest progress read, for gauges
  bool snapshot_pending_ = false;

  struct Held {
    Lease lease;
    std::chrono::steady_clock::time_point enqueued;  // last put in the ready queue
    bool taken = false;                              // a worker holds it
  };
  std::map<std::pair<std::string, int64_t>, Held> outstanding_;  // every lease we hold
  int64_t queued_ = 0;                                           // in ready_, not yet taken
  int64_t fetching_ = 0;      // taken by a worker, not yet reported
  int64_t committing_ = 0;    // submitted to the writer, not yet committed
  int64_t writer_tasks_ = 0;  // other writer tasks not yet reported
  int64_t mailbox_depth_ = 0;
  int live_workers_ = 0;
  bool claiming_ = false;
  bool exhausted_ = false;  // the last claim found nothing claimable
  bool checking_progress_ = false;
  bool tick_armed_ = false;
  bool stopping_ = false;         // no new requests
  bool halted_ = false;           // an unrecoverable error
  bool cancelled_ = false;        // workers were cancelled: drop late responses
  bool finished_ = false;         // the ledger says every page is done or dead
  bool final_progress_ = false;   // waiting for the closing Progress query
  int quota_strikes_ = 0;         // consecutive quota errors
  bool reached_server_ = false;   // some request of this run got an HTTP answer
  int unreachable_in_a_row_ = 0;  // requests that found no server, since the start
  std::chrono::steady_clock::time_point started_;
  RunSummary summary_;
  std::function<void(const std::string&)> on_halt_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_COORDINATOR_COORDINATOR_H_
