#include "workers/authorized_user_credentials.h"

#include <openssl/evp.h>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace batchfetch {
namespace {

namespace json = boost::json;

constexpr size_t kMaxFileBytes = 1 << 20;
constexpr char kDefaultTokenUri[] = "https://oauth2.googleapis.com/token";

std::string StringField(const json::object& obj, std::string_view name) {
  const json::value* v = obj.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool IsLoopbackHost(std::string_view host) {
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host == "::1";
}

// The file's JSON object, or nullopt with *error (naming the file, never its text).
std::optional<json::object> ReadObject(const std::string& path, const std::string& where,
                                       std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = where + ": cannot be read";
    return std::nullopt;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  if (text.size() > kMaxFileBytes) {
    *error = where + ": too large to be a credentials file";
    return std::nullopt;
  }
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) {
    *error = where + ": not a JSON object" + (ec ? " (" + ec.message() + ")" : "");
    return std::nullopt;
  }
  return std::move(doc.get_object());
}

}  // namespace

std::string CredentialsFileType(const std::string& path) {
  std::string ignored;
  auto obj = ReadObject(path, path, &ignored);
  return obj ? StringField(*obj, "type") : std::string();
}

std::optional<AuthorizedUserCredentials> AuthorizedUserCredentials::Load(const std::string& path,
                                                                         std::string* error) {
  const std::string where = "user credentials " + path;
  auto obj = ReadObject(path, where, error);
  if (!obj) return std::nullopt;
  if (StringField(*obj, "type") != "authorized_user") {
    *error = where + ": \"type\" is not \"authorized_user\"";
    return std::nullopt;
  }
  AuthorizedUserCredentials c;
  c.path = path;
  c.client_id = StringField(*obj, "client_id");
  c.client_secret = StringField(*obj, "client_secret");
  c.refresh_token = StringField(*obj, "refresh_token");
  c.token_uri = StringField(*obj, "token_uri");
  c.quota_project_id = StringField(*obj, "quota_project_id");
  if (c.token_uri.empty()) c.token_uri = kDefaultTokenUri;
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string*>{"client_id", &c.client_id},
        {"client_secret", &c.client_secret},
        {"refresh_token", &c.refresh_token}}) {
    if (value->empty()) {
      *error = where + ": \"" + name + "\" is missing";
      return std::nullopt;
    }
  }
  auto uri = boost::urls::parse_absolute_uri(c.token_uri);
  if (!uri || !(uri->scheme() == "https" ||
                (uri->scheme() == "http" && IsLoopbackHost(uri->encoded_host())))) {
    *error = where +
             ": \"token_uri\" must be an https:// URL (http:// only for a loopback test "
             "server)";
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
