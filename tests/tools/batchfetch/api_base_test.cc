#include "tools/batchfetch/api_base.h"

#include <gtest/gtest.h>

namespace batchfetch {
namespace {

TEST(ApiBaseTest, HttpsToAnyHostIsFineAndNotLoopback) {
  const ApiBaseCheck c = CheckApiBase("https://www.googleapis.com");
  EXPECT_EQ(c.error, "");
  EXPECT_FALSE(c.loopback);
}

TEST(ApiBaseTest, PlainHttpOnlyToALoopbackAddress) {
  for (const char* url :
       {"http://127.0.0.1:8080", "http://127.1.2.3/", "http://localhost:9", "http://[::1]:80"}) {
    const ApiBaseCheck c = CheckApiBase(url);
    EXPECT_EQ(c.error, "") << url;
    EXPECT_TRUE(c.loopback) << url;
  }
  for (const char* url : {"http://example.com", "http://10.0.0.1:80", "http://127.0.0.1.evil.com/",
                          "http://localhost.evil.com/"}) {
    EXPECT_NE(CheckApiBase(url).error, "") << url;
  }
}

TEST(ApiBaseTest, AUserInfoPartIsRefusedBecauseItHidesTheHost) {
  for (const char* url : {"http://127.0.0.1@192.0.2.1:8080", "http://localhost:x@evil.example.com",
                          "https://user:pw@www.googleapis.com"}) {
    const ApiBaseCheck c = CheckApiBase(url);
    EXPECT_NE(c.error.find("user name"), std::string::npos) << url << ": " << c.error;
  }
}

TEST(ApiBaseTest, NotAUrlOrAnotherSchemeIsRefused) {
  for (const char* url : {"", "www.googleapis.com", "ftp://127.0.0.1/", "https://"}) {
    EXPECT_NE(CheckApiBase(url).error, "") << url;
  }
}

}  // namespace
}  // namespace batchfetch
