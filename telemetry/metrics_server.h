#ifndef BATCHFETCH_TELEMETRY_METRICS_SERVER_H_
#define BATCHFETCH_TELEMETRY_METRICS_SERVER_H_

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "telemetry/listen_address.h"

namespace batchfetch {

namespace detail {
struct MetricsServerState;
}  // namespace detail

// What a route answers.
struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// A small HTTP/1.1 server (Boost.Beast, one coroutine per connection, keep-alive) that
// answers GET on a fixed set of paths and 404 elsewhere; the query string is ignored.
// Route handlers run on the executor's thread, so they may read io-thread state.
//
// Thread rule: every call on the executor's thread (the io thread).
class MetricsServer {
 public:
  explicit MetricsServer(boost::asio::any_io_executor ex);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // REQUIRES: before Listen().
  void Route(std::string path, std::function<HttpReply()> handler);

  // Binds and starts accepting. False and a one-line *error when the address cannot be
  // bound (in use, not local).
  bool Listen(const ListenAddress& address, std::string* error);
  // The bound port (useful after port 0).
  uint16_t port() const;

  // Stops accepting and closes every connection. Idempotent.
  void Stop();

 private:
  std::shared_ptr<detail::MetricsServerState> impl_;  // shared with the running coroutines
};

}  // namespace batchfetch

#endif  // BATCHFETCH_TELEMETRY_METRICS_SERVER_H_
