#include "workers/token_source.h"

#include <sys/stat.h>

#include <cstdlib>

#include "core/text.h"
#include "workers/authorized_user_token_source.h"
#include "workers/command_token_source.h"
#include "workers/service_account_token_source.h"
#include "workers/static_token_source.h"

namespace batchfetch {

void TokenSourceOptions::ReadEnvironment() {
  const char* token_env = std::getenv("BATCHFETCH_TOKEN");
  const char* credentials_env = std::getenv("GOOGLE_APPLICATION_CREDENTIALS");
  env_token = token_env ? token_env : "";
  env_credentials = credentials_env ? credentials_env : "";
  const char* home = std::getenv("HOME");
  adc_path = AdcDefaultPath(home ? home : "");
  struct stat st {};
  if (adc_path.empty() || ::stat(adc_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    adc_path.clear();
  }
}

std::string AdcDefaultPath(const std::string& home) {
  return home.empty() ? "" : home + "/.config/gcloud/application_default_credentials.json";
}

std::unique_ptr<TokenSource> MakeTokenSource(const TokenSourceOptions& options,
                                             boost::asio::any_io_executor /*executor*/,
                                             HttpClient& http, std::string* error) {
  error->clear();
  const Clock& clock = options.clock ? *options.clock : SteadyClock::Instance();
  const int explicit_count = int(!options.token.empty()) + int(!options.token_cmd.empty()) +
                             int(!options.credentials.empty());
  if (explicit_count > 1) {
    *error = "give only one of --token, --token-cmd and --credentials";
    return nullptr;
  }
  auto service_account = [&](const std::string& path,
                             const std::string& origin) -> std::unique_ptr<TokenSource> {
    std::string key_error;
    if (CredentialsFileType(path) == "authorized_user") {
      if (!options.subject.empty()) {
        *error = "--subject needs a service-account key; " + origin + " " + path +
                 " holds user credentials";
        return nullptr;
      }
      auto user = AuthorizedUserCredentials::Load(path, &key_error);
      if (!user) {
        *error = origin + ": " + key_error;
        return nullptr;
      }
      return std::make_unique<AuthorizedUserTokenSource>(std::move(*user), http, clock,
                                                         options.token_request_timeout);
    }
    auto key = ServiceAccountKey::Load(path, &key_error);
    if (!key) {
      *error = origin + ": " + key_error;
      return nullptr;
    }
    return std::make_unique<ServiceAccountTokenSource>(
        std::move(*key), http, clock, options.token_request_timeout, options.subject);
  };
  if (!options.credentials.empty()) return service_account(options.credentials, "--credentials");
  const bool bare = !options.token_cmd.empty() || !options.token.empty() ||
                    !options.env_token.empty() ||
                    (options.env_credentials.empty() && options.adc_path.empty());
  if (!options.subject.empty() && bare) {
    *error =
        "--subject needs a service-account key (--credentials or "
        "GOOGLE_APPLICATION_CREDENTIALS)";
    return nullptr;
  }
  if (!options.token_cmd.empty()) {
    return std::make_unique<CommandTokenSource>(options.token_cmd, options.command_lifetime,
                                                options.command_timeout, clock);
  }
  // The complaint never shows the token. (BATCHFETCH_TOKEN may also arrive as --token.)
  const std::string& bare_token = !options.token.empty() ? options.token : options.env_token;
  if (!bare_token.empty() && !IsOnePrintableWord(bare_token)) {
    *error =
        "the token (--token or BATCHFETCH_TOKEN) is not one printable word: it holds a space "
        "or a control character";
    return nullptr;
  }
  if (!options.token.empty()) return std::make_unique<StaticTokenSource>(options.token, "--token");
  if (!options.env_token.empty()) {
    return std::make_unique<StaticTokenSource>(options.env_token, "BATCHFETCH_TOKEN");
  }
  if (!options.env_credentials.empty()) {
    return service_account(options.env_credentials, "GOOGLE_APPLICATION_CREDENTIALS");
  }
  if (!options.adc_path.empty()) {
    return service_account(options.adc_path, "application default credentials");
  }
  return nullptr;
}

}  // namespace batchfetch
