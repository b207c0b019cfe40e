#ifndef BATCHFETCH_WORKERS_HTTP_CLIENT_H_
#define BATCHFETCH_WORKERS_HTTP_CLIENT_H_

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "workers/body_budget.h"
#include "workers/http_transport.h"

namespace batchfetch {

struct HttpClientOptions {
  std::size_t max_body_bytes = 256u << 20;  // a larger body is cut off and reported
  // What every body buffered at once may take together; null = BodyBudget::Process().
  // A transfer that would exceed it is cut off and fails as a transport error (transient).
  std::shared_ptr<BodyBudget> body_budget = nullptr;
  long max_connections = 64;  // per host
  bool http2 = true;          // negotiated over TLS when offered
  std::string user_agent = std::string("batchfetch/") + BATCHFETCH_VERSION;
};

// An HTTP client that drives one libcurl multi handle from an Asio executor: the
// socket callback maps every socket libcurl reports (resolver sockets too) onto Asio
// waits, the timer callback onto a steady_timer; curl_multi_socket_action is never
// called from inside a libcurl callback. Connections are pooled and reused.
//
// Cancelling an operation (per-operation cancellation slot, any type) removes its easy
// handle at once and completes it with operation_aborted.
//
// Thread rule: construct, call and destroy on the executor's thread (single-threaded
// io_context). Outstanding operations complete with operation_aborted on destruction.
class HttpClient final : public HttpTransport {
 public:
  using Signature = void(boost::system::error_code, HttpResponse);

  HttpClient(boost::asio::any_io_executor ex, HttpClientOptions options = {});
  ~HttpClient() override;

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs request. The error_code is operation_aborted when cancelled; a transport
  // failure (timeout, reset) is reported in HttpResponse::curl_code with an empty
  // error_code.
  template <typename CompletionToken>
  auto AsyncPerform(HttpRequest request, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, Signature>(
        [this](auto handler, HttpRequest req) {
          Start(std::move(req), boost::asio::any_completion_handler<Signature>(std::move(handler)));
        },
        token, std::move(request));
  }

  // HttpTransport: AsyncPerform as a coroutine; never throws.
  boost::asio::awaitable<std::pair<boost::system::error_code, HttpResponse>> Perform(
      HttpRequest request) override;

  // Transfers running now.
  std::size_t active() const;
  boost::asio::any_io_executor get_executor() const;

 private:
  class Impl;
  void Start(HttpRequest request, boost::asio::any_completion_handler<Signature> handler);
  std::shared_ptr<Impl> impl_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_HTTP_CLIENT_H_
