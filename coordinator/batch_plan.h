#ifndef BATCHFETCH_COORDINATOR_BATCH_PLAN_H_
#define BATCHFETCH_COORDINATOR_BATCH_PLAN_H_

// Every decision of the coordinator, as a plain class: which pages to claim and from
// which report, which worker gets which page, what a failure means, when to renew,
// pause, release, drain, halt and finish. No Asio, no threads, no clock reads: time is an
// argument, inputs are calls, outputs are effects the actor shell carries out. Unit tests
// drive it with a fake time (tests/coordinator/batch_plan_test.cc).
//
// Scheduling: the pages of every report of the run share one pool of max_concurrency
// workers. At max_concurrency 1 pages go out one at a time in (report, date, start_row)
// order, reports in the order given. Above 1, claims and assignments rotate over the
// sites, so no site starves and a site whose quota is paused does not hold the pool.
//
// Thread rule: one thread (the actor's). Not copyable.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "coordinator/run_options.h"
#include "core/page.h"
#include "persistence/ledger.h"
#include "persistence/status.h"
#include "workers/error_classifier.h"

namespace batchfetch {

// One report of the run, as the plan sees it.
struct PlanReport {
  std::string report_id;
  std::string site;  // reports of one site share its quota: the unit of fairness
};

namespace effect {

using Time = std::chrono::steady_clock::time_point;

// Lease pages: one ledger Claim call with these requests; answer with Claimed().
struct Claim {
  std::vector<ClaimRequest> requests;
};
// Hand lease to worker (which asked with Idle()).
struct Assign {
  int worker = 0;
  Lease lease;
};
// Tell worker (which asked with Idle()) there is no more work: it exits.
struct Dismiss {
  int worker = 0;
};
// ledger FailPage(lease, error, final, max_attempts, now + retry_in); answer WriteDone().
struct RecordFailure {
  Lease lease;
  std::string error;
  bool final = false;
  std::chrono::milliseconds retry_in{0};
};
// ledger Release(leases); answer WriteDone().
struct Release {
  std::vector<Lease> leases;
};
// ledger Renew(leases, now + lease); answer WriteDone().
struct Renew {
  std::vector<Lease> leases;
};
// No grant for report_id's requests (its site's quota keys) before until.
struct PauseQuota {
  std::string report_id;
  Time until;
};
// Refuse every current and future grant (halt) and wake every waiter.
struct CloseLimiters {};
// Terminal cancellation of every worker: requests in flight are abandoned, their pages
// come back through Returned().
struct CancelWorkers {};
// The database is unusable (the run halted because of it): give the ledger up, so the
// ledger work the halt still asks for (commits, releases, the final read) fails at once
// instead of waiting on it; the answers still come (with an error).
struct AbandonLedger {};
// Call Tick() at `at` (or earlier). A later ArmTimer replaces an earlier one.
struct ArmTimer {
  Time at;
};
// ledger Progress over every report of the run; answer Progressed().
struct ReadProgress {};
// One log line for the operator.
struct Log {
  enum class Level { kInfo, kWarn, kError } level = Level::kInfo;
  std::string message;
  // When set, the shell appends the local ISO time now + resume_in ("resuming at ...").
  std::optional<std::chrono::milliseconds> resume_in;
};
// The run is over: read summary(), stop the actor.
struct Finish {};

}  // namespace effect

using Effect = std::variant<effect::Claim, effect::Assign, effect::Dismiss, effect::RecordFailure,
                            effect::Release, effect::Renew, effect::PauseQuota,
                            effect::CloseLimiters, effect::CancelWorkers, effect::AbandonLedger,
                            effect::ArmTimer, effect::ReadProgress, effect::Log, effect::Finish>;
using Effects = std::vector<Effect>;

class BatchPlan {
 public:
  using Time = effect::Time;

  // The run's phase; the only state flag. kRunning → kCompleting (the ledger is
  // finished), kDraining (first signal) or kHalted (unrecoverable error, second signal,
  // drain timeout) → kFinished.
  enum class Phase {
    kRunning,     // claiming and handing out pages
    kCompleting,  // the ledger says every page is done or dead: dismissing the workers
    kDraining,    // graceful stop: no new requests; in-flight pages finish and commit
    kHalted,      // workers cancelled, limiters closed; waiting for leases to be released
    kFinished,    // Finish was emitted
  };

  // reports: every report of the run, in the order the user gave them. seed drives the
  // back-off jitter (tests pass a fixed one). REQUIRES: not empty;
  // options.max_concurrency >= 1.
  BatchPlan(RunOptions options, std::vector<PlanReport> reports, uint64_t seed);

  // --- inputs; each returns the effects to carry out, in order ---
  Effects Start(Time now);
  // The answer to effect::Claim.
  Effects Claimed(const Status& status, std::vector<Lease> leases, Time now);
  // worker wants a page. It gets exactly one Assign or Dismiss, now or later.
  Effects Idle(int worker, Time now);
  // worker's request for lease got a valid page; it goes to the writer now.
  Effects Fetched(int worker, const Lease& lease, Time now);
  // worker's request for lease failed as classified. unreachable: no server answered.
  // grants_in_window / budget: the report's quota use right now (load-quota detection).
  Effects Failed(int worker, const Lease& lease, const Classification& failure, bool unreachable,
                 int64_t grants_in_window, int64_t budget, Time now);
  // worker gave lease back unfetched (stopping, halted, or its request was cancelled).
  Effects Returned(int worker, const Lease& lease, Time now);
  // The writer committed (or failed to commit) a page handed over with Fetched().
  Effects Committed(const Lease& lease, const Status& status, bool lease_held, int64_t rows,
                    Time now);
  // The answer to RecordFailure, Release or Renew.
  Effects WriteDone(const Status& status, Time now);
  // The answer to ReadProgress.
  Effects Progressed(const Status& status, const ReportProgress& progress, Time now);
  // SIGINT/SIGTERM: the first drains, the second halts at once.
  Effects Stop(int signal, Time now);
  // An unrecoverable error found outside the plan (a crashed task, the database).
  Effects Halt(std::string reason, Time now);
  // The timer armed with ArmTimer fired (or any time: ticks are idempotent).
  Effects Tick(Time now);
  // worker's coroutine ended.
  Effects WorkerExited(int worker, Time now);

  Phase phase() const { return phase_; }
  // What the run did so far (final after Finish). requests, latencies and peak window are
  // the shell's to fill in.
  const RunSummary& summary() const { return summary_; }
  // Most messages that can wait in the actor's mailbox at once: one per worker, per
  // outstanding ledger task, per page committing, plus timers and signals. The shell
  // sizes its mailbox from it, so a send never waits.
  std::size_t MailboxBound() const;

 private:
  // Defined in batch_plan.cc.
  struct State;

  // Runs the decisions every input ends with (assign, claim, read progress, finish, arm
  // the timer) and hands out the effects gathered.
  Effects Pump(Time now);
  int ReportOf(const Lease& lease) const;  // index in reports_, -1 when unknown
  void Enqueue(int report, Lease lease);
  void TakeBack(int worker, const Lease& lease);  // worker no longer holds lease
  void ReleaseLeases(std::vector<Lease> leases);
  void ReleaseQueued();
  // Releases failed and every page queued for report's site (a quota cooldown).
  void ReleaseSite(int report, const Lease& failed);
  std::vector<Lease> HeldLeases() const;  // queued, fetching and committing
  void HaltNow(std::string reason, Time now);
  // HaltNow, and AbandonLedger once: the database is why.
  void HaltForDatabase(std::string reason, Time now);
  void DatabaseFailed(const std::string& what, const Status& status, Time now);
  bool Paused(int report, Time now) const;
  bool HasClaimCandidates(Time now) const;
  void Dispatch(Time now);
  void MaybeClaim(Time now);
  void MaybeReadProgress(Time now);
  void MaybeFinish();
  void ArmTimer(Time now);

  RunOptions options_;
  std::vector<PlanReport> reports_;
  Phase phase_ = Phase::kRunning;
  RunSummary summary_;
  std::unique_ptr<State> state_;

 public:
  ~BatchPlan();
  BatchPlan(const BatchPlan&) = delete;
  BatchPlan& operator=(const BatchPlan&) = delete;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_COORDINATOR_BATCH_PLAN_H_
