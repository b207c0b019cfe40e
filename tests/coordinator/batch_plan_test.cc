#include "coordinator/batch_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace batchfetch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Time = BatchPlan::Time;

constexpr int64_t kRowLimit = 25000;
constexpr uint64_t kSeed = 42;

// An in-memory ledger: pages by report in (date, start_row) order, claimed as the real
// one does. A page marked unclaimable waits for a retry time.
class FakeLedger {
 public:
  struct Page {
    enum class State { kPending, kLeased, kDone, kDead } state = State::kPending;
    int attempts = 0;
    std::string token;
    bool claimable = true;
  };

  void Add(const std::string& report, const std::string& date, int64_t start_row = 0) {
    pages_[PageKey{report, date, start_row}] = Page{};
  }
  Page& at(const PageKey& key) { return pages_.at(key); }

  std::vector<Lease> Claim(const std::vector<ClaimRequest>& requests) {
    std::vector<Lease> out;
    for (const ClaimRequest& request : requests) {
      int taken = 0;
      for (auto& [key, page] : pages_) {
        if (taken >= request.max) break;
        if (key.report_id != request.report_id || page.state != Page::State::kPending ||
            !page.claimable) {
          continue;
        }
        page.state = Page::State::kLeased;
        page.token = "t" + std::to_string(++tokens_);
        out.push_back(Lease{key, page.token, page.attempts});
        ++taken;
      }
    }
    return out;
  }

  // rows == kRowLimit inserts the next page, as CommitPages does.
  bool Commit(const Lease& lease, int64_t rows) {
    Page& page = pages_.at(lease.key);
    if (page.token != lease.token || page.state != Page::State::kLeased) return false;
    page.state = Page::State::kDone;
    if (rows == kRowLimit) Add(lease.key.report_id, lease.key.date, lease.key.start_row + rows);
    return true;
  }

  void Fail(const effect::RecordFailure& f, int max_attempts) {
    Page& page = pages_.at(f.lease.key);
    if (page.token != f.lease.token) return;
    ++page.attempts;
    page.state =
        page.attempts >= max_attempts || f.final ? Page::State::kDead : Page::State::kPending;
  }

  void Release(const std::vector<Lease>& leases) {
    for (const Lease& lease : leases) {
      Page& page = pages_.at(lease.key);
      if (page.token == lease.token && page.state == Page::State::kLeased) {
        page.state = Page::State::kPending;
      }
    }
  }

  ReportProgress Progress() const {
    ReportProgress p;
    for (const auto& [key, page] : pages_) {
      switch (page.state) {
        case Page::State::kPending:
          ++p.pending;
          break;
        case Page::State::kLeased:
          ++p.leased;
          break;
        case Page::State::kDone:
          ++p.done;
          break;
        case Page::State::kDead:
          ++p.dead;
          break;
      }
    }
    return p;
  }

 private:
  std::map<PageKey, Page> pages_;
  int tokens_ = 0;
};

// Drives a BatchPlan the way the actor shell does, answering ledger effects at once from
// a FakeLedger, and records every effect for the test to inspect.
class PlanTest : public ::testing::Test {
 protected:
  void Make(int workers, std::vector<PlanReport> reports) {
    options_.max_concurrency = workers;
    plan_ = std::make_unique<BatchPlan>(options_, std::move(reports), kSeed);
    Run(plan_->Start(now_));
  }

  static std::vector<PlanReport> Sites(int n, int reports_per_site = 1) {
    std::vector<PlanReport> out;
    for (int s = 0; s < n; ++s) {
      for (int r = 0; r < reports_per_site; ++r) {
        out.push_back({"r" + std::to_string(s) + "_" + std::to_string(r),
                       "sc-domain:site" + std::to_string(s) + ".example"});
      }
    }
    return out;
  }

  void Run(Effects effects) {
    std::deque<Effect> queue(effects.begin(), effects.end());
    while (!queue.empty()) {
      Effect e = std::move(queue.front());
      queue.pop_front();
      Effects more = Handle(e);
      queue.insert(queue.end(), more.begin(), more.end());
    }
  }

  Effects Handle(const Effect& e) {
    all_.push_back(e);
    if (std::holds_alternative<effect::AbandonLedger>(e)) {
      ledger_given_up_ = true;
      return {};
    }
    if (ledger_given_up_) return GivenUp(e);
    if (auto* c = std::get_if<effect::Claim>(&e)) {
      claims_.push_back(*c);
      return plan_->Claimed(Status::Ok(), ledger_.Claim(c->requests), now_);
    }
    if (auto* a = std::get_if<effect::Assign>(&e)) {
      assigned_[a->worker] = a->lease;
      order_.push_back(a->lease.key);
      return {};
    }
    if (auto* d = std::get_if<effect::Dismiss>(&e)) {
      dismissed_.insert(d->worker);
      return {};
    }
    if (auto* f = std::get_if<effect::RecordFailure>(&e)) {
      failures_.push_back(*f);
      ledger_.Fail(*f, options_.max_attempts);
      return plan_->WriteDone(Status::Ok(), now_);
    }
    if (auto* r = std::get_if<effect::Release>(&e)) {
      for (const Lease& lease : r->leases) released_.push_back(lease.key);
      ledger_.Release(r->leases);
      return plan_->WriteDone(Status::Ok(), now_);
    }
    if (auto* r = std::get_if<effect::Renew>(&e)) {
      renewals_.push_back(*r);
      return plan_->WriteDone(Status::Ok(), now_);
    }
    if (auto* p = std::get_if<effect::PauseQuota>(&e)) {
      pauses_.push_back(*p);
      return {};
    }
    if (std::holds_alternative<effect::CloseLimiters>(e)) {
      limiters_closed_ = true;
      return {};
    }
    if (std::holds_alternative<effect::CancelWorkers>(e)) {
      workers_cancelled_ = true;
      return {};
    }
    if (auto* t = std::get_if<effect::ArmTimer>(&e)) {
      timer_ = t->at;
      return {};
    }
    if (std::holds_alternative<effect::ReadProgress>(e)) {
      ++progress_reads_;
      return plan_->Progressed(Status::Ok(), ledger_.Progress(), now_);
    }
    if (auto* l = std::get_if<effect::Log>(&e)) {
      logs_.push_back(*l);
      return {};
    }
    if (std::holds_alternative<effect::Finish>(e)) {
      finished_ = true;
      finished_at_ = now_;
    }
    return {};
  }

  // What the writer answers once the ledger is given up: every ledger call fails at once.
  Effects GivenUp(const Effect& e) {
    const Status failed = Status::Error(Status::Code::kIoError, "given up");
    if (std::holds_alternative<effect::Claim>(e)) return plan_->Claimed(failed, {}, now_);
    if (std::holds_alternative<effect::RecordFailure>(e) ||
        std::holds_alternative<effect::Release>(e) || std::holds_alternative<effect::Renew>(e)) {
      ++given_up_writes_;
      return plan_->WriteDone(failed, now_);
    }
    if (std::holds_alternative<effect::ReadProgress>(e)) {
      ++given_up_writes_;
      return plan_->Progressed(failed, ReportProgress(), now_);
    }
    ledger_given_up_ = false;  // not a ledger call: handled as usual
    Effects more = Handle(e);
    ledger_given_up_ = true;
    all_.pop_back();  // Handle recorded it again
    return more;
  }

  // worker fetched its page with rows rows; the writer commits it; the worker asks again.
  void FetchAndCommit(int worker, int64_t rows = 10, bool idle_after = true) {
    const Lease lease = assigned_.at(worker);
    assigned_.erase(worker);
    Run(plan_->Fetched(worker, lease, now_));
    const bool held = ledger_.Commit(lease, rows);
    Run(plan_->Committed(lease, Status::Ok(), held, rows, now_));
    if (idle_after) Run(plan_->Idle(worker, now_));
  }

  void Fail(int worker, ErrorKind kind, bool unreachable = false,
            std::optional<milliseconds> retry_after = std::nullopt, int64_t grants = 0,
            int64_t budget = 960) {
    const Lease lease = assigned_.at(worker);
    assigned_.erase(worker);
    Classification failure;
    failure.kind = kind;
    failure.reason = "boom";
    failure.retry_after = retry_after;
    Run(plan_->Failed(worker, lease, failure, unreachable, grants, budget, now_));
  }

  void IdleAll() {
    for (int w = 0; w < options_.max_concurrency; ++w) {
      if (!assigned_.count(w) && !dismissed_.count(w)) Run(plan_->Idle(w, now_));
    }
  }

  void ExitDismissed() {
    for (int w : dismissed_) {
      if (exited_.insert(w).second) Run(plan_->WorkerExited(w, now_));
    }
  }

  void Advance(std::chrono::steady_clock::duration d) {
    now_ += d;
    Run(plan_->Tick(now_));
  }

  template <typename E>
  int Count() const {
    return static_cast<int>(std::count_if(
        all_.begin(), all_.end(), [](const Effect& e) { return std::holds_alternative<E>(e); }));
  }

  // Runs every worker until the plan finishes: each page is fetched and committed.
  void RunToEnd(int64_t rows = 10) {
    for (int round = 0; round < 10000 && !finished_; ++round) {
      IdleAll();
      if (assigned_.empty()) {
        ExitDismissed();
        if (finished_) break;
        Advance(options_.poll_interval);
        continue;
      }
      std::vector<int> busy;
      for (auto& [w, lease] : assigned_) busy.push_back(w);
      for (int w : busy) FetchAndCommit(w, rows, false);
    }
  }

  RunOptions options_;
  Time now_{seconds(1000)};
  FakeLedger ledger_;
  std::unique_ptr<BatchPlan> plan_;
  std::vector<Effect> all_;
  std::vector<effect::Claim> claims_;
  std::map<int, Lease> assigned_;
  std::vector<PageKey> order_;
  std::set<int> dismissed_;
  std::set<int> exited_;
  std::vector<effect::RecordFailure> failures_;
  std::vector<PageKey> released_;
  std::vector<effect::Renew> renewals_;
  std::vector<effect::PauseQuota> pauses_;
  std::vector<effect::Log> logs_;
  bool limiters_closed_ = false;
  bool workers_cancelled_ = false;
  std::optional<Time> timer_;
  int progress_reads_ = 0;
  bool ledger_given_up_ = false;
  int given_up_writes_ = 0;
  bool finished_ = false;
  Time finished_at_{};
};

TEST_F(PlanTest, SerialRunClaimsOnePageAtATimeInOrderAcrossThreeReports) {
  for (const char* r : {"b", "a", "c"}) {
    ledger_.Add(r, "2024-01-02");
    ledger_.Add(r, "2024-01-01");
  }
  Make(1, {{"b", "s1"}, {"a", "s2"}, {"c", "s3"}});
  Run(plan_->Idle(0, now_));
  std::vector<std::string> seen;
  for (int i = 0; i < 20 && !assigned_.empty(); ++i) {
    const Lease lease = assigned_.at(0);
    seen.push_back(lease.key.report_id + ":" + lease.key.date + ":" +
                   std::to_string(lease.key.start_row));
    // The first day of "a" fills its page: its next page comes before "a"'s next day.
    const bool full =
        lease.key.report_id == "a" && lease.key.date == "2024-01-01" && lease.key.start_row == 0;
    FetchAndCommit(0, full ? kRowLimit : 5);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"b:2024-01-01:0", "b:2024-01-02:0", "a:2024-01-01:0",
                                            "a:2024-01-01:25000", "a:2024-01-02:0",
                                            "c:2024-01-01:0", "c:2024-01-02:0"}));
  for (const effect::Claim& claim : claims_) {
    ASSERT_EQ(claim.requests.size(), 1u);
    EXPECT_EQ(claim.requests[0].max, 1);
  }
  ExitDismissed();
  EXPECT_TRUE(finished_);
  EXPECT_EQ(plan_->summary().outcome, RunSummary::Outcome::kDone);
  EXPECT_EQ(plan_->summary().pages, 7);
}

TEST_F(PlanTest, QuotaErrorPausesTheSiteAndRequeuesWithoutAnAttempt) {
  ledger_.Add("r", "2024-01-01");
  Make(2, {{"r", "s"}});
  IdleAll();
  ASSERT_EQ(assigned_.size(), 1u);
  const int worker = assigned_.begin()->first;
  Fail(worker, ErrorKind::kQuota, false, milliseconds(2000), 500, 960);
  ASSERT_EQ(pauses_.size(), 1u);
  EXPECT_EQ(pauses_[0].report_id, "r");
  EXPECT_EQ(pauses_[0].until, now_ + milliseconds(2000));
  EXPECT_TRUE(failures_.empty()) << "a quota error must not burn an attempt";
  EXPECT_EQ(plan_->summary().quota_errors, 1);
  // While the site is paused no worker is handed its page.
  Run(plan_->Idle(worker, now_));
  EXPECT_TRUE(assigned_.empty());
  ASSERT_TRUE(timer_.has_value());
  EXPECT_LE(*timer_, now_ + milliseconds(2000));
  Advance(milliseconds(2000));
  ASSERT_EQ(assigned_.size(), 1u);
  EXPECT_EQ(assigned_.begin()->second.attempts, 0);
  FetchAndCommit(assigned_.begin()->first);
  RunToEnd();
  EXPECT_TRUE(finished_);
  EXPECT_EQ(plan_->summary().outcome, RunSummary::Outcome::kDone);
}

TEST_F(PlanTest, RetryAfterOfAQuotaErrorIsCapped) {
  ledger_.Add("r", "2024-01-01");
  options_.retry_after_cap = seconds(300);
  Make(1, {{"r", "s"}});
  Run(plan_->Idle(0, now_));
  Fail(0, ErrorKind::kQuota, false, seconds(86400), 500, 960);
  ASSERT_EQ(pauses_.size(), 1u);
  EXPECT_EQ(pauses_[0].until, now_ + seconds(300));
}

TEST_F(PlanTest, ThreeQuotaStrikesAtLowTrafficCoolDown) {
  ledger_.Add("r", "2024-01-01");
  options_.quota_cooldown = seconds(900);
  Make(1, {{"r", "s"}});
  Run(plan_->Idle(0, now_));
  for (int strike = 1; strike <= 3; ++strike) {
    ASSERT_EQ(assigned_.size(), 1u) << "strike " << strike;
    Fail(0, ErrorKind::kQuota, false, std::nullopt, /*grants=*/10, /*budget=*/960);
    Run(plan_->Idle(0, now_));
    if (strike < 3) {
      EXPECT_LT(pauses_.back().until, now_ + seconds(900));
      Advance(pauses_.back().until - now_);
    }
  }
  EXPECT_GE(pauses_.back().until, now_ + seconds(900));
  ASSERT_FALSE(logs_.empty());
  EXPECT_TRUE(logs_.back().resume_in.has_value());
  EXPECT_GE(*logs_.back().resume_in, seconds(900));
  EXPECT_NE(logs_.back().message.find("load quota"), std::string::npos);
  EXPECT_TRUE(failures_.empty());
}

TEST_F(PlanTest, ASiteCoolingDownReleasesItsPagesAndClaimsThemAgainAfterwards) {
  for (const char* date : {"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"}) {
    ledger_.Add("r", date);
  }
  options_.quota_cooldown = seconds(900);
  Make(2, {{"r", "s"}});
  IdleAll();
  ASSERT_EQ(assigned_.size(), 2u);
  for (int strike = 1; strike <= 3; ++strike) {
    Fail(0, ErrorKind::kQuota, false, std::nullopt, /*grants=*/10, /*budget=*/960);
    Run(plan_->Idle(0, now_));
    if (strike < 3) {
      Advance(pauses_.back().until - now_);
      ASSERT_EQ(assigned_.count(0), 1u) << "strike " << strike;
    }
  }
  // Cooling down: the failed page and every queued page are back in the ledger for
  // another process; only worker 1's page (in flight) is still held.
  EXPECT_EQ(ledger_.Progress().leased, 1);
  EXPECT_GE(released_.size(), 3u);
  EXPECT_TRUE(assigned_.count(0) == 0);
  // Renewals during the cooldown name only the page in flight.
  Advance(options_.lease);
  ASSERT_FALSE(renewals_.empty());
  EXPECT_EQ(renewals_.back().leases.size(), 1u);
  // After the cooldown the plan claims the pages again and finishes them.
  Advance(seconds(900));
  FetchAndCommit(1);
  RunToEnd();
  EXPECT_TRUE(finished_);
  EXPECT_EQ(ledger_.Progress().done, 4);
}

TEST_F(PlanTest, ASerialRunCoolingDownReleasesItsPageAndWaits) {
  ledger_.Add("r", "2024-01-01");
  options_.quota_cooldown = seconds(900);
  Make(1, {{"r", "s"}});
  Run(plan_->Idle(0, now_));
  for (int strike = 1; strike <= 3; ++strike) {
    Fail(0, ErrorKind::kQuota, false, std::nullopt, /*grants=*/10, /*budget=*/960);
    Run(plan_->Idle(0, now_));
    if (strike < 3) Advance(pauses_.back().until - now_);
  }
  EXPECT_EQ(ledger_.Progress().pending, 1) << "the page is released, not re-claimed";
  EXPECT_TRUE(assigned_.empty());
  ASSERT_TRUE(timer_.has_value());
  EXPECT_LE(*timer_, now_ + seconds(900)) << "wakes when the cooldown ends";
  Advance(seconds(900));
  ASSERT_EQ(assigned_.size(), 1u);
  FetchAndCommit(0);
  RunToEnd();
  EXPECT_TRUE(finished_);
}

TEST_F(PlanTest, QuotaStrikesAtHighTrafficDoNotCoolDown) {
  ledger_.Add("r", "2024-01-01");
  options_.quota_cooldown = seconds(900);
  Make(1, {{"r", "s"}});
  Run(plan_->Idle(0, now_));
  for (int strike = 1; strike <= 3; ++strike) {
    Fail(0, ErrorKind::kQuota, false, std::nullopt, /*grants=*/900, /*budget=*/960);
    Run(plan_->Idle(0, now_));
    EXPECT_LT(pauses_.back().until, now_ + seconds(900));
    Advance(pauses_.back().until - now_);
  }
}

TEST_F(PlanTest, TransientFailureAtMaxAttemptsMakesThePageDead) {
  ledger_.Add("r", "2024-01-01");
  ledger_.at(PageKey{"r", "2024-01-01", 0}).attempts = options_.max_attempts - 1;
  Make(1, {{"r", "s"}});
  Run(plan_->Idle(0, now_));
  Fail(0, ErrorKind::kTransient);
  ASSERT_EQ(failures_.size(), 1u);
  EXPECT_EQ(plan_->summary().dead, 1);
  EXPECT_EQ(plan_->summary().retries, 0);
  Run(plan_->Idle(0, now_));
  ExitDismissed();
  EXPECT_TRUE(finished_);
  EXPECT_EQ(plan_->summary().outcome, RunSummary::Outcome::kDeadPages);
}

TEST_F(PlanTest, TransientFailureRetriesWithJitteredBackOffAndCappedRetryAfter) {
  ledger_.Add("r", "2024-01-01");
  ledger_.Add("r", "2024-01-02");
  options_.retry_after_cap = seconds(120);
  Make(2, {{"r", "s"}});
  IdleAll();
  ASSERT_EQ(assigned_.size(), 2u);
  Fail(0, ErrorKind::kTransient);
  Fail(1, ErrorKind::kTransient, false, seconds(86400));
  ASSERT_EQ(failures_.size(), 2u);
  EXPECT_LE(failures_[0].retry_in, options_.retry_base);  // full jitter, first retry
  EXPECT_EQ(failures_[1].retry_in, seconds(120));
  EXPECT_EQ(plan_->summary().retries, 2);
  EXPECT_FALSE(failures_[0].final);
}

TEST_F(PlanTest, UnreachableApiHaltsAndReturnsItsPages) {
  for (int d = 1; d <= 9; ++d) ledger_.Add("r", "2024-01-0" + std::to_string(d));
  options_.max_attempts = 3;
  Make(4, {{"r", "s"}});
  IdleAll();
  ASSERT_EQ(assigned_.size(), 4u);
  const Lease last = assigned_.at(2);
  Fail(0, ErrorKind::kTransient, /*unreachable=*/true);
  Fail(1, ErrorKind::kTransient, true);
  EXPECT_EQ(plan_->phase(), BatchPlan::Phase::kRunning);
  Fail(2, ErrorKind::kTransient, true);
  EXPECT_EQ(plan_->phase(), BatchPlan::Phase::kHalted);
  EXPECT_TRUE(workers_cancelled_);
  EXPECT_TRUE(limiters_closed_);
  EXPECT_NE(plan_->summary().halt_reason.find("cannot reach the API"), std::string::npos);
  EXPECT_NE(std::find(released_.begin(), released_.end(), last.key), released_.end());
  // The page in flight comes back and is released too.
  const Lease in_flight = assigned_.at(3);
  assigned_.erase(3);
  Run(plan_->Returned(3, in_flight, now_));
  EXPECT_NE(std::find(released_.begin(), released_.end(), in_flight.key), released_.end());
  EXPECT_FALSE(finished_);
  for (int w = 0; w < 4; ++w) Run(plan_->WorkerExited(w, now_));
  EXPECT_TRUE(finished_);
  EXPECT_EQ(plan_->summary().outcome, RunSummary::Outcome::kHalted);
  const ReportProgress p = ledger_.Progress();
  EXPECT_EQ(p.leased, 0);
  EXPECT_EQ(p.dead, 0);
  EXPECT_EQ(p.pending, 9);
}

TEST_F(PlanTest, UnreachableAfterAServerAnsweredIsTransient) {
  for (int d = 1; d <= 5; ++d) ledger_.Add("r", "2024-01-0" + std::to_string(d));
  options_.max_attempts = 2;
  Make(1, {{"r", "s"}});
  Run(plan_->Idle(0, now_));
  FetchAndCommit(0);
  Fail(0, ErrorKind::kTransient, true);
  Run(plan_->Idle(0, now_));
  Fail(0, ErrorKind::kTransient, true);
  EXPECT_EQ(plan_->phase(), BatchPlan::Phase::kRunning);
  EXPECT_EQ(failures_.size(), 2u);
}

TEST_F(PlanTest, UnauthorizedAndFatalErrorsHalt) {
  ledger_.Add("r", "2024-01-01");
  ledger_.Add("r", "2024-01-02");
  Make(2, {{"r", "s"}});
  IdleAll();
  Fail(0, ErrorKind::kUnauthorized);
  EXPECT_EQ(plan_->phase(), BatchPlan::Phase::kHalted);
  EXPECT_NE(plan_->summary().halt_reason.find("401"), std::string::npos);
  EXPECT_TRUE(workers_cancelled_);
  Fail(1, ErrorKind::kFatal);
  EXPECT_NE(plan_->summary().halt_reason.find("401"), std::string::npos) << "first reason kept";
}

TEST_F(PlanTest, FirstSignalDrainsSecondCancels) {
  for (int d = 1; d <= 9; ++d) ledger_.Add("r", "2024-01-0" + std::to_string(d));
  Make(3, {{"r", "s"}});
  Run(plan_->Idle(0, now_));
  Run(plan_->Idle(1, now_));
  ASSERT_EQ(assigned_.size(), 2u);
  Run(plan_->Stop(15, now_));
  EXPECT_EQ(plan_->phase(), BatchPlan::Phase::kDraining);
  EXPECT_FALSE(workers_cancelled_);
  EXPECT_TRUE(limiters_closed_) << "waiters for a grant wake and give their page back";
  EXPECT_EQ(released_.size(), 7u) << "pages no worker holds go back at once";
  Run(plan_->Idle(2, now_));
  EXPECT_TRUE(dismissed_.count(2)) << "an idle worker is dismissed at once";
  Run(plan_->Stop(15, now_));
  EXPECT_EQ(plan_->phase(), BatchPlan::Phase::kHalted);
  EXPECT_TRUE(workers_cancelled_);
  for (int w : {0, 1}) {
    const Lease lease = assigned_.at(w);
    Run(plan_->Returned(w, lease, now_));
  }
  for (int w = 0; w < 3; ++w) Run(plan_->WorkerExited(w, now_));
  EXPECT_TRUE(finished_);
  EXPECT_EQ(plan_->summary().outcome, RunSummary::Outcome::kInterrupted);
  EXPECT_EQ(plan_->summary().signal, 15);
  EXPECT_EQ(ledger_.Progress().leased, 0);
}

TEST_F(PlanTest, DrainEndsWhenTheLastInFlightPageCommitsNotAtHaltTimeout) {
  for (int d = 1; d <= 5; ++d) ledger_.Add("r", "2024-01-0" + std::to_string(d));
  options_.halt_timeout = seconds(8);
  Make(2, {{"r", "s"}});
  IdleAll();
  Run(plan_->Stop(2, now_));
  now_ += milliseconds(300);
  FetchAndCommit(0);
  EXPECT_FALSE(finished_);
  FetchAndCommit(1);
  ExitDismissed();
  EXPECT_TRUE(finished_);
  EXPECT_EQ(finished_at_, now_);
  EXPECT_FALSE(workers_cancelled_);
  EXPECT_EQ(plan_->summary().pages, 2);
  EXPECT_EQ(plan_->summary().outcome, RunSummary::Outcome::kInterrupted);
}

TEST_F(PlanTest, DrainTimeoutCancelsTheRequestsInFlight) {
  ledger_.Add("r", "2024-01-01");
  options_.halt_timeout = seconds(8);
  Make(1, {{"r", "s"}});
  Run(plan_->Idle(0, now_));
  Run(plan_->Stop(15, now_));
  ASSERT_TRUE(timer_.has_value());
  EXPECT_LE(*timer_, now_ + seconds(8));
  Advance(seconds(8));
  EXPECT_TRUE(workers_cancelled_);
}

TEST_F(PlanTest, RenewalsContinueDuringADrain) {
  for (int d = 1; d <= 5; ++d) ledger_.Add("r", "2024-01-0" + std::to_string(d));
  options_.lease = seconds(60);
  options_.halt_timeout = seconds(100);
  Make(1, {{"r", "s"}});
  Run(plan_->Idle(0, now_));
  Run(plan_->Stop(15, now_));
  renewals_.clear();
  Advance(seconds(20));
  ASSERT_EQ(renewals_.size(), 1u);
  ASSERT_EQ(renewals_[0].leases.size(), 1u);
  EXPECT_EQ(renewals_[0].leases[0].key, assigned_.at(0).key);
  Advance(seconds(20));
  EXPECT_EQ(renewals_.size(), 2u);
}

TEST_F(PlanTest, FinishesOnlyWhenTheLedgerSaysFinished) {
  ledger_.Add("r", "2024-01-01");
  ledger_.Add("r", "2024-01-02");
  ledger_.at(PageKey{"r", "2024-01-02", 0}).claimable = false;  // waits for a retry time
  Make(2, {{"r", "s"}});
  IdleAll();
  FetchAndCommit(assigned_.begin()->first);
  ExitDismissed();
  EXPECT_GE(progress_reads_, 1);
  EXPECT_FALSE(finished_);
  EXPECT_TRUE(dismissed_.empty()) << "idle workers wait while the ledger has pending pages";
  ledger_.at(PageKey{"r", "2024-01-02", 0}).claimable = true;
  Advance(options_.poll_interval);
  ASSERT_EQ(assigned_.size(), 1u);
  FetchAndCommit(assigned_.begin()->first);
  EXPECT_EQ(dismissed_.size(), 2u);
  ExitDismissed();
  EXPECT_TRUE(finished_);
  EXPECT_EQ(plan_->summary().progress.done, 2);
}

TEST_F(PlanTest, LostLeaseIsCountedNotFatal) {
  ledger_.Add("r", "2024-01-01");
  ledger_.Add("r", "2024-01-02");
  Make(1, {{"r", "s"}});
  Run(plan_->Idle(0, now_));
  const Lease lease = assigned_.at(0);
  assigned_.erase(0);
  Run(plan_->Fetched(0, lease, now_));
  Run(plan_->Committed(lease, Status::Ok(), /*lease_held=*/false, 10, now_));
  ledger_.Commit(lease, 10);
  EXPECT_EQ(plan_->summary().lost_leases, 1);
  EXPECT_EQ(plan_->phase(), BatchPlan::Phase::kRunning);
  Run(plan_->Idle(0, now_));
  RunToEnd();
  EXPECT_TRUE(finished_);
  EXPECT_EQ(plan_->summary().outcome, RunSummary::Outcome::kDone);
}

TEST_F(PlanTest, EverySiteOfAHundredGetsAPageEarly) {
  auto reports = Sites(100);
  for (const PlanReport& r : reports) {
    for (int d = 1; d <= 3; ++d) ledger_.Add(r.report_id, "2024-01-0" + std::to_string(d));
  }
  Make(10, reports);
  RunToEnd();
  ASSERT_TRUE(finished_);
  ASSERT_EQ(order_.size(), 300u);
  std::set<std::string> sites;
  std::size_t all_seen_at = 0;
  for (std::size_t i = 0; i < order_.size(); ++i) {
    sites.insert(order_[i].report_id);
    if (sites.size() == 100) {
      all_seen_at = i + 1;
      break;
    }
  }
  EXPECT_GT(all_seen_at, 0u);
  EXPECT_LE(all_seen_at, 110u);
  for (const effect::Claim& claim : claims_) {
    int total = 0;
    for (const ClaimRequest& r : claim.requests) total += r.max;
    EXPECT_LE(total, 4 * 10 + 8);
  }
}

TEST_F(PlanTest, APausedSiteDoesNotHoldWorkers) {
  ledger_.Add("a", "2024-01-01");
  for (int d = 1; d <= 9; ++d) ledger_.Add("b", "2024-01-0" + std::to_string(d));
  Make(2, {{"a", "sa"}, {"b", "sb"}});
  IdleAll();
  int a_worker = -1;
  for (auto& [w, lease] : assigned_) {
    if (lease.key.report_id == "a") a_worker = w;
  }
  ASSERT_GE(a_worker, 0);
  Fail(a_worker, ErrorKind::kQuota, false, seconds(600), 500, 960);
  Run(plan_->Idle(a_worker, now_));
  // Both workers keep fetching site b while site a waits.
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(assigned_.size(), 2u) << i;
    for (auto& [w, lease] : assigned_) EXPECT_EQ(lease.key.report_id, "b");
    const int w = assigned_.begin()->first;
    FetchAndCommit(w);
  }
  Advance(seconds(600));
  RunToEnd();
  EXPECT_TRUE(finished_);
  EXPECT_EQ(ledger_.Progress().done, 10);
}

TEST_F(PlanTest, PagesQueuedForAPausedSiteDoNotStopClaimsForOthers) {
  for (int d = 10; d < 40; ++d) {
    ledger_.Add("a", "2024-01-" + std::to_string(d));
    ledger_.Add("b", "2024-01-" + std::to_string(d));
  }
  Make(4, {{"a", "sa"}, {"b", "sb"}});
  IdleAll();
  int a_worker = -1;
  for (auto& [w, lease] : assigned_) {
    if (lease.key.report_id == "a") a_worker = w;
  }
  ASSERT_GE(a_worker, 0);
  Fail(a_worker, ErrorKind::kQuota, false, seconds(3600), 500, 960);
  // Every other worker that fetched a page of a comes back with it as if quota-refused.
  for (int i = 0; i < 4; ++i) {
    std::vector<int> a_workers;
    for (auto& [w, lease] : assigned_) {
      if (lease.key.report_id == "a") a_workers.push_back(w);
    }
    for (int w : a_workers) {
      const Lease lease = assigned_.at(w);
      assigned_.erase(w);
      Run(plan_->Returned(w, lease, now_));
    }
  }
  IdleAll();
  // Site b runs to its end while a's pages wait in the queue.
  for (int round = 0; round < 200; ++round) {
    std::vector<int> busy;
    for (auto& [w, lease] : assigned_) busy.push_back(w);
    if (busy.empty()) break;
    for (int w : busy) {
      EXPECT_EQ(assigned_.at(w).key.report_id, "b");
      FetchAndCommit(w);
    }
  }
  int b_done = 0;
  for (int d = 10; d < 40; ++d) {
    b_done += ledger_.at(PageKey{"b", "2024-01-" + std::to_string(d), 0}).state ==
              FakeLedger::Page::State::kDone;
  }
  EXPECT_EQ(b_done, 30);
}

TEST_F(PlanTest, ClaimsShareTheTargetAmongReports) {
  auto reports = Sites(3);
  for (const PlanReport& r : reports) {
    for (int d = 1; d <= 9; ++d) ledger_.Add(r.report_id, "2024-02-0" + std::to_string(d));
  }
  options_.queue_limit = 12;
  Make(4, reports);
  ASSERT_FALSE(claims_.empty());
  ASSERT_EQ(claims_[0].requests.size(), 3u);
  for (const ClaimRequest& r : claims_[0].requests) EXPECT_EQ(r.max, 4);
}

TEST_F(PlanTest, RepeatedDatabaseFailuresHalt) {
  ledger_.Add("r", "2024-01-01");
  Make(1, {{"r", "s"}});
  for (int i = 0; i < 5; ++i) {
    Run(plan_->WriteDone(Status::Error(Status::Code::kIoError, "disk I/O error"), now_));
  }
  EXPECT_EQ(plan_->phase(), BatchPlan::Phase::kHalted);
  EXPECT_NE(plan_->summary().halt_reason.find("database"), std::string::npos);
}

TEST_F(PlanTest, CommitsThatKeepFailingHaltAfterABoundedNumber) {
  for (int d = 1; d <= 9; ++d) ledger_.Add("r", "2024-01-0" + std::to_string(d));
  Make(1, {{"r", "s"}});
  // Busy, read-only, I/O error: each one alone is retried (the page's lease ends and it
  // is claimed again), but not forever.
  const Status failures[] = {Status::Error(Status::Code::kBusy, "database is locked"),
                             Status::Error(Status::Code::kIoError,
                                           "attempt to write a readonly "
                                           "database"),
                             Status::Error(Status::Code::kIoError, "disk I/O error")};
  int commits = 0;
  Run(plan_->Idle(0, now_));
  while (plan_->phase() == BatchPlan::Phase::kRunning && commits < 20) {
    ASSERT_EQ(assigned_.size(), 1u) << "commit " << commits;
    const Lease lease = assigned_.at(0);
    assigned_.erase(0);
    Run(plan_->Fetched(0, lease, now_));
    Run(plan_->Committed(lease, failures[commits % 3], false, 0, now_));
    ++commits;
    Run(plan_->Idle(0, now_));
  }
  EXPECT_EQ(plan_->phase(), BatchPlan::Phase::kHalted);
  EXPECT_EQ(commits, 5);
  EXPECT_NE(plan_->summary().halt_reason.find("5 times in a row"), std::string::npos)
      << plan_->summary().halt_reason;
}

// A database that stays locked halts the run; the work the halt still asks of the ledger
// (releasing pages, the final read) must not wait on it again: the plan gives the ledger
// up once, takes its failed answers without a new warning, and finishes.
TEST_F(PlanTest, ADatabaseHaltGivesTheLedgerUpAndStillFinishes) {
  for (int d = 1; d <= 9; ++d) ledger_.Add("r", "2024-01-0" + std::to_string(d));
  options_.queue_limit = 4;
  Make(2, {{"r", "s"}});
  IdleAll();
  ASSERT_EQ(assigned_.size(), 2u);
  const Lease held_by_1 = assigned_.at(1);
  for (int i = 0; i < 5 && plan_->phase() == BatchPlan::Phase::kRunning; ++i) {
    const Lease lease = assigned_.at(0);
    assigned_.erase(0);
    Run(plan_->Fetched(0, lease, now_));
    Run(plan_->Committed(lease, Status::Error(Status::Code::kBusy, "database is locked"), false, 0,
                         now_));
    Run(plan_->Idle(0, now_));
  }
  ASSERT_EQ(plan_->phase(), BatchPlan::Phase::kHalted);
  EXPECT_EQ(Count<effect::AbandonLedger>(), 1);
  const std::size_t logs_at_halt = logs_.size();
  assigned_.erase(1);
  Run(plan_->Returned(1, held_by_1, now_));  // the cancelled worker's page
  IdleAll();
  ExitDismissed();
  EXPECT_TRUE(finished_) << "the plan finishes without a ledger";
  EXPECT_EQ(Count<effect::AbandonLedger>(), 1) << "once";
  EXPECT_GE(given_up_writes_, 2) << "the release and the final read were still asked for";
  EXPECT_EQ(logs_.size(), logs_at_halt) << "the given-up ledger's failures add no warning";
  EXPECT_EQ(plan_->summary().outcome, RunSummary::Outcome::kHalted);
  EXPECT_TRUE(plan_->summary().progress_unknown) << "never read: not 0/0";
}

TEST_F(PlanTest, ASuccessfulCommitResetsTheFailureCount) {
  for (int d = 1; d <= 9; ++d) ledger_.Add("r", "2024-01-0" + std::to_string(d));
  Make(1, {{"r", "s"}});
  Run(plan_->Idle(0, now_));
  for (int i = 0; i < 8; ++i) {
    const Lease lease = assigned_.at(0);
    assigned_.erase(0);
    Run(plan_->Fetched(0, lease, now_));
    if (i % 4 == 3) {
      Run(plan_->Committed(lease, Status::Ok(), ledger_.Commit(lease, 10), 10, now_));
    } else {
      Run(plan_->Committed(lease, Status::Error(Status::Code::kBusy, "locked"), false, 0, now_));
    }
    Run(plan_->Idle(0, now_));
  }
  EXPECT_EQ(plan_->phase(), BatchPlan::Phase::kRunning);
}

TEST_F(PlanTest, AFatalCommitStatusHalts) {
  ledger_.Add("r", "2024-01-01");
  Make(1, {{"r", "s"}});
  Run(plan_->Idle(0, now_));
  const Lease lease = assigned_.at(0);
  Run(plan_->Fetched(0, lease, now_));
  Run(plan_->Committed(lease, Status::Error(Status::Code::kDiskFull, "full"), false, 0, now_));
  EXPECT_EQ(plan_->phase(), BatchPlan::Phase::kHalted);
}

TEST_F(PlanTest, AnAssignmentToAnExitedWorkerComesBack) {
  ledger_.Add("r", "2024-01-01");
  Make(2, {{"r", "s"}});
  Run(plan_->Idle(0, now_));
  ASSERT_EQ(assigned_.size(), 1u);
  const Lease lease = assigned_.at(0);
  assigned_.erase(0);
  Run(plan_->WorkerExited(0, now_));
  Run(plan_->Idle(1, now_));
  ASSERT_EQ(assigned_.size(), 1u);
  EXPECT_EQ(assigned_.at(1).key, lease.key);
}

TEST_F(PlanTest, MailboxBoundCoversEveryWorkerAndHeldPage) {
  Make(10, Sites(2));
  EXPECT_GE(plan_->MailboxBound(), 3u * 10 + 2u * (48 + 10));
}

}  // namespace
}  // namespace batchfetch
