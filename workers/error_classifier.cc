#include "workers/error_classifier.h"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <exception>
#include <string_view>
#include <utility>

#include "workers/retry_policy.h"

namespace batchfetch {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxReasonBytes = 200;

// The API's error body, as much of it as could be read.
struct ApiError {
  bool parsed = false;               // the body was a JSON object with an "error" member
  std::string message;               // error.message (or error_description), raw
  std::string status;                // error.status, e.g. RESOURCE_EXHAUSTED
  std::vector<std::string> reasons;  // error.errors[].reason and error.details[].reason
};

std::string_view StringOr(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v != nullptr && v->is_string()) {
    return v->get_string();
  }
  return {};
}

void CollectReasons(const json::object& error, std::string_view list, ApiError* out) {
  const json::value* v = error.if_contains(list);
  if (v == nullptr || !v->is_array()) {
    return;
  }
  for (const json::value& item : v->get_array()) {
    if (!item.is_object()) {
      continue;
    }
    const std::string_view reason = StringOr(item.get_object(), "reason");
    if (!reason.empty()) {
      out->reasons.emplace_back(reason);
    }
  }
}

// Reads Google's error envelope {"error": {"code", "message", "status", "errors": [...],
// "details": [...]}} and the OAuth shape {"error": "...", "error_description": "..."}.
ApiError ReadApiError(std::string_view body) {
  ApiError out;
  boost::system::error_code ec;
  const json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) {
    return out;
  }
  const json::value* error = doc.get_object().if_contains("error");
  if (error == nullptr) {
    return out;
  }
  if (error->is_string()) {
    out.parsed = true;
    out.message = StringOr(doc.get_object(), "error_description");
    if (out.message.empty()) {
      out.message = error->get_string();
    }
    return out;
  }
  if (!error->is_object()) {
    return out;
  }
  const json::object& e = error->get_object();
  out.parsed = true;
  out.message = StringOr(e, "message");
  out.status = StringOr(e, "status");
  CollectReasons(e, "errors", &out);
  CollectReasons(e, "details", &out);
  if (out.message.empty()) {
    if (const json::value* errors = e.if_contains("errors");
        errors != nullptr && errors->is_array() && !errors->get_array().empty() &&
        errors->get_array()[0].is_object()) {
      out.message = StringOr(errors->get_array()[0].get_object(), "message");
    }
  }
  return out;
}

// One line of at most kMaxReasonBytes: control characters become spaces, runs of spaces
// collapse, a cut never splits a UTF-8 sequence. With ascii_only, bytes >= 0x80 become
// '?' (for bodies that were not valid JSON and so may not be valid UTF-8).
std::string OneLine(std::string_view text, bool ascii_only) {
  std::string out;
  out.reserve(std::min(text.size(), kMaxReasonBytes + 3));
  for (const char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) {
      c = ' ';
    }
    if (ascii_only && c >= 0x80) {
      c = '?';
    }
    if (c == ' ' && (out.empty() || out.back() == ' ')) {
      continue;
    }
    out.push_back(static_cast<char>(c));
    if (out.size() > kMaxReasonBytes) {
      break;
    }
  }
  if (out.size() > kMaxReasonBytes) {
    std::size_t cut = kMaxReasonBytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    out.resize(cut);
    out += "...";
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out;
}

// Quota by structured fields only: a message is prose for people ("...requires a quota
// project, which is not set by default" is a PERMISSION_DENIED), never a signal.
bool SaysQuota(const ApiError& e) {
  // error.errors[].reason (domain usageLimits) and error.details[] ErrorInfo reasons.
  static constexpr std::array<std::string_view, 7> kQuotaReasons = {
      "rateLimitExceeded",   "userRateLimitExceeded", "quotaExceeded",     "dailyLimitExceeded",
      "RATE_LIMIT_EXCEEDED", "QUOTA_EXCEEDED",        "RESOURCE_EXHAUSTED"};
  for (const std::string& r : e.reasons) {
    if (std::find(kQuotaReasons.begin(), kQuotaReasons.end(), r) != kQuotaReasons.end()) {
      return true;
    }
  }
  return e.status == "RESOURCE_EXHAUSTED";
}

// "HTTP 403 PERMISSION_DENIED: User does not have ..." or, for a body that is not a
// Google error, "HTTP 502 (body: <html>...)"; at most ~200 bytes either way.
std::string HttpReason(long status, std::string_view body, const ApiError& e) {
  std::string head = "HTTP " + std::to_string(status);
  if (e.parsed) {
    if (!e.status.empty()) {
      head += " " + e.status;
    }
    if (!e.message.empty()) {
      head += ": " + e.message;
    }
    return OneLine(head, /*ascii_only=*/false);
  }
  if (body.empty()) {
    return head + " (empty body)";
  }
  constexpr std::size_t kSnippetBytes = 120;
  return head + " (body: " + OneLine(body.substr(0, kSnippetBytes), /*ascii_only=*/true) + ")";
}

Classification ClassifyOrThrow(const HttpResponse& response, WallTime now) {
  Classification c;
  if (!response.retry_after.empty()) {
    c.retry_after = ParseRetryAfter(response.retry_after, now);
  }

  if (response.body_too_large) {
    c.kind = ErrorKind::kFatal;
    c.reason = response.error.empty() ? std::string("response body over the size limit")
                                      : OneLine(response.error, /*ascii_only=*/true);
    return c;
  }
  if (!response.transport_ok()) {
    c.kind = ErrorKind::kTransient;
    c.reason = "transport error (curl " + std::to_string(response.curl_code) + ")";
    if (!response.error.empty()) {
      c.reason += ": " + OneLine(response.error, /*ascii_only=*/true);
    }
    return c;
  }

  const long status = response.status;
  if (status >= 200 && status < 300) {
    return c;  // kNone
  }

  const ApiError api = ReadApiError(response.body);
  c.reason = HttpReason(status, response.body, api);
  if (!api.reasons.empty()) c.api_reason = OneLine(api.reasons.front(), /*ascii_only=*/true);
  c.api_status = OneLine(api.status, /*ascii_only=*/true);
  // NOLINTNEXTLINE(bugprone-branch-clone): the order of the branches is the precedence.
  if (status == 429) {
    c.kind = ErrorKind::kQuota;
  } else if (status == 401) {
    c.kind = ErrorKind::kUnauthorized;
  } else if (status == 408 || (status >= 500 && status < 600)) {
    c.kind = ErrorKind::kTransient;
  } else if (status >= 400 && status < 500 && SaysQuota(api)) {
    c.kind = ErrorKind::kQuota;  // 403 (or another 4xx) whose structured reason is a quota
  } else {
    // 400, 403 permission, 404, other 4xx; also 1xx/3xx/0, which mean a wrong --api-base
    // or a broken proxy.
    c.kind = ErrorKind::kFatal;
  }
  return c;
}

class ErrorKindCategoryImpl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "batchfetch.request"; }
  std::string message(int value) const override {
    switch (static_cast<ErrorKind>(value)) {
      case ErrorKind::kNone:
        return "success";
      case ErrorKind::kTransient:
        return "transient request failure";
      case ErrorKind::kQuota:
        return "quota exceeded";
      case ErrorKind::kUnauthorized:
        return "unauthorized";
      case ErrorKind::kFatal:
        return "unrecoverable request failure";
    }
    return "unknown request error";
  }
};

}  // namespace

Classification Classify(const HttpResponse& response, WallTime now) {
  try {
    return ClassifyOrThrow(response, now);
  } catch (const std::exception& e) {
    // Only allocation can throw here; a retry is the safe answer.
    Classification c;
    c.kind = ErrorKind::kTransient;
    c.reason = std::string("cannot classify: ") + e.what();
    return c;
  }
}

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNone:
      return "none";
    case ErrorKind::kTransient:
      return "transient";
    case ErrorKind::kQuota:
      return "quota";
    case ErrorKind::kUnauthorized:
      return "unauthorized";
    case ErrorKind::kFatal:
      return "fatal";
  }
  return "unknown";
}

const std::error_category& ErrorKindCategory() {
  static const ErrorKindCategoryImpl category;
  return category;
}

std::error_code make_error_code(ErrorKind kind) {
  return {static_cast<int>(kind), ErrorKindCategory()};
}

}  // namespace batchfetch
