#include "coordinator/coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <utility>

namespace batchfetch {

namespace asio = boost::asio;
using boost::system::error_code;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

namespace {

constexpr int64_t kMailboxWarnDepth = 500;
constexpr std::size_t kLatencySampleCap = 200000;

int ClaimTarget(const RunOptions& o) {
  // One page at a time at concurrency 1 keeps the rollback exactly sequential (each
  // day's next page is claimed before the following day); otherwise enough to keep
  // every worker busy while the next claim round-trips, never more than queue_limit.
  if (o.max_concurrency <= 1) return 1;
  return std::max(1, std::min(o.queue_limit, 4 * o.max_concurrency + 8));
}

std::pair<std::string, int64_t> KeyOf(const Lease& lease) {
  return {lease.key.date, lease.key.start_row};
}

std::string PageName(const Lease& lease) {
  return lease.key.date + ":" + std::to_string(lease.key.start_row);
}

}  // namespace

int ExitCode(const RunSummary& summary) {
  switch (summary.outcome) {
    case RunSummary::Outcome::kDone:
      return 0;
    case RunSummary::Outcome::kDeadPages:
      return 2;
    case RunSummary::Outcome::kHalted:
      return 3;
    case RunSummary::Outcome::kInterrupted:
      return 128 + summary.signal;
  }
  return 3;
}

Coordinator::Coordinator(asio::any_io_executor ex, LedgerWriter& writer, HttpClient& http,
                         RateLimiter& limiter, WorkerConfig worker_config, RunOptions options,
                         RunObserver* observer)
    : ex_(ex),
      writer_(writer),
      http_(http),
      limiter_(limiter),
      worker_config_(std::move(worker_config)),
      options_(std::move(options)),
      observer_(observer ? observer : &null_observer_),
      retry_policy_(options_.retry_base, options_.retry_cap),
      claim_target_(ClaimTarget(options_)),
      mailbox_(ex, 1 << 16),
      ready_(ex, static_cast<std::size_t>(claim_target_ + options_.max_concurrency + 1)),
      slots_(ex, static_cast<std::size_t>(std::max(1, options_.inflight_limit))),
      worker_signals_(static_cast<std::size_t>(std::max(1, options_.max_concurrency))),
      tick_timer_(ex),
      halt_timer_(ex) {}

Coordinator::~Coordinator() = default;

asio::awaitable<RunSummary> Coordinator::Run() {
  started_ = std::chrono::steady_clock::now();
  const int n = std::max(1, options_.max_concurrency);
  for (int i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, *this, http_, limiter_, worker_config_));
    ++live_workers_;
    asio::co_spawn(
        ex_, workers_.back()->Run(),
        asio::bind_cancellation_slot(worker_signals_[static_cast<std::size_t>(i)].slot(),
                                     [this, i](std::exception_ptr e) {
                                       if (e) {
                                         try {
                                           std::rethrow_exception(e);
                                         } catch (const std::exception& ex) {
                                           Halt(std::string("worker crashed: ") + ex.what());
                                         }
                                       }
                                       Send(WorkerExited{i});
                                     }));
  }
  asio::co_spawn(ex_, RenewLoop(),
                 asio::bind_cancellation_slot(renew_signal_.slot(), [](std::exception_ptr e) {
                   if (e) spdlog::error("lease renewal loop failed");
                 }));
  if (observer_ != &null_observer_) {
    asio::co_spawn(ex_, GaugeLoop(),
                   asio::bind_cancellation_slot(gauge_signal_.slot(), [](std::exception_ptr e) {
                     if (e) spdlog::error("gauge loop failed");
                   }));
  }
  MaybeClaim();

  bool asked_final = false;
  while (true) {
    if (Done()) {
      if (finished_ || asked_final) break;
      // Stopped or halted: read the ledger once more for the summary.
      asked_final = true;
      final_progress_ = true;
      OnWriter([job_id = worker_config_.job->id](Ledger& ledger) -> Message {
        Progressed p;
        p.status = ledger.Progress(job_id, &p.progress);
        return p;
      });
    }
    auto [ec, message] = co_await mailbox_.async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    --mailbox_depth_;
    std::visit([this](auto& m) { Handle(m); }, message);
  }
  renew_signal_.emit(asio::cancellation_type::terminal);
  gauge_signal_.emit(asio::cancellation_type::terminal);
  tick_timer_.cancel();
  halt_timer_.cancel();

  summary_.elapsed = std::chrono::steady_clock::now() - started_;
  summary_.requests = limiter_.total_grants();
  last_progress_ = summary_.progress;
  ReportGauges();
  observer_->OnFinished();
  if (halted_) {
    summary_.outcome = RunSummary::Outcome::kHalted;
  } else if (summary_.signal != 0) {
    summary_.outcome = RunSummary::Outcome::kInterrupted;
  } else if (summary_.progress.dead > 0) {
    summary_.outcome = RunSummary::Outcome::kDeadPages;
  } else {
    summary_.outcome = RunSummary::Outcome::kDone;
  }
  co_return summary_;
}

bool Coordinator::Done() const {
  return live_workers_ == 0 && committing_ == 0 && writer_tasks_ == 0 && !claiming_ &&
         !snapshot_pending_ && outstanding_.empty() && (finished_ || stopping_);
}

void Coordinator::Send(Message message) {
  ++mailbox_depth_;
  if (mailbox_depth_ > summary_.max_mailbox_depth) {
    summary_.max_mailbox_depth = mailbox_depth_;
    if (mailbox_depth_ == kMailboxWarnDepth + 1) {
      spdlog::warn("coordinator mailbox holds {} messages: the coordinator is falling behind",
                   mailbox_depth_);
    }
  }
  // try_send leaves message untouched when the mailbox is full (only with a huge
  // --queue-limit): then wait for room rather than lose the message.
  if (!mailbox_.try_send(error_code{}, std::move(message))) {
    asio::co_spawn(
        ex_,
        [this, m = std::move(message)]() mutable -> asio::awaitable<void> {
          co_await mailbox_.async_send(error_code{}, std::move(m), asio::use_awaitable);
        },
        [](std::exception_ptr e) {
          if (e) spdlog::error("coordinator mailbox: a message could not be delivered");
        });
  }
}

template <typename Task>
void Coordinator::OnWriter(Task task) {
  ++writer_tasks_;
  writer_.Post([this, task = std::move(task)](Ledger& ledger) mutable {
    Message m = task(ledger);
    asio::post(ex_, [this, m = std::move(m)]() mutable { Send(std::move(m)); });
  });
}

void Coordinator::RequestStop(int signal) {
  asio::post(ex_, [this, signal] { Send(StopRequested{signal}); });
}

void Coordinator::RequestHalt(std::string reason) {
  asio::post(ex_, [this, reason = std::move(reason)] { Send(HaltRequested{reason}); });
}

void Coordinator::Handle(HaltRequested& m) { Halt(m.reason); }

// ---- WorkerHost -------------------------------------------------------------------------

asio::awaitable<std::optional<Lease>> Coordinator::NextBatch(int /*worker*/) {
  auto [ec, lease] = co_await ready_.async_receive(asio::as_tuple(asio::use_awaitable));
  if (ec) co_return std::nullopt;
  --queued_;
  ++fetching_;
  if (auto it = outstanding_.find(KeyOf(lease)); it != outstanding_.end()) {
    it->second.taken = true;
    observer_->OnQueueWait(std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - it->second.enqueued));
  }
  co_return lease;
}

asio::awaitable<void> Coordinator::Submit(int /*worker*/, FetchedPage page,
                                          const RequestInfo& info) {
  RecordRequest(page.lease, "ok", info);
  quota_strikes_ = 0;
  reached_server_ = true;
  // Backpressure: wait while inflight_limit pages wait for the writer. If the wait is
  // cancelled (halt), the page is still handed over: nothing fetched is lost.
  auto [ec] = co_await slots_.async_send(error_code{}, asio::as_tuple(asio::use_awaitable));
  const bool took_slot = !ec;
  Lease lease = page.lease;
  const std::size_t rows = page.rows.size();
  Forget(lease);
  --fetching_;
  ++committing_;
  const auto submitted = std::chrono::steady_clock::now();
  // The slot frees when the writer takes the page into a commit group, not when the
  // commit ends: inflight_limit bounds the pages *waiting* for the writer, and the next
  // group can fill while this one commits.
  std::function<void()> on_taken;
  if (took_slot) {
    on_taken = [this] { asio::post(ex_, [this] { slots_.try_receive([](error_code) {}); }); };
  }
  writer_.SubmitPage(
      std::move(page),
      [this, lease, rows, submitted](const Status& status, bool lease_held) {
        const auto persist_time = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - submitted);
        asio::post(ex_, [this, lease, rows, status, lease_held, persist_time] {
          Send(Committed{lease, status, lease_held, rows, persist_time});
        });
      },
      std::move(on_taken));
}

void Coordinator::Failed(int /*worker*/, const Lease& lease, const Classification& failure,
                         const RequestInfo& info) {
  RecordRequest(lease, ErrorKindName(failure.kind), info);
  if (!info.unreachable) {
    reached_server_ = true;
  } else if (!reached_server_ && ++unreachable_in_a_row_ >= options_.max_attempts) {
    // Not one request of this run has reached a server: a wrong --api-base or no
    // network, not a flaky page. Stop with one line instead of burning every page's
    // attempts; the pages stay pending for the next run.
    Halt("cannot reach the API at " + worker_config_.api_base + " (" + failure.reason +
         "); check --api-base and the network, then run the same command again");
    Send(PageReturned{lease});
    return;
  }
  Send(PageFailed{lease, failure});
}

void Coordinator::RecordRequest(const Lease& lease, std::string_view outcome,
                                const RequestInfo& info) {
  if (summary_.latency_ms.size() < kLatencySampleCap) {
    summary_.latency_ms.push_back(static_cast<double>(info.latency.count()) / 1000.0);
  }
  const int64_t in_window = limiter_.GrantsInWindow();
  summary_.peak_window_grants = std::max(summary_.peak_window_grants, in_window);
  observer_->OnRequest(lease.key, info.http_status, outcome, info.latency, info.limiter_wait,
                       in_window, limiter_.budget());
}

void Coordinator::Returned(int /*worker*/, const Lease& lease) { Send(PageReturned{lease}); }

// ---- messages ---------------------------------------------------------------------------

void Coordinator::Handle(Claimed& m) {
  claiming_ = false;
  --writer_tasks_;
  if (!m.status.ok()) {
    if (m.status.IsFatal()) {
      Halt("database: " + m.status.ToString());
    } else {
      spdlog::warn("claim failed, retrying: {}", m.status.ToString());
      ScheduleTick(options_.poll_interval);
    }
    return;
  }
  exhausted_ = m.leases.empty();
  for (Lease& lease : m.leases) {
    outstanding_.emplace(KeyOf(lease), Held{lease, std::chrono::steady_clock::now(), false});
    if (!stopping_) Enqueue(lease);
  }
  if (stopping_) {
    if (live_workers_ == 0) ReleaseOutstanding();
    return;
  }
  MaybeFinish();
}

void Coordinator::Handle(Committed& m) {
  --committing_;
  if (!m.status.ok()) {
    if (m.status.IsFatal()) {
      Halt("database: " + m.status.ToString());
    } else {
      // The page stays leased in the ledger; it is claimable again when its lease ends.
      spdlog::warn("commit of page {} failed: {}", PageName(m.lease), m.status.ToString());
    }
  } else {
    ++summary_.pages;
    summary_.rows += static_cast<int64_t>(m.rows);
    observer_->OnCommitted(m.lease.key, static_cast<int64_t>(m.rows), m.persist_time);
    quota_strikes_ = 0;
    if (!m.lease_held) {
      ++summary_.lost_leases;
      spdlog::warn(
          "page {}: lease was taken over before commit; rows upserted, state left "
          "to the new owner",
          PageName(m.lease));
    }
  }
  MaybeClaim();
  MaybeFinish();
}

void Coordinator::Handle(WriteDone& m) {
  --writer_tasks_;
  if (!m.status.ok()) {
    if (m.status.IsFatal()) {
      Halt(std::string("database: ") + m.status.ToString());
    } else {
      spdlog::warn("{} failed: {}", m.what, m.status.ToString());
    }
  }
  MaybeClaim();
  MaybeFinish();
}

void Coordinator::Handle(Progressed& m) {
  --writer_tasks_;
  checking_progress_ = false;
  if (final_progress_) {
    final_progress_ = false;
    if (m.status.ok()) summary_.progress = m.progress;
    return;
  }
  if (!m.status.ok()) {
    if (m.status.IsFatal()) {
      Halt("database: " + m.status.ToString());
    } else {
      ScheduleTick(options_.poll_interval);
    }
    return;
  }
  summary_.progress = m.progress;
  if (m.progress.finished()) {
    finished_ = true;
    StopWorkers();
    return;
  }
  // Pages wait for a retry time or are leased by another process: look again soon.
  ScheduleTick(options_.poll_interval);
}

void Coordinator::Handle(PageFailed& m) {
  --fetching_;
  const Classification& f = m.failure;
  switch (f.kind) {
    case ErrorKind::kQuota: {
      ++summary_.quota_errors;
      ++quota_strikes_;
      milliseconds delay = f.retry_after.value_or(std::min(
          options_.retry_cap, options_.retry_base * (1 << std::min(quota_strikes_ - 1, 16))));
      if (quota_strikes_ >= 3 && limiter_.GrantsInWindow() * 2 < limiter_.budget()) {
        // Quota errors at low traffic: the API's load quota. Its cure is to wait.
        delay = std::max(delay, options_.quota_cooldown);
        const auto resume =
            duration_cast<std::chrono::seconds>((WallClock::now() + delay).time_since_epoch());
        spdlog::warn(
            "repeated quota errors at low traffic (the API's load quota): cooling "
            "down {} s, resuming at unix time {}",
            duration_cast<std::chrono::seconds>(delay).count(), resume.count());
      } else {
        spdlog::warn("quota error on page {} ({}): pausing all requests for {} ms",
                     PageName(m.lease), f.reason, delay.count());
      }
      limiter_.PauseUntil(std::chrono::steady_clock::now() + delay);
      if (!stopping_) Enqueue(m.lease);
      break;
    }
    case ErrorKind::kTransient: {
      const int attempts = m.lease.attempts + 1;
      const bool dead = attempts >= options_.max_attempts;
      const milliseconds delay = retry_policy_.Delay(attempts, f.retry_after);
      if (dead) {
        ++summary_.dead;
        observer_->OnDead(m.lease.key);
        spdlog::error("page {} is dead after {} attempts: {}", PageName(m.lease), attempts,
                      f.reason);
      } else {
        ++summary_.retries;
        observer_->OnRetry(m.lease.key);
        spdlog::warn("page {} attempt {} failed ({}); retrying in {} ms", PageName(m.lease),
                     attempts, f.reason, delay.count());
      }
      Forget(m.lease);
      OnWriter([lease = m.lease, reason = f.reason, max = options_.max_attempts,
                delay](Ledger& ledger) -> Message {
        const WallTime now = WallClock::now();
        bool held = false;
        Status s = ledger.FailPage(lease, reason, false, max, now + delay, now, &held);
        return WriteDone{s, "recording a failed attempt"};
      });
      break;
    }
    case ErrorKind::kUnauthorized:
      Halt("authentication failed after a token refresh (HTTP 401): " + f.reason);
      break;
    case ErrorKind::kFatal:
    case ErrorKind::kNone:
      Halt(f.reason);
      break;
  }
  MaybeClaim();
  MaybeFinish();
}

void Coordinator::Handle(PageReturned& m) {
  --fetching_;
  if (!stopping_) {
    Enqueue(m.lease);
    return;
  }
  if (fetching_ == 0) StopWorkers();
}

void Coordinator::Handle(WorkerExited& /*m*/) {
  --live_workers_;
  if (live_workers_ == 0) ReleaseOutstanding();
}

void Coordinator::Handle(StopRequested& m) {
  if (!stopping_) {
    summary_.signal = m.signal;
    stopping_ = true;
    spdlog::warn(
        "signal {}: stopping; in-flight requests get {} ms to finish (signal again to "
        "stop at once)",
        m.signal, options_.halt_timeout.count());
    if (fetching_ == 0) {
      StopWorkers();
      return;
    }
    halt_timer_.expires_after(options_.halt_timeout);
    halt_timer_.async_wait([this](error_code ec) {
      if (!ec) {
        spdlog::warn("halt timeout reached: cancelling in-flight requests");
        StopWorkers();
      }
    });
    return;
  }
  spdlog::warn("second signal: stopping at once");
  StopWorkers();
}

void Coordinator::Handle(Tick& /*m*/) {
  tick_armed_ = false;
  exhausted_ = false;
  MaybeClaim();
}

// ---- decisions --------------------------------------------------------------------------

void Coordinator::MaybeClaim() {
  if (stopping_ || claiming_ || finished_) return;
  const int have = static_cast<int>(outstanding_.size());
  if (have > (claim_target_ - 1) / 2) return;
  const int want = claim_target_ - have;
  claiming_ = true;
  OnWriter([job_id = worker_config_.job->id, owner = options_.worker_id, want,
            lease = options_.lease](Ledger& ledger) -> Message {
    Claimed c;
    c.status = ledger.Claim(job_id, owner, want, lease, WallClock::now(), &c.leases);
    return c;
  });
}

void Coordinator::MaybeFinish() {
  if (stopping_ || finished_ || !exhausted_ || claiming_ || checking_progress_) return;
  if (!outstanding_.empty() || committing_ > 0 || fetching_ > 0) return;
  checking_progress_ = true;
  OnWriter([job_id = worker_config_.job->id](Ledger& ledger) -> Message {
    Progressed p;
    p.status = ledger.Progress(job_id, &p.progress);
    return p;
  });
}

void Coordinator::Halt(std::string reason) {
  if (halted_) return;
  halted_ = true;
  stopping_ = true;
  summary_.halt_reason = std::move(reason);
  spdlog::error("halting: {}", summary_.halt_reason);
  observer_->OnHalt(summary_.halt_reason);
  if (on_halt_) on_halt_(summary_.halt_reason);
  limiter_.Close();
  StopWorkers();
}

void Coordinator::StopWorkers() {
  stopping_ = true;
  cancelled_ = true;
  halt_timer_.cancel();
  for (auto& signal : worker_signals_) signal.emit(asio::cancellation_type::terminal);
}

void Coordinator::ReleaseOutstanding() {
  if (outstanding_.empty()) return;
  std::vector<Lease> leases;
  leases.reserve(outstanding_.size());
  for (auto& [key, held] : outstanding_) leases.push_back(held.lease);
  outstanding_.clear();
  OnWriter([leases = std::move(leases)](Ledger& ledger) -> Message {
    return WriteDone{ledger.Release(leases, WallClock::now()), "releasing leases"};
  });
}

void Coordinator::Forget(const Lease& lease) { outstanding_.erase(KeyOf(lease)); }

void Coordinator::Enqueue(const Lease& lease) {
  if (auto it = outstanding_.find(KeyOf(lease)); it != outstanding_.end()) {
    it->second.enqueued = std::chrono::steady_clock::now();
    it->second.taken = false;
  }
  ready_.try_send(error_code{}, lease);
  ++queued_;
}

void Coordinator::Handle(Snapshot& m) {
  --writer_tasks_;
  snapshot_pending_ = false;
  if (m.status.ok()) last_progress_ = m.progress;
  ReportGauges();
}

void Coordinator::ReportGauges() {
  EngineGauges g;
  g.queued = queued_;
  g.fetching = fetching_;
  g.committing = committing_;
  g.writer_backlog = static_cast<int64_t>(writer_.backlog());
  g.mailbox_depth = mailbox_depth_;
  g.max_mailbox_depth = summary_.max_mailbox_depth;
  g.grants_in_window = limiter_.GrantsInWindow();
  g.budget = limiter_.budget();
  g.window_seconds = std::chrono::duration<double>(limiter_.window()).count();
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [key, held] : outstanding_) {
    if (held.taken) continue;
    g.oldest_pending_age_s = std::max(g.oldest_pending_age_s,
                                      std::chrono::duration<double>(now - held.enqueued).count());
  }
  g.progress = last_progress_;
  observer_->OnGauges(g);
}

asio::awaitable<void> Coordinator::GaugeLoop() {
  asio::steady_timer timer(ex_);
  while (true) {
    timer.expires_after(milliseconds(500));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    if (snapshot_pending_ || stopping_) {
      ReportGauges();
      continue;
    }
    snapshot_pending_ = true;
    OnWriter([job_id = worker_config_.job->id](Ledger& ledger) -> Message {
      Snapshot snap;
      snap.status = ledger.Progress(job_id, &snap.progress);
      return snap;
    });
  }
}

void Coordinator::ScheduleTick(milliseconds after) {
  if (tick_armed_) return;
  tick_armed_ = true;
  tick_timer_.expires_after(after);
  tick_timer_.async_wait([this](error_code ec) {
    if (!ec) Send(Tick{});
  });
}

asio::awaitable<void> Coordinator::RenewLoop() {
  asio::steady_timer timer(ex_);
  const auto period = std::max(milliseconds(10), options_.lease / 3);
  while (true) {
    timer.expires_after(period);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    if (outstanding_.empty() || stopping_) continue;
    std::vector<Lease> leases;
    for (auto& [key, held] : outstanding_) leases.push_back(held.lease);
    OnWriter([leases = std::move(leases), lease = options_.lease](Ledger& ledger) -> Message {
      return WriteDone{ledger.Renew(leases, WallClock::now() + lease), "renewing leases"};
    });
  }
}

}  // namespace batchfetch
