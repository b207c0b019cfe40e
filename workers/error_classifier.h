#ifndef BATCHFETCH_WORKERS_ERROR_CLASSIFIER_H_
#define BATCHFETCH_WORKERS_ERROR_CLASSIFIER_H_

#include <chrono>
#include <optional>
#include <string>
#include <system_error>

#include "core/clock.h"
#include "core/page.h"
#include "workers/http_client.h"

namespace batchfetch {

// What a failed (or successful) request means for the run. See DESIGN.md "Errors".
// Also an std::error_code enum (category "batchfetch.request"); kNone is 0, success.
enum class ErrorKind {
  kNone = 0,      // 2xx: parse the body
  kTransient,     // timeout, reset, 5xx, 408, truncated body: retry this page with back-off
  kQuota,         // 429, or a 4xx whose structured fields say quota (see Classify): slow down
  kUnauthorized,  // 401: refresh the token once, then fatal
  kFatal,         // 400, 403 permission, 404, other 4xx, oversized body: halt the run
};

struct Classification {
  ErrorKind kind = ErrorKind::kNone;
  std::string reason;                                    // one line, no secrets
  std::optional<std::chrono::milliseconds> retry_after;  // from Retry-After, if any (uncapped)
  std::string api_reason;  // the first error.errors[].reason / error.details[].reason, or ""
  std::string api_status;  // error.status (RESOURCE_EXHAUSTED, PERMISSION_DENIED, ...) or ""
};

// Classifies a finished transfer. Quota iff 429, or a 4xx whose structured fields say so:
// error.status RESOURCE_EXHAUSTED, an error.errors[].reason in {rateLimitExceeded,
// userRateLimitExceeded, quotaExceeded, dailyLimitExceeded} or an error.details[]
// ErrorInfo reason RATE_LIMIT_EXCEEDED / QUOTA_EXCEEDED. Never by the message: a 403
// whose message says "quota" (e.g. "...requires a quota project", PERMISSION_DENIED) is
// fatal. now resolves an HTTP-date Retry-After (capping it is the caller's). The reason
// quotes the API's own message (one line, at most ~200 bytes). Never throws.
Classification Classify(const HttpResponse& response, WallTime now);

const char* ErrorKindName(ErrorKind kind);

const std::error_category& ErrorKindCategory();
std::error_code make_error_code(ErrorKind kind);

}  // namespace batchfetch

template <>
struct std::is_error_code_enum<batchfetch::ErrorKind> : std::true_type {};

#endif  // BATCHFETCH_WORKERS_ERROR_CLASSIFIER_H_
