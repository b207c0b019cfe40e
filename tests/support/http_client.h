#ifndef TESTS_SUPPORT_HTTP_CLIENT_H_
#define TESTS_SUPPORT_HTTP_CLIENT_H_

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace batchfetch::testing {

// A blocking HTTP/1.1 exchange over a fresh plain-TCP connection (test servers only).
struct HttpResponse {
  int status = 0;  // 0 when no complete response arrived; see error.
  std::string body;
  std::map<std::string, std::string> headers;  // Names lowercased.
  std::string error;  // Transport failure ("" on success): reset, timeout, short body...
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Sends one request to an "http://host:port/path?query" URL and waits at most `timeout`
// for the whole answer. Never throws for transport failures; they land in `error`.
HttpResponse HttpRequest(std::string_view method, const std::string& url, const std::string& body,
                         const HttpHeaders& headers, std::chrono::milliseconds timeout);

inline HttpResponse HttpGet(const std::string& url, const HttpHeaders& headers = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return HttpRequest("GET", url, "", headers, timeout);
}

// Content-Type defaults to application/json unless given in `headers`.
inline HttpResponse HttpPost(const std::string& url, const std::string& body,
                             const HttpHeaders& headers = {},
                             std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return HttpRequest("POST", url, body, headers, timeout);
}

// Percent-encodes everything but unreserved characters (as encodeURIComponent does).
std::string EncodeUriComponent(std::string_view text);

}  // namespace batchfetch::testing

#endif  // TESTS_SUPPORT_HTTP_CLIENT_H_
