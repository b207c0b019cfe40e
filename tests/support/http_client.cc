#include "tests/support/http_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url.hpp>
#include <cctype>

namespace batchfetch::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> Exchange(std::string method, std::string host, std::string port,
                               std::string target, std::string body, HttpHeaders headers,
                               std::chrono::milliseconds timeout, HttpResponse* out) {
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  beast::tcp_stream stream(executor);
  auto [resolve_ec, endpoints] = co_await resolver.async_resolve(host, port, kUseTuple);
  if (resolve_ec) {
    out->error = "resolve: " + resolve_ec.message();
    co_return;
  }
  stream.expires_after(timeout);
  auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, kUseTuple);
  if (connect_ec) {
    out->error = "connect: " + connect_ec.message();
    co_return;
  }
  http::request<http::string_body> request(http::string_to_verb(method), target, 11);
  request.set(http::field::host, host + ":" + port);
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    request.set(name, value);
    has_content_type |= beast::iequals(name, "content-type");
  }
  if (!body.empty() && !has_content_type)
    request.set(http::field::content_type, "application/json");
  request.body() = std::move(body);
  request.prepare_payload();
  auto [write_ec, written] = co_await http::async_write(stream, request, kUseTuple);
  if (write_ec) {
    out->error = "write: " + write_ec.message();
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 << 20);
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kUseTuple);
  if (read_ec) {
    out->error = read_ec == beast::error::timeout ? "timeout" : "read: " + read_ec.message();
    co_return;
  }
  const auto& response = parser.get();
  out->status = int(response.result_int());
  out->body = response.body();
  for (const auto& field : response) {
    std::string name(field.name_string());
    for (char& c : name) c = char(std::tolower((unsigned char)c));
    out->headers[name] = std::string(field.value());
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace

HttpResponse HttpRequest(std::string_view method, const std::string& url, const std::string& body,
                         const HttpHeaders& headers, std::chrono::milliseconds timeout) {
  HttpResponse out;
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme() != "http") {
    out.error = "bad url: " + url;
    return out;
  }
  std::string target =
      parsed->encoded_target().empty() ? "/" : std::string(parsed->encoded_target());
  std::string port = parsed->has_port() ? std::string(parsed->port()) : "80";
  asio::io_context io;
  asio::co_spawn(io,
                 Exchange(std::string(method), std::string(parsed->host()), port, target, body,
                          headers, timeout, &out),
                 [&out](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     out.error = ex.what();
                   }
                 });
  io.run();
  return out;
}

std::string EncodeUriComponent(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '!' || c == '*' ||
        c == '\'' || c == '(' || c == ')') {
      out += char(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace batchfetch::testing
