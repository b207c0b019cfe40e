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
#include <random>
#include <set>
#include <unordered_map>
#include <utility>

#include "coordinator/batch_plan.h"
#include "coordinator/detail/messages.h"
#include "coordinator/detail/run_stats.h"

namespace batchfetch {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace detail;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {
constexpr auto kGaugePeriod = std::chrono::milliseconds(500);
template <typename T>
using Channel = asio::experimental::channel<void(error_code, T)>;
}  // namespace

// The actor: one coroutine (Run) owns the plan; everything else sends it messages.
class Coordinator::Actor final : public WorkerHost {
 public:
  Actor(asio::any_io_executor ex, LedgerWriter& writer, HttpTransport& http,
        std::vector<ReportRun> reports, WorkerConfig config, RunOptions options,
        RunObserver* observer)
      : ex_(ex),
        writer_(writer),
        options_(options),
        stats_(observer),
        plan_(options, PlanReportsOf(reports), std::random_device{}()),
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
            if (e) Send(HaltMsg{"worker " + std::to_string(id) + " crashed: " + WhatOf(e)});
            Send(ExitedMsg{id});
          }));
    }
    Execute(plan_.Start(std::chrono::steady_clock::now()));
    if (stats_.observer()) ArmGauges();
    while (!finished_ || gauge_reads_ > 0) {
      auto [ec, message] = co_await mailbox_.async_receive(asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      stats_.Mailbox(-1);
      Execute(std::visit([this](auto& m) { return Handle(m); }, message));
    }
    timer_.cancel();
    gauge_timer_.cancel();
    RunSummary summary = plan_.summary();
    summary.elapsed = std::chrono::steady_clock::now() - started;
    stats_.Fill(limiters_, &summary);
    if (stats_.observer()) {
      stats_.Progress(summary.progress);
      stats_.Gauges(limiters_, static_cast<int64_t>(writer_.backlog()), Now());
      stats_.observer()->OnFinished();
    }
    co_return summary;
  }

  void Send(Message m) {
    stats_.Mailbox(+1);
    // The mailbox holds MailboxBound messages: every sender is counted there.
    if (!mailbox_.try_send(error_code{}, std::move(m))) {
      stats_.Mailbox(-1);
      spdlog::critical("coordinator mailbox full: a message was lost");
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
    auto [ec, page] = co_await ReplyTo(worker).async_receive(asio::as_tuple(asio::use_awaitable));
    co_return ec ? std::nullopt : std::move(page);
  }
  bool Stopping() const override { return stopping_; }
  bool Halted() const override { return halted_; }
  asio::awaitable<void> UntilStopping() override {
    if (!stopping_) co_await stop_gate_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  asio::awaitable<void> Submit(int worker, FetchedPage page, const RequestInfo& info) override {
    stats_.Request(page.lease.key, "ok", info, *LimiterOf(page.lease.key.report_id));
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
    stats_.Request(page.lease.key, ErrorKindName(failure.kind), info, *page.limiter);
    Send(FailedMsg{worker, page.lease, failure, info.unreachable, page.limiter->GrantsInWindow(),
                   page.limiter->budget()});
  }
  void Returned(int worker, const Lease& lease) override { Send(ReturnedMsg{worker, lease}); }

 private:
  SteadyTime Now() const { return std::chrono::steady_clock::now(); }
  Channel<std::optional<Assignment>>& ReplyTo(int worker) {
    return *replies_[static_cast<std::size_t>(worker)];
  }
  RateLimiter* LimiterOf(const std::string& report_id) { return runs_.at(report_id).limiter; }

  // ---- messages → plan inputs ----
  Effects Handle(IdleMsg& m) { return plan_.Idle(m.worker, Now()); }
  Effects Handle(FetchedMsg& m) {
    stats_.FetchEnded(true);
    return plan_.Fetched(m.worker, m.lease, Now());
  }
  Effects Handle(FailedMsg& m) {
    stats_.FetchEnded(false);
    return plan_.Failed(m.worker, m.lease, m.failure, m.unreachable, m.grants_in_window, m.budget,
                        Now());
  }
  Effects Handle(ReturnedMsg& m) {
    stats_.FetchEnded(false);
    return plan_.Returned(m.worker, m.lease, Now());
  }
  Effects Handle(CommittedMsg& m) {
    stats_.Committed(m.lease.key, m.status.ok(), m.rows, m.persist_time);
    return plan_.Committed(m.lease, m.status, m.lease_held, m.rows, Now());
  }
  Effects Handle(ClaimedMsg& m) {
    for (const Lease& l : m.leases) stats_.Claimed(l.key, Now());
    return plan_.Claimed(m.status, std::move(m.leases), Now());
  }
  Effects Handle(WriteDoneMsg& m) { return plan_.WriteDone(m.status, Now()); }
  Effects Handle(ProgressedMsg& m) {
    if (!m.for_gauges) return plan_.Progressed(m.status, m.progress, Now());
    --gauge_reads_;
    if (m.status.ok()) stats_.Progress(m.progress);
    stats_.Gauges(limiters_, static_cast<int64_t>(writer_.backlog()), Now());
    return {};
  }
  Effects Handle(StopMsg& m) { return plan_.Stop(m.signal, Now()); }
  Effects Handle(HaltMsg& m) { return plan_.Halt(m.reason, Now()); }
  Effects Handle(TickMsg&) { return plan_.Tick(Now()); }
  Effects Handle(ExitedMsg& m) { return plan_.WorkerExited(m.worker, Now()); }
  Effects Handle(GaugeTickMsg&) {
    if (!finished_ && gauge_reads_ == 0) ++gauge_reads_, OnWriter(ProgressTask(report_ids_, true));
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
  void OnWriter(LedgerTask task) {
    writer_.Post([this, task = std::move(task)](Ledger& ledger) mutable {
      asio::post(ex_, [this, m = task(ledger)]() mutable { Send(std::move(m)); });
    });
  }
  void Do(effect::Claim& e) {
    OnWriter(ClaimTask(std::move(e.requests), options_.worker_id, options_.lease));
  }
  void Do(effect::Assign& e) {
    stats_.Assigned(e.lease.key, Now());
    const ReportRun& run = runs_.at(e.lease.key.report_id);
    ReplyTo(e.worker).try_send(error_code{}, Assignment{e.lease, run.report, run.limiter});
  }
  void Do(effect::Dismiss& e) { ReplyTo(e.worker).try_send(error_code{}, std::nullopt); }
  void Do(effect::RecordFailure& e) {
    stats_.FailureRecorded(e.lease, options_.max_attempts);
    OnWriter(FailTask(std::move(e), options_.max_attempts));
  }
  void Do(effect::Release& e) {
    for (const Lease& l : e.leases) stats_.Released(l.key);
    OnWriter(ReleaseTask(std::move(e.leases)));
  }
  void Do(effect::Renew& e) { OnWriter(RenewTask(std::move(e.leases), options_.lease)); }
  void Do(effect::PauseQuota& e) { LimiterOf(e.report_id)->PauseUntil(e.until); }
  void Do(effect::CloseLimiters&) {
    for (RateLimiter* l : limiters_) l->Close();
  }
  void Do(effect::AbandonLedger&) { writer_.Abandon(); }
  void Do(effect::CancelWorkers&) {
    for (auto& s : signals_) s->emit(asio::cancellation_type::terminal);
  }
  void Do(effect::ArmTimer& e) {
    timer_.expires_at(e.at);
    timer_.async_wait([this](error_code ec) {
      if (!ec) Send(TickMsg{});
    });
  }
  void Do(effect::ReadProgress&) { OnWriter(ProgressTask(report_ids_, false)); }
  void Do(effect::Log& e) {
    if (WriteLog(e)) stats_.Halted(plan_.summary().halt_reason);
  }
  void Do(effect::Finish&) { finished_ = true; }

  void ArmGauges() {
    gauge_timer_.expires_after(kGaugePeriod);
    gauge_timer_.async_wait([this](error_code ec) {
      if (!ec) Send(GaugeTickMsg{});
    });
  }
  asio::any_io_executor ex_;
  LedgerWriter& writer_;
  RunOptions options_;
  RunStats stats_;
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
