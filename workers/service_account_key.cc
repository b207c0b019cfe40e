#include "workers/service_account_key.h"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <fstream>
#include <sstream>

#include "workers/jwt.h"

namespace batchfetch {
namespace {

namespace json = boost::json;

constexpr size_t kMaxKeyFileBytes = 1 << 20;
constexpr char kDefaultTokenUri[] = "https://oauth2.googleapis.com/token";

// The string member `name` of obj, or "" when absent or not a string.
std::string StringField(const json::object& obj, std::string_view name) {
  const json::value* v = obj.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool IsLoopbackHost(std::string_view host) {
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host == "::1";
}

}  // namespace

std::optional<ServiceAccountKey> ServiceAccountKey::Load(const std::string& path,
                                                         std::string* error) {
  const std::string where = "service-account key " + path;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = where + ": cannot be read";
    return std::nullopt;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  if (text.size() > kMaxKeyFileBytes) {
    *error = where + ": too large to be a key file";
    return std::nullopt;
  }
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) {
    // Boost.JSON's messages name the fault, never the text, so the key cannot leak.
    *error = where + ": not a JSON object" + (ec ? " (" + ec.message() + ")" : "");
    return std::nullopt;
  }
  const json::object& obj = doc.get_object();
  const std::string type = StringField(obj, "type");
  if (type != "service_account") {
    *error = where + ": \"type\" is \"" + type.substr(0, 40) +
             "\", expected \"service_account\" or \"authorized_user\" (external-account "
             "credentials are not supported; use --token-cmd 'gcloud auth print-access-token')";
    return std::nullopt;
  }
  ServiceAccountKey key;
  key.path = path;
  key.client_email = StringField(obj, "client_email");
  key.private_key = StringField(obj, "private_key");
  key.private_key_id = StringField(obj, "private_key_id");
  key.token_uri = StringField(obj, "token_uri");
  if (key.token_uri.empty()) key.token_uri = kDefaultTokenUri;
  if (key.client_email.empty()) {
    *error = where + ": \"client_email\" is missing";
    return std::nullopt;
  }
  if (key.private_key.empty()) {
    *error = where + ": \"private_key\" is missing";
    return std::nullopt;
  }
  auto uri = boost::urls::parse_absolute_uri(key.token_uri);
  if (!uri || !(uri->scheme() == "https" ||
                (uri->scheme() == "http" && IsLoopbackHost(uri->encoded_host())))) {
    *error = where +
             ": \"token_uri\" must be an https:// URL (http:// only for a loopback "
             "test server)";
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
