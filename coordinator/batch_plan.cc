#include "coordinator/batch_plan.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

#include "workers/retry_policy.h"

namespace batchfetch {

namespace {

using std::chrono::milliseconds;

// Consecutive failed ledger writes (not fatal by themselves) before the run halts.
constexpr int kMaxDatabaseFailures = 5;

std::string PageName(const Lease& lease) {
  return lease.key.date + ":" + std::to_string(lease.key.start_row);
}

// Pages claimed ahead: one at a time at concurrency 1 keeps the rollback exactly
// sequential; otherwise enough to keep every worker busy while the next claim
// round-trips, never more than queue_limit.
int ClaimTarget(const RunOptions& o) {
  if (o.max_concurrency <= 1) return 1;
  return std::max(1, std::min(o.queue_limit, 4 * o.max_concurrency + 8));
}

}  // namespace

struct BatchPlan::State {
  struct ReportState {
    int site = 0;
    std::map<PageKey, Lease> queued;  // claimed, not assigned, in (date, start_row) order
    int fetching = 0;
    bool exhausted = false;  // the last claim found no more claimable pages
  };
  struct SiteState {
    std::vector<int> reports;
    std::size_t next_assign = 0;  // rotation over the site's reports
    Time paused_until{};
    int quota_strikes = 0;  // quota errors since the site's last good answer
  };
  enum class Task { kRecordFailure, kRelease, kRenew };
  enum class ProgressRead { kNone, kPoll, kFinal };

  explicit State(const RunOptions& o, uint64_t seed)
      : retry(o.retry_base, o.retry_cap, seed), claim_target(ClaimTarget(o)) {}

  RetryPolicy retry;
  int claim_target;
  std::vector<ReportState> reports;
  std::vector<SiteState> sites;
  std::unordered_map<std::string, int> report_index;
  std::size_t assign_cursor = 0;  // next site to hand a page from
  std::size_t claim_cursor = 0;   // next site to claim for
  std::size_t serial_cursor = 0;  // concurrency 1: the report being claimed
  Time latest_pause{};            // the latest paused_until of any site: none after it
  int queued_total = 0;
  std::map<int, Lease> fetching;        // worker → the page it holds
  std::map<PageKey, Lease> committing;  // handed to the writer, not yet committed
  std::deque<int> parked;               // idle workers waiting for a page
  std::set<int> live_workers;
  bool claiming = false;
  std::vector<std::pair<int, int>> last_claim;  // (report, pages asked)
  std::deque<Task> tasks;                       // ledger writes awaiting WriteDone, in order
  ProgressRead progress_read = ProgressRead::kNone;
  bool final_read_done = false;
  bool progress_read_once = false;  // a poll read the ledger's progress
  std::optional<Time> poll_at;
  std::optional<Time> drain_deadline;
  Time renew_at{};
  std::optional<Time> armed;
  bool reached_server = false;
  int unreachable_in_a_row = 0;
  int database_failures = 0;
  int commit_failures = 0;        // consecutive failed commits, whatever else succeeds
  bool ledger_abandoned = false;  // halted because of the database (AbandonLedger)
  Effects out;
};

BatchPlan::BatchPlan(RunOptions options, std::vector<PlanReport> reports, uint64_t seed)
    : options_(std::move(options)),
      reports_(std::move(reports)),
      state_(std::make_unique<State>(options_, seed)) {
  options_.max_concurrency = std::max(1, options_.max_concurrency);
  std::unordered_map<std::string, int> site_index;
  for (std::size_t i = 0; i < reports_.size(); ++i) {
    auto [it, added] = site_index.emplace(reports_[i].site, static_cast<int>(site_index.size()));
    if (added) state_->sites.emplace_back();
    state_->sites[static_cast<std::size_t>(it->second)].reports.push_back(static_cast<int>(i));
    state_->reports.push_back(State::ReportState{it->second, {}, 0, false});
    state_->report_index.emplace(reports_[i].report_id, static_cast<int>(i));
  }
  for (int w = 0; w < options_.max_concurrency; ++w) state_->live_workers.insert(w);
}

BatchPlan::~BatchPlan() = default;

std::size_t BatchPlan::MailboxBound() const {
  const std::size_t n = static_cast<std::size_t>(options_.max_concurrency);
  const std::size_t held = static_cast<std::size_t>(state_->claim_target) + n;
  // Per worker: a result, an Idle and its exit; per held page: a commit and a ledger
  // write; plus claim, progress, renew, timer, two signals, a halt and gauge reads.
  return 3 * n + 2 * held + 16;
}

namespace {

template <typename E>
void Emit(Effects& out, E e) {
  out.emplace_back(std::move(e));
}

}  // namespace

Effects BatchPlan::Start(Time now) {
  state_->renew_at = now + std::max(milliseconds(10), options_.lease / 3);
  return Pump(now);
}

Effects BatchPlan::Claimed(const Status& status, std::vector<Lease> leases, Time now) {
  state_->claiming = false;
  if (!status.ok()) {
    DatabaseFailed("claiming pages", status, now);
    if (phase_ == Phase::kRunning) state_->poll_at = now + options_.poll_interval;
    return Pump(now);
  }
  state_->database_failures = 0;
  if (phase_ != Phase::kRunning) {
    if (!leases.empty()) ReleaseLeases(std::move(leases));
    return Pump(now);
  }
  std::unordered_map<int, int> got;
  for (Lease& lease : leases) {
    auto it = state_->report_index.find(lease.key.report_id);
    if (it == state_->report_index.end()) continue;  // not ours: never asked for
    ++got[it->second];
    Enqueue(it->second, std::move(lease));
  }
  for (auto [report, asked] : state_->last_claim) {
    if (got[report] < asked) state_->reports[static_cast<std::size_t>(report)].exhausted = true;
  }
  if (options_.max_concurrency == 1 && leases.empty()) ++state_->serial_cursor;
  return Pump(now);
}

Effects BatchPlan::Idle(int worker, Time now) {
  if (phase_ == Phase::kRunning) {
    state_->parked.push_back(worker);
  } else {
    Emit(state_->out, effect::Dismiss{worker});
  }
  return Pump(now);
}

Effects BatchPlan::Fetched(int worker, const Lease& lease, Time now) {
  TakeBack(worker, lease);
  state_->committing[lease.key] = lease;
  state_->reached_server = true;
  state_->unreachable_in_a_row = 0;
  if (int r = ReportOf(lease); r >= 0) {
    state_->sites[static_cast<std::size_t>(state_->reports[static_cast<std::size_t>(r)].site)]
        .quota_strikes = 0;
  }
  return Pump(now);
}

Effects BatchPlan::Failed(int worker, const Lease& lease, const Classification& failure,
                          bool unreachable, int64_t grants_in_window, int64_t budget, Time now) {
  TakeBack(worker, lease);
  const int r = ReportOf(lease);
  if (!unreachable) {
    state_->reached_server = true;
    state_->unreachable_in_a_row = 0;
  } else if (!state_->reached_server && ++state_->unreachable_in_a_row >= options_.max_attempts) {
    // No request of this run ever reached a server: a wrong --api-base, no network or a
    // TLS failure, not a flaky page. Stop with one line; the pages stay pending.
    HaltNow("cannot reach the API (" + failure.reason +
                "); check --api-base and the network, then run the same command again",
            now);
    ReleaseLeases({lease});
    return Pump(now);
  }
  switch (failure.kind) {
    case ErrorKind::kQuota: {
      ++summary_.quota_errors;
      State::SiteState* site = r >= 0 ? &state_->sites[static_cast<std::size_t>(
                                            state_->reports[static_cast<std::size_t>(r)].site)]
                                      : nullptr;
      const int strikes = site ? ++site->quota_strikes : 1;
      milliseconds delay =
          failure.retry_after
              ? std::min(*failure.retry_after, options_.retry_after_cap)
              : std::min(options_.retry_cap,
                         milliseconds(options_.retry_base.count() << std::min(strikes - 1, 16)));
      bool cooling = false;
      if (strikes >= 3 && grants_in_window * 2 < budget) {
        // Quota errors at low traffic: the API's load quota. Its cure is to wait.
        cooling = true;
        delay = std::max(delay, options_.quota_cooldown);
        Emit(state_->out, effect::Log{effect::Log::Level::kWarn,
                                      "repeated quota errors at low traffic on " +
                                          reports_[static_cast<std::size_t>(std::max(r, 0))].site +
                                          " (the API's load quota): cooling down " +
                                          std::to_string(delay.count() / 1000) + " s",
                                      delay});
      } else {
        Emit(state_->out,
             effect::Log{effect::Log::Level::kWarn,
                         "quota error on page " + PageName(lease) + " (" + failure.reason +
                             "): pausing its site for " + std::to_string(delay.count()) + " ms",
                         std::nullopt});
      }
      if (site) {
        site->paused_until = std::max(site->paused_until, now + delay);
        state_->latest_pause = std::max(state_->latest_pause, site->paused_until);
        for (int sr : site->reports) {
          Emit(state_->out, effect::PauseQuota{reports_[static_cast<std::size_t>(sr)].report_id,
                                               site->paused_until});
        }
      }
      // Not the page's fault: back in the queue without an attempt. A site cooling down
      // gives back its page and every page queued for it instead, so another process can
      // fetch them during the cooldown rather than wait on renewed leases.
      if (cooling && r >= 0) {
        ReleaseSite(r, lease);
      } else if (phase_ == Phase::kRunning && r >= 0) {
        Enqueue(r, lease);
      } else {
        ReleaseLeases({lease});
      }
      break;
    }
    case ErrorKind::kTransient: {
      const int attempts = lease.attempts + 1;
      const bool dead = attempts >= options_.max_attempts;
      std::optional<milliseconds> retry_after = failure.retry_after;
      if (retry_after) retry_after = std::min(*retry_after, options_.retry_after_cap);
      const milliseconds delay = state_->retry.Delay(attempts, retry_after);
      if (dead) {
        ++summary_.dead;
        Emit(state_->out, effect::Log{effect::Log::Level::kError,
                                      "page " + PageName(lease) + " is dead after " +
                                          std::to_string(attempts) + " attempts: " + failure.reason,
                                      std::nullopt});
      } else {
        ++summary_.retries;
        Emit(state_->out, effect::Log{effect::Log::Level::kWarn,
                                      "page " + PageName(lease) + " attempt " +
                                          std::to_string(attempts) + " failed (" + failure.reason +
                                          "); retrying in " + std::to_string(delay.count()) + " ms",
                                      std::nullopt});
      }
      state_->tasks.push_back(State::Task::kRecordFailure);
      Emit(state_->out, effect::RecordFailure{lease, failure.reason, false, delay});
      break;
    }
    case ErrorKind::kUnauthorized:
      HaltNow("authentication failed after a token refresh (HTTP 401): " + failure.reason, now);
      ReleaseLeases({lease});
      break;
    case ErrorKind::kFatal:
    case ErrorKind::kNone:
      HaltNow(failure.reason, now);
      ReleaseLeases({lease});
      break;
  }
  return Pump(now);
}

Effects BatchPlan::Returned(int worker, const Lease& lease, Time now) {
  TakeBack(worker, lease);
  const int r = ReportOf(lease);
  if (phase_ == Phase::kRunning && r >= 0) {
    Enqueue(r, lease);
  } else {
    ReleaseLeases({lease});
  }
  return Pump(now);
}

Effects BatchPlan::Committed(const Lease& lease, const Status& status, bool lease_held,
                             int64_t rows, Time now) {
  state_->committing.erase(lease.key);
  if (!status.ok()) {
    // The page stays leased in the ledger; it is claimable again when its lease ends.
    // Claims and renewals that still succeed must not hide a ledger that takes no page:
    // commit failures count on their own, reset only by a commit.
    if (++state_->commit_failures >= kMaxDatabaseFailures && !status.IsFatal()) {
      HaltForDatabase("database: committing pages failed " +
                          std::to_string(state_->commit_failures) +
                          " times in a row: " + status.message(),
                      now);
      return Pump(now);
    }
    DatabaseFailed("committing page " + PageName(lease), status, now);
    return Pump(now);
  }
  state_->database_failures = 0;
  state_->commit_failures = 0;
  ++summary_.pages;
  summary_.rows += rows;
  if (!lease_held) {
    ++summary_.lost_leases;
    Emit(state_->out,
         effect::Log{effect::Log::Level::kWarn,
                     "page " + PageName(lease) +
                         ": its lease was taken over before the commit; nothing written",
                     std::nullopt});
  }
  // A full page inserts the day's next page: its report has work again.
  if (int r = ReportOf(lease); r >= 0)
    state_->reports[static_cast<std::size_t>(r)].exhausted = false;
  return Pump(now);
}

Effects BatchPlan::WriteDone(const Status& status, Time now) {
  State::Task task = State::Task::kRelease;
  if (!state_->tasks.empty()) {
    task = state_->tasks.front();
    state_->tasks.pop_front();
  }
  if (!status.ok()) {
    const char* what = task == State::Task::kRenew     ? "renewing leases"
                       : task == State::Task::kRelease ? "releasing leases"
                                                       : "recording a failed attempt";
    DatabaseFailed(what, status, now);
  } else {
    state_->database_failures = 0;
  }
  return Pump(now);
}

Effects BatchPlan::Progressed(const Status& status, const ReportProgress& progress, Time now) {
  const State::ProgressRead read = state_->progress_read;
  state_->progress_read = State::ProgressRead::kNone;
  if (read == State::ProgressRead::kFinal) {
    state_->final_read_done = true;
    if (status.ok()) summary_.progress = progress;
    summary_.progress_unknown = !status.ok() && !state_->progress_read_once;
    return Pump(now);
  }
  if (!status.ok()) {
    DatabaseFailed("reading progress", status, now);
    if (phase_ == Phase::kRunning) state_->poll_at = now + options_.poll_interval;
    return Pump(now);
  }
  summary_.progress = progress;
  state_->progress_read_once = true;
  if (phase_ != Phase::kRunning) return Pump(now);
  if (progress.finished()) {
    phase_ = Phase::kCompleting;
    state_->final_read_done = true;
  } else {
    // Pages wait for a retry time or are leased by another process: look again soon.
    state_->poll_at = now + options_.poll_interval;
  }
  return Pump(now);
}

Effects BatchPlan::Stop(int signal, Time now) {
  if (phase_ == Phase::kRunning) {
    summary_.signal = signal;
    phase_ = Phase::kDraining;
    Emit(state_->out,
         effect::Log{effect::Log::Level::kWarn,
                     "signal " + std::to_string(signal) + ": stopping; requests in flight get " +
                         std::to_string(options_.halt_timeout.count()) +
                         " ms to finish (signal again to stop at once)",
                     std::nullopt});
    Emit(state_->out, effect::CloseLimiters{});
    ReleaseQueued();
    state_->drain_deadline = now + options_.halt_timeout;
  } else if (phase_ == Phase::kDraining) {
    Emit(state_->out,
         effect::Log{effect::Log::Level::kWarn, "second signal: stopping at once", std::nullopt});
    phase_ = Phase::kHalted;
    Emit(state_->out, effect::CancelWorkers{});
  }
  return Pump(now);
}

Effects BatchPlan::Halt(std::string reason, Time now) {
  HaltNow(std::move(reason), now);
  return Pump(now);
}

Effects BatchPlan::Tick(Time now) {
  state_->armed.reset();
  if (state_->poll_at && now >= *state_->poll_at) {
    state_->poll_at.reset();
    for (auto& report : state_->reports) report.exhausted = false;
    state_->serial_cursor = 0;
  }
  if (now >= state_->renew_at) {
    state_->renew_at = now + std::max(milliseconds(10), options_.lease / 3);
    const bool renewing = std::find(state_->tasks.begin(), state_->tasks.end(),
                                    State::Task::kRenew) != state_->tasks.end();
    std::vector<Lease> held = HeldLeases();
    if (!held.empty() && !renewing && phase_ != Phase::kFinished) {
      state_->tasks.push_back(State::Task::kRenew);
      Emit(state_->out, effect::Renew{std::move(held)});
    }
  }
  if (phase_ == Phase::kDraining && state_->drain_deadline && now >= *state_->drain_deadline &&
      !state_->fetching.empty()) {
    Emit(state_->out,
         effect::Log{effect::Log::Level::kWarn,
                     "halt timeout reached: cancelling the requests in flight", std::nullopt});
    phase_ = Phase::kHalted;
    Emit(state_->out, effect::CancelWorkers{});
  }
  return Pump(now);
}

Effects BatchPlan::WorkerExited(int worker, Time now) {
  state_->live_workers.erase(worker);
  state_->parked.erase(std::remove(state_->parked.begin(), state_->parked.end(), worker),
                       state_->parked.end());
  if (auto it = state_->fetching.find(worker); it != state_->fetching.end()) {
    // An assignment the worker never picked up (or a page it did not give back).
    Lease lease = it->second;
    return Returned(worker, lease, now);
  }
  return Pump(now);
}

// ---- machinery ------------------------------------------------------------------------

int BatchPlan::ReportOf(const Lease& lease) const {
  auto it = state_->report_index.find(lease.key.report_id);
  return it == state_->report_index.end() ? -1 : it->second;
}

void BatchPlan::Enqueue(int report, Lease lease) {
  auto& queued = state_->reports[static_cast<std::size_t>(report)].queued;
  PageKey key = lease.key;
  if (queued.emplace(std::move(key), std::move(lease)).second) ++state_->queued_total;
}

void BatchPlan::TakeBack(int worker, const Lease& lease) {
  auto it = state_->fetching.find(worker);
  if (it == state_->fetching.end() || it->second.key != lease.key) return;
  state_->fetching.erase(it);
  if (int r = ReportOf(lease); r >= 0) --state_->reports[static_cast<std::size_t>(r)].fetching;
}

void BatchPlan::ReleaseLeases(std::vector<Lease> leases) {
  if (leases.empty()) return;
  state_->tasks.push_back(State::Task::kRelease);
  Emit(state_->out, effect::Release{std::move(leases)});
}

void BatchPlan::ReleaseQueued() {
  std::vector<Lease> leases;
  for (auto& report : state_->reports) {
    for (auto& [key, lease] : report.queued) leases.push_back(std::move(lease));
    report.queued.clear();
  }
  state_->queued_total = 0;
  ReleaseLeases(std::move(leases));
}

void BatchPlan::ReleaseSite(int report_index, const Lease& failed) {
  const auto& site = state_->sites[static_cast<std::size_t>(
      state_->reports[static_cast<std::size_t>(report_index)].site)];
  std::vector<Lease> leases{failed};
  for (int r : site.reports) {
    auto& report = state_->reports[static_cast<std::size_t>(r)];
    for (auto& [key, lease] : report.queued) leases.push_back(std::move(lease));
    state_->queued_total -= static_cast<int>(report.queued.size());
    report.queued.clear();
    report.exhausted = false;  // claimable again once the cooldown ends
  }
  ReleaseLeases(std::move(leases));
}

std::vector<Lease> BatchPlan::HeldLeases() const {
  std::vector<Lease> held;
  for (const auto& report : state_->reports) {
    for (const auto& [key, lease] : report.queued) held.push_back(lease);
  }
  for (const auto& [worker, lease] : state_->fetching) held.push_back(lease);
  for (const auto& [key, lease] : state_->committing) held.push_back(lease);
  return held;
}

void BatchPlan::HaltNow(std::string reason, Time /*now*/) {
  if (phase_ == Phase::kFinished) return;
  if (summary_.halt_reason.empty()) {
    summary_.halt_reason = reason;
    Emit(state_->out, effect::Log{effect::Log::Level::kError, "halting: " + reason, std::nullopt});
  }
  if (phase_ == Phase::kHalted) return;
  const bool limiters_open = phase_ != Phase::kDraining;
  phase_ = Phase::kHalted;
  if (limiters_open) Emit(state_->out, effect::CloseLimiters{});
  Emit(state_->out, effect::CancelWorkers{});
  ReleaseQueued();
}

void BatchPlan::HaltForDatabase(std::string reason, Time now) {
  HaltNow(std::move(reason), now);
  if (state_->ledger_abandoned) return;
  state_->ledger_abandoned = true;
  Emit(state_->out, effect::AbandonLedger{});
}

void BatchPlan::DatabaseFailed(const std::string& what, const Status& status, Time now) {
  if (state_->ledger_abandoned) return;  // the given-up ledger's answers: nothing new
  if (status.IsFatal()) {
    HaltForDatabase("database: " + status.message(), now);
    return;
  }
  if (++state_->database_failures >= kMaxDatabaseFailures) {
    HaltForDatabase("database: " + what + " failed " + std::to_string(state_->database_failures) +
                        " times in a row: " + status.message(),
                    now);
    return;
  }
  Emit(state_->out,
       effect::Log{effect::Log::Level::kWarn, what + " failed: " + status.message(), std::nullopt});
}

bool BatchPlan::Paused(int report, Time now) const {
  const auto& site =
      state_
          ->sites[static_cast<std::size_t>(state_->reports[static_cast<std::size_t>(report)].site)];
  return site.paused_until > now;
}

void BatchPlan::Dispatch(Time now) {
  while (!state_->parked.empty() && state_->queued_total > 0) {
    int chosen = -1;
    if (options_.max_concurrency == 1) {
      for (std::size_t r = 0; r < state_->reports.size() && chosen < 0; ++r) {
        if (!state_->reports[r].queued.empty() && !Paused(static_cast<int>(r), now)) {
          chosen = static_cast<int>(r);
        }
      }
    } else {
      // Rotate over the sites, skipping a site whose quota is paused.
      const std::size_t n = state_->sites.size();
      for (std::size_t i = 0; i < n && chosen < 0; ++i) {
        const std::size_t s = (state_->assign_cursor + i) % n;
        auto& site = state_->sites[s];
        if (site.paused_until > now) continue;
        for (std::size_t j = 0; j < site.reports.size(); ++j) {
          const std::size_t k = (site.next_assign + j) % site.reports.size();
          if (!state_->reports[static_cast<std::size_t>(site.reports[k])].queued.empty()) {
            chosen = site.reports[k];
            site.next_assign = k + 1;
            state_->assign_cursor = s + 1;
            break;
          }
        }
      }
    }
    if (chosen < 0) return;
    auto& report = state_->reports[static_cast<std::size_t>(chosen)];
    Lease lease = std::move(report.queued.begin()->second);
    report.queued.erase(report.queued.begin());
    --state_->queued_total;
    ++report.fetching;
    const int worker = state_->parked.front();
    state_->parked.pop_front();
    state_->fetching[worker] = lease;
    Emit(state_->out, effect::Assign{worker, std::move(lease)});
  }
}

bool BatchPlan::HasClaimCandidates(Time now) const {
  if (options_.max_concurrency == 1) return state_->serial_cursor < state_->reports.size();
  for (std::size_t r = 0; r < state_->reports.size(); ++r) {
    if (!state_->reports[r].exhausted && !Paused(static_cast<int>(r), now)) return true;
  }
  return false;
}

void BatchPlan::MaybeClaim(Time now) {
  if (state_->claiming) return;
  std::vector<ClaimRequest> requests;
  state_->last_claim.clear();
  if (options_.max_concurrency == 1) {
    if (state_->queued_total > 0 || !state_->fetching.empty() || !state_->committing.empty())
      return;
    if (state_->serial_cursor >= state_->reports.size()) return;
    const int r = static_cast<int>(state_->serial_cursor);
    if (Paused(r, now)) return;  // its pages went back with the cooldown
    requests.push_back(ClaimRequest{reports_[static_cast<std::size_t>(r)].report_id, 1});
    state_->last_claim.emplace_back(r, 1);
  } else {
    // Pages queued for a paused site do not count: they must not stop the claims of the
    // sites that can send; queue_limit still bounds everything held.
    // (Every message comes here: scan the reports only while some site is paused.)
    int paused_queued = 0;
    for (std::size_t r = 0; state_->latest_pause > now && r < state_->reports.size(); ++r) {
      if (Paused(static_cast<int>(r), now)) {
        paused_queued += static_cast<int>(state_->reports[r].queued.size());
      }
    }
    const int held = state_->queued_total + static_cast<int>(state_->fetching.size());
    const int outstanding = held - paused_queued;
    if (outstanding > (state_->claim_target - 1) / 2) return;
    int want = std::min(state_->claim_target - outstanding, options_.queue_limit - held);
    if (want <= 0) return;
    int candidates = 0;
    for (std::size_t r = 0; r < state_->reports.size(); ++r) {
      if (!state_->reports[r].exhausted && !Paused(static_cast<int>(r), now)) ++candidates;
    }
    if (candidates == 0) return;
    // No report holds more than its share of the claim target.
    const int cap = std::max(1, (state_->claim_target + candidates - 1) / candidates);
    std::vector<int> asked(state_->reports.size(), 0);
    std::vector<std::size_t> next_in_site(state_->sites.size(), 0);
    const std::size_t n = state_->sites.size();
    bool progress = true;
    while (want > 0 && progress) {
      progress = false;
      for (std::size_t i = 0; i < n && want > 0; ++i) {
        const std::size_t s = (state_->claim_cursor + i) % n;
        auto& site = state_->sites[s];
        for (std::size_t j = next_in_site[s]; j < site.reports.size(); ++j) {
          const auto r = static_cast<std::size_t>(site.reports[j]);
          const auto& report = state_->reports[r];
          const int held = static_cast<int>(report.queued.size()) + report.fetching + asked[r];
          if (report.exhausted || Paused(static_cast<int>(r), now) || held >= cap) continue;
          ++asked[r];
          --want;
          progress = true;
          next_in_site[s] = j + 1 < site.reports.size() ? j + 1 : 0;
          if (want == 0) state_->claim_cursor = s + 1;
          break;
        }
      }
    }
    for (std::size_t r = 0; r < state_->reports.size(); ++r) {
      if (asked[r] == 0) continue;
      requests.push_back(ClaimRequest{reports_[r].report_id, asked[r]});
      state_->last_claim.emplace_back(static_cast<int>(r), asked[r]);
    }
    if (requests.empty()) return;
  }
  state_->claiming = true;
  Emit(state_->out, effect::Claim{std::move(requests)});
}

void BatchPlan::MaybeReadProgress(Time now) {
  if (state_->claiming || state_->progress_read != State::ProgressRead::kNone || state_->poll_at ||
      !state_->tasks.empty() || state_->queued_total > 0 || !state_->fetching.empty() ||
      !state_->committing.empty() || HasClaimCandidates(now)) {
    return;
  }
  state_->progress_read = State::ProgressRead::kPoll;
  Emit(state_->out, effect::ReadProgress{});
}

void BatchPlan::MaybeFinish() {
  if (!state_->live_workers.empty() || !state_->fetching.empty() || !state_->committing.empty() ||
      state_->claiming || !state_->tasks.empty() || state_->queued_total > 0 ||
      state_->progress_read != State::ProgressRead::kNone) {
    return;
  }
  if (!state_->final_read_done) {
    state_->progress_read = State::ProgressRead::kFinal;
    Emit(state_->out, effect::ReadProgress{});
    return;
  }
  if (!summary_.halt_reason.empty()) {
    summary_.outcome = RunSummary::Outcome::kHalted;
  } else if (summary_.signal != 0) {
    summary_.outcome = RunSummary::Outcome::kInterrupted;
  } else if (summary_.progress.dead > 0) {
    summary_.outcome = RunSummary::Outcome::kDeadPages;
  } else {
    summary_.outcome = RunSummary::Outcome::kDone;
  }
  phase_ = Phase::kFinished;
  Emit(state_->out, effect::Finish{});
}

void BatchPlan::ArmTimer(Time now) {
  Time next = state_->renew_at;
  if (state_->poll_at) next = std::min(next, *state_->poll_at);
  if (phase_ == Phase::kDraining && state_->drain_deadline && !state_->fetching.empty()) {
    next = std::min(next, *state_->drain_deadline);
  }
  if (phase_ == Phase::kRunning && !state_->parked.empty() && state_->latest_pause > now) {
    for (const auto& report : state_->reports) {
      const Time until = state_->sites[static_cast<std::size_t>(report.site)].paused_until;
      // Queued pages become sendable, or released ones claimable, when the pause ends.
      if ((!report.queued.empty() || !report.exhausted) && until > now) {
        next = std::min(next, until);
      }
    }
  }
  if (state_->armed && *state_->armed == next) return;
  state_->armed = next;
  Emit(state_->out, effect::ArmTimer{next});
}

Effects BatchPlan::Pump(Time now) {
  if (phase_ == Phase::kFinished) {
    Effects out = std::move(state_->out);
    state_->out.clear();
    return out;
  }
  if (phase_ == Phase::kRunning) {
    Dispatch(now);
    MaybeClaim(now);
    MaybeReadProgress(now);
  } else {
    for (int worker : state_->parked) Emit(state_->out, effect::Dismiss{worker});
    state_->parked.clear();
    MaybeFinish();
  }
  if (phase_ != Phase::kFinished) ArmTimer(now);
  Effects out = std::move(state_->out);
  state_->out.clear();
  return out;
}

}  // namespace batchfetch
