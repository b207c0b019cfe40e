#ifndef TOOLS_BATCHFETCH_LOGIN_OPTIONS_H_
#define TOOLS_BATCHFETCH_LOGIN_OPTIONS_H_

#include <CLI/CLI.hpp>

#include "tools/batchfetch/flag_checks.h"

namespace batchfetch {

// The flags that say where the API is and who calls it, shared by every command that
// sends requests (backfill, sites). Flags is any struct with the std::string members
// api_base, token, token_cmd, credentials, subject and quota_project.
template <typename Flags>
void AddLoginOptions(CLI::App& app, Flags& flags) {
  app.add_option("--api-base", flags.api_base, "API root URL")->capture_default_str();
  app.add_option("--token", flags.token,
                 "bearer token (prefer BATCHFETCH_TOKEN: flags show in ps)");
  app.add_option("--token-cmd", flags.token_cmd, "command printing a bearer token");
  app.add_option("--credentials", flags.credentials,
                 "service-account key or authorized_user JSON file (or "
                 "GOOGLE_APPLICATION_CREDENTIALS; default: gcloud's application default "
                 "credentials)");
  app.add_option("--subject", flags.subject,
                 "user EMAIL a service account acts as (domain-wide delegation)")
      ->check(PlainText());
  app.add_option("--quota-project", flags.quota_project,
                 "Cloud project billed and counted for quota (x-goog-user-project; default: "
                 "the credentials file's quota_project_id)")
      ->check(PlainText());
}

}  // namespace batchfetch

#endif  // TOOLS_BATCHFETCH_LOGIN_OPTIONS_H_
