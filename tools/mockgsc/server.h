#ifndef TOOLS_MOCKGSC_SERVER_H_
#define TOOLS_MOCKGSC_SERVER_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>

#include "tools/mockgsc/api_handler.h"
#include "tools/mockgsc/server_options.h"

namespace mockgsc {

// The HTTP/1.1 keep-alive front of mockgsc on 127.0.0.1: one coroutine per connection,
// delays on asio timers (no thread per request), faults acted out on the socket.
// Listen/Start/Stop are called from one thread; sessions may run on any io_context thread.
class Server {
 public:
  Server(boost::asio::io_context& io, const ServerOptions& options);

  // Binds 127.0.0.1:options.port and listens; returns the bound port. Throws on failure.
  uint16_t Listen();
  // Starts accepting connections. REQUIRES: Listen() succeeded.
  void Start();
  // Stops accepting; open sessions end when the io_context stops.
  void Stop();

 private:
  boost::asio::awaitable<void> AcceptLoop();
  boost::asio::awaitable<void> Session(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  const ServerOptions options_;
  ApiHandler handler_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_SERVER_H_
