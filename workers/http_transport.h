#ifndef BATCHFETCH_WORKERS_HTTP_TRANSPORT_H_
#define BATCHFETCH_WORKERS_HTTP_TRANSPORT_H_

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace batchfetch {

struct HttpRequest {
  std::string url;
  std::string body;                          // POSTed when not empty, else GET
  std::vector<std::string> headers;          // "Name: value"
  std::chrono::milliseconds timeout{30000};  // whole transfer, including queueing
  // Past this time the request is not sent: the transfer ends just before the request
  // would go on the wire, with HttpResponse::missed_send_by, so a slow connect cannot send
  // a quota grant late. max() = no limit.
  std::chrono::steady_clock::time_point send_by = std::chrono::steady_clock::time_point::max();
};

struct HttpResponse {
  long status = 0;  // HTTP status; 0 when the transfer failed
  std::string body;
  std::string retry_after;      // the Retry-After header, verbatim, or ""
  int curl_code = 0;            // CURLcode; 0 = the transfer completed
  std::string error;            // libcurl's message when curl_code != 0
  bool body_too_large = false;  // stopped at HttpClientOptions::max_body_bytes
  bool missed_send_by = false;  // never sent: HttpRequest::send_by passed first
  std::chrono::microseconds elapsed{0};
  // Keeps body's bytes counted in the process's body budget while the response lives.
  std::shared_ptr<const void> body_hold = nullptr;

  bool transport_ok() const { return curl_code == 0; }
};

// The seam between workers and the network: HttpClient implements it over libcurl;
// tests use a scripted transport, so workers and the coordinator run without sockets.
//
// Thread rule: the io thread only.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Performs request. The error_code is operation_aborted when the awaiting coroutine's
  // cancellation slot fires (the request is abandoned at once); a transport failure
  // (timeout, reset, TLS) is reported in HttpResponse::curl_code with an empty
  // error_code. Never throws.
  virtual boost::asio::awaitable<std::pair<boost::system::error_code, HttpResponse>> Perform(
      HttpRequest request) = 0;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_HTTP_TRANSPORT_H_
