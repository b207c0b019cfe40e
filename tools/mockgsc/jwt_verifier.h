#ifndef TOOLS_MOCKGSC_JWT_VERIFIER_H_
#define TOOLS_MOCKGSC_JWT_VERIFIER_H_

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mockgsc {

// Checks the RS256 JWT assertions of the OAuth 2.0 JWT bearer grant against one
// service account, as Google's token endpoint does: signature (with the public half of
// the account's key), iss = client_email, a Search Console scope, aud = a URL whose path
// is /token, exp in the future and at most one hour after iat, kid = private_key_id
// when both are given. Written independently of the engine's signer. Immutable after
// construction, so thread-safe.
class JwtVerifier {
 public:
  // Why an assertion was refused, as the token endpoint reports it.
  struct Refusal {
    std::string error;        // OAuth error code: invalid_grant, invalid_scope
    std::string description;  // Google-style error_description
  };

  // Reads a service-account JSON key file and derives the public key from its
  // private_key. Returns nullopt and *error on any problem.
  static std::optional<JwtVerifier> FromKeyFile(const std::string& path, std::string* error);

  // nullopt when assertion is valid at unix time now_s; else why not. When valid and
  // subject is given, *subject is its "sub" claim (the user a service account acts as
  // under domain-wide delegation), "" when absent.
  std::optional<Refusal> Verify(std::string_view assertion, int64_t now_s,
                                std::string* subject = nullptr) const;

  const std::string& client_email() const { return client_email_; }

 private:
  JwtVerifier() = default;
  // The decoded signature checks out over signing_input.
  bool SignatureValid(std::string_view signing_input, const std::string& signature) const;

  std::shared_ptr<EVP_PKEY> public_key_;
  std::string client_email_;
  std::string key_id_;  // private_key_id, or ""
};

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_JWT_VERIFIER_H_
