#ifndef BATCHFETCH_WORKERS_HTTP_TRANSPORT_H_
#define BATCHFETCH_WORKERS_HTTP_TRANSPORT_H_

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <utility>

#include "workers/http_client.h"

namespace batchfetch {

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
