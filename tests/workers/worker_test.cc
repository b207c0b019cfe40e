#include "workers/worker.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <deque>
#include <exception>
#include <string>
#include <vector>

namespace batchfetch {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

// Every event of a request, in order, across the fakes.
using Events = std::vector<std::string>;

// Waits on a timer that never expires by itself; Open() wakes every waiter.
class Gate {
 public:
  explicit Gate(asio::io_context& io) : timer_(io, asio::steady_timer::time_point::max()) {}
  asio::awaitable<void> Wait() {
    if (open_) co_return;
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  void Open() {
    open_ = true;
    timer_.cancel();
  }
  bool open() const { return open_; }

 private:
  asio::steady_timer timer_;
  bool open_ = false;
};

class FakeLimiter : public RateLimiter {
 public:
  FakeLimiter(asio::io_context& io, Events& events) : gate_(io), events_(events) {}
  asio::awaitable<error_code> Acquire(int64_t n) override {
    events_.push_back("grant-wait");
    if (block_) {
      co_await gate_.Wait();
      if (closed_ || !gate_.open()) co_return asio::error::operation_aborted;
    }
    if (closed_) co_return asio::error::operation_aborted;
    grants_ += n;
    events_.push_back("grant");
    co_return error_code{};
  }
  void PauseUntil(TimePoint) override {}
  void Close() override { closed_ = true; }
  int64_t GrantsInWindow() const override { return grants_; }
  int64_t budget() const override { return 960; }
  Duration window() const override { return std::chrono::seconds(60); }
  int64_t total_grants() const override { return grants_; }

  bool block_ = false;
  Gate gate_;
  int64_t grants_ = 0;
  bool closed_ = false;

 private:
  Events& events_;
};

class FakeTokens : public TokenSource {
 public:
  explicit FakeTokens(Events& events) : events_(events) {}
  asio::awaitable<error_code> Token(std::string* token, std::string* /*error*/) override {
    events_.push_back("token");
    *token = "T" + std::to_string(generation_);
    if (on_token) on_token();
    co_return error_code{};
  }
  void Invalidate(const std::string& token) override {
    events_.push_back("invalidate " + token);
    if (token == "T" + std::to_string(generation_)) ++generation_;
  }
  std::string Describe() const override { return "fake token"; }

  std::function<void()> on_token;

 private:
  Events& events_;
  int generation_ = 1;
};

// Answers requests from a script; an empty script waits until cancelled.
class ScriptedTransport : public HttpTransport {
 public:
  ScriptedTransport(asio::io_context& io, Events& events) : io_(io), events_(events) {}
  asio::awaitable<std::pair<error_code, HttpResponse>> Perform(HttpRequest request) override {
    co_await asio::this_coro::throw_if_cancelled(false);
    events_.push_back("send");
    requests.push_back(request);
    if (script.empty()) {
      asio::steady_timer forever(io_, asio::steady_timer::time_point::max());
      co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
      co_return std::pair{error_code(asio::error::operation_aborted), HttpResponse{}};
    }
    HttpResponse r = std::move(script.front());
    script.pop_front();
    co_return std::pair{error_code{}, std::move(r)};
  }

  std::deque<HttpResponse> script;
  std::vector<HttpRequest> requests;

 private:
  asio::io_context& io_;
  Events& events_;
};

class FakeHost : public WorkerHost {
 public:
  explicit FakeHost(asio::io_context& io) : stop_(io) {}
  asio::awaitable<std::optional<Assignment>> Idle(int) override {
    if (pages.empty()) co_return std::nullopt;
    Assignment a = pages.front();
    pages.pop_front();
    co_return a;
  }
  bool Stopping() const override { return stop_.open(); }
  bool Halted() const override { return halted; }
  asio::awaitable<void> UntilStopping() override { co_await stop_.Wait(); }
  asio::awaitable<void> Submit(int, FetchedPage page, const RequestInfo&) override {
    submitted.push_back(std::move(page));
    co_return;
  }
  void Failed(int, const Assignment& page, const Classification& failure,
              const RequestInfo& info) override {
    failed.push_back({page.lease, failure, info});
  }
  void Returned(int, const Lease& lease) override { returned.push_back(lease); }
  void Stop() { stop_.Open(); }

  struct Failure {
    Lease lease;
    Classification failure;
    RequestInfo info;
  };
  std::deque<Assignment> pages;
  bool halted = false;
  std::vector<FetchedPage> submitted;
  std::vector<Failure> failed;
  std::vector<Lease> returned;

 private:
  Gate stop_;
};

HttpResponse Ok(const std::string& body) {
  HttpResponse r;
  r.status = 200;
  r.body = body;
  return r;
}

HttpResponse Status(long status, const std::string& body = "{}") {
  HttpResponse r;
  r.status = status;
  r.body = body;
  return r;
}

class WorkerTest : public ::testing::Test {
 protected:
  WorkerTest() {
    ReportSpec spec;
    spec.site = "sc-domain:example.com";
    spec.dimensions = {"date", "query"};
    report_ = Report::Make(spec);
    config_.api_base = "http://127.0.0.1:1";
    config_.tokens = &tokens_;
  }

  void AddPage(const std::string& date, int64_t start_row = 0) {
    host_.pages.push_back(
        Assignment{Lease{PageKey{report_->id, date, start_row}, "tok", 0}, report_, &limiter_});
  }

  // Runs a worker until it ends; returns whether it ended by an exception.
  bool RunWorker() {
    Worker worker(0, host_, http_, config_);
    bool threw = false;
    bool done = false;
    asio::co_spawn(io_, worker.Run(),
                   asio::bind_cancellation_slot(cancel_.slot(), [&](std::exception_ptr e) {
                     threw = e != nullptr;
                     done = true;
                   }));
    io_.run_for(std::chrono::seconds(5));
    EXPECT_TRUE(done) << "the worker did not end";
    return threw;
  }

  asio::io_context io_;
  Events events_;
  FakeLimiter limiter_{io_, events_};
  FakeTokens tokens_{events_};
  ScriptedTransport http_{io_, events_};
  FakeHost host_{io_};
  std::shared_ptr<const Report> report_;
  WorkerConfig config_;
  asio::cancellation_signal cancel_;
};

const char kOneRow[] =
    R"({"rows": [{"keys": ["2024-03-01", "q"], "clicks": 1, "impressions": 2, "ctr": 0.5,
        "position": 1}]})";

TEST_F(WorkerTest, FetchesTheTokenBeforeTheGrantAndSendsRightAfterIt) {
  AddPage("2024-03-01");
  http_.script.push_back(Ok(kOneRow));
  EXPECT_FALSE(RunWorker());
  EXPECT_EQ(events_, (Events{"token", "grant-wait", "grant", "send"}));
  ASSERT_EQ(host_.submitted.size(), 1u);
  EXPECT_EQ(host_.submitted[0].rows.size(), 1u);
  ASSERT_EQ(http_.requests.size(), 1u);
  const auto& headers = http_.requests[0].headers;
  EXPECT_NE(std::find(headers.begin(), headers.end(), "Authorization: Bearer T1"), headers.end());
}

// A request the transport did not send because its grant's send_by passed (a slow
// connect) is neither an answer nor a failure: the worker takes a fresh grant and sends
// again, and after three such misses gives the page back without an attempt.
TEST_F(WorkerTest, ARequestThatMissedItsSendByTakesAFreshGrant) {
  HttpResponse missed;
  missed.missed_send_by = true;
  missed.curl_code = 42;
  AddPage("2024-03-01");
  http_.script = {missed, missed, Ok(kOneRow)};
  RunWorker();
  EXPECT_EQ(limiter_.grants_, 3) << "one grant per send";
  EXPECT_EQ(http_.requests.size(), 3u);
  EXPECT_EQ(host_.submitted.size(), 1u);
  EXPECT_TRUE(host_.failed.empty()) << "a request never sent is not a failed attempt";
}

TEST_F(WorkerTest, ThreeMissedSendBysGiveThePageBackWithoutAnAttempt) {
  HttpResponse missed;
  missed.missed_send_by = true;
  missed.curl_code = 42;
  AddPage("2024-03-01");
  http_.script = {missed, missed, missed};
  RunWorker();
  EXPECT_EQ(http_.requests.size(), 3u);
  EXPECT_TRUE(host_.submitted.empty());
  EXPECT_TRUE(host_.failed.empty());
  EXPECT_EQ(host_.returned.size(), 1u);
}

TEST_F(WorkerTest, AsksForThePagesRowLimitAndRecordsIt) {
  config_.row_limit = 25000;
  AddPage("2024-03-01", 45000);
  http_.script.push_back(Ok(kOneRow));
  RunWorker();
  ASSERT_EQ(http_.requests.size(), 1u);
  const auto body = boost::json::parse(http_.requests[0].body);
  EXPECT_EQ(body.at("rowLimit"), 5000);
  EXPECT_EQ(body.at("startRow"), 45000);
  ASSERT_EQ(host_.submitted.size(), 1u);
  EXPECT_EQ(host_.submitted[0].row_limit, 5000);
}

TEST_F(WorkerTest, StopBetweenTokenAndGrantGivesThePageBack) {
  AddPage("2024-03-01");
  tokens_.on_token = [&] { host_.Stop(); };
  EXPECT_FALSE(RunWorker());
  ASSERT_EQ(host_.returned.size(), 1u);
  EXPECT_EQ(limiter_.grants_, 0);
  EXPECT_TRUE(http_.requests.empty());
  EXPECT_EQ(std::find(events_.begin(), events_.end(), "grant-wait"), events_.end());
}

TEST_F(WorkerTest, StopWhileWaitingForTheGrantGivesThePageBack) {
  AddPage("2024-03-01");
  limiter_.block_ = true;
  asio::post(io_, [&] { host_.Stop(); });
  EXPECT_FALSE(RunWorker());
  ASSERT_EQ(host_.returned.size(), 1u);
  EXPECT_TRUE(http_.requests.empty());
}

TEST_F(WorkerTest, A401RefreshesTheTokenOnceAndTakesANewGrant) {
  AddPage("2024-03-01");
  http_.script.push_back(Status(401));
  http_.script.push_back(Ok(kOneRow));
  RunWorker();
  EXPECT_EQ(events_, (Events{"token", "grant-wait", "grant", "send", "invalidate T1", "token",
                             "grant-wait", "grant", "send"}));
  ASSERT_EQ(http_.requests.size(), 2u);
  const auto& headers = http_.requests[1].headers;
  EXPECT_NE(std::find(headers.begin(), headers.end(), "Authorization: Bearer T2"), headers.end());
  EXPECT_EQ(host_.submitted.size(), 1u);
  EXPECT_EQ(limiter_.grants_, 2);
}

TEST_F(WorkerTest, A401AfterTheRefreshIsUnauthorized) {
  AddPage("2024-03-01");
  http_.script.push_back(Status(401));
  http_.script.push_back(Status(401));
  RunWorker();
  ASSERT_EQ(host_.failed.size(), 1u);
  EXPECT_EQ(host_.failed[0].failure.kind, ErrorKind::kUnauthorized);
  EXPECT_NE(host_.failed[0].failure.reason.find("fake token"), std::string::npos);
}

TEST_F(WorkerTest, CancellingARequestInFlightGivesThePageBackWithoutThrowing) {
  AddPage("2024-03-01");
  AddPage("2024-03-02");
  // The script is empty: the request waits until cancelled.
  asio::post(io_,
             [&] { asio::post(io_, [&] { cancel_.emit(asio::cancellation_type::terminal); }); });
  EXPECT_FALSE(RunWorker());
  ASSERT_EQ(host_.returned.size(), 1u);
  EXPECT_EQ(host_.returned[0].key.date, "2024-03-01");
  EXPECT_EQ(host_.pages.size(), 1u) << "a cancelled worker takes no further page";
}

TEST_F(WorkerTest, AnAnswerAfterAHaltIsDropped) {
  AddPage("2024-03-01");
  http_.script.push_back(Ok(kOneRow));
  host_.halted = true;
  RunWorker();
  EXPECT_TRUE(host_.submitted.empty());
  EXPECT_EQ(host_.returned.size(), 1u);
}

TEST_F(WorkerTest, AnAnswerForAnotherDayIsRefusedAsMalformed) {
  AddPage("2024-03-02");
  http_.script.push_back(Ok(kOneRow));
  RunWorker();
  ASSERT_EQ(host_.failed.size(), 1u);
  EXPECT_EQ(host_.failed[0].failure.kind, ErrorKind::kTransient);
  EXPECT_NE(host_.failed[0].failure.reason.find("malformed"), std::string::npos);
  EXPECT_TRUE(host_.submitted.empty());
}

TEST_F(WorkerTest, TlsAndConnectFailuresCountAsUnreachable) {
  for (int code : {6, 7, 35, 51, 60, 77, 91}) EXPECT_TRUE(IsUnreachableCurlCode(code)) << code;
  for (int code : {0, 28, 52, 56}) EXPECT_FALSE(IsUnreachableCurlCode(code)) << code;
  AddPage("2024-03-01");
  HttpResponse tls;
  tls.curl_code = 60;
  tls.error = "SSL certificate problem: self-signed certificate";
  http_.script.push_back(tls);
  RunWorker();
  ASSERT_EQ(host_.failed.size(), 1u);
  EXPECT_TRUE(host_.failed[0].info.unreachable);
}

}  // namespace
}  // namespace batchfetch
