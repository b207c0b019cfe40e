#include "workers/retry_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>

namespace batchfetch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

WallTime At(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return std::chrono::sys_days{std::chrono::year{y} / mo / d} + std::chrono::hours{h} +
         std::chrono::minutes{mi} + std::chrono::seconds{s};
}

TEST(RetryPolicyTest, DelayStaysWithinTheDoublingCeiling) {
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  RetryPolicy policy(seconds(1), seconds(60), seed);
  const milliseconds ceilings[] = {seconds(1),  seconds(2),  seconds(4),  seconds(8),
                                   seconds(16), seconds(32), seconds(60), seconds(60)};
  for (int attempt = 1; attempt <= 8; ++attempt) {
    milliseconds lo = milliseconds::max(), hi = milliseconds::zero();
    for (int i = 0; i < 2000; ++i) {
      const milliseconds d = policy.Delay(attempt);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    const milliseconds ceiling = ceilings[attempt - 1];
    EXPECT_GE(lo, milliseconds(0)) << "attempt " << attempt;
    EXPECT_LE(hi, ceiling) << "attempt " << attempt;
    // Full jitter spreads over the whole range.
    EXPECT_LT(lo, ceiling / 10) << "attempt " << attempt;
    EXPECT_GT(hi, ceiling * 9 / 10) << "attempt " << attempt;
  }
}

TEST(RetryPolicyTest, HugeAttemptNumbersSaturateAtTheCap) {
  RetryPolicy policy(seconds(1), seconds(60), 42);
  for (const int attempt : {31, 64, 1000, 1 << 30}) {
    EXPECT_LE(policy.Delay(attempt), seconds(60)) << attempt;
  }
  EXPECT_LE(policy.Delay(0), seconds(1));
  EXPECT_LE(policy.Delay(-5), seconds(1));
}

TEST(RetryPolicyTest, RetryAfterIsAFloor) {
  RetryPolicy policy(milliseconds(100), seconds(1), 7);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(policy.Delay(1, seconds(30)), seconds(30));
    EXPECT_GE(policy.Delay(3, milliseconds(50)), milliseconds(50));
  }
}

TEST(RetryPolicyTest, SameSeedSameDelays) {
  RetryPolicy a(seconds(1), seconds(60), 99), b(seconds(1), seconds(60), 99);
  for (int attempt = 1; attempt < 10; ++attempt) {
    EXPECT_EQ(a.Delay(attempt), b.Delay(attempt));
  }
  EXPECT_EQ(a.base(), seconds(1));
  EXPECT_EQ(a.cap(), seconds(60));
}

struct RetryAfterCase {
  const char* name;
  std::string value;
  std::optional<milliseconds> expected;
};

class ParseRetryAfterTest : public ::testing::TestWithParam<RetryAfterCase> {};

TEST_P(ParseRetryAfterTest, ParsesOrRefuses) {
  const WallTime now = At(2015, 10, 21, 7, 27, 0);
  EXPECT_EQ(ParseRetryAfter(GetParam().value, now), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseRetryAfterTest,
    ::testing::Values(
        RetryAfterCase{"DeltaSeconds", "120", seconds(120)},
        RetryAfterCase{"Zero", "0", seconds(0)}, RetryAfterCase{"Padded", "  5 \r\n", seconds(5)},
        RetryAfterCase{"HugeDeltaSaturates", "99999999999999999999999", seconds(int64_t{1} << 30)},
        RetryAfterCase{"ImfFixdate", "Wed, 21 Oct 2015 07:28:00 GMT", seconds(60)},
        RetryAfterCase{"ImfFixdateNextDay", "Thu, 22 Oct 2015 07:27:00 GMT",
                       std::chrono::hours(24)},
        RetryAfterCase{"ImfFixdateInThePast", "Tue, 20 Oct 2015 07:28:00 GMT", seconds(0)},
        RetryAfterCase{"Rfc850", "Wednesday, 21-Oct-15 07:29:30 GMT", seconds(150)},
        RetryAfterCase{"Asctime", "Wed Oct 21 07:27:10 2015", seconds(10)},
        RetryAfterCase{"AsctimeSingleDigitDay", "Sun Nov  6 08:49:37 1994", seconds(0)},
        RetryAfterCase{"Empty", "", std::nullopt}, RetryAfterCase{"Negative", "-5", std::nullopt},
        RetryAfterCase{"Fraction", "1.5", std::nullopt},
        RetryAfterCase{"Words", "in a minute", std::nullopt},
        RetryAfterCase{"NoGmt", "Wed, 21 Oct 2015 07:28:00", std::nullopt},
        RetryAfterCase{"BadMonth", "Wed, 21 Foo 2015 07:28:00 GMT", std::nullopt},
        RetryAfterCase{"BadDay", "Wed, 31 Feb 2015 07:28:00 GMT", std::nullopt},
        RetryAfterCase{"BadHour", "Wed, 21 Oct 2015 25:28:00 GMT", std::nullopt},
        RetryAfterCase{"AncientYear", "Sun Nov  6 08:49:37 0994", std::nullopt},
        RetryAfterCase{"FarFutureYear", "Wed, 21 Oct 9999 07:28:00 GMT", std::nullopt},
        RetryAfterCase{"TrailingJunk", "Wed, 21 Oct 2015 07:28:00 GMTx", std::nullopt}),
    [](const ::testing::TestParamInfo<RetryAfterCase>& info) { return info.param.name; });

}  // namespace
}  // namespace batchfetch
