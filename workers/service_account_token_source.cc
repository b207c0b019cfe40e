#include "workers/service_account_token_source.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <utility>

#include "workers/jwt.h"
#include "workers/oauth_token_response.h"
#include "workers/token_error.h"

namespace batchfetch {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::chrono::seconds kAssertionLifetime{3600};

}  // namespace

ServiceAccountTokenSource::ServiceAccountTokenSource(ServiceAccountKey key, HttpClient& http,
                                                     const Clock& clock,
                                                     std::chrono::milliseconds request_timeout,
                                                     std::string subject)
    : key_(std::move(key)),
      http_(http),
      request_timeout_(request_timeout),
      subject_(std::move(subject)),
      cache_(clock) {}

std::string ServiceAccountTokenSource::Describe() const {
  return "service account " + key_.client_email +
         (subject_.empty() ? "" : " acting as " + subject_) + " (" + key_.path + ")";
}

asio::awaitable<boost::system::error_code> ServiceAccountTokenSource::Token(std::string* token,
                                                                            std::string* error) {
  co_return co_await cache_.Get([this] { return FetchOnce(); }, token, error);
}

asio::awaitable<TokenCache::Fetched> ServiceAccountTokenSource::FetchOnce() {
  TokenCache::Fetched fetched;
  auto fail = [&](TokenError code, const std::string& why) {
    fetched.ec = code;
    fetched.error = Describe() + ": " + why;
    return fetched;
  };

  const int64_t iat = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  json::object header{{"alg", "RS256"}, {"typ", "JWT"}};
  if (!key_.private_key_id.empty()) header["kid"] = key_.private_key_id;
  json::object claims{{"iss", key_.client_email},
                      {"scope", kScope},
                      {"aud", key_.token_uri},
                      {"iat", iat},
                      {"exp", iat + kAssertionLifetime.count()}};
  if (!subject_.empty()) claims["sub"] = subject_;
  std::string sign_error;
  auto assertion =
      SignJwtRs256(json::serialize(header), json::serialize(claims), key_.private_key, &sign_error);
  if (!assertion) co_return fail(TokenError::kBadKeyFile, sign_error);

  HttpRequest request;
  request.url = key_.token_uri;
  // A JWT is base64url and dots only: nothing in it needs percent-encoding.
  request.body =
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + *assertion;
  request.headers.push_back("Content-Type: application/x-www-form-urlencoded");
  request.timeout = request_timeout_;
  auto [ec, response] =
      co_await http_.AsyncPerform(std::move(request), asio::as_tuple(asio::use_awaitable));
  co_return ReadTokenResponse(ec, response, Describe(), key_.token_uri);
}

}  // namespace batchfetch
