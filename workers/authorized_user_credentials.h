#ifndef BATCHFETCH_WORKERS_AUTHORIZED_USER_CREDENTIALS_H_
#define BATCHFETCH_WORKERS_AUTHORIZED_USER_CREDENTIALS_H_

#include <optional>
#include <string>

namespace batchfetch {

// OAuth user credentials as `gcloud auth application-default login` writes them
// (~/.config/gcloud/application_default_credentials.json, type "authorized_user").
struct AuthorizedUserCredentials {
  std::string path;  // the file it was read from
  std::string client_id;
  std::string client_secret;     // never logged or put in a message
  std::string refresh_token;     // never logged or put in a message
  std::string token_uri;         // "https://oauth2.googleapis.com/token" when absent
  std::string quota_project_id;  // "" when absent

  // Reads and checks path: JSON with type "authorized_user", client_id, client_secret,
  // refresh_token and an https token_uri (http only for a loopback host). Returns nullopt
  // and a one-line *error naming the file (never quoting a secret) otherwise.
  static std::optional<AuthorizedUserCredentials> Load(const std::string& path, std::string* error);

  // The user's quota principal without a secret: "user:<client_id>:<16 hex digits of the
  // SHA-256 of the refresh token>" (one login, one principal; the account's email is not
  // in the file).
  std::string Principal() const;
};

// The "type" member of the JSON credentials file at path, or "" when it cannot be read.
std::string CredentialsFileType(const std::string& path);

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_AUTHORIZED_USER_CREDENTIALS_H_
