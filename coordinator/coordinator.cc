#include "coordinator/coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <map>
#include <random>
#include <set>
#include <unordered_map>
#include <utility>

#include "coordinator/batch_plan.h"
#include "coordinator/detail/messages.h"

namespace batchfetch {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace detail;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {
constexpr std::size_t kLatencySampleCap = 200000;
constexpr auto kGaugePeriod = std::chrono::milliseconds(500);
template <typename T>
using Channel = asio::experimental::channel<void(error_code, T)>;
std::vector<PlanReport> PlanReports(const std::vector<ReportRun>& runs) {
  std::vector<PlanReport> out;
  for (const ReportRun& r : runs) out.push_back({r.report->id, r.report->spec.site});
  return out;
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

// The actor: one coroutine (Run) owns the plan; everything else sends it messages.
class Coordinator::Actor final : public WorkerHost {
 public:
  Actor(asio::any_io_executor ex, LedgerWriter& writer, HttpTransport& http,
        std::vector<ReportRun> reports, WorkerConfig config, RunOptions options,
        RunObserver* observer)
      : ex_(ex),
        writer_(writer),
        options_(options),
        observer_(observer),
        plan_(options, PlanReports(reports), std::random_device{}()),
        mailbox_(ex, plan_.MailboxBound() + 8),
        slots_(ex, std::max(1, options.inflight_limit)),
        timer_(ex),
        gauge_timer_(ex),
        stop_gate_(ex, SteadyTime::max()) {
    for (ReportRun& r : reports) {
      report_ids_.push_back(r.report->id);
      runs_.emplace(r.report->id, r);
      limiters_.insert(r.limiter);
    }
    for (int i = 0; i < std::max(1, options.max_concurrency); ++i) {
      workers_.push_back(std::make_unique<Worker>(i, *this, http, config));
      replies_.push_back(std::make_unique<Channel<std::optional<Assignment>>>(ex, 1));
      signals_.push_back(std::make_unique<asio::cancellation_signal>());
    }
  }

  asio::awaitable<RunSummary> Run() {
    const SteadyTime started = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      const int id = static_cast<int>(i);
      asio::co_spawn(
          ex_, workers_[i]->Run(),
          asio::bind_cancellation_slot(signals_[i]->slot(), [this, id](std::exception_ptr e) {
            if (e) {
              std::string what = "unknown exception";
              try {
                std::rethrow_exception(e);
              } catch (const std::exception& x) {
                what = x.what();
              } catch (...) {
              }
              spdlog::error("worker {} crashed: {}", id, what);
              Send(HaltMsg{"worker crashed: " + what});
            }
            Send(ExitedMsg{id});
          }));
    }
    Execute(plan_.Start(std::chrono::steady_clock::now()));
    if (observer_) ArmGauges();
    while (!finished_ || gauge_reads_ > 0) {
      auto [ec, message] = co_await mailbox_.async_receive(asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      --depth_;
      Execute(std::visit([this](auto& m) { return Handle(m); }, message));
    }
    timer_.cancel();
    gauge_timer_.cancel();
    RunSummary summary = plan_.summary();
    summary.elapsed = std::chrono::steady_clock::now() - started;
    summary.requests = 0;
    for (RateLimiter* l : limiters_) summary.requests += l->total_grants();
    summary.latency_ms = std::move(latency_ms_);
    summary.peak_window_grants = peak_window_;
    summary.max_mailbox_depth = max_depth_;
    if (observer_) {
      last_progress_ = summary.progress;
      ReportGauges();
      observer_->OnFinished();
    }
    co_return summary;
  }

  void Send(Message m) {
    max_depth_ = std::max(max_depth_, ++depth_);
    // The mailbox holds MailboxBound messages: every sender is counted there.
    if (!mailbox_.try_send(error_code{}, std::move(m))) {
      spdlog::critical("coordinator mailbox full ({} messages): a message was lost", depth_--);
    }
  }
  void ExternalStop(int signal) {
    if (stops_ < 2 && !finished_) ++stops_, Send(StopMsg{signal});
  }
  void ExternalHalt(std::string reason) {
    if (!halt_sent_ && !finished_) halt_sent_ = true, Send(HaltMsg{std::move(reason)});
  }

  // ---- WorkerHost ----
  asio::awaitable<std::optional<Assignment>> Idle(int worker) override {
    Send(IdleMsg{worker});
    auto [ec, page] = co_await replies_[static_cast<std::size_t>(worker)]->async_receive(
        asio::as_tuple(asio::use_awaitable));
    if (ec) co_return std::nullopt;
    co_return page;
  }
  bool Stopping() const override { return stopping_; }
  bool Halted() const override { return halted_; }
  asio::awaitable<void> UntilStopping() override {
    if (!stopping_) co_await stop_gate_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  asio::awaitable<void> Submit(int worker, FetchedPage page, const RequestInfo& info) override {
    RecordRequest(page.lease.key, "ok", info);
    Send(FetchedMsg{worker, page.lease});
    // Backpressure: at most inflight_limit pages wait for the writer. A cancelled wait
    // (halt) still hands the page over: nothing fetched is lost.
    auto [ec] = co_await slots_.async_send(error_code{}, asio::as_tuple(asio::use_awaitable));
    std::function<void()> on_taken;
    if (!ec)
      on_taken = [this] { asio::post(ex_, [this] { slots_.try_receive([](error_code) {}); }); };
    const Lease lease = page.lease;
    const auto rows = static_cast<int64_t>(page.rows.size());
    const SteadyTime submitted = std::chrono::steady_clock::now();
    writer_.SubmitPage(
        std::move(page),
        [this, lease, rows, submitted](const Status& status, bool held) {
          const auto persist = std::chrono::duration_cast<std::chrono::microseconds>(
              std::chrono::steady_clock::now() - submitted);
          asio::post(ex_, [this, lease, rows, status, held, persist] {
            Send(CommittedMsg{lease, status, held, rows, persist});
          });
        },
        std::move(on_taken));
  }
  void Failed(int worker, const Assignment& page, const Classification& failure,
              const RequestInfo& info) override {
    RecordRequest(page.lease.key, ErrorKindName(failure.kind), info);
    Send(FailedMsg{worker, page.lease, failure, info.unreachable, page.limiter->GrantsInWindow(),
                   page.limiter->budget()});
  }
  void Returned(int worker, const Lease& lease) override { Send(ReturnedMsg{worker, lease}); }

 private:
  SteadyTime Now() const { return std::chrono::steady_clock::now(); }
  RateLimiter* LimiterOf(const std::string& report_id) { return runs_.at(report_id).limiter; }

  // ---- messages → plan inputs ----
  Effects Handle(IdleMsg& m) { return plan_.Idle(m.worker, Now()); }
  Effects Handle(FetchedMsg& m) {
    --fetching_, ++committing_;
    return plan_.Fetched(m.worker, m.lease, Now());
  }
  Effects Handle(FailedMsg& m) {
    --fetching_;
    return plan_.Failed(m.worker, m.lease, m.failure, m.unreachable, m.grants_in_window, m.budget,
                        Now());
  }
  Effects Handle(ReturnedMsg& m) {
    --fetching_;
    return plan_.Returned(m.worker, m.lease, Now());
  }
  Effects Handle(CommittedMsg& m) {
    --committing_;
    if (m.status.ok() && observer_) observer_->OnCommitted(m.lease.key, m.rows, m.persist_time);
    return plan_.Committed(m.lease, m.status, m.lease_held, m.rows, Now());
  }
  Effects Handle(ClaimedMsg& m) {
    for (const Lease& l : m.leases) claimed_at_[l.key] = Now();
    return plan_.Claimed(m.status, std::move(m.leases), Now());
  }
  Effects Handle(WriteDoneMsg& m) { return plan_.WriteDone(m.status, Now()); }
  Effects Handle(ProgressedMsg& m) {
    if (!m.for_gauges) return plan_.Progressed(m.status, m.progress, Now());
    --gauge_reads_;
    if (m.status.ok()) last_progress_ = m.progress;
    ReportGauges();
    return {};
  }
  Effects Handle(StopMsg& m) { return plan_.Stop(m.signal, Now()); }
  Effects Handle(HaltMsg& m) { return plan_.Halt(m.reason, Now()); }
  Effects Handle(TickMsg&) { return plan_.Tick(Now()); }
  Effects Handle(ExitedMsg& m) { return plan_.WorkerExited(m.worker, Now()); }
  Effects Handle(GaugeTickMsg&) {
    if (!finished_ && gauge_reads_ == 0) {
      ++gauge_reads_;
      OnWriter([ids = report_ids_](Ledger& l) -> Message {
        ProgressedMsg p;
        p.for_gauges = true;
        p.status = l.Progress(ids, &p.progress);
        return p;
      });
    }
    if (!finished_) ArmGauges();
    return {};
  }

  // ---- effects ----
  void Execute(Effects effects) {
    for (Effect& e : effects) std::visit([this](auto& x) { Do(x); }, e);
    const BatchPlan::Phase phase = plan_.phase();
    const bool stopping =
        phase == BatchPlan::Phase::kDraining || phase == BatchPlan::Phase::kHalted;
    halted_ = halted_ || phase == BatchPlan::Phase::kHalted;
    if (stopping && !stopping_) stop_gate_.cancel();  // wakes every UntilStopping
    stopping_ = stopping_ || stopping;
  }
  template <typename Task>
  void OnWriter(Task task) {
    writer_.Post([this, task = std::move(task)](Ledger& ledger) mutable {
      asio::post(ex_, [this, m = task(ledger)]() mutable { Send(std::move(m)); });
    });
  }
  void Do(effect::Claim& e) {
    OnWriter([reqs = std::move(e.requests), owner = options_.worker_id,
              lease = options_.lease](Ledger& l) -> Message {
      ClaimedMsg m;
      m.status = l.Claim(reqs, owner, lease, WallClock::now(), &m.leases);
      return m;
    });
  }
  void Do(effect::Assign& e) {
    if (auto it = claimed_at_.find(e.lease.key); it != claimed_at_.end()) {
      if (observer_)
        observer_->OnQueueWait(
            std::chrono::duration_cast<std::chrono::microseconds>(Now() - it->second));
      claimed_at_.erase(it);
    }
    ++fetching_;
    const ReportRun& run = runs_.at(e.lease.key.report_id);
    replies_[static_cast<std::size_t>(e.worker)]->try_send(
        error_code{}, Assignment{e.lease, run.report, run.limiter});
  }
  void Do(effect::Dismiss& e) {
    replies_[static_cast<std::size_t>(e.worker)]->try_send(error_code{}, std::nullopt);
  }
  void Do(effect::RecordFailure& e) {
    if (observer_) {
      if (e.lease.attempts + 1 >= options_.max_attempts)
        observer_->OnDead(e.lease.key);
      else
        observer_->OnRetry(e.lease.key);
    }
    OnWriter([e, max = options_.max_attempts](Ledger& l) -> Message {
      const WallTime now = WallClock::now();
      bool held = false;
      return WriteDoneMsg{l.FailPage(e.lease, e.error, e.final, max, now + e.retry_in, now, &held)};
    });
  }
  void Do(effect::Release& e) {
    for (const Lease& l : e.leases) claimed_at_.erase(l.key);
    OnWriter([leases = std::move(e.leases)](Ledger& l) -> Message {
      return WriteDoneMsg{l.Release(leases, WallClock::now())};
    });
  }
  void Do(effect::Renew& e) {
    OnWriter([leases = std::move(e.leases), lease = options_.lease](Ledger& l) -> Message {
      return WriteDoneMsg{l.Renew(leases, WallClock::now() + lease)};
    });
  }
  void Do(effect::PauseQuota& e) { LimiterOf(e.report_id)->PauseUntil(e.until); }
  void Do(effect::CloseLimiters&) {
    for (RateLimiter* l : limiters_) l->Close();
  }
  void Do(effect::CancelWorkers&) {
    for (auto& s : signals_) s->emit(asio::cancellation_type::terminal);
  }
  void Do(effect::ArmTimer& e) {
    timer_.expires_at(e.at);
    timer_.async_wait([this](error_code ec) {
      if (!ec) Send(TickMsg{});
    });
  }
  void Do(effect::ReadProgress&) {
    OnWriter([ids = report_ids_](Ledger& l) -> Message {
      ProgressedMsg p;
      p.status = l.Progress(ids, &p.progress);
      return p;
    });
  }
  void Do(effect::Log& e) {
    std::string line = e.message;
    if (e.resume_in) line += ", resuming at " + LocalIsoTimeAfter(*e.resume_in);
    if (e.level == effect::Log::Level::kError) {
      spdlog::error("{}", line);
      if (observer_ && line.rfind("halting: ", 0) == 0)
        observer_->OnHalt(plan_.summary().halt_reason);
    } else if (e.level == effect::Log::Level::kWarn) {
      spdlog::warn("{}", line);
    } else {
      spdlog::info("{}", line);
    }
  }
  void Do(effect::Finish&) { finished_ = true; }

  // ---- observation ----
  void RecordRequest(const PageKey& key, std::string_view outcome, const RequestInfo& info) {
    if (latency_ms_.size() < kLatencySampleCap)
      latency_ms_.push_back(static_cast<double>(info.latency.count()) / 1000.0);
    RateLimiter* limiter = LimiterOf(key.report_id);
    const int64_t in_window = limiter->GrantsInWindow();
    peak_window_ = std::max(peak_window_, in_window);
    if (observer_)
      observer_->OnRequest(key, info.http_status, outcome, info.latency, info.limiter_wait,
                           in_window, limiter->budget());
  }
  void ArmGauges() {
    gauge_timer_.expires_after(kGaugePeriod);
    gauge_timer_.async_wait([this](error_code ec) {
      if (!ec) Send(GaugeTickMsg{});
    });
  }
  void ReportGauges() {
    EngineGauges g;
    g.queued = static_cast<int64_t>(claimed_at_.size());
    g.fetching = fetching_;
    g.committing = committing_;
    g.writer_backlog = static_cast<int64_t>(writer_.backlog());
    g.mailbox_depth = depth_;
    g.max_mailbox_depth = max_depth_;
    RateLimiter* first = *limiters_.begin();
    for (RateLimiter* l : limiters_)
      g.grants_in_window = std::max(g.grants_in_window, l->GrantsInWindow());
    g.budget = first->budget();
    g.window_seconds = std::chrono::duration<double>(first->window()).count();
    for (const auto& [key, at] : claimed_at_)
      g.oldest_pending_age_s =
          std::max(g.oldest_pending_age_s, std::chrono::duration<double>(Now() - at).count());
    g.progress = last_progress_;
    observer_->OnGauges(g);
  }

  asio::any_io_executor ex_;
  LedgerWriter& writer_;
  RunOptions options_;
  RunObserver* observer_;  // nullable
  BatchPlan plan_;
  Channel<Message> mailbox_;
  asio::experimental::channel<void(error_code)> slots_;  // in-flight backpressure
  asio::steady_timer timer_, gauge_timer_, stop_gate_;
  std::vector<std::string> report_ids_;
  std::unordered_map<std::string, ReportRun> runs_;
  std::set<RateLimiter*> limiters_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<Channel<std::optional<Assignment>>>> replies_;
  std::vector<std::unique_ptr<asio::cancellation_signal>> signals_;
  std::map<PageKey, SteadyTime> claimed_at_;  // claimed, not yet assigned
  std::vector<double> latency_ms_;
  ReportProgress last_progress_;
  int64_t depth_ = 0, max_depth_ = 0, peak_window_ = 0, fetching_ = 0, committing_ = 0;
  int gauge_reads_ = 0, stops_ = 0;
  bool halt_sent_ = false, stopping_ = false, halted_ = false, finished_ = false;
};

Coordinator::Coordinator(asio::any_io_executor ex, LedgerWriter& writer, HttpTransport& http,
                         std::vector<ReportRun> reports, WorkerConfig worker_config,
                         RunOptions options, RunObserver* observer)
    : actor_(std::make_unique<Actor>(ex, writer, http, std::move(reports), std::move(worker_config),
                                     std::move(options), observer)),
      ex_(ex) {}

Coordinator::~Coordinator() = default;

asio::awaitable<RunSummary> Coordinator::Run() { return actor_->Run(); }

void Coordinator::RequestStop(int signal) {
  asio::post(ex_, [a = actor_.get(), signal] { a->ExternalStop(signal); });
}

void Coordinator::RequestHalt(std::string reason) {
  asio::post(ex_, [a = actor_.get(), reason = std::move(reason)]() mutable {
    a->ExternalHalt(std::move(reason));
  });
}

}  // namespace batchfetch
