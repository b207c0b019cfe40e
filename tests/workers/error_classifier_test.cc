#include "workers/error_classifier.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <system_error>

namespace batchfetch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Google's error bodies as the Search Console API sends them.
const char k429RateLimit[] = R"({
  "error": {
    "code": 429,
    "message": "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'searchconsole.googleapis.com' for consumer 'project_number:123456'.",
    "status": "RESOURCE_EXHAUSTED",
    "details": [
      {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "RATE_LIMIT_EXCEEDED",
        "domain": "googleapis.com",
        "metadata": {"service": "searchconsole.googleapis.com", "quota_limit": "QueriesPerMinutePerUser"}
      }
    ]
  }
})";

const char k403QuotaExceeded[] = R"({
  "error": {
    "code": 403,
    "message": "Search Analytics load exceeded for this site.",
    "errors": [{"message": "Search Analytics load exceeded for this site.", "domain": "usageLimits", "reason": "quotaExceeded"}]
  }
})";

const char k403RateLimitExceeded[] = R"({"error": {"code": 403, "message": "Rate Limit Exceeded",
  "errors": [{"message": "Rate Limit Exceeded", "domain": "usageLimits", "reason": "rateLimitExceeded"}]}})";

const char k403ResourceExhausted[] = R"({"error": {"code": 403, "message": "Too many requests",
  "status": "RESOURCE_EXHAUSTED"}})";

const char k403UserRateLimitExceeded[] = R"({"error": {"code": 403,
  "message": "User Rate Limit Exceeded",
  "errors": [{"message": "User Rate Limit Exceeded", "domain": "usageLimits", "reason": "userRateLimitExceeded"}]}})";

const char k403DailyLimitExceeded[] = R"({"error": {"code": 403, "message": "Daily Limit Exceeded",
  "errors": [{"message": "Daily Limit Exceeded", "domain": "usageLimits", "reason": "dailyLimitExceeded"}]}})";

// Newer answers: only an ErrorInfo detail names the quota.
const char k403ErrorInfoRateLimit[] = R"({"error": {"code": 403, "message": "Too many queries.",
  "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
    "domain": "googleapis.com", "metadata": {"quota_limit_value": "60"}}]}})";

// Google's answer to user credentials (gcloud application-default login) without a quota
// project: a permission error whose domain is usageLimits and whose message says "quota".
const char k403QuotaProjectNotSet[] = R"({
  "error": {
    "code": 403,
    "message": "Your application is authenticating by using local Application Default Credentials. The searchconsole.googleapis.com API requires a quota project, which is not set by default. To learn how to set your quota project, see https://cloud.google.com/docs/authentication/adc-troubleshooting/user-creds .",
    "errors": [
      {
        "message": "Your application is authenticating by using local Application Default Credentials. The searchconsole.googleapis.com API requires a quota project, which is not set by default.",
        "domain": "usageLimits",
        "reason": "accessNotConfigured",
        "extendedHelp": "https://console.developers.google.com"
      }
    ],
    "status": "PERMISSION_DENIED",
    "details": [
      {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "SERVICE_DISABLED",
        "domain": "googleapis.com",
        "metadata": {"service": "searchconsole.googleapis.com", "consumer": "projects/764086051850"}
      }
    ]
  }
})";

// A permission error for a site whose name says "quota".
const char k403QuotaboardPermission[] = R"({"error": {"code": 403,
  "message": "User does not have sufficient permission for site 'sc-domain:quotaboard.example'. See also: https://support.google.com/webmasters/answer/2451999.",
  "errors": [{"message": "User does not have sufficient permission for site 'sc-domain:quotaboard.example'.", "domain": "global", "reason": "forbidden"}],
  "status": "PERMISSION_DENIED"}})";

const char k403QuotaInMessage[] =
    R"({"error": {"code": 403, "message": "Daily Limit Exceeded. The QUOTA for this project is used up.",
  "errors": [{"message": "x", "domain": "usageLimits", "reason": "somethingNew"}]}})";

const char k403Permission[] = R"({
  "error": {
    "code": 403,
    "message": "User does not have sufficient permission for site 'https://www.example.com/'. See also: https://support.google.com/webmasters/answer/2451999.",
    "errors": [
      {
        "message": "User does not have sufficient permission for site 'https://www.example.com/'. See also: https://support.google.com/webmasters/answer/2451999.",
        "domain": "global",
        "reason": "forbidden"
      }
    ],
    "status": "PERMISSION_DENIED"
  }
})";

const char k403InsufficientPermissions[] =
    R"({"error": {"code": 403, "message": "Request had insufficient authentication scopes.",
  "errors": [{"message": "Insufficient Permission", "domain": "global", "reason": "insufficientPermissions"}],
  "status": "PERMISSION_DENIED"}})";

const char k400InvalidArgument[] = R"({
  "error": {
    "code": 400,
    "message": "Invalid value at 'start_date' (TYPE_STRING), \"2024-13-01\"",
    "errors": [{"message": "Invalid value at 'start_date' (TYPE_STRING), \"2024-13-01\"", "reason": "invalid"}],
    "status": "INVALID_ARGUMENT"
  }
})";

const char k401[] =
    R"({"error": {"code": 401, "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
  "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError", "location": "Authorization", "locationType": "header"}],
  "status": "UNAUTHENTICATED"}})";

const char k404[] =
    R"({"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}})";

const char k503[] =
    R"({"error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}})";

struct Case {
  const char* name;
  long status;
  std::string body;
  ErrorKind kind;
  const char* reason_mentions;  // "" = reason may be anything
  int curl_code = 0;
  std::string curl_error = "";
  bool body_too_large = false;
};

HttpResponse Response(const Case& c) {
  HttpResponse r;
  r.status = c.status;
  r.body = c.body;
  r.curl_code = c.curl_code;
  r.error = c.curl_error;
  r.body_too_large = c.body_too_large;
  return r;
}

class ClassifyTest : public ::testing::TestWithParam<Case> {};

TEST_P(ClassifyTest, GivesTheKindAndAOneLineReason) {
  const Case& c = GetParam();
  const Classification got = Classify(Response(c), WallClock::now());
  EXPECT_EQ(ErrorKindName(got.kind), std::string(ErrorKindName(c.kind)));
  EXPECT_NE(got.reason.find(c.reason_mentions), std::string::npos) << got.reason;
  EXPECT_EQ(got.reason.find('\n'), std::string::npos) << got.reason;
  EXPECT_LE(got.reason.size(), 240u) << got.reason;
  EXPECT_FALSE(got.retry_after.has_value());
}

INSTANTIATE_TEST_SUITE_P(
    Table, ClassifyTest,
    ::testing::Values(
        Case{"Ok200", 200, R"({"rows": []})", ErrorKind::kNone, ""},
        Case{"Ok204", 204, "", ErrorKind::kNone, ""},
        Case{"Quota429RateLimitExceeded", 429, k429RateLimit, ErrorKind::kQuota,
             "HTTP 429 RESOURCE_EXHAUSTED: Quota exceeded for quota metric 'Queries'"},
        Case{"Quota429GarbageBody", 429, "Too Many Requests", ErrorKind::kQuota, "HTTP 429"},
        Case{"Quota403QuotaExceeded", 403, k403QuotaExceeded, ErrorKind::kQuota,
             "Search Analytics load exceeded"},
        Case{"Quota403RateLimitExceeded", 403, k403RateLimitExceeded, ErrorKind::kQuota,
             "Rate Limit Exceeded"},
        Case{"Quota403ResourceExhausted", 403, k403ResourceExhausted, ErrorKind::kQuota,
             "RESOURCE_EXHAUSTED"},
        Case{"Quota403UserRateLimitExceeded", 403, k403UserRateLimitExceeded, ErrorKind::kQuota,
             "User Rate Limit Exceeded"},
        Case{"Quota403DailyLimitExceeded", 403, k403DailyLimitExceeded, ErrorKind::kQuota,
             "Daily Limit Exceeded"},
        Case{"Quota403ErrorInfoRateLimitExceeded", 403, k403ErrorInfoRateLimit, ErrorKind::kQuota,
             "Too many queries"},
        Case{"Fatal403MessageSaysQuotaButNoQuotaReason", 403, k403QuotaInMessage, ErrorKind::kFatal,
             "QUOTA"},
        Case{"Fatal403RequiresAQuotaProject", 403, k403QuotaProjectNotSet, ErrorKind::kFatal,
             "HTTP 403 PERMISSION_DENIED: Your application is authenticating"},
        Case{"Fatal403PermissionForASiteNamedQuotaboard", 403, k403QuotaboardPermission,
             ErrorKind::kFatal, "quotaboard.example"},
        Case{"Fatal404MessageSaysQuota", 404,
             R"({"error": {"code": 404, "message": "quota not found", "status": "NOT_FOUND"}})",
             ErrorKind::kFatal, "quota not found"},
        Case{"Fatal403Permission", 403, k403Permission, ErrorKind::kFatal,
             "HTTP 403 PERMISSION_DENIED: User does not have sufficient permission for site "
             "'https://www.example.com/'"},
        Case{"Fatal403InsufficientPermissions", 403, k403InsufficientPermissions, ErrorKind::kFatal,
             "insufficient authentication scopes"},
        Case{"Fatal403GarbageBody", 403, "<html>Forbidden</html>", ErrorKind::kFatal,
             "HTTP 403 (body: <html>Forbidden</html>)"},
        Case{"Fatal403EmptyBody", 403, "", ErrorKind::kFatal, "HTTP 403 (empty body)"},
        Case{"Fatal403TruncatedJson", 403,
             R"({"error": {"code": 403, "errors": [{"reason": "quotaEx)", ErrorKind::kFatal,
             "HTTP 403 (body:"},
        Case{"Fatal403ErrorNotAnObject", 403, R"({"error": 5})", ErrorKind::kFatal, "HTTP 403"},
        Case{"Fatal403InvalidUtf8", 403, "{\"error\": {\"message\": \"quota \xC3\x28\"}}",
             ErrorKind::kFatal, "HTTP 403 (body: {\"error\": {\"message\": \"quota ?(\"}})"},
        Case{"Fatal400InvalidArgument", 400, k400InvalidArgument, ErrorKind::kFatal,
             "HTTP 400 INVALID_ARGUMENT: Invalid value at 'start_date'"},
        Case{"Unauthorized401", 401, k401, ErrorKind::kUnauthorized,
             "HTTP 401 UNAUTHENTICATED: Request had invalid authentication credentials"},
        Case{"Unauthorized401OAuthShape", 401,
             R"({"error": "invalid_token", "error_description": "Token expired"})",
             ErrorKind::kUnauthorized, "HTTP 401: Token expired"},
        Case{"Fatal404", 404, k404, ErrorKind::kFatal, "Requested entity was not found"},
        Case{"Fatal409", 409, "{}", ErrorKind::kFatal, "HTTP 409"},
        Case{"FatalRedirect", 302, "", ErrorKind::kFatal, "HTTP 302"},
        Case{"Transient408", 408, "", ErrorKind::kTransient, "HTTP 408"},
        Case{"Transient500", 500, "", ErrorKind::kTransient, "HTTP 500"},
        Case{"Transient502Html", 502, "<html>\r\n<b>Bad Gateway</b>\r\n</html>",
             ErrorKind::kTransient, "HTTP 502 (body: <html> <b>Bad Gateway</b> </html>)"},
        Case{"Transient503", 503, k503, ErrorKind::kTransient,
             "The service is currently unavailable"},
        Case{"Transient504", 504, "", ErrorKind::kTransient, "HTTP 504"},
        Case{"Transient599", 599, "", ErrorKind::kTransient, "HTTP 599"},
        Case{"TransientTimeout", 0, "", ErrorKind::kTransient,
             "transport error (curl 28): Operation timed out after 30000 milliseconds", 28,
             "Operation timed out after 30000 milliseconds"},
        Case{"TransientReset", 0, "", ErrorKind::kTransient, "curl 56", 56,
             "Recv failure: Connection reset by peer"},
        Case{"TransientPartialFile", 200, R"({"rows": [)", ErrorKind::kTransient, "curl 18", 18,
             "transfer closed with 100 bytes remaining to read"},
        Case{"TransientConnectRefused", 0, "", ErrorKind::kTransient, "curl 7", 7, ""},
        Case{"FatalBodyTooLarge", 200, "xxxx", ErrorKind::kFatal,
             "response body larger than 268435456 bytes", 23,
             "response body larger than 268435456 bytes", true}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(ClassifyReasonTest, TruncatesLongMessagesWithoutSplittingUtf8) {
  std::string message;
  for (int i = 0; i < 150; ++i) {
    message += "\xC3\xA9";  // é, 300 bytes
  }
  HttpResponse r;
  r.status = 400;
  r.body = R"({"error": {"code": 400, "message": ")" + message + R"("}})";
  const Classification c = Classify(r, WallClock::now());
  EXPECT_EQ(c.kind, ErrorKind::kFatal);
  EXPECT_LE(c.reason.size(), 200u + 3u);
  ASSERT_GE(c.reason.size(), 3u);
  EXPECT_EQ(c.reason.substr(c.reason.size() - 3), "...");
  const std::string kept = c.reason.substr(0, c.reason.size() - 3);
  // Every é is whole: the kept text after the prefix has an even length.
  const std::string prefix = "HTTP 400: ";
  ASSERT_EQ(kept.substr(0, prefix.size()), prefix);
  EXPECT_EQ((kept.size() - prefix.size()) % 2, 0u) << kept;
}

TEST(ClassifyStructuredFieldsTest, ExposesTheApiReasonAndStatus) {
  HttpResponse r;
  r.status = 429;
  r.body = k429RateLimit;
  Classification c = Classify(r, WallClock::now());
  EXPECT_EQ(c.api_reason, "RATE_LIMIT_EXCEEDED");
  EXPECT_EQ(c.api_status, "RESOURCE_EXHAUSTED");
  r.status = 403;
  r.body = k403QuotaProjectNotSet;
  c = Classify(r, WallClock::now());
  EXPECT_EQ(c.kind, ErrorKind::kFatal);
  EXPECT_EQ(c.api_reason, "accessNotConfigured");
  EXPECT_EQ(c.api_status, "PERMISSION_DENIED");
}

TEST(ClassifyRetryAfterTest, KeepsALongRetryAfterForTheCallerToCap) {
  HttpResponse r;
  r.status = 429;
  r.retry_after = "86400";
  EXPECT_EQ(Classify(r, WallClock::now()).retry_after, seconds(86400));
}

TEST(ClassifyReasonTest, FlattensMultiLineMessages) {
  HttpResponse r;
  r.status = 400;
  r.body = R"({"error": {"message": "line one\nline two\t\tend", "status": "INVALID_ARGUMENT"}})";
  EXPECT_EQ(Classify(r, WallClock::now()).reason,
            "HTTP 400 INVALID_ARGUMENT: line one line two end");
}

TEST(ClassifyRetryAfterTest, ReadsDeltaSecondsOnAnyKind) {
  HttpResponse r;
  r.status = 429;
  r.retry_after = "30";
  const Classification c = Classify(r, WallClock::now());
  EXPECT_EQ(c.kind, ErrorKind::kQuota);
  ASSERT_TRUE(c.retry_after.has_value());
  EXPECT_EQ(*c.retry_after, seconds(30));
  r.status = 503;
  r.retry_after = "2";
  EXPECT_EQ(Classify(r, WallClock::now()).retry_after, milliseconds(2000));
}

TEST(ClassifyRetryAfterTest, ResolvesAnHttpDateAgainstNow) {
  HttpResponse r;
  r.status = 503;
  r.retry_after = "Wed, 21 Oct 2015 07:28:00 GMT";
  const WallTime now = std::chrono::sys_days{std::chrono::year{2015} / 10 / 21} +
                       std::chrono::hours{7} + std::chrono::minutes{27};
  EXPECT_EQ(Classify(r, now).retry_after, seconds(60));
}

TEST(ClassifyRetryAfterTest, IgnoresAnUnparsableValue) {
  HttpResponse r;
  r.status = 503;
  r.retry_after = "soon";
  EXPECT_FALSE(Classify(r, WallClock::now()).retry_after.has_value());
}

TEST(ErrorKindTest, IsAnErrorCodeEnumWhoseNoneIsSuccess) {
  const std::error_code none = ErrorKind::kNone;
  const std::error_code quota = ErrorKind::kQuota;
  EXPECT_FALSE(none);
  EXPECT_TRUE(quota);
  EXPECT_STREQ(quota.category().name(), "batchfetch.request");
  EXPECT_EQ(quota.message(), "quota exceeded");
  EXPECT_EQ(quota, ErrorKind::kQuota);
  EXPECT_NE(quota, ErrorKind::kFatal);
}

TEST(ErrorKindTest, NamesEveryKind) {
  EXPECT_STREQ(ErrorKindName(ErrorKind::kNone), "none");
  EXPECT_STREQ(ErrorKindName(ErrorKind::kTransient), "transient");
  EXPECT_STREQ(ErrorKindName(ErrorKind::kQuota), "quota");
  EXPECT_STREQ(ErrorKindName(ErrorKind::kUnauthorized), "unauthorized");
  EXPECT_STREQ(ErrorKindName(ErrorKind::kFatal), "fatal");
}

}  // namespace
}  // namespace batchfetch
