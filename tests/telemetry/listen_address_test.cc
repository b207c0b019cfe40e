#include "telemetry/listen_address.h"

#include <gtest/gtest.h>

namespace batchfetch {
namespace {

TEST(ListenAddressTest, AMissingHostMeansLoopback) {
  std::string error;
  for (const char* text : {"9464", ":9464"}) {
    auto a = ParseListenAddress(text, &error);
    ASSERT_TRUE(a) << text << ": " << error;
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 9464);
  }
}

TEST(ListenAddressTest, ANamedHostIsKept) {
  std::string error;
  auto a = ParseListenAddress("0.0.0.0:80", &error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->host, "0.0.0.0");
  auto b = ParseListenAddress("[::1]:0", &error);
  ASSERT_TRUE(b) << error;
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
}

TEST(ListenAddressTest, RejectsWhatIsNotHostAndPort) {
  for (const char* text : {"", ":", "abc", "70000", "localhost:9464", "::1:9464", "[::1]9464",
                           "1.2.3.4:", "1.2.3.4:-1"}) {
    std::string error;
    EXPECT_FALSE(ParseListenAddress(text, &error)) << text;
    EXPECT_NE(error.find("--metrics-addr"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace batchfetch
