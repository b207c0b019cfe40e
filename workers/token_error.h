#ifndef BATCHFETCH_WORKERS_TOKEN_ERROR_H_
#define BATCHFETCH_WORKERS_TOKEN_ERROR_H_

#include <boost/system/error_code.hpp>
#include <system_error>
#include <type_traits>

namespace batchfetch {

// Why a TokenSource could not produce a token.
enum class TokenError {
  kRejected = 1,         // the API rejected a token that cannot be refreshed (--token)
  kCommandFailed,        // --token-cmd exited non-zero, was killed, timed out or printed nothing
  kBadKeyFile,           // the service-account key file is unreadable, malformed or unusable
  kEndpointRejected,     // token_uri refused the grant (4xx): wrong key, disabled account...
  kEndpointUnavailable,  // token_uri unreachable, timed out or 5xx: worth retrying later
  kBadTokenResponse,     // token_uri answered 200 without a usable access_token
};

const boost::system::error_category& TokenErrorCategory();

inline boost::system::error_code make_error_code(TokenError e) {
  return {static_cast<int>(e), TokenErrorCategory()};
}

// True for errors that may go away if Token() is awaited again later (after a backoff);
// every other token error needs the user to fix the credential.
bool IsTransientTokenError(const boost::system::error_code& ec);

}  // namespace batchfetch

namespace boost::system {
template <>
struct is_error_code_enum<batchfetch::TokenError> : std::true_type {};
}  // namespace boost::system

#endif  // BATCHFETCH_WORKERS_TOKEN_ERROR_H_
