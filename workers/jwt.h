#ifndef BATCHFETCH_WORKERS_JWT_H_
#define BATCHFETCH_WORKERS_JWT_H_

#include <optional>
#include <string>
#include <string_view>

namespace batchfetch {

// Base64url without padding (RFC 7515 §2), as JWTs use it.
std::string Base64UrlEncode(std::string_view bytes);

// A compact RS256 JWT: base64url(header).base64url(claims).base64url(signature), the
// signature an RSASSA-PKCS1-v1_5 SHA-256 signature (OpenSSL EVP_DigestSign) made with
// private_key_pem. header_json and claims_json are signed as given.
// Returns nullopt and a one-line *error when the key cannot be read or signing fails;
// the error never contains the key.
std::optional<std::string> SignJwtRs256(std::string_view header_json, std::string_view claims_json,
                                        std::string_view private_key_pem, std::string* error);

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_JWT_H_
