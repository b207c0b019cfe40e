#include "workers/http_client.h"

#include <curl/curl.h>
#include <poll.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "workers/detail/curl_transfer.h"

namespace batchfetch {
namespace {

using detail::CurlTransfer;

void EnsureCurlGlobalInit() {
  // Thread-safe once per process; never cleaned up (other threads may still use libcurl).
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) throw std::runtime_error("curl_global_init failed");
}

// An fd libcurl asked us to watch. The descriptor never owns the fd: libcurl closes it.
struct SocketWatch {
  SocketWatch(const boost::asio::any_io_executor& ex, std::uint64_t gen)
      : descriptor(ex), generation(gen) {}
  ~SocketWatch() {
    boost::system::error_code ignored;
    descriptor.cancel(ignored);  // pending waits complete with operation_aborted (and
                                 // release their work count) instead of being abandoned
    descriptor.release();
  }

  boost::asio::posix::stream_descriptor descriptor;
  const std::uint64_t generation;  // tells a stale wait from one on a reused fd number
  int wanted = 0;                  // CURL_POLL_IN / CURL_POLL_OUT bits libcurl asked for
  bool reading = false;            // a read readiness report is queued
  bool writing = false;            // a write readiness report is queued
};

}  // namespace

// The multi side: one CURLM handle, its sockets and timer mapped onto Asio, the transfers
// in flight. Asio handlers hold a weak_ptr so nothing fires into a destroyed Impl; state
// is keyed by fd and transfer id, never by pointers libcurl keeps.
class HttpClient::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(boost::asio::any_io_executor ex, HttpClientOptions options)
      : ex_(std::move(ex)), options_(std::move(options)), timer_(ex_) {
    EnsureCurlGlobalInit();
    multi_ = curl_multi_init();
    if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Impl::SocketCallback);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, static_cast<void*>(this));
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Impl::TimerCallback);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, static_cast<void*>(this));
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options_.max_connections);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, options_.max_connections);
  }

  // A destructor must not throw: what Shutdown could throw (bad_alloc, a mutex's
  // system_error) leaves nothing that a caller could undo.
  ~Impl() {
    try {
      Shutdown();
    } catch (...) {
    }
  }

  const boost::asio::any_io_executor& executor() const { return ex_; }
  std::size_t active() const { return transfers_.size(); }

  void Start(HttpRequest request, CurlTransfer::Handler handler) {
    const std::uint64_t id = ++next_transfer_id_;
    auto transfer = std::make_unique<CurlTransfer>(id, std::move(request), std::move(handler), ex_);
    if (multi_ == nullptr) {
      HttpResponse response = transfer->Fail(CURLE_ABORTED_BY_CALLBACK, "client is shut down");
      Complete(std::move(transfer), boost::asio::error::operation_aborted, std::move(response));
      return;
    }
    std::string error;
    if (const CURLcode rc = transfer->Configure(options_, &error); rc != CURLE_OK) {
      HttpResponse response =
          transfer->Fail(rc, error.empty() ? curl_easy_strerror(rc) : std::move(error));
      Complete(std::move(transfer), {}, std::move(response));
      return;
    }
    auto slot = boost::asio::get_associated_cancellation_slot(transfer->handler());
    if (slot.is_connected()) slot.template emplace<CancelHandler>(weak_from_this(), id);

    CURL* easy = transfer->easy();
    transfers_.emplace(id, std::move(transfer));
    CURLMcode mc;
    {
      InCurl guard(*this);
      mc = curl_multi_add_handle(multi_, easy);
    }
    if (mc != CURLM_OK) {
      auto owned = Extract(id);
      HttpResponse response = owned->Fail(CURLE_FAILED_INIT, curl_multi_strerror(mc));
      Complete(std::move(owned), {}, std::move(response));
    }
  }

  // Removes transfer id at once and completes it with operation_aborted; a no-op when it
  // already completed. Deferred by a post when called from inside a libcurl callback.
  void Cancel(std::uint64_t id) {
    if (in_curl_ > 0) {
      boost::asio::post(ex_, [weak = weak_from_this(), id] {
        if (auto self = weak.lock()) self->Cancel(id);
      });
      return;
    }
    auto transfer = Extract(id);
    if (!transfer) return;
    {
      InCurl guard(*this);
      curl_multi_remove_handle(multi_, transfer->easy());
    }
    HttpResponse response = transfer->Fail(CURLE_ABORTED_BY_CALLBACK, "cancelled");
    Complete(std::move(transfer), boost::asio::error::operation_aborted, std::move(response));
  }

  // Completes every transfer with operation_aborted and frees the multi handle.
  // Idempotent.
  void Shutdown() {
    if (multi_ == nullptr) return;
    auto transfers = std::move(transfers_);
    transfers_.clear();
    for (auto& [id, transfer] : transfers) {
      {
        InCurl guard(*this);
        curl_multi_remove_handle(multi_, transfer->easy());
      }
      HttpResponse response = transfer->Fail(CURLE_ABORTED_BY_CALLBACK, "client destroyed");
      Complete(std::move(transfer), boost::asio::error::operation_aborted, std::move(response));
    }
    shutting_down_ = true;
    {
      InCurl guard(*this);
      curl_multi_cleanup(multi_);  // may still report CURL_POLL_REMOVE for pooled sockets
    }
    multi_ = nullptr;
    timer_.cancel();
    sockets_.clear();
  }

 private:
  struct CancelHandler {
    // A constructor, not aggregate init: slot.emplace constructs with parentheses.
    CancelHandler(std::weak_ptr<Impl> i, std::uint64_t transfer)
        : impl(std::move(i)), id(transfer) {}
    std::weak_ptr<Impl> impl;
    std::uint64_t id;
    void operator()(boost::asio::cancellation_type_t /*any type aborts*/) const {
      if (auto self = impl.lock()) self->Cancel(id);
    }
  };

  // Reports readiness of one direction of a watched fd; ignores a stale watch.
  struct ReadyHandler {
    std::weak_ptr<Impl> impl;
    curl_socket_t fd;
    std::uint64_t generation;
    int direction;  // CURL_POLL_IN or CURL_POLL_OUT
    void operator()(boost::system::error_code ec) const {
      if (auto self = impl.lock()) self->OnReady(fd, generation, direction, ec);
    }
  };

  // Marks the extent of a call into libcurl, during which libcurl must not be re-entered.
  class InCurl {
   public:
    explicit InCurl(Impl& impl) : impl_(impl) { ++impl_.in_curl_; }
    ~InCurl() { --impl_.in_curl_; }
    InCurl(const InCurl&) = delete;
    InCurl& operator=(const InCurl&) = delete;

   private:
    Impl& impl_;
  };

  static int SocketCallback(CURL* /*easy*/, curl_socket_t fd, int what, void* self,
                            void* /*socketp*/) {
    static_cast<Impl*>(self)->OnSocket(fd, what);
    return 0;
  }

  static int TimerCallback(CURLM* /*multi*/, long timeout_ms, void* self) {
    static_cast<Impl*>(self)->OnTimer(timeout_ms);
    return 0;
  }

  // libcurl (inside a libcurl call) tells us what fd wants; never calls libcurl.
  void OnSocket(curl_socket_t fd, int what) {
    if (what == CURL_POLL_REMOVE) {
      sockets_.erase(fd);  // cancels its waits and releases the fd without closing it
      return;
    }
    if (shutting_down_) return;
    auto it = sockets_.find(fd);
    if (it == sockets_.end()) {
      auto watch = std::make_unique<SocketWatch>(ex_, ++next_socket_generation_);
      boost::system::error_code ec;
      watch->descriptor.assign(fd, ec);
      if (ec) return;  // unwatchable: the transfer progresses on libcurl's timeouts only
      it = sockets_.emplace(fd, std::move(watch)).first;
    }
    it->second->wanted = what & (CURL_POLL_IN | CURL_POLL_OUT);
    Arm(fd, *it->second);
  }

  // Queues a readiness report for each direction libcurl wants and none is queued for.
  // Asio's epoll reactor is edge-triggered and a wait does not look at readiness that
  // arrived while no wait was queued, so an fd already ready is reported by a post.
  void Arm(curl_socket_t fd, SocketWatch& watch) {
    const bool need_read = (watch.wanted & CURL_POLL_IN) && !watch.reading;
    const bool need_write = (watch.wanted & CURL_POLL_OUT) && !watch.writing;
    if (!need_read && !need_write) return;
    pollfd probe{fd, static_cast<short>((need_read ? POLLIN : 0) | (need_write ? POLLOUT : 0)), 0};
    const short ready = ::poll(&probe, 1, 0) > 0 ? probe.revents : short{0};
    constexpr short kFailed = POLLERR | POLLHUP | POLLNVAL;
    if (need_read) Watch(fd, watch, CURL_POLL_IN, ready & (POLLIN | kFailed));
    if (need_write) Watch(fd, watch, CURL_POLL_OUT, ready & (POLLOUT | kFailed));
  }

  // Queues one readiness report for direction: posted when already_ready, else a wait.
  void Watch(curl_socket_t fd, SocketWatch& watch, int direction, bool already_ready) {
    (direction == CURL_POLL_IN ? watch.reading : watch.writing) = true;
    ReadyHandler on_ready{weak_from_this(), fd, watch.generation, direction};
    if (already_ready) {
      boost::asio::post(ex_, [on_ready] { on_ready({}); });
      return;
    }
    watch.descriptor.async_wait(direction == CURL_POLL_IN
                                    ? boost::asio::posix::stream_descriptor::wait_read
                                    : boost::asio::posix::stream_descriptor::wait_write,
                                on_ready);
  }

  void OnReady(curl_socket_t fd, std::uint64_t generation, int direction,
               boost::system::error_code ec) {
    auto it = sockets_.find(fd);
    if (it == sockets_.end() || it->second->generation != generation) return;  // stale
    SocketWatch& watch = *it->second;
    (direction == CURL_POLL_IN ? watch.reading : watch.writing) = false;
    if (ec == boost::asio::error::operation_aborted) return;
    // No longer wanted: drop the report; a later Arm probes the fd again.
    if ((watch.wanted & direction) == 0) return;
    const int mask =
        ec ? CURL_CSELECT_ERR : (direction == CURL_POLL_IN ? CURL_CSELECT_IN : CURL_CSELECT_OUT);
    SocketAction(fd, mask);
    it = sockets_.find(fd);  // the action may have removed or replaced the watch
    if (it != sockets_.end() && it->second->generation == generation) Arm(fd, *it->second);
  }

  // libcurl (inside a libcurl call) asks for one timeout; never calls libcurl.
  void OnTimer(long timeout_ms) {
    if (shutting_down_) return;
    if (timeout_ms < 0) {
      timer_.cancel();
      return;
    }
    if (timeout_ms == 0) {
      timer_.cancel();
      if (timeout_posted_) return;
      timeout_posted_ = true;
      boost::asio::post(ex_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
          self->timeout_posted_ = false;
          self->SocketAction(CURL_SOCKET_TIMEOUT, 0);
        }
      });
      return;
    }
    timer_.expires_after(std::chrono::milliseconds(timeout_ms));
    timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->SocketAction(CURL_SOCKET_TIMEOUT, 0);
    });
  }

  void SocketAction(curl_socket_t fd, int mask) {
    if (multi_ == nullptr) return;
    int running = 0;
    {
      InCurl guard(*this);
      curl_multi_socket_action(multi_, fd, mask, &running);
    }
    CompleteFinished();
  }

  // Drains libcurl's finished-transfer messages; each completes exactly once.
  void CompleteFinished() {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;  // msg dies with remove_handle: copy first
      const CURLcode result = msg->data.result;
      void* priv = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
      auto transfer = Extract(static_cast<CurlTransfer*>(priv)->id());
      {
        InCurl guard(*this);
        curl_multi_remove_handle(multi_, easy);
      }
      if (!transfer) continue;
      HttpResponse response = transfer->Finish(result);
      Complete(std::move(transfer), {}, std::move(response));
    }
  }

  std::unique_ptr<CurlTransfer> Extract(std::uint64_t id) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return nullptr;
    auto transfer = std::move(it->second);
    transfers_.erase(it);
    return transfer;
  }

  // Frees transfer (REQUIRES: its easy handle is out of the multi handle) and posts its
  // handler, which first disconnects our cancellation handler from its slot.
  void Complete(std::unique_ptr<CurlTransfer> transfer, boost::system::error_code ec,
                HttpResponse response) {
    CurlTransfer::Handler handler = std::move(transfer->handler());
    auto handler_ex = boost::asio::get_associated_executor(handler, ex_);
    boost::asio::post(
        ex_, boost::asio::bind_executor(handler_ex, [handler = std::move(handler), ec,
                                                     response = std::move(response)]() mutable {
          auto slot = boost::asio::get_associated_cancellation_slot(handler);
          if (slot.is_connected()) slot.clear();
          std::move(handler)(ec, std::move(response));
        }));
    transfer.reset();  // drop its work only now: the post holds work of its own
  }

  boost::asio::any_io_executor ex_;
  const HttpClientOptions options_;
  CURLM* multi_ = nullptr;
  boost::asio::steady_timer timer_;  // the one timeout libcurl asked for
  std::unordered_map<curl_socket_t, std::unique_ptr<SocketWatch>> sockets_;
  std::unordered_map<std::uint64_t, std::unique_ptr<CurlTransfer>> transfers_;
  std::uint64_t next_transfer_id_ = 0;
  std::uint64_t next_socket_generation_ = 0;
  int in_curl_ = 0;              // > 0 while inside a libcurl call
  bool timeout_posted_ = false;  // a 0 ms timeout action is queued
  bool shutting_down_ = false;   // curl_multi_cleanup has begun
};

HttpClient::HttpClient(boost::asio::any_io_executor ex, HttpClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options))) {}

HttpClient::~HttpClient() {
  // Handlers only ever lock weak_ptrs briefly, so this is normally the last reference.
  try {
    impl_->Shutdown();
  } catch (...) {  // see ~Impl
  }
}

void HttpClient::Start(HttpRequest request,
                       boost::asio::any_completion_handler<Signature> handler) {
  impl_->Start(std::move(request), std::move(handler));
}

boost::asio::awaitable<std::pair<boost::system::error_code, HttpResponse>> HttpClient::Perform(
    HttpRequest request) {
  co_await boost::asio::this_coro::throw_if_cancelled(false);
  auto [ec, response] =
      co_await AsyncPerform(std::move(request), boost::asio::as_tuple(boost::asio::use_awaitable));
  co_return std::pair{ec, std::move(response)};
}

std::size_t HttpClient::active() const { return impl_->active(); }

boost::asio::any_io_executor HttpClient::get_executor() const { return impl_->executor(); }

}  // namespace batchfetch
