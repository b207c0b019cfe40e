#ifndef BATCHFETCH_WORKERS_DETAIL_CURL_TRANSFER_H_
#define BATCHFETCH_WORKERS_DETAIL_CURL_TRANSFER_H_

#include <curl/curl.h>

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "workers/http_client.h"

namespace batchfetch::detail {

// One request in flight: its libcurl easy handle, the storage libcurl points into (POST
// body, header list, error buffer) and the response it accumulates. Owns the caller's
// completion handler until HttpClient takes it to complete the operation.
//
// Thread rule: the HttpClient's executor thread only.
class CurlTransfer {
 public:
  using Handler = boost::asio::any_completion_handler<HttpClient::Signature>;

  // Holds outstanding work on the handler's associated executor (default io_ex) until
  // destroyed.
  CurlTransfer(std::uint64_t id, HttpRequest request, Handler handler,
               const boost::asio::any_io_executor& io_ex);
  // Frees the easy handle. REQUIRES: it is not (or no longer) added to a multi handle.
  ~CurlTransfer();

  CurlTransfer(const CurlTransfer&) = delete;
  CurlTransfer& operator=(const CurlTransfer&) = delete;

  // Creates the easy handle and sets every option for the request; CURLE_OK on success.
  // TLS peer and host verification stay on; only http and https are allowed. A header
  // holding a control character is refused (CURLE_BAD_FUNCTION_ARGUMENT, *error says so);
  // for libcurl's own failures *error stays empty.
  CURLcode Configure(const HttpClientOptions& options, std::string* error);

  // The response after libcurl finished the transfer with result.
  HttpResponse Finish(CURLcode result);
  // The response for a transfer that never ran or was stopped: curl_code = result.
  HttpResponse Fail(CURLcode result, std::string error);

  std::uint64_t id() const { return id_; }
  CURL* easy() const { return easy_; }
  Handler& handler() { return handler_; }

 private:
  // Grows the body's buffer to hold size bytes, reserving the growth in budget_ first;
  // false when the budget refuses it.
  bool Grow(std::size_t size);
  static std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* self);
  static std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* self);
  // CURLOPT_PREREQFUNCTION: aborts a request that would go on the wire after send_by.
  static int OnPrereq(void* self, char* conn_primary_ip, char* conn_local_ip, int conn_primary_port,
                      int conn_local_port);

  const std::uint64_t id_;
  HttpRequest request_;  // owns the POST body libcurl reads from
  Handler handler_;
  boost::asio::any_completion_executor work_;  // outstanding work on the handler's executor
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::size_t max_body_bytes_ = 0;
  std::shared_ptr<BodyBudget> budget_;  // shared by every body of the process
  std::size_t reserved_ = 0;            // bytes of budget_ held: the body's capacity
  bool over_budget_ = false;            // cut off: the process's bodies filled budget_
  HttpResponse response_;               // accumulated by the write and header callbacks
  char error_buffer_[CURL_ERROR_SIZE] = {};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace batchfetch::detail

#endif  // BATCHFETCH_WORKERS_DETAIL_CURL_TRANSFER_H_
