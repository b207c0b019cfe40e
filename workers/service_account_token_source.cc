#include "workers/service_account_token_source.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <utility>

#include "workers/jwt.h"
#include "workers/token_error.h"

namespace batchfetch {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::chrono::seconds kAssertionLifetime{3600};
constexpr std::chrono::seconds kRefreshAhead{300};
constexpr size_t kMaxDetail = 200;

// A server-supplied string made safe for a one-line message.
std::string OneLine(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxDetail)) out += (c == '\n' || c == '\r') ? ' ' : c;
  if (text.size() > kMaxDetail) out += "...";
  return out;
}

// "invalid_grant: Invalid JWT Signature." from an OAuth error body, or "" if it has none.
std::string OAuthErrorDetail(std::string_view body) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return "";
  const json::object& obj = doc.get_object();
  std::string detail;
  if (const json::value* e = obj.if_contains("error"); e && e->is_string()) {
    detail = std::string(e->get_string());
  }
  if (const json::value* d = obj.if_contains("error_description"); d && d->is_string()) {
    detail += (detail.empty() ? "" : ": ") + std::string(d->get_string());
  }
  return OneLine(detail);
}

}  // namespace

ServiceAccountTokenSource::ServiceAccountTokenSource(ServiceAccountKey key, HttpClient& http,
                                                     const Clock& clock,
                                                     std::chrono::milliseconds request_timeout)
    : key_(std::move(key)), http_(http), request_timeout_(request_timeout), cache_(clock) {}

std::string ServiceAccountTokenSource::Describe() const {
  return "service account " + key_.client_email + " (" + key_.path + ")";
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
  if (ec) {
    fetched.ec = ec;
    fetched.error = Describe() + ": token request cancelled";
    co_return fetched;
  }
  const std::string endpoint = "token endpoint " + key_.token_uri;
  if (!response.transport_ok()) {
    co_return fail(TokenError::kEndpointUnavailable,
                   "cannot reach " + endpoint + ": " + OneLine(response.error));
  }
  if (response.status != 200) {
    const bool retry = response.status >= 500 || response.status == 429 || response.status == 408;
    std::string detail = OAuthErrorDetail(response.body);
    co_return fail(retry ? TokenError::kEndpointUnavailable : TokenError::kEndpointRejected,
                   endpoint + " answered " + std::to_string(response.status) +
                       (detail.empty() ? "" : " (" + detail + ")"));
  }

  boost::system::error_code parse_ec;
  json::value doc = json::parse(response.body, parse_ec);
  const json::object* obj = !parse_ec && doc.is_object() ? &doc.get_object() : nullptr;
  const json::value* access = obj ? obj->if_contains("access_token") : nullptr;
  const json::value* expires = obj ? obj->if_contains("expires_in") : nullptr;
  const json::value* type = obj ? obj->if_contains("token_type") : nullptr;
  if (!access || !access->is_string() || access->get_string().empty()) {
    co_return fail(TokenError::kBadTokenResponse, endpoint + " answered without access_token");
  }
  if (type && type->is_string()) {
    std::string t(type->get_string());
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    if (t != "bearer") {
      co_return fail(TokenError::kBadTokenResponse,
                     endpoint + " answered token_type \"" + OneLine(t) + "\", not Bearer");
    }
  }
  double expires_in = 3600;
  if (expires && expires->is_number()) expires_in = expires->to_number<double>();
  if (!(expires_in > 0)) {
    co_return fail(TokenError::kBadTokenResponse,
                   endpoint + " answered a token that has already expired");
  }
  const auto lifetime = std::chrono::duration<double>(expires_in);
  const auto ahead = std::min<std::chrono::duration<double>>(kRefreshAhead, lifetime / 2);
  fetched.token = std::string(access->get_string());
  fetched.reuse_for = std::chrono::duration_cast<Clock::Duration>(lifetime - ahead);
  co_return fetched;
}

}  // namespace batchfetch
