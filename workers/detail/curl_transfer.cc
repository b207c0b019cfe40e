#include "workers/detail/curl_transfer.h"

#include <algorithm>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <cctype>
#include <string_view>
#include <utility>

#include "core/text.h"

namespace batchfetch::detail {
namespace {

constexpr std::chrono::milliseconds kMaxConnectTimeout{10000};

bool StartsWithIgnoringCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

}  // namespace

CurlTransfer::CurlTransfer(std::uint64_t id, HttpRequest request, Handler handler,
                           const boost::asio::any_io_executor& io_ex)
    : id_(id),
      request_(std::move(request)),
      handler_(std::move(handler)),
      work_(boost::asio::prefer(boost::asio::get_associated_executor(handler_, io_ex),
                                boost::asio::execution::outstanding_work.tracked)) {}

CurlTransfer::~CurlTransfer() {
  if (reserved_ > 0) budget_->Release(reserved_);
  if (easy_ != nullptr) curl_easy_cleanup(easy_);
  curl_slist_free_all(headers_);
}

CURLcode CurlTransfer::Configure(const HttpClientOptions& options, std::string* error) {
  easy_ = curl_easy_init();
  if (easy_ == nullptr) return CURLE_FAILED_INIT;
  max_body_bytes_ = options.max_body_bytes;
  budget_ = options.body_budget ? options.body_budget : BodyBudget::Process();

  for (const std::string& header : request_.headers) {
    // libcurl sends a header as given: a CR or LF in it would forge another header.
    if (HasControlCharacter(header)) {
      *error = "not sent: a request header holds a control character (CR, LF, ...)";
      return CURLE_BAD_FUNCTION_ARGUMENT;
    }
    curl_slist* appended = curl_slist_append(headers_, header.c_str());
    if (appended == nullptr) return CURLE_OUT_OF_MEMORY;
    headers_ = appended;
  }

  const long timeout_ms = static_cast<long>(std::max<std::int64_t>(request_.timeout.count(), 0));
  const long connect_timeout_ms =
      timeout_ms == 0 ? static_cast<long>(kMaxConnectTimeout.count())
                      : std::min<long>(timeout_ms, static_cast<long>(kMaxConnectTimeout.count()));

  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy_, option, value);
  };
  set(CURLOPT_PRIVATE, static_cast<void*>(this));
  set(CURLOPT_URL, request_.url.c_str());
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_ERRORBUFFER, error_buffer_);
  set(CURLOPT_USERAGENT, options.user_agent.c_str());
  set(CURLOPT_HTTPHEADER, headers_);
  if (!request_.body.empty()) {
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request_.body.size()));
    set(CURLOPT_POSTFIELDS, request_.body.data());
  }
  set(CURLOPT_TIMEOUT_MS, timeout_ms);
  set(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
  set(CURLOPT_ACCEPT_ENCODING, "");  // every decoder libcurl was built with
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  // PIPEWAIT holds a transfer until the host's first connection shows whether it can
  // multiplex. Over TLS ALPN tells at the handshake; over plain http (no h2c) only the
  // first response would, so a stalled first request would stall every other one.
  if (options.http2 && StartsWithIgnoringCase(request_.url, "https:")) {
    set(CURLOPT_PIPEWAIT, 1L);
  }
  set(CURLOPT_HTTP_VERSION, options.http2 ? static_cast<long>(CURL_HTTP_VERSION_2TLS)
                                          : static_cast<long>(CURL_HTTP_VERSION_1_1));
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  set(CURLOPT_WRITEFUNCTION, &CurlTransfer::OnBody);
  set(CURLOPT_WRITEDATA, static_cast<void*>(this));
  set(CURLOPT_HEADERFUNCTION, &CurlTransfer::OnHeader);
  set(CURLOPT_HEADERDATA, static_cast<void*>(this));
  if (request_.send_by != std::chrono::steady_clock::time_point::max()) {
    set(CURLOPT_PREREQFUNCTION, &CurlTransfer::OnPrereq);
    set(CURLOPT_PREREQDATA, static_cast<void*>(this));
  }
  return rc;
}

int CurlTransfer::OnPrereq(void* self, char* /*conn_primary_ip*/, char* /*conn_local_ip*/,
                           int /*conn_primary_port*/, int /*conn_local_port*/) {
  auto* transfer = static_cast<CurlTransfer*>(self);
  if (std::chrono::steady_clock::now() <= transfer->request_.send_by) return CURL_PREREQFUNC_OK;
  transfer->response_.missed_send_by = true;
  return CURL_PREREQFUNC_ABORT;
}

HttpResponse CurlTransfer::Finish(CURLcode result) {
  HttpResponse response = std::move(response_);
  if (reserved_ > 0) {
    response.body_hold = std::make_shared<BodyBudgetHold>(budget_, reserved_);
    reserved_ = 0;
  }
  response.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started_);
  response.curl_code = static_cast<int>(result);
  if (result == CURLE_OK) {
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
  }
  response.status = 0;
  if (over_budget_) {
    response.error = "the responses in flight would buffer more than " +
                     std::to_string(budget_->limit()) + " bytes together; cut off";
  } else if (response.body_too_large) {
    response.error = "response body larger than " + std::to_string(max_body_bytes_) + " bytes";
  } else if (response.missed_send_by) {
    response.error = "not sent: its quota grant expired before the connection was ready";
  } else {
    response.error = error_buffer_[0] != '\0' ? error_buffer_ : curl_easy_strerror(result);
  }
  return response;
}

HttpResponse CurlTransfer::Fail(CURLcode result, std::string error) {
  HttpResponse response;
  response.curl_code = static_cast<int>(result);
  response.error = std::move(error);
  response.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started_);
  return response;
}

bool CurlTransfer::Grow(std::size_t size) {
  std::string& body = response_.body;
  if (size <= body.capacity()) return true;
  // libstdc++ at least doubles a growing capacity: reserve for that before asking.
  const std::size_t want = std::max(size, 2 * body.capacity());
  if (want > reserved_ && !budget_->TryReserve(want - reserved_)) {
    over_budget_ = true;
    body.clear();
    body.shrink_to_fit();
    budget_->Release(reserved_);
    reserved_ = 0;
    return false;
  }
  reserved_ = std::max(reserved_, want);
  body.reserve(size);  // capacity becomes want
  return true;
}

std::size_t CurlTransfer::OnBody(char* data, std::size_t size, std::size_t count, void* self) {
  auto* transfer = static_cast<CurlTransfer*>(self);
  std::string& body = transfer->response_.body;
  const std::size_t bytes = size * count;
  const std::size_t room =
      transfer->max_body_bytes_ - std::min(body.size(), transfer->max_body_bytes_);
  if (!transfer->Grow(body.size() + std::min(bytes, room))) return 0;  // CURLE_WRITE_ERROR
  if (bytes > room) {
    body.append(data, room);
    transfer->response_.body_too_large = true;
    return room;  // a short count makes libcurl stop with CURLE_WRITE_ERROR
  }
  body.append(data, bytes);
  return bytes;
}

std::size_t CurlTransfer::OnHeader(char* data, std::size_t size, std::size_t count, void* self) {
  auto* transfer = static_cast<CurlTransfer*>(self);
  const std::size_t bytes = size * count;
  const std::string_view line(data, bytes);
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (StartsWithIgnoringCase(line, "HTTP/")) {
    transfer->response_.retry_after.clear();  // a new response (after 1xx) starts
  } else if (StartsWithIgnoringCase(line, kRetryAfter)) {
    transfer->response_.retry_after = std::string(Trim(line.substr(kRetryAfter.size())));
  }
  return bytes;
}

}  // namespace batchfetch::detail
