#include "workers/token_error.h"

#include <string>

namespace batchfetch {
namespace {

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "batchfetch.token"; }
  std::string message(int value) const override {
    switch (static_cast<TokenError>(value)) {
      case TokenError::kRejected:
        return "the token was rejected";
      case TokenError::kCommandFailed:
        return "the token command failed";
      case TokenError::kBadKeyFile:
        return "the service-account key file is unusable";
      case TokenError::kEndpointRejected:
        return "the token endpoint refused the grant";
      case TokenError::kEndpointUnavailable:
        return "the token endpoint is unavailable";
      case TokenError::kBadTokenResponse:
        return "the token endpoint answered without a token";
    }
    return "unknown token error";
  }
};

}  // namespace

const boost::system::error_category& TokenErrorCategory() {
  static const Category category;
  return category;
}

bool IsTransientTokenError(const boost::system::error_code& ec) {
  return ec == TokenError::kEndpointUnavailable;
}

}  // namespace batchfetch
