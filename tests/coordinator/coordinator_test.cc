#include "coordinator/coordinator.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace batchfetch {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

// An in-memory ledger with the fencing the real ones have (rows are not kept).
class MemoryLedger : public Ledger {
 public:
  struct Page {
    std::string state = "pending";
    std::string token;
    int attempts = 0;
  };
  void Add(const std::string& report, const std::string& date) {
    pages[PageKey{report, date, 0}] = Page{};
  }

  Status RegisterReports(std::span<const Report* const>) override { return Status::Ok(); }
  Status PlanReports(std::span<const std::string>, std::span<const std::string>,
                     const RefreshPolicy&, std::vector<DayPlan>*) override {
    return Status::Ok();
  }
  Status Claim(std::span<const ClaimRequest> requests, const std::string&,
               std::chrono::milliseconds, WallTime, std::vector<Lease>* out) override {
    std::lock_guard lock(mu);
    for (const ClaimRequest& r : requests) {
      int n = 0;
      for (auto& [key, page] : pages) {
        if (n >= r.max) break;
        if (key.report_id != r.report_id || page.state != "pending") continue;
        page.state = "leased";
        page.token = std::to_string(++tokens);
        out->push_back(Lease{key, page.token, page.attempts});
        ++n;
      }
    }
    return Status::Ok();
  }
  Status CommitPages(std::span<const FetchedPage> done, WallTime, int,
                     std::vector<bool>* held) override {
    std::lock_guard lock(mu);
    held->clear();
    for (const FetchedPage& p : done) {
      Page& page = pages.at(p.lease.key);
      const bool ok = page.token == p.lease.token && page.state == "leased";
      if (ok) page.state = "done";
      held->push_back(ok);
    }
    return Status::Ok();
  }
  Status FailPage(const Lease& lease, const std::string&, bool final, int max_attempts, WallTime,
                  WallTime, bool* held) override {
    std::lock_guard lock(mu);
    Page& page = pages.at(lease.key);
    *held = page.token == lease.token;
    if (*held) {
      ++page.attempts;
      page.state = final || page.attempts >= max_attempts ? "dead" : "pending";
    }
    return Status::Ok();
  }
  Status Release(std::span<const Lease> leases, WallTime) override {
    std::lock_guard lock(mu);
    for (const Lease& l : leases) {
      Page& page = pages.at(l.key);
      if (page.token == l.token && page.state == "leased") page.state = "pending";
    }
    return Status::Ok();
  }
  Status Renew(std::span<const Lease>, WallTime) override { return Status::Ok(); }
  Status Progress(std::span<const std::string>, ReportProgress* out) override {
    std::lock_guard lock(mu);
    *out = ReportProgress{};
    for (const auto& [key, page] : pages) {
      if (page.state == "pending") ++out->pending;
      if (page.state == "leased") ++out->leased;
      if (page.state == "done") ++out->done;
      if (page.state == "dead") ++out->dead;
    }
    return Status::Ok();
  }
  Status RetryDead(const std::string&, int64_t*) override { return Status::Ok(); }
  Status ListReports(std::vector<Report>*) override { return Status::Ok(); }
  Status Describe(const std::string&, WallTime, ReportStatus*) override { return Status::Ok(); }
  Status Verify(const std::string&, VerifyReport*) override { return Status::Ok(); }

  std::mutex mu;
  std::map<PageKey, Page> pages;
  int tokens = 0;
};

class InstantLimiter : public RateLimiter {
 public:
  asio::awaitable<error_code> Acquire(int64_t n) override {
    if (closed_) co_return asio::error::operation_aborted;
    grants_ += n;
    co_return error_code{};
  }
  void PauseUntil(TimePoint) override {}
  void Close() override { closed_ = true; }
  int64_t GrantsInWindow() const override { return grants_; }
  int64_t budget() const override { return 960; }
  Duration window() const override { return std::chrono::seconds(60); }
  int64_t total_grants() const override { return grants_; }

 private:
  int64_t grants_ = 0;
  bool closed_ = false;
};

// Answers one row dated the requested day; counts requests in flight. With hold set, the
// first request waits until release() (or cancellation).
class FakeApi : public HttpTransport {
 public:
  explicit FakeApi(asio::io_context& io)
      : io_(io), gate_(io, asio::steady_timer::time_point::max()) {}
  asio::awaitable<std::pair<error_code, HttpResponse>> Perform(HttpRequest request) override {
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto body = boost::json::parse(request.body);
    const std::string date(body.at("startDate").as_string());
    order.push_back(request.url + " " + date);
    max_in_flight = std::max(max_in_flight, ++in_flight);
    if (hold && order.size() == 1) {
      if (on_held) on_held();
      co_await gate_.async_wait(asio::as_tuple(asio::use_awaitable));
      auto cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) {
        --in_flight;
        co_return std::pair{error_code(asio::error::operation_aborted), HttpResponse{}};
      }
    }
    // Let other workers run, so concurrency is observable.
    asio::steady_timer yield(io_, std::chrono::steady_clock::now());
    co_await yield.async_wait(asio::as_tuple(asio::use_awaitable));
    --in_flight;
    HttpResponse r;
    r.status = status;
    r.body = status == 200
                 ? R"({"rows": [{"keys": [")" + date +
                       R"(", "q"], "clicks": 1, "impressions": 2, "ctr": 0.5, "position": 1}]})"
                 : R"({"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}})";
    co_return std::pair{error_code{}, std::move(r)};
  }
  void Release() { gate_.cancel(); }

  long status = 200;
  bool hold = false;
  std::function<void()> on_held;
  std::vector<std::string> order;
  int in_flight = 0;
  int max_in_flight = 0;

 private:
  asio::io_context& io_;
  asio::steady_timer gate_;
};

class CoordinatorTest : public ::testing::Test {
 protected:
  void AddReports(int sites, int days) {
    for (int s = 0; s < sites; ++s) {
      ReportSpec spec;
      spec.site = "sc-domain:site" + std::to_string(s) + ".example";
      spec.dimensions = {"date", "query"};
      auto report = Report::Make(spec);
      for (int d = 1; d <= days; ++d) ledger_->Add(report->id, "2024-01-0" + std::to_string(d));
      runs_.push_back(ReportRun{report, &limiter_});
    }
  }

  RunSummary RunAll(int workers) {
    options_.max_concurrency = workers;
    options_.worker_id = "test";
    WorkerConfig config;
    config.api_base = "http://127.0.0.1:1";
    coordinator_ =
        std::make_unique<Coordinator>(io_.get_executor(), writer_, api_, runs_, config, options_);
    RunSummary summary;
    bool done = false;
    asio::co_spawn(io_, coordinator_->Run(), [&](std::exception_ptr e, RunSummary s) {
      EXPECT_FALSE(e);
      summary = std::move(s);
      done = true;
    });
    for (int i = 0; i < 200 && !done; ++i) io_.run_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(done) << "the run did not end";
    return summary;
  }

  int Count(const std::string& state) {
    int n = 0;
    for (auto& [k, p] : ledger_->pages) n += p.state == state;
    return n;
  }

  asio::io_context io_;
  MemoryLedger* ledger_ = new MemoryLedger;
  LedgerWriter writer_{std::unique_ptr<Ledger>(ledger_)};
  InstantLimiter limiter_;
  FakeApi api_{io_};
  std::vector<ReportRun> runs_;
  RunOptions options_;
  std::unique_ptr<Coordinator> coordinator_;
};

TEST_F(CoordinatorTest, RunsEveryPageOfEveryReportToDone) {
  AddReports(3, 4);
  const RunSummary s = RunAll(4);
  EXPECT_EQ(s.outcome, RunSummary::Outcome::kDone);
  EXPECT_EQ(s.pages, 12);
  EXPECT_EQ(s.requests, 12);
  EXPECT_EQ(Count("done"), 12);
  EXPECT_LE(api_.max_in_flight, 4);
  EXPECT_GT(api_.max_in_flight, 1);
}

TEST_F(CoordinatorTest, ConcurrencyOneIsSequentialInReportOrder) {
  AddReports(3, 2);
  const RunSummary s = RunAll(1);
  EXPECT_EQ(s.outcome, RunSummary::Outcome::kDone);
  EXPECT_EQ(api_.max_in_flight, 1);
  ASSERT_EQ(api_.order.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_NE(api_.order[i].find("site" + std::to_string(i / 2)), std::string::npos) << i;
    EXPECT_NE(api_.order[i].find("2024-01-0" + std::to_string(i % 2 + 1)), std::string::npos);
  }
}

TEST_F(CoordinatorTest, AStopDrainsTheRequestInFlightAndReleasesTheRest) {
  AddReports(2, 3);
  options_.halt_timeout = std::chrono::seconds(60);
  api_.hold = true;
  api_.on_held = [&] {
    coordinator_->RequestStop(15);
    coordinator_->RequestStop(15);  // a repeated signal before the first is seen
    asio::post(io_, [&] { api_.Release(); });
  };
  const RunSummary s = RunAll(1);
  EXPECT_EQ(s.outcome, RunSummary::Outcome::kInterrupted);
  EXPECT_EQ(ExitCode(s), 143);
  EXPECT_TRUE(s.halt_reason.empty()) << s.halt_reason;
  EXPECT_EQ(Count("leased"), 0);
}

TEST_F(CoordinatorTest, AGracefulStopCommitsTheRequestInFlight) {
  AddReports(1, 3);
  options_.halt_timeout = std::chrono::seconds(60);
  api_.hold = true;
  api_.on_held = [&] {
    coordinator_->RequestStop(2);
    asio::post(io_, [&] { api_.Release(); });
  };
  const RunSummary s = RunAll(2);
  EXPECT_EQ(s.outcome, RunSummary::Outcome::kInterrupted);
  EXPECT_GE(s.pages, 1);
  EXPECT_EQ(Count("leased"), 0);
  EXPECT_EQ(Count("done") + Count("pending"), 3);
}

TEST_F(CoordinatorTest, AFatalAnswerHaltsAndLeavesPagesPending) {
  AddReports(2, 3);
  api_.status = 400;
  const RunSummary s = RunAll(3);
  EXPECT_EQ(s.outcome, RunSummary::Outcome::kHalted);
  EXPECT_EQ(ExitCode(s), 3);
  EXPECT_EQ(Count("leased"), 0);
  EXPECT_EQ(Count("done"), 0);
}

}  // namespace
}  // namespace batchfetch
