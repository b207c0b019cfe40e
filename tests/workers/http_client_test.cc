#include "workers/http_client.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

namespace batchfetch {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// gzip of "hello gzip world\n" x 64 (python: gzip.compress(..., mtime=0)).
const std::string kGzipBody(
    "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xcb\x48\xcd\xc9\xc9\x57\x48\xaf\xca\x2c\x50\x28"
    "\xcf\x2f\xca\x49\xe1\xca\x18\x15\x18\x15\x18\x15\x18\x15\x20\x4e\x00\x00\x38\xbc\x78\x53"
    "\x40\x04\x00\x00",
    48);

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

struct SeenRequest {
  std::string method;
  std::string target;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case name -> value
};

// An HTTP/1.1 server on 127.0.0.1 (ephemeral port) with its own io_context and thread.
// Targets: /hello 200; /echo 200 echoing the body; /retry 429 with retry-after; /gzip a
// gzip-encoded body; /big 1 MiB; /stall reads the request and never answers.
class TestServer {
 public:
  TestServer() : acceptor_(io_, {asio::ip::address_v4::loopback(), 0}) {
    asio::co_spawn(io_, Accept(), [](std::exception_ptr e) {
      if (e) std::cerr << "test server accept loop failed\n";
    });
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestServer() {
    io_.stop();
    thread_.join();
  }

  std::string Url(const std::string& target, const std::string& host = "127.0.0.1") const {
    return "http://" + host + ":" + std::to_string(port_) + target;
  }
  unsigned short port() const { return port_; }
  int accepted() const { return accepted_; }
  int stalled() const { return stalled_; }
  int closed() const { return closed_; }
  std::vector<SeenRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  awaitable<void> Accept() {
    for (;;) {
      tcp::socket socket = co_await acceptor_.async_accept(use_awaitable);
      ++accepted_;
      asio::co_spawn(io_, Serve(std::move(socket)), [](std::exception_ptr) {});
    }
  }

  awaitable<void> Serve(tcp::socket socket) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(socket, buffer, req, asio::as_tuple(use_awaitable));
      if (ec) break;
      Record(req);
      const std::string target(req.target());
      if (target == "/stall") {
        ++stalled_;
        continue;  // the next read ends when the client closes the connection
      }
      http::response<http::string_body> res{http::status::ok, req.version()};
      res.keep_alive(req.keep_alive());
      if (target == "/hello") {
        res.set("X-Test", "yes");
        res.body() = "hello world";
      } else if (target == "/echo") {
        res.body() = req.body();
      } else if (target == "/retry") {
        res.result(http::status::too_many_requests);
        res.set("retry-after", "120");  // lower case on purpose
      } else if (target == "/gzip") {
        if (std::string(req[http::field::accept_encoding]).find("gzip") == std::string::npos) {
          res.result(http::status::not_acceptable);
        } else {
          res.set(http::field::content_encoding, "gzip");
          res.body() = kGzipBody;
        }
      } else if (target == "/big") {
        res.body() = std::string(1 << 20, 'x');
      } else {
        res.result(http::status::not_found);
      }
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(socket, res, asio::as_tuple(use_awaitable));
      if (wec || !req.keep_alive()) break;
    }
    ++closed_;
  }

  void Record(const http::request<http::string_body>& req) {
    SeenRequest seen{std::string(req.method_string()), std::string(req.target()), req.body(), {}};
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      seen.headers[name] = std::string(field.value());
    }
    std::lock_guard lock(mutex_);
    requests_.push_back(std::move(seen));
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  const unsigned short port_ = acceptor_.local_endpoint().port();
  std::atomic<int> accepted_{0};
  std::atomic<int> stalled_{0};  // /stall requests read
  std::atomic<int> closed_{0};   // connections that ended (client closed or not keep-alive)
  mutable std::mutex mutex_;
  std::vector<SeenRequest> requests_;
  std::thread thread_;
};

struct Result {
  boost::system::error_code ec;
  HttpResponse response;
  Clock::time_point completed;
};

class HttpClientTest : public ::testing::Test {
 protected:
  HttpRequest Request(const std::string& target, std::chrono::milliseconds timeout = 5s) {
    HttpRequest request;
    request.url = server_.Url(target);
    request.timeout = timeout;
    return request;
  }

  // Runs test on io_ with a hard time guard; fails if it does not finish in time.
  void RunTest(std::function<awaitable<void>()> test, std::chrono::seconds guard = 10s) {
    bool done = false;
    std::exception_ptr error;
    asio::co_spawn(io_, test(), [&](std::exception_ptr e) {
      done = true;
      error = e;
    });
    io_.run_for(guard);
    ASSERT_TRUE(done) << "test did not finish within " << guard.count() << " s";
    if (error) std::rethrow_exception(error);
  }

  // Polls condition every millisecond; false if it does not hold within limit.
  static awaitable<bool> WaitFor(std::function<bool()> condition,
                                 std::chrono::milliseconds limit = 2s) {
    const auto deadline = Clock::now() + limit;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (!condition()) {
      if (Clock::now() > deadline) co_return false;
      timer.expires_after(1ms);
      co_await timer.async_wait(use_awaitable);
    }
    co_return true;
  }

  static awaitable<Result> Perform(HttpClient& client, HttpRequest request) {
    auto [ec, response] =
        co_await client.AsyncPerform(std::move(request), asio::as_tuple(use_awaitable));
    co_return Result{ec, std::move(response), Clock::now()};
  }

  // Starts request bound to signal; the result lands in *out.
  static void StartCancellable(HttpClient& client, HttpRequest request,
                               asio::cancellation_signal& signal, std::optional<Result>* out) {
    client.AsyncPerform(std::move(request),
                        asio::bind_cancellation_slot(
                            signal.slot(), [out](boost::system::error_code ec, HttpResponse r) {
                              ASSERT_FALSE(out->has_value()) << "completed twice";
                              *out = Result{ec, std::move(r), Clock::now()};
                            }));
  }

  asio::io_context io_;
  TestServer server_;
  HttpClient client_{io_.get_executor()};
};

TEST_F(HttpClientTest, GetReturnsStatusAndBody) {
  RunTest([&]() -> awaitable<void> {
    Result r = co_await Perform(client_, Request("/hello"));
    EXPECT_FALSE(r.ec);
    EXPECT_TRUE(r.response.transport_ok()) << r.response.error;
    EXPECT_EQ(r.response.status, 200);
    EXPECT_EQ(r.response.body, "hello world");
    EXPECT_EQ(r.response.retry_after, "");
    EXPECT_GT(r.response.elapsed.count(), 0);
    EXPECT_EQ(client_.active(), 0u);
  });
  auto seen = server_.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].headers["user-agent"], std::string("batchfetch/") + BATCHFETCH_VERSION);
}

// A request whose send_by passed before it could go on the wire is never sent (a quota
// grant must not reach the API late); one still in time is sent as usual.
// libcurl sends a header as given; one holding a CR or LF would forge another header, so
// such a request is never sent, whatever put the text there.
TEST_F(HttpClientTest, AHeaderWithAControlCharacterIsNeverSent) {
  RunTest([&]() -> awaitable<void> {
    HttpRequest forged = Request("/hello");
    forged.headers = {"x-goog-user-project: p\r\nX-Forged: 1"};
    Result r = co_await Perform(client_, std::move(forged));
    EXPECT_FALSE(r.ec);
    EXPECT_FALSE(r.response.transport_ok());
    EXPECT_EQ(r.response.status, 0);
    EXPECT_NE(r.response.error.find("control character"), std::string::npos) << r.response.error;
  });
  EXPECT_EQ(server_.requests().size(), 0u);
}

TEST_F(HttpClientTest, ARequestPastItsSendByIsNotSent) {
  RunTest([&]() -> awaitable<void> {
    HttpRequest late = Request("/hello");
    late.send_by = std::chrono::steady_clock::now() - 1ms;
    Result r = co_await Perform(client_, std::move(late));
    EXPECT_FALSE(r.ec);
    EXPECT_TRUE(r.response.missed_send_by) << r.response.error;
    EXPECT_FALSE(r.response.transport_ok());
    EXPECT_EQ(r.response.status, 0);
    HttpRequest in_time = Request("/hello");
    in_time.send_by = std::chrono::steady_clock::now() + 10s;
    r = co_await Perform(client_, std::move(in_time));
    EXPECT_EQ(r.response.status, 200) << r.response.error;
    EXPECT_FALSE(r.response.missed_send_by);
  });
  EXPECT_EQ(server_.requests().size(), 1u) << "only the request still in time was sent";
}

TEST_F(HttpClientTest, PostSendsBodyAndHeaders) {
  const std::string body = R"({"startDate":"2024-01-01","rowLimit":25000})";
  RunTest([&]() -> awaitable<void> {
    HttpRequest request = Request("/echo");
    request.body = body;
    request.headers = {"Content-Type: application/json", "Authorization: Bearer t0ken"};
    Result r = co_await Perform(client_, std::move(request));
    EXPECT_EQ(r.response.status, 200);
    EXPECT_EQ(r.response.body, body);
  });
  auto seen = server_.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].body, body);
  EXPECT_EQ(seen[0].headers["content-type"], "application/json");
  EXPECT_EQ(seen[0].headers["authorization"], "Bearer t0ken");
}

TEST_F(HttpClientTest, FiftyConcurrentRequestsAllComplete) {
  constexpr int kRequests = 50;
  int ok = 0;
  int completed = 0;
  for (int i = 0; i < kRequests; ++i) {
    client_.AsyncPerform(Request("/hello"), [&](boost::system::error_code ec, HttpResponse r) {
      ++completed;
      if (!ec && r.status == 200 && r.body == "hello world") ++ok;
    });
  }
  EXPECT_EQ(client_.active(), static_cast<std::size_t>(kRequests));
  RunTest([&]() -> awaitable<void> {
    EXPECT_TRUE(co_await WaitFor([&] { return completed == kRequests; }, 5s));
  });
  EXPECT_EQ(ok, kRequests);
  EXPECT_EQ(client_.active(), 0u);
}

TEST_F(HttpClientTest, SequentialRequestsReuseConnections) {
  constexpr int kRequests = 10;
  RunTest([&]() -> awaitable<void> {
    for (int i = 0; i < kRequests; ++i) {
      Result r = co_await Perform(client_, Request("/hello"));
      EXPECT_EQ(r.response.status, 200);
    }
  });
  EXPECT_LT(server_.accepted(), kRequests);
  EXPECT_EQ(server_.accepted(), 1);
}

TEST_F(HttpClientTest, RetryAfterIsCapturedWhateverItsCase) {
  RunTest([&]() -> awaitable<void> {
    Result r = co_await Perform(client_, Request("/retry"));
    EXPECT_TRUE(r.response.transport_ok());
    EXPECT_EQ(r.response.status, 429);
    EXPECT_EQ(r.response.retry_after, "120");
  });
}

TEST_F(HttpClientTest, GzipResponseIsDecoded) {
  RunTest([&]() -> awaitable<void> {
    Result r = co_await Perform(client_, Request("/gzip"));
    EXPECT_EQ(r.response.status, 200);
    EXPECT_EQ(r.response.body, Repeat("hello gzip world\n", 64));
  });
}

TEST_F(HttpClientTest, ConnectionRefusedIsATransportErrorNotAnException) {
  unsigned short closed_port = 0;
  {
    asio::io_context scratch;
    tcp::acceptor probe(scratch, {asio::ip::address_v4::loopback(), 0});
    closed_port = probe.local_endpoint().port();
  }  // nothing listens there now
  RunTest([&]() -> awaitable<void> {
    HttpRequest request;
    request.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/";
    Result r = co_await Perform(client_, std::move(request));
    EXPECT_FALSE(r.ec);
    EXPECT_EQ(r.response.curl_code, CURLE_COULDNT_CONNECT);
    EXPECT_FALSE(r.response.error.empty());
    EXPECT_EQ(r.response.status, 0);
  });
}

TEST_F(HttpClientTest, RequestTimeoutReportsOperationTimedOut) {
  RunTest([&]() -> awaitable<void> {
    Result r = co_await Perform(client_, Request("/stall", 200ms));
    EXPECT_FALSE(r.ec);
    EXPECT_EQ(r.response.curl_code, CURLE_OPERATION_TIMEDOUT) << r.response.error;
    EXPECT_GE(r.response.elapsed, 200ms);
    EXPECT_LT(r.response.elapsed, 2s);
  });
}

TEST_F(HttpClientTest, BodyOverTheCapIsReportedTooLarge) {
  HttpClient small(io_.get_executor(), HttpClientOptions{.max_body_bytes = 1000});
  RunTest([&]() -> awaitable<void> {
    Result r = co_await Perform(small, Request("/big"));
    EXPECT_FALSE(r.ec);
    EXPECT_TRUE(r.response.body_too_large);
    EXPECT_FALSE(r.response.transport_ok());
    EXPECT_EQ(r.response.body.size(), 1000u);
    EXPECT_FALSE(r.response.error.empty());
  });
}

TEST_F(HttpClientTest, BodiesBufferedAtOnceShareOneProcessBudget) {
  // Room for one or two 1 MiB /big bodies (a buffer holds up to twice its bytes), not
  // four: the others are cut off as transport errors (transient), not reported as a body
  // over the per-response cap.
  auto budget = std::make_shared<BodyBudget>(std::size_t{5} << 19);
  HttpClient shared(io_.get_executor(), HttpClientOptions{.body_budget = budget});
  RunTest([&]() -> awaitable<void> {
    constexpr int kRequests = 4;
    asio::cancellation_signal signals[kRequests];
    std::optional<Result> results[kRequests];
    for (int i = 0; i < kRequests; ++i) {
      StartCancellable(shared, Request("/big"), signals[i], &results[i]);
    }
    EXPECT_TRUE(co_await WaitFor([&] {
      return std::all_of(std::begin(results), std::end(results),
                         [](const auto& r) { return r.has_value(); });
    }));
    int whole = 0, cut = 0;
    for (const auto& r : results) {
      if (!r) continue;
      EXPECT_FALSE(r->response.body_too_large);
      if (r->response.transport_ok()) {
        ++whole;
        EXPECT_EQ(r->response.body.size(), std::size_t{1} << 20);
      } else {
        ++cut;
        EXPECT_EQ(r->response.curl_code, CURLE_WRITE_ERROR) << r->response.error;
        EXPECT_NE(r->response.error.find("2621440 bytes together"), std::string::npos)
            << r->response.error;
        EXPECT_TRUE(r->response.body.empty());
      }
    }
    EXPECT_LE(budget->used(), budget->limit());
    EXPECT_GE(cut, 2);
    EXPECT_GE(whole, 1);
    // A body's bytes stay counted while its response lives, and no longer.
    EXPECT_GE(budget->used(), std::size_t{1} << 20);
    for (auto& r : results) r.reset();
    EXPECT_EQ(budget->used(), 0u);
    // With the room back, the next body arrives whole.
    Result again = co_await Perform(shared, Request("/big"));
    EXPECT_TRUE(again.response.transport_ok()) << again.response.error;
    EXPECT_EQ(again.response.body.size(), std::size_t{1} << 20);
  });
  EXPECT_EQ(budget->used(), 0u);
}

TEST(BodyBudgetTest, RefusesAReservationThatDoesNotFitAndTakesBackReleases) {
  BodyBudget budget(100);
  EXPECT_TRUE(budget.TryReserve(60));
  EXPECT_FALSE(budget.TryReserve(41));
  EXPECT_TRUE(budget.TryReserve(40));
  EXPECT_FALSE(budget.TryReserve(1));
  EXPECT_FALSE(budget.TryReserve(SIZE_MAX));
  budget.Release(60);
  EXPECT_EQ(budget.used(), 40u);
  EXPECT_TRUE(budget.TryReserve(60));
  EXPECT_EQ(BodyBudget::Process()->limit(), BodyBudget::kDefaultLimit);
}

TEST_F(HttpClientTest, CancellationSignalAbortsStalledRequestWithin100ms) {
  RunTest([&]() -> awaitable<void> {
    asio::cancellation_signal signal;
    std::optional<Result> result;
    StartCancellable(client_, Request("/stall"), signal, &result);
    EXPECT_TRUE(co_await WaitFor([&] { return server_.stalled() == 1; }));
    const auto emitted = Clock::now();
    signal.emit(asio::cancellation_type::terminal);
    EXPECT_EQ(client_.active(), 0u);  // removed at once, completion is posted
    EXPECT_TRUE(co_await WaitFor([&] { return result.has_value(); }, 1s));
    if (!result) co_return;
    const auto latency = result->completed - emitted;
    std::cout << "cancellation latency: "
              << std::chrono::duration_cast<std::chrono::microseconds>(latency).count() << " us\n";
    EXPECT_EQ(result->ec, asio::error::operation_aborted);
    EXPECT_LT(latency, 100ms);
    EXPECT_TRUE(co_await WaitFor([&] { return server_.closed() == 1; }, 1s))
        << "server never saw the connection close";
    signal.emit(asio::cancellation_type::terminal);  // late: must not complete again
    co_await WaitFor([] { return false; }, 20ms);
  });
}

TEST_F(HttpClientTest, TimerRaceCancelsStalledRequestWithin100ms) {
  using namespace asio::experimental::awaitable_operators;
  RunTest([&]() -> awaitable<void> {
    asio::steady_timer timer(co_await asio::this_coro::executor, 50ms);
    const auto started = Clock::now();
    auto winner = co_await (client_.AsyncPerform(Request("/stall"), use_awaitable) ||
                            timer.async_wait(use_awaitable));
    const auto after_timer = Clock::now() - started - 50ms;
    std::cout << "cancellation latency after the 50 ms timer: "
              << std::chrono::duration_cast<std::chrono::microseconds>(after_timer).count()
              << " us\n";
    EXPECT_EQ(winner.index(), 1u);
    EXPECT_LT(after_timer, 100ms);
    EXPECT_EQ(client_.active(), 0u);
    EXPECT_TRUE(co_await WaitFor([&] { return server_.closed() == 1; }, 1s))
        << "server never saw the connection close";
  });
}

TEST_F(HttpClientTest, SixteenStalledRequestsAreCancelledAtOnce) {
  constexpr int kRequests = 16;
  RunTest([&]() -> awaitable<void> {
    std::vector<asio::cancellation_signal> signals(kRequests);
    std::vector<std::optional<Result>> results(kRequests);
    for (int i = 0; i < kRequests; ++i) {
      StartCancellable(client_, Request("/stall"), signals[i], &results[i]);
    }
    EXPECT_TRUE(co_await WaitFor([&] { return server_.stalled() == kRequests; }));
    const auto emitted = Clock::now();
    for (auto& signal : signals) signal.emit(asio::cancellation_type::terminal);
    auto all_done = [&] {
      for (const auto& r : results) {
        if (!r) return false;
      }
      return true;
    };
    EXPECT_TRUE(co_await WaitFor(all_done, 1s));
    Clock::duration slowest{0};
    for (const auto& r : results) {
      if (!r) continue;
      EXPECT_EQ(r->ec, asio::error::operation_aborted);
      slowest = std::max(slowest, r->completed - emitted);
    }
    std::cout << "slowest of 16 cancellations: "
              << std::chrono::duration_cast<std::chrono::microseconds>(slowest).count() << " us\n";
    EXPECT_LT(slowest, 100ms);
    EXPECT_EQ(client_.active(), 0u);
    EXPECT_TRUE(co_await WaitFor([&] { return server_.closed() == kRequests; }, 1s));
  });
}

TEST_F(HttpClientTest, DestroyingTheClientAbortsPendingRequests) {
  RunTest([&]() -> awaitable<void> {
    auto client = std::make_unique<HttpClient>(io_.get_executor());
    std::optional<Result> result;
    client->AsyncPerform(Request("/stall"), [&](boost::system::error_code ec, HttpResponse r) {
      EXPECT_FALSE(result.has_value()) << "completed twice";
      result = Result{ec, std::move(r), Clock::now()};
    });
    EXPECT_TRUE(co_await WaitFor([&] { return server_.stalled() == 1; }));
    client.reset();
    EXPECT_TRUE(co_await WaitFor([&] { return result.has_value(); }, 1s));
    if (result) {
      EXPECT_EQ(result->ec, asio::error::operation_aborted);
    }
    EXPECT_TRUE(co_await WaitFor([&] { return server_.closed() == 1; }, 1s));
  });
}

TEST_F(HttpClientTest, LocalhostNameResolves) {
  RunTest([&]() -> awaitable<void> {
    HttpRequest request = Request("/hello");
    request.url = server_.Url("/hello", "localhost");
    Result r = co_await Perform(client_, std::move(request));
    EXPECT_EQ(r.response.status, 200) << r.response.error;
  });
}

// libcurl answers "localhost" itself; the machine's own host name goes through the
// threaded resolver, whose socketpair must be watched for the lookup to finish promptly.
TEST_F(HttpClientTest, HostNameResolvesThroughTheThreadedResolver) {
  char name[256] = {};
  ASSERT_EQ(gethostname(name, sizeof(name) - 1), 0);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* found = nullptr;
  if (getaddrinfo(name, nullptr, &hints, &found) != 0) GTEST_SKIP() << name << " does not resolve";
  const bool loopback =
      reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
  freeaddrinfo(found);
  if (!loopback) GTEST_SKIP() << name << " does not resolve to 127.0.0.1";
  RunTest([&]() -> awaitable<void> {
    HttpRequest request = Request("/hello");
    request.url = server_.Url("/hello", name);
    Result r = co_await Perform(client_, std::move(request));
    EXPECT_EQ(r.response.status, 200) << r.response.error;
    EXPECT_LT(r.response.elapsed, 1s);
  });
}

// A name the resolver has to ask DNS about: the lookup runs on the resolver thread and
// fails; the failure must arrive through the watched socketpair, not hang.
TEST_F(HttpClientTest, UnresolvableHostIsATransportError) {
  RunTest(
      [&]() -> awaitable<void> {
        HttpRequest request;
        request.url = "http://no-such-host.invalid/";
        request.timeout = 30s;  // above glibc's own DNS retry budget
        Result r = co_await Perform(client_, std::move(request));
        EXPECT_FALSE(r.ec);
        EXPECT_EQ(r.response.curl_code, CURLE_COULDNT_RESOLVE_HOST) << r.response.error;
        EXPECT_FALSE(r.response.error.empty());
      },
      40s);
}

// TLS is attempted (and verified) for https: a plain http peer fails the handshake.
TEST_F(HttpClientTest, HttpsToAPlainServerFailsTheHandshake) {
  RunTest([&]() -> awaitable<void> {
    HttpRequest request = Request("/hello");
    request.url = "https://127.0.0.1:" + std::to_string(server_.port()) + "/hello";
    Result r = co_await Perform(client_, std::move(request));
    EXPECT_FALSE(r.ec);
    EXPECT_FALSE(r.response.transport_ok());
    EXPECT_EQ(r.response.status, 0);
  });
}

}  // namespace
}  // namespace batchfetch
