#include "workers/authorized_user_token_source.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <utility>

#include "workers/oauth_token_response.h"

namespace batchfetch {
namespace {

namespace asio = boost::asio;

std::string FormEncode(std::string_view value) {
  return boost::urls::encode(value, boost::urls::unreserved_chars);
}

}  // namespace

AuthorizedUserTokenSource::AuthorizedUserTokenSource(AuthorizedUserCredentials credentials,
                                                     HttpClient& http, const Clock& clock,
                                                     std::chrono::milliseconds request_timeout)
    : credentials_(std::move(credentials)),
      principal_(credentials_.Principal()),
      http_(http),
      request_timeout_(request_timeout),
      cache_(clock) {}

std::string AuthorizedUserTokenSource::Describe() const {
  return "user credentials of client " + credentials_.client_id + " (" + credentials_.path + ")";
}

asio::awaitable<boost::system::error_code> AuthorizedUserTokenSource::Token(std::string* token,
                                                                            std::string* error) {
  co_return co_await cache_.Get([this] { return FetchOnce(); }, token, error);
}

asio::awaitable<TokenCache::Fetched> AuthorizedUserTokenSource::FetchOnce() {
  HttpRequest request;
  request.url = credentials_.token_uri;
  request.body = "grant_type=refresh_token&client_id=" + FormEncode(credentials_.client_id) +
                 "&client_secret=" + FormEncode(credentials_.client_secret) +
                 "&refresh_token=" + FormEncode(credentials_.refresh_token);
  request.headers.push_back("Content-Type: application/x-www-form-urlencoded");
  request.timeout = request_timeout_;
  auto [ec, response] =
      co_await http_.AsyncPerform(std::move(request), asio::as_tuple(asio::use_awaitable));
  co_return ReadTokenResponse(ec, response, Describe(), credentials_.token_uri);
}

}  // namespace batchfetch
