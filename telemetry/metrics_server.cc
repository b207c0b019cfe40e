#include "telemetry/metrics_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <list>
#include <utility>

namespace batchfetch {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace detail {

struct MetricsServerState {
  explicit MetricsServerState(asio::any_io_executor e) : ex(e), acceptor(e) {}

  asio::any_io_executor ex;
  tcp::acceptor acceptor;
  std::map<std::string, std::function<HttpReply()>> routes;
  std::list<std::weak_ptr<beast::tcp_stream>> sessions;  // to close on Stop()
  bool stopped = false;
};

}  // namespace detail

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(30);

http::response<http::string_body> Answer(detail::MetricsServerState& impl,
                                         const http::request<http::string_body>& req);

void LogFailure(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::warn("metrics server connection failed: {}", ex.what());
  }
}

asio::awaitable<void> Session(std::shared_ptr<detail::MetricsServerState> impl,
                              std::shared_ptr<beast::tcp_stream> stream) {
  beast::flat_buffer buffer;
  while (!impl->stopped) {
    http::request<http::string_body> req;
    stream->expires_after(kIdleTimeout);
    auto [ec, n] =
        co_await http::async_read(*stream, buffer, req, asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (ec) break;
    http::response<http::string_body> res = Answer(*impl, req);
    auto [wec, wn] = co_await http::async_write(*stream, res, asio::as_tuple(asio::use_awaitable));
    (void)wn;
    if (wec || !res.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> AcceptLoop(std::shared_ptr<detail::MetricsServerState> impl) {
  while (!impl->stopped) {
    auto [ec, socket] = co_await impl->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (impl->stopped) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;  // EMFILE and friends: keep serving the connections we have
    }
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    impl->sessions.remove_if([](const auto& w) { return w.expired(); });
    impl->sessions.push_back(stream);
    asio::co_spawn(impl->ex, Session(impl, stream), LogFailure);
  }
}

http::response<http::string_body> Answer(detail::MetricsServerState& impl,
                                         const http::request<http::string_body>& req) {
  http::response<http::string_body> res;
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  res.set(http::field::server, "batchfetch");
  res.set(http::field::cache_control, "no-store");
  std::string path(req.target());
  if (std::size_t q = path.find('?'); q != std::string::npos) path.resize(q);
  HttpReply reply;
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    reply = {405, "text/plain; charset=utf-8", "method not allowed\n"};
    res.set(http::field::allow, "GET, HEAD");
  } else if (auto it = impl.routes.find(path); it != impl.routes.end()) {
    reply = it->second();
  } else {
    reply = {404, "text/plain; charset=utf-8", "not found; try /metrics, /health or /stats\n"};
  }
  res.result(static_cast<unsigned>(reply.status));
  res.set(http::field::content_type, reply.content_type);
  if (req.method() == http::verb::head) {
    res.content_length(reply.body.size());
  } else {
    res.body() = std::move(reply.body);
    res.prepare_payload();
  }
  return res;
}

}  // namespace

MetricsServer::MetricsServer(asio::any_io_executor ex)
    : impl_(std::make_shared<detail::MetricsServerState>(ex)) {}

MetricsServer::~MetricsServer() { Stop(); }

void MetricsServer::Route(std::string path, std::function<HttpReply()> handler) {
  impl_->routes[std::move(path)] = std::move(handler);
}

bool MetricsServer::Listen(const ListenAddress& address, std::string* error) {
  boost::system::error_code ec;
  const tcp::endpoint endpoint(asio::ip::make_address(address.host, ec), address.port);
  auto fail = [&](const char* step) {
    *error = std::string("metrics server cannot ") + step + " " + address.host + ":" +
             std::to_string(address.port) + ": " + ec.message();
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    return false;
  };
  if (ec) return fail("parse");
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) return fail("bind");
  impl_->acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  asio::co_spawn(impl_->ex, AcceptLoop(impl_), LogFailure);
  return true;
}

uint16_t MetricsServer::port() const {
  boost::system::error_code ec;
  const tcp::endpoint endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void MetricsServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  for (const auto& weak : impl_->sessions) {
    if (auto stream = weak.lock()) stream->socket().close(ignored);
  }
  impl_->sessions.clear();
}

}  // namespace batchfetch
