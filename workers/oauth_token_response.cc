#include "workers/oauth_token_response.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <string_view>

#include "core/text.h"
#include "workers/token_error.h"

namespace batchfetch {
namespace {

namespace json = boost::json;

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

TokenCache::Fetched ReadTokenResponse(boost::system::error_code ec, const HttpResponse& response,
                                      const std::string& who, const std::string& token_uri) {
  TokenCache::Fetched fetched;
  auto fail = [&](TokenError code, const std::string& why) {
    fetched.ec = code;
    fetched.error = who + ": " + why;
    return fetched;
  };
  if (ec) {
    fetched.ec = ec;
    fetched.error = who + ": token request cancelled";
    return fetched;
  }
  const std::string endpoint = "token endpoint " + token_uri;
  if (!response.transport_ok()) {
    return fail(TokenError::kEndpointUnavailable,
                "cannot reach " + endpoint + ": " + OneLine(response.error));
  }
  if (response.status != 200) {
    const bool retry = response.status >= 500 || response.status == 429 || response.status == 408;
    std::string detail = OAuthErrorDetail(response.body);
    return fail(retry ? TokenError::kEndpointUnavailable : TokenError::kEndpointRejected,
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
    return fail(TokenError::kBadTokenResponse, endpoint + " answered without access_token");
  }
  if (!IsOnePrintableWord(access->get_string())) {
    return fail(TokenError::kBadTokenResponse,
                endpoint + " answered an access_token that is not one printable word");
  }
  if (type && type->is_string()) {
    std::string t(type->get_string());
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    if (t != "bearer") {
      return fail(TokenError::kBadTokenResponse,
                  endpoint + " answered token_type \"" + OneLine(t) + "\", not Bearer");
    }
  }
  double expires_in = 3600;
  if (expires && expires->is_number()) expires_in = expires->to_number<double>();
  if (!(expires_in > 0)) {
    return fail(TokenError::kBadTokenResponse,
                endpoint + " answered a token that has already expired");
  }
  const auto lifetime = std::chrono::duration<double>(expires_in);
  const auto ahead = std::min<std::chrono::duration<double>>(kRefreshAhead, lifetime / 2);
  fetched.token = std::string(access->get_string());
  fetched.reuse_for = std::chrono::duration_cast<Clock::Duration>(lifetime - ahead);
  return fetched;
}

}  // namespace batchfetch
