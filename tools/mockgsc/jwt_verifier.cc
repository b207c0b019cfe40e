#include "tools/mockgsc/jwt_verifier.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <fstream>
#include <sstream>
#include <vector>

namespace mockgsc {
namespace {

namespace json = boost::json;

constexpr int64_t kMaxLifetimeS = 3600;
constexpr int64_t kClockSkewS = 300;

// Decodes unpadded base64url; nullopt on a character outside the alphabet.
std::optional<std::string> DecodeBase64Url(std::string_view text) {
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    else
      return std::nullopt;
    bits = (bits << 6) | uint32_t(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  if (count >= 6) return std::nullopt;  // one dangling character is never valid
  return out;
}

std::optional<json::object> DecodeJsonPart(std::string_view part) {
  auto bytes = DecodeBase64Url(part);
  if (!bytes) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*bytes, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.get_object();
}

std::string StringOf(const json::object& obj, std::string_view name) {
  const json::value* v = obj.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<int64_t> IntOf(const json::object& obj, std::string_view name) {
  const json::value* v = obj.if_contains(name);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->get_double());
  return std::nullopt;
}

JwtVerifier::Refusal Grant(std::string description) {
  return {"invalid_grant", std::move(description)};
}

}  // namespace

std::optional<JwtVerifier> JwtVerifier::FromKeyFile(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path;
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value doc = json::parse(text.str(), ec);
  if (ec || !doc.is_object()) {
    *error = path + " is not a JSON object";
    return std::nullopt;
  }
  const json::object& obj = doc.get_object();
  JwtVerifier verifier;
  verifier.client_email_ = StringOf(obj, "client_email");
  verifier.key_id_ = StringOf(obj, "private_key_id");
  const std::string pem = StringOf(obj, "private_key");
  if (verifier.client_email_.empty() || pem.empty()) {
    *error = path + " lacks client_email or private_key";
    return std::nullopt;
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())),
                                                &BIO_free);
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  ERR_clear_error();
  if (!key || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
    EVP_PKEY_free(key);
    *error = path + ": private_key is not a PEM RSA key";
    return std::nullopt;
  }
  // An RSA private key holds its public half; verification only ever uses that.
  verifier.public_key_.reset(key, &EVP_PKEY_free);
  return verifier;
}

bool JwtVerifier::SignatureValid(std::string_view signing_input,
                                 const std::string& signature) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  const bool ok =
      ctx &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, public_key_.get()) == 1 &&
      EVP_DigestVerify(
          ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
          reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
  ERR_clear_error();
  return ok;
}

std::optional<JwtVerifier::Refusal> JwtVerifier::Verify(std::string_view assertion, int64_t now_s,
                                                        std::string* subject) const {
  const size_t dot1 = assertion.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : assertion.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || assertion.find('.', dot2 + 1) != std::string_view::npos) {
    return Grant("Invalid JWT: not three dot-separated parts.");
  }
  auto header = DecodeJsonPart(assertion.substr(0, dot1));
  auto claims = DecodeJsonPart(assertion.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = DecodeBase64Url(assertion.substr(dot2 + 1));
  if (!header || !claims || !signature) return Grant("Invalid JWT: bad encoding.");
  if (StringOf(*header, "alg") != "RS256") return Grant("Invalid JWT: alg must be RS256.");
  const std::string kid = StringOf(*header, "kid");
  if (!kid.empty() && !key_id_.empty() && kid != key_id_) {
    return Grant("Invalid JWT Signature.");
  }
  if (!SignatureValid(assertion.substr(0, dot2), *signature)) {
    return Grant("Invalid JWT Signature.");
  }
  if (StringOf(*claims, "iss") != client_email_) return Grant("Invalid email or User ID");
  const std::string aud = StringOf(*claims, "aud");
  auto aud_url = boost::urls::parse_absolute_uri(aud);
  if (!aud_url || aud_url->path() != "/token") {
    return Grant("Invalid JWT: aud must be the token endpoint URL.");
  }
  auto iat = IntOf(*claims, "iat");
  auto exp = IntOf(*claims, "exp");
  if (!iat || !exp || *exp <= now_s || *iat > now_s + kClockSkewS || *exp - *iat > kMaxLifetimeS) {
    return Grant(
        "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
        "timeframe. Check your iat and exp values in the JWT claim.");
  }
  const std::string scope = " " + StringOf(*claims, "scope") + " ";
  if (scope.find(" https://www.googleapis.com/auth/webmasters.readonly ") == std::string::npos &&
      scope.find(" https://www.googleapis.com/auth/webmasters ") == std::string::npos) {
    return Refusal{"invalid_scope", "Invalid OAuth scope or ID token audience provided."};
  }
  if (const json::value* sub = claims->if_contains("sub"); sub && !sub->is_string()) {
    return Grant("Invalid JWT: sub must be a string.");
  }
  if (subject) *subject = StringOf(*claims, "sub");
  return std::nullopt;
}

}  // namespace mockgsc
