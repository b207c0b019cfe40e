#ifndef BATCHFETCH_WORKERS_SERVICE_ACCOUNT_TOKEN_SOURCE_H_
#define BATCHFETCH_WORKERS_SERVICE_ACCOUNT_TOKEN_SOURCE_H_

#include <chrono>
#include <string>

#include "core/clock.h"
#include "workers/http_client.h"
#include "workers/service_account_key.h"
#include "workers/token_cache.h"
#include "workers/token_source.h"

namespace batchfetch {

// Access tokens for a service account (OAuth 2.0 JWT bearer grant, RFC 7523): signs an
// RS256 JWT {iss: client_email, scope: webmasters.readonly, aud: token_uri, iat,
// exp: iat + 1 h} (plus sub: the user to act as, for domain-wide delegation) with the
// key and POSTs it to token_uri. The token is reused until
// 5 minutes before it expires (half its lifetime when that is shorter), or until
// Invalidate(). Messages name the key file and the account, never the key or a token.
//
// Thread rule: the io thread only; `http` must outlive the source.
class ServiceAccountTokenSource final : public TokenSource {
 public:
  static constexpr char kScope[] = "https://www.googleapis.com/auth/webmasters.readonly";

  ServiceAccountTokenSource(ServiceAccountKey key, HttpClient& http, const Clock& clock,
                            std::chrono::milliseconds request_timeout = std::chrono::seconds(30),
                            std::string subject = "");

  boost::asio::awaitable<boost::system::error_code> Token(std::string* token,
                                                          std::string* error) override;
  void Invalidate(const std::string& token) override { cache_.Invalidate(token); }
  std::string Describe() const override;
  // The account's client_email, or the subject it acts as (the API counts that user).
  std::string QuotaPrincipal() const override {
    return subject_.empty() ? key_.client_email : subject_;
  }

  // Tokens requested from token_uri so far.
  int fetches() const { return cache_.fetches(); }

 private:
  boost::asio::awaitable<TokenCache::Fetched> FetchOnce();

  const ServiceAccountKey key_;
  HttpClient& http_;
  const std::chrono::milliseconds request_timeout_;
  const std::string subject_;  // "" = the account itself
  TokenCache cache_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_SERVICE_ACCOUNT_TOKEN_SOURCE_H_
