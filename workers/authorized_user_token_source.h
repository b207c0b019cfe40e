#ifndef BATCHFETCH_WORKERS_AUTHORIZED_USER_TOKEN_SOURCE_H_
#define BATCHFETCH_WORKERS_AUTHORIZED_USER_TOKEN_SOURCE_H_

#include <chrono>
#include <string>

#include "core/clock.h"
#include "workers/authorized_user_credentials.h"
#include "workers/http_client.h"
#include "workers/token_cache.h"
#include "workers/token_source.h"

namespace batchfetch {

// Access tokens for OAuth user credentials (refresh-token grant, RFC 6749 section 6):
// POSTs client_id, client_secret and refresh_token to token_uri. Tokens are reused as a
// service account's are (TokenCache). Messages name the file, never a secret.
//
// Thread rule: the io thread only; `http` must outlive the source.
class AuthorizedUserTokenSource final : public TokenSource {
 public:
  AuthorizedUserTokenSource(AuthorizedUserCredentials credentials, HttpClient& http,
                            const Clock& clock,
                            std::chrono::milliseconds request_timeout = std::chrono::seconds(30));

  boost::asio::awaitable<boost::system::error_code> Token(std::string* token,
                                                          std::string* error) override;
  void Invalidate(const std::string& token) override { cache_.Invalidate(token); }
  std::string Describe() const override;
  // AuthorizedUserCredentials::Principal().
  std::string QuotaPrincipal() const override { return principal_; }
  // The file's quota_project_id.
  std::string QuotaProject() const override { return credentials_.quota_project_id; }

  // Tokens requested from token_uri so far.
  int fetches() const { return cache_.fetches(); }

 private:
  boost::asio::awaitable<TokenCache::Fetched> FetchOnce();

  const AuthorizedUserCredentials credentials_;
  const std::string principal_;
  HttpClient& http_;
  const std::chrono::milliseconds request_timeout_;
  TokenCache cache_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_AUTHORIZED_USER_TOKEN_SOURCE_H_
