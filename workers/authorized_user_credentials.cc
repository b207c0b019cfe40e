#include "workers/authorized_user_credentials.h"

#include <openssl/evp.h>

#include <cstdio>

#include "core/text.h"
#include "workers/detail/credentials_file.h"

namespace batchfetch {
std::string CredentialsFileType(const std::string& path) {
  std::string ignored;
  auto obj = detail::ReadCredentialsFile(path, path, &ignored);
  return obj ? detail::StringField(*obj, "type") : std::string();
}

std::optional<AuthorizedUserCredentials> AuthorizedUserCredentials::Load(const std::string& path,
                                                                         std::string* error) {
  const std::string where = "user credentials " + path;
  auto obj = detail::ReadCredentialsFile(path, where, error);
  if (!obj) return std::nullopt;
  if (detail::StringField(*obj, "type") != "authorized_user") {
    *error = where + ": \"type\" is not \"authorized_user\"";
    return std::nullopt;
  }
  AuthorizedUserCredentials c;
  c.path = path;
  c.client_id = detail::StringField(*obj, "client_id");
  c.client_secret = detail::StringField(*obj, "client_secret");
  c.refresh_token = detail::StringField(*obj, "refresh_token");
  c.token_uri = detail::StringField(*obj, "token_uri");
  c.quota_project_id = detail::StringField(*obj, "quota_project_id");
  if (c.token_uri.empty()) c.token_uri = detail::kGoogleTokenUri;
  if (HasControlCharacter(c.quota_project_id)) {
    // It goes into a header of every request (x-goog-user-project).
    *error = where + ": \"quota_project_id\" holds a control character";
    return std::nullopt;
  }
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string*>{"client_id", &c.client_id},
        {"client_secret", &c.client_secret},
        {"refresh_token", &c.refresh_token}}) {
    if (value->empty()) {
      *error = where + ": \"" + name + "\" is missing";
      return std::nullopt;
    }
  }
  if (std::string problem = detail::TokenUriProblem(c.token_uri); !problem.empty()) {
    *error = where + ": " + problem;
    return std::nullopt;
  }
  return c;
}

std::string AuthorizedUserCredentials::Principal() const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  std::string hex;
  if (EVP_Digest(refresh_token.data(), refresh_token.size(), digest, &size, EVP_sha256(),
                 nullptr) == 1) {
    char byte[3];
    for (unsigned int i = 0; i < 8 && i < size; ++i) {
      std::snprintf(byte, sizeof byte, "%02x", digest[i]);
      hex += byte;
    }
  }
  return "user:" + client_id + ":" + hex;
}

}  // namespace batchfetch
