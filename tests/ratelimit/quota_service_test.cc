#include "ratelimit/quota_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace batchfetch {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using std::chrono::milliseconds;
using std::chrono::seconds;

// An in-memory QuotaLedger with the exact sliding-window rule over a time of its own
// that moves only when told. It refuses with a 1 ms retry_after, so the service asks
// again at once after the test moves the ledger's time.
class FakeQuotaLedger final : public QuotaLedger {
 public:
  struct Call {
    std::vector<std::string> keys;
    int64_t n = 0;
    std::vector<int64_t> budgets;  // asked, per key
  };

  Status TryGrant(std::span<const QuotaAsk> keys, int64_t n, milliseconds window,
                  QuotaDecision* out) override {
    if (Status s = CheckQuotaRequest(keys, n, window); !s.ok()) return s;  // as a ledger does
    std::unique_lock lock(mu_);
    Call call{{}, n, {}};
    for (const QuotaAsk& k : keys) {
      call.keys.push_back(k.key);
      call.budgets.push_back(k.budget);
    }
    calls_.push_back(std::move(call));
    cv_.notify_all();
    cv_.wait(lock, [&] { return !gated_; });
    QuotaDecision d;
    d.granted = true;
    for (const QuotaAsk& k : keys) {
      auto& log = logs_[k.key];
      while (!log.empty() && log.front().first <= now_ - window) log.pop_front();
      int64_t used = 0;
      for (const auto& [t, m] : log) used += m;
      int64_t budget = k.budget;
      if (auto it = caps_.find(k.key); it != caps_.end()) budget = std::min(budget, it->second);
      d.in_window.push_back(used);
      d.budget.push_back(budget);
      if (used + n > budget) d.granted = false;
    }
    if (d.granted) {
      for (std::size_t i = 0; i < keys.size(); ++i) {
        logs_[keys[i].key].emplace_back(now_, n);
        recorded_[keys[i].key] += n;
        d.in_window[i] += n;
      }
    } else {
      d.retry_after = milliseconds(1);
    }
    *out = std::move(d);
    return Status::Ok();
  }

  void Advance(milliseconds d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }
  // Another process asks for at most `budget` on key.
  void SetCap(const std::string& key, int64_t budget) {
    std::lock_guard lock(mu_);
    caps_[key] = budget;
  }
  void SetGated(bool gated) {
    {
      std::lock_guard lock(mu_);
      gated_ = gated;
    }
    cv_.notify_all();
  }
  // Grants ever recorded for key.
  int64_t Recorded(const std::string& key) {
    std::lock_guard lock(mu_);
    return recorded_[key];
  }
  std::vector<Call> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  // True once at least `count` calls arrived (waits at most 5 s).
  bool WaitForCalls(std::size_t count) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, seconds(5), [&] { return calls_.size() >= count; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  milliseconds now_{0};
  bool gated_ = false;
  std::map<std::string, std::deque<std::pair<milliseconds, int64_t>>> logs_;
  std::map<std::string, int64_t> caps_;
  std::map<std::string, int64_t> recorded_;
  std::vector<Call> calls_;
};

class QuotaServiceTest : public ::testing::Test {
 protected:
  QuotaServiceTest() {
    auto ledger = std::make_unique<FakeQuotaLedger>();
    ledger_ = ledger.get();
    QuotaService::Options options;
    options.window = seconds(6);
    options.notice = [this](std::string_view line) {
      std::lock_guard lock(notices_mu_);
      notices_.emplace_back(line);
    };
    service_ = std::make_unique<QuotaService>(io_.get_executor(), std::move(ledger), options);
  }
  ~QuotaServiceTest() override {
    service_->Close();
    RunFor(milliseconds(100));  // let aborted waiters finish before the service goes
    service_.reset();
  }

  // Starts an Acquire(n) whose result lands in the returned slot.
  std::shared_ptr<std::optional<error_code>> StartAcquire(RateLimiter& limiter, int64_t n = 1) {
    auto slot = std::make_shared<std::optional<error_code>>();
    asio::co_spawn(
        io_,
        [&limiter, n, slot]() -> asio::awaitable<void> { *slot = co_await limiter.Acquire(n); },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    return slot;
  }

  // Runs the io_context until pred holds (at most 5 s); returns pred().
  bool RunUntil(const std::function<bool()>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(5);
    while (!pred() && std::chrono::steady_clock::now() < deadline) RunFor(milliseconds(1));
    return pred();
  }

  // Runs the io_context for d (it stops whenever it runs out of work, so restart first).
  void RunFor(milliseconds d) {
    io_.restart();
    io_.run_for(d);
  }

  static std::vector<QuotaKey> Keys(const std::string& site, int64_t budget = 30) {
    return {{"site:" + site, budget}, {"principal:bearer", budget}, {"project", 1000}};
  }

  std::vector<std::string> notices() {
    std::lock_guard lock(notices_mu_);
    return notices_;
  }

  asio::io_context io_;
  FakeQuotaLedger* ledger_ = nullptr;
  std::mutex notices_mu_;
  std::vector<std::string> notices_;
  std::unique_ptr<QuotaService> service_;
};

TEST_F(QuotaServiceTest, DecidesEveryKeyOfARequestInOneLedgerCall) {
  RateLimiter& limiter = service_->Limiter(Keys("a"));
  auto done = StartAcquire(limiter);
  ASSERT_TRUE(RunUntil([&] { return done->has_value(); }));
  EXPECT_FALSE(done->value());
  const auto calls = ledger_->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].keys, (std::vector<std::string>{"principal:bearer", "project", "site:a"}));
  EXPECT_EQ(ledger_->Recorded("site:a"), 1);
  EXPECT_EQ(ledger_->Recorded("principal:bearer"), 1);
  EXPECT_EQ(ledger_->Recorded("project"), 1);
  EXPECT_EQ(limiter.total_grants(), 1);
  EXPECT_EQ(service_->decisions(), 1);
}

TEST_F(QuotaServiceTest, TheWaitersOfManySitesAreDecidedInOneLedgerTransaction) {
  // The first decision is held inside the ledger while six more sites come to wait: the
  // next round trip decides all six, each once (1,000 sites must not mean 1,000 commits).
  ledger_->SetGated(true);
  auto first = StartAcquire(service_->Limiter(Keys("first")));
  RunFor(milliseconds(5));
  ASSERT_TRUE(ledger_->WaitForCalls(1));
  std::vector<RateLimiter*> limiters;
  std::vector<std::shared_ptr<std::optional<error_code>>> waits;
  for (int i = 0; i < 6; ++i) {
    limiters.push_back(&service_->Limiter(Keys("s" + std::to_string(i))));
    waits.push_back(StartAcquire(*limiters.back()));
  }
  RunFor(milliseconds(20));  // every Acquire is queued before the ledger is released
  ledger_->SetGated(false);
  ASSERT_TRUE(RunUntil([&] {
    return std::all_of(waits.begin(), waits.end(), [](const auto& w) { return w->has_value(); });
  }));
  ASSERT_TRUE(first->has_value());
  EXPECT_FALSE(first->value());
  for (std::size_t i = 0; i < waits.size(); ++i) {
    EXPECT_FALSE(waits[i]->value()) << "site " << i;
    EXPECT_EQ(limiters[i]->total_grants(), 1) << "site " << i;
    EXPECT_EQ(ledger_->Recorded("site:s" + std::to_string(i)), 1) << "site " << i;
  }
  EXPECT_EQ(ledger_->Recorded("principal:bearer"), 7);
  EXPECT_EQ(ledger_->calls().size(), 7u);  // one request per site, each valid
  EXPECT_EQ(service_->decisions(), 2);     // two round trips to the ledger
  EXPECT_TRUE(service_->last_error().ok()) << service_->last_error().message();
}

TEST_F(QuotaServiceTest, AKeyThatDoesNotFitBlocksTheGrantOfAllAndRecordsNone) {
  // Two sites of one principal whose budget is 2: site b finds the principal full.
  RateLimiter& a = service_->Limiter(Keys("a", 2));
  RateLimiter& b = service_->Limiter(Keys("b", 2));
  auto a1 = StartAcquire(a), a2 = StartAcquire(a);
  ASSERT_TRUE(RunUntil([&] { return a1->has_value() && a2->has_value(); }));
  const std::size_t before = ledger_->calls().size();
  auto b1 = StartAcquire(b);
  ASSERT_TRUE(RunUntil([&] { return ledger_->calls().size() > before; }));
  RunFor(milliseconds(20));
  EXPECT_FALSE(b1->has_value());
  EXPECT_EQ(ledger_->Recorded("site:b"), 0);
  EXPECT_EQ(ledger_->Recorded("project"), 2);
  EXPECT_EQ(ledger_->Recorded("principal:bearer"), 2);
  // Once the window has passed, all of b's keys are granted together.
  ledger_->Advance(seconds(7));
  ASSERT_TRUE(RunUntil([&] { return b1->has_value(); }));
  EXPECT_FALSE(b1->value());
  EXPECT_EQ(ledger_->Recorded("site:b"), 1);
  EXPECT_EQ(ledger_->Recorded("project"), 3);
  EXPECT_EQ(ledger_->Recorded("principal:bearer"), 3);
}

TEST_F(QuotaServiceTest, WaitersQueuedDuringADecisionShareTheNextOne) {
  RateLimiter& limiter = service_->Limiter(Keys("a"));
  ledger_->SetGated(true);
  auto first = StartAcquire(limiter);
  ASSERT_TRUE(RunUntil([&] { return !ledger_->calls().empty(); }));
  std::vector<std::shared_ptr<std::optional<error_code>>> rest;
  for (int i = 0; i < 5; ++i) rest.push_back(StartAcquire(limiter));
  for (int i = 0; i < 20; ++i) {
    io_.restart();
    io_.poll();
  }  // every Acquire queues its ticket
  ledger_->SetGated(false);
  ASSERT_TRUE(RunUntil([&] {
    for (const auto& r : rest) {
      if (!r->has_value()) return false;
    }
    return first->has_value();
  }));
  const auto calls = ledger_->calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].n, 1);
  EXPECT_EQ(calls[1].n, 5);
  EXPECT_EQ(limiter.total_grants(), 6);
}

TEST_F(QuotaServiceTest, TheSameKeySetInAnyOrderGivesTheSameLimiter) {
  RateLimiter& a = service_->Limiter({{"site:x", 5}, {"project", 9}});
  RateLimiter& b = service_->Limiter({{"project", 9}, {"site:x", 5}});
  RateLimiter& c = service_->Limiter({{"site:y", 5}, {"project", 9}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  EXPECT_EQ(a.budget(), 5);
  EXPECT_EQ(a.window(), seconds(6));
}

TEST_F(QuotaServiceTest, CloseWakesEveryWaiterWithOperationAborted) {
  RateLimiter& limiter = service_->Limiter(Keys("a", 1));
  auto granted = StartAcquire(limiter);
  ASSERT_TRUE(RunUntil([&] { return granted->has_value(); }));
  auto w1 = StartAcquire(limiter), w2 = StartAcquire(limiter);
  RateLimiter& other = service_->Limiter(Keys("b", 1));
  auto w3 = StartAcquire(other);
  // Both key sets have been refused (they share the full principal) at least once.
  ASSERT_TRUE(RunUntil([&] { return ledger_->calls().size() >= 5; }));
  service_->Close();
  ASSERT_TRUE(RunUntil([&] { return w1->has_value() && w2->has_value() && w3->has_value(); }));
  EXPECT_EQ(w1->value(), asio::error::operation_aborted);
  EXPECT_EQ(w2->value(), asio::error::operation_aborted);
  EXPECT_EQ(w3->value(), asio::error::operation_aborted);
  auto late = StartAcquire(limiter);
  ASSERT_TRUE(RunUntil([&] { return late->has_value(); }));
  EXPECT_EQ(late->value(), asio::error::operation_aborted);
}

TEST_F(QuotaServiceTest, ClosingOneLimiterLeavesTheOthersGranting) {
  RateLimiter& a = service_->Limiter(Keys("a"));
  RateLimiter& b = service_->Limiter(Keys("b"));
  a.Close();
  auto ra = StartAcquire(a), rb = StartAcquire(b);
  ASSERT_TRUE(RunUntil([&] { return ra->has_value() && rb->has_value(); }));
  EXPECT_EQ(ra->value(), asio::error::operation_aborted);
  EXPECT_FALSE(rb->value());
}

TEST_F(QuotaServiceTest, ASmallerBudgetAskedByAnotherProcessWinsAndIsSaidOnce) {
  ledger_->SetCap("site:a", 2);
  RateLimiter& limiter = service_->Limiter(Keys("a", 5));
  auto r1 = StartAcquire(limiter), r2 = StartAcquire(limiter), r3 = StartAcquire(limiter);
  ASSERT_TRUE(RunUntil([&] { return r1->has_value() && r2->has_value(); }));
  ASSERT_TRUE(ledger_->WaitForCalls(3));
  RunFor(milliseconds(20));
  EXPECT_FALSE(r3->has_value());
  EXPECT_EQ(ledger_->Recorded("site:a"), 2);
  EXPECT_EQ(limiter.budget(), 2);
  EXPECT_EQ(service_->BudgetInForce("site:a"), 2);
  const auto lines = notices();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("site:a"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("asks for 2 per 6 s"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("instead of 5"), std::string::npos) << lines[0];
}

TEST_F(QuotaServiceTest, AnAcquireAboveTheBudgetIsRefusedNotQueued) {
  RateLimiter& limiter = service_->Limiter(Keys("a", 2));
  auto r = StartAcquire(limiter, 3);
  ASSERT_TRUE(RunUntil([&] { return r->has_value(); }));
  EXPECT_EQ(r->value(), asio::error::invalid_argument);
  EXPECT_TRUE(ledger_->calls().empty());
}

TEST_F(QuotaServiceTest, NeverExceedsAnyKeyBudgetInAnyWindowAcrossKeySets) {
  // 3 sites of one principal (budget 4) and the project (budget 1000): 12 requests need
  // 3 windows; each window the ledger holds at most 4 principal grants.
  std::vector<RateLimiter*> limiters;
  for (const char* site : {"a", "b", "c"}) limiters.push_back(&service_->Limiter(Keys(site, 4)));
  std::vector<std::shared_ptr<std::optional<error_code>>> results;
  for (int i = 0; i < 12; ++i) results.push_back(StartAcquire(*limiters[i % 3]));
  auto granted = [&] {
    int64_t n = 0;
    for (const auto& r : results) n += r->has_value() && !r->value() ? 1 : 0;
    return n;
  };
  for (int64_t window = 1; window <= 3; ++window) {
    ASSERT_TRUE(RunUntil([&] { return granted() == 4 * window; }));
    RunFor(milliseconds(20));
    EXPECT_EQ(granted(), 4 * window);
    EXPECT_EQ(ledger_->Recorded("principal:bearer"), 4 * window);
    ledger_->Advance(seconds(7));
  }
  EXPECT_EQ(ledger_->Recorded("project"), 12);
}

// A clock the test moves, safe to read from the decision thread.
class SharedFakeClock final : public Clock {
 public:
  TimePoint Now() const override { return TimePoint(Duration(now_.load())); }
  void Advance(Duration d) { now_ += d.count(); }

 private:
  std::atomic<Duration::rep> now_{0};
};

TEST(QuotaServiceStaleGrantTest, AGrantWhoseWaiterResumesLateIsWastedNotSent) {
  asio::io_context io;
  SharedFakeClock clock;
  auto owned = std::make_unique<FakeQuotaLedger>();
  FakeQuotaLedger* ledger = owned.get();
  QuotaService::Options options;
  options.window = seconds(6);  // margin 250 ms: a grant is stale after 62.5 ms
  QuotaService service(io.get_executor(), std::move(owned), options, clock);
  RateLimiter& limiter = service.Limiter({{"site:a", 10}});
  std::optional<error_code> result;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { result = co_await limiter.Acquire(); }, asio::detached);
  io.poll();  // the ticket is queued; the io thread then stays away while it is granted
  // decisions() counts a decision once its grant time is set: only then move time on.
  const auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (service.decisions() < 1 && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(ledger->WaitForCalls(1));
  }
  ASSERT_EQ(service.decisions(), 1);
  clock.Advance(milliseconds(500));
  while (!result && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(milliseconds(1));
  }
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(*result);
  EXPECT_EQ(service.stale_grants(), 1);
  EXPECT_EQ(ledger->Recorded("site:a"), 2) << "the late grant was wasted, a fresh one sent";
  service.Close();
}

TEST(QuotaServiceStaleGrantTest, AGrantWhoseLedgerCommitWasSlowIsWastedNotSent) {
  asio::io_context io;
  SharedFakeClock clock;
  auto owned = std::make_unique<FakeQuotaLedger>();
  FakeQuotaLedger* ledger = owned.get();
  QuotaService::Options options;
  options.window = seconds(6);
  QuotaService service(io.get_executor(), std::move(owned), options, clock);
  RateLimiter& limiter = service.Limiter({{"site:a", 10}});
  ledger->SetGated(true);  // the first decision stays inside TryGrant until released
  std::optional<error_code> result;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { result = co_await limiter.Acquire(); }, asio::detached);
  io.poll();
  ASSERT_TRUE(ledger->WaitForCalls(1));
  // The ledger stamped the grant when the call began; its commit takes 500 ms.
  clock.Advance(milliseconds(500));
  ledger->SetGated(false);
  const auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (!result && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(milliseconds(1));
  }
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(*result);
  EXPECT_EQ(service.stale_grants(), 1) << "a grant 500 ms old when decided is not sent";
  EXPECT_EQ(ledger->Recorded("site:a"), 2);
  service.Close();
}

TEST_F(QuotaServiceTest, ALimitBelowTheBudgetIsLearnedAskedOfTheLedgerAndNamed) {
  // 96 per 6 s asked (--qpm 1200 x 0.8); the API accepts 6, then rejects steadily.
  RateLimiter& limiter = service_->Limiter(Keys("a", 96));
  for (int i = 0; i < 6; ++i) limiter.OnApiAnswer(false);
  for (int i = 0; i < 2; ++i) limiter.OnApiAnswer(true);
  EXPECT_EQ(limiter.budget(), 96) << "two rejections are not yet a steady rate";
  limiter.OnApiAnswer(true);
  EXPECT_EQ(limiter.budget(), 6);
  const auto lines = notices();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("accepts about 6 requests per 6 s"), std::string::npos) << lines[0];
  // --qpm counts per --qpm-window: 8 x 0.8 is a budget of 6 per 6 s.
  EXPECT_TRUE(lines[0].ends_with("Next time pass --qpm 8")) << lines[0];
  // From now on every key of the set asks the ledger for 6, so other processes follow.
  auto r = StartAcquire(limiter);
  ASSERT_TRUE(RunUntil([&] { return r->has_value(); }));
  const auto calls = ledger_->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].budgets, (std::vector<int64_t>{6, 6, 6}));
}

TEST_F(QuotaServiceTest, RejectionsWhileTheLedgerHoldsTheWholeBudgetAreNotALowerLimit) {
  // Another process's late arrival: the ledger holds all 10 grants of the window (this
  // process's and others'), the API rejects a few: the budget is right, keep it.
  RateLimiter& limiter = service_->Limiter(Keys("a", 10));
  std::vector<std::shared_ptr<std::optional<error_code>>> results;
  for (int i = 0; i < 10; ++i) results.push_back(StartAcquire(limiter));
  ASSERT_TRUE(RunUntil([&] {
    for (const auto& r : results) {
      if (!r->has_value()) return false;
    }
    return true;
  }));
  for (int i = 0; i < 4; ++i) limiter.OnApiAnswer(false);
  for (int i = 0; i < 6; ++i) limiter.OnApiAnswer(true);
  EXPECT_EQ(limiter.budget(), 10);
  EXPECT_TRUE(notices().empty());
}

TEST_F(QuotaServiceTest, AcceptedAnswersAloneNeverLowerTheBudget) {
  RateLimiter& limiter = service_->Limiter(Keys("a", 96));
  for (int i = 0; i < 200; ++i) limiter.OnApiAnswer(false);
  EXPECT_EQ(limiter.budget(), 96);
  EXPECT_TRUE(notices().empty());
}

}  // namespace
}  // namespace batchfetch
