#include "tools/mockgsc/server.h"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <exception>
#include <string_view>
#include <tuple>

namespace mockgsc {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kIdleTimeout = std::chrono::seconds(120);  // A silent client is dropped.

void LogException(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "mockgsc: session failed: %s\n", ex.what());
  }
}

// Marks a query reply finished when the session is done with it, however it ends.
class FinishGuard {
 public:
  FinishGuard(ApiHandler& handler, bool active) : handler_(handler), active_(active) {}
  ~FinishGuard() {
    if (active_) handler_.Finished();
  }
  FinishGuard(const FinishGuard&) = delete;
  FinishGuard& operator=(const FinishGuard&) = delete;

 private:
  ApiHandler& handler_;
  bool active_;
};

// Announces the full body length but sends only its first half.
std::string TruncatedResponse(const std::string& body) {
  std::string out =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  out.append(body, 0, body.size() / 2);
  return out;
}

// Streams a chunked 200 of `bytes` bytes: the start of a query response, then spaces,
// never closing the JSON. One shared 1 MiB chunk, so N of them at once cost no memory.
asio::awaitable<void> WriteOversized(beast::tcp_stream& stream, int64_t bytes) {
  static const std::string kChunk = [] {
    std::string chunk(std::size_t{1} << 20, ' ');
    const std::string_view start = "{\"rows\":[";
    chunk.replace(0, start.size(), start);
    return chunk;
  }();
  std::string head =
      "HTTP/1.1 200 OK\r\nServer: mockgsc\r\nContent-Type: application/json; "
      "charset=UTF-8\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(head), kUseTuple);
  for (int64_t sent = 0; !ec && sent < bytes;) {
    const std::size_t size = static_cast<std::size_t>(
        std::min<int64_t>(bytes - sent, static_cast<int64_t>(kChunk.size())));
    char size_line[32];
    const int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", size);
    const std::array<asio::const_buffer, 3> parts{
        asio::buffer(size_line, static_cast<std::size_t>(len)), asio::buffer(kChunk.data(), size),
        asio::buffer("\r\n", 2)};
    std::tie(ec, n) = co_await asio::async_write(stream, parts, kUseTuple);
    sent += static_cast<int64_t>(size);
  }
  if (!ec) co_await asio::async_write(stream, asio::buffer("0\r\n\r\n", 5), kUseTuple);
}

}  // namespace

Server::Server(asio::io_context& io, const ServerOptions& options)
    : io_(io), options_(options), handler_(options), acceptor_(io) {}

uint16_t Server::Listen() {
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), options_.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  return acceptor_.local_endpoint().port();
}

void Server::Start() { asio::co_spawn(io_, AcceptLoop(), LogException); }

void Server::Stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> Server::AcceptLoop() {
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors or similar: back off briefly instead of spinning.
      asio::steady_timer pause(io_, std::chrono::milliseconds(10));
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(io_, Session(std::move(socket)), LogException);
  }
}

asio::awaitable<void> Server::Session(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  asio::steady_timer timer(stream.get_executor());
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    stream.expires_after(kIdleTimeout);
    auto [read_ec, read_n] = co_await http::async_read(stream, buffer, parser, kUseTuple);
    if (read_ec) break;
    stream.expires_never();
    const auto& request = parser.get();
    Reply reply = handler_.Handle(
        request.method_string(), request.target(), request[http::field::authorization],
        request.body(), request[http::field::content_type], request["x-goog-user-project"]);
    FinishGuard guard(handler_, reply.query);
    if (reply.delay.count() > 0) {
      timer.expires_after(reply.delay);
      co_await timer.async_wait(kUseTuple);
    }
    beast::error_code ec;
    switch (reply.fault) {
      case Fault::kReset:
        stream.socket().set_option(asio::socket_base::linger(true, 0), ec);
        stream.socket().close(ec);
        co_return;
      case Fault::kStall:
        stream.socket().close(ec);
        co_return;
      case Fault::kTruncatedBody: {
        std::string raw = TruncatedResponse(reply.body);
        co_await asio::async_write(stream, asio::buffer(raw), kUseTuple);
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream.socket().close(ec);
        co_return;
      }
      default:
        break;
    }
    if (reply.oversized_bytes > 0) {
      co_await WriteOversized(stream, reply.oversized_bytes);
      break;
    }
    http::response<http::string_body> response(http::status(reply.status), request.version());
    response.set(http::field::server, "mockgsc");
    response.set(http::field::content_type, "application/json; charset=UTF-8");
    for (const auto& [name, value] : reply.headers) response.set(name, value);
    response.keep_alive(request.keep_alive());
    response.body() = std::move(reply.body);
    response.prepare_payload();
    auto [write_ec, write_n] = co_await http::async_write(stream, response, kUseTuple);
    if (write_ec || !response.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace mockgsc
