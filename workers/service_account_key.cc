#include "workers/service_account_key.h"

#include <boost/json/object.hpp>

#include "workers/detail/credentials_file.h"
#include "workers/jwt.h"

namespace batchfetch {
namespace {

namespace json = boost::json;

}  // namespace

std::optional<ServiceAccountKey> ServiceAccountKey::Load(const std::string& path,
                                                         std::string* error) {
  const std::string where = "service-account key " + path;
  const std::optional<json::object> doc = detail::ReadCredentialsFile(path, where, error);
  if (!doc) return std::nullopt;
  const json::object& obj = *doc;
  const std::string type = detail::StringField(obj, "type");
  if (type != "service_account") {
    *error = where + ": \"type\" is \"" + type.substr(0, 40) +
             "\", expected \"service_account\" or \"authorized_user\" (external-account "
             "credentials are not supported; use --token-cmd 'gcloud auth print-access-token')";
    return std::nullopt;
  }
  ServiceAccountKey key;
  key.path = path;
  key.client_email = detail::StringField(obj, "client_email");
  key.private_key = detail::StringField(obj, "private_key");
  key.private_key_id = detail::StringField(obj, "private_key_id");
  key.token_uri = detail::StringField(obj, "token_uri");
  if (key.token_uri.empty()) key.token_uri = detail::kGoogleTokenUri;
  if (key.client_email.empty()) {
    *error = where + ": \"client_email\" is missing";
    return std::nullopt;
  }
  if (key.private_key.empty()) {
    *error = where + ": \"private_key\" is missing";
    return std::nullopt;
  }
  if (std::string problem = detail::TokenUriProblem(key.token_uri); !problem.empty()) {
    *error = where + ": " + problem;
    return std::nullopt;
  }
  // Sign a throwaway token now, so a broken key is reported at startup, not mid-run.
  std::string sign_error;
  if (!SignJwtRs256("{}", "{}", key.private_key, &sign_error)) {
    *error = where + ": " + sign_error;
    return std::nullopt;
  }
  return key;
}

}  // namespace batchfetch
