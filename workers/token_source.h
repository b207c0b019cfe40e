#ifndef BATCHFETCH_WORKERS_TOKEN_SOURCE_H_
#define BATCHFETCH_WORKERS_TOKEN_SOURCE_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "core/clock.h"
#include "workers/http_client.h"

namespace batchfetch {

// Where the bearer token for the API comes from: a fixed token, a command that prints
// one, or a service-account key exchanged for one at the key's token_uri.
//
// Thread rule: the io thread only. Token() may be awaited by many workers at once; a
// source that fetches runs one fetch at a time and the others wait for its result.
class TokenSource {
 public:
  virtual ~TokenSource() = default;

  // The current bearer token (without "Bearer "), fetching or refreshing it first if
  // needed (cached; refreshed ahead of expiry). On failure: a non-zero error_code and a
  // one-line *error naming the credential (file path / command), never the secret.
  // Cancelling the awaiting coroutine completes it with operation_aborted.
  virtual boost::asio::awaitable<boost::system::error_code> Token(std::string* token,
                                                                  std::string* error) = 0;

  // The API answered 401 for `token`: the next Token() must not return it again. A token
  // other than the current one (already replaced) is ignored.
  virtual void Invalidate(const std::string& token) = 0;

  // The credential, safe to log: "--token-cmd 'gcloud auth print-access-token'",
  // "service account sa@p.iam.gserviceaccount.com (key.json)".
  virtual std::string Describe() const = 0;

  // Who the API counts this credential's requests against (its per-user quota), safe to
  // log and store, never the token: a service account's client_email. A bare token (flag,
  // environment or command) cannot say whose it is: "bearer", so every bare token on a
  // ledger shares one quota key unless --quota-user names it (see ratelimit/quota_keys.h).
  virtual std::string QuotaPrincipal() const { return "bearer"; }

  // The Cloud project the credential itself names for quota and billing (an
  // authorized_user file's quota_project_id), sent as x-goog-user-project when
  // --quota-project is not given; "" when it names none.
  virtual std::string QuotaProject() const { return ""; }
};

// What the command line and environment say about credentials.
struct TokenSourceOptions {
  std::string token;            // --token T
  std::string token_cmd;        // --token-cmd CMD
  std::string credentials;      // --credentials FILE (service-account key or authorized_user)
  std::string env_token;        // $BATCHFETCH_TOKEN
  std::string env_credentials;  // $GOOGLE_APPLICATION_CREDENTIALS
  std::string adc_path;         // the gcloud ADC file when it exists, else ""
  std::string subject;          // --subject EMAIL: a service account acts as this user

  std::chrono::seconds command_lifetime{50 * 60};          // how long a --token-cmd token is reused
  std::chrono::seconds command_timeout{60};                // a --token-cmd run is killed after this
  std::chrono::milliseconds token_request_timeout{30000};  // one POST to token_uri
  const Clock* clock = nullptr;                            // nullptr = SteadyClock::Instance()

  // Fills env_token, env_credentials and adc_path from the environment.
  void ReadEnvironment();
};

// Chooses a source: exactly one of --credentials, --token-cmd, --token if any is given
// (more than one is an error); otherwise $BATCHFETCH_TOKEN, then
// $GOOGLE_APPLICATION_CREDENTIALS, then the gcloud ADC file (adc_path). A key file is
// read and checked here, so a bad one is reported before anything runs. A subject needs
// a service-account key (domain-wide delegation); with any other credential it is an
// error.
// Returns nullptr with *error empty when no credential is given at all (requests then go
// without an Authorization header), nullptr with a one-line *error when the choice or the
// key file is invalid. `http` must outlive the source (service accounts use it).
std::unique_ptr<TokenSource> MakeTokenSource(const TokenSourceOptions& options,
                                             boost::asio::any_io_executor executor,
                                             HttpClient& http, std::string* error);

// Where `gcloud auth application-default login` writes its credentials under home:
// home + "/.config/gcloud/application_default_credentials.json"; "" when home is "".
std::string AdcDefaultPath(const std::string& home);

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_TOKEN_SOURCE_H_
