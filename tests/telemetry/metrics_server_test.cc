#include "telemetry/metrics_server.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "tests/support/http_client.h"

namespace batchfetch {
namespace {

// Runs a MetricsServer on its own io thread, as the engine does; requests come from the
// test thread.
class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Route("/metrics", [this] {
      ++calls_;
      return HttpReply{200, "text/plain; version=0.0.4", "x_total 1\n"};
    });
    std::string error;
    ASSERT_TRUE(server_.Listen(ListenAddress{"127.0.0.1", 0}, &error)) << error;
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    boost::asio::post(io_, [this] { server_.Stop(); });
    thread_.join();
  }
  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + path;
  }

  boost::asio::io_context io_;
  MetricsServer server_{io_.get_executor()};
  std::thread thread_;
  int calls_ = 0;
};

TEST_F(MetricsServerTest, AnswersARouteAndIgnoresTheQueryString) {
  testing::HttpResponse r = testing::HttpGet(Url("/metrics?x=1"));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "x_total 1\n");
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4");
}

TEST_F(MetricsServerTest, UnknownPathIs404AndPostIs405) {
  EXPECT_EQ(testing::HttpGet(Url("/nope")).status, 404);
  EXPECT_EQ(testing::HttpPost(Url("/metrics"), "{}").status, 405);
}

TEST_F(MetricsServerTest, ServesManyRequestsInARow) {
  for (int i = 0; i < 20; ++i) ASSERT_EQ(testing::HttpGet(Url("/metrics")).status, 200);
}

TEST(MetricsServerBindTest, APortInUseIsAClearError) {
  boost::asio::io_context io;
  MetricsServer first(io.get_executor());
  std::string error;
  ASSERT_TRUE(first.Listen(ListenAddress{"127.0.0.1", 0}, &error)) << error;
  MetricsServer second(io.get_executor());
  EXPECT_FALSE(second.Listen(ListenAddress{"127.0.0.1", first.port()}, &error));
  EXPECT_NE(error.find(std::to_string(first.port())), std::string::npos) << error;
}

}  // namespace
}  // namespace batchfetch
