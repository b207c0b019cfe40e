#include "workers/static_token_source.h"

#include "workers/token_error.h"

namespace batchfetch {

boost::asio::awaitable<boost::system::error_code> StaticTokenSource::Token(std::string* token,
                                                                           std::string* error) {
  if (rejected_) {
    *error = "the token from " + origin_ +
             " was rejected (401); give a fresh one, or use --token-cmd or --credentials so "
             "it can be refreshed";
    co_return TokenError::kRejected;
  }
  *token = token_;
  co_return boost::system::error_code{};
}

void StaticTokenSource::Invalidate(const std::string& token) {
  if (token == token_) rejected_ = true;
}

}  // namespace batchfetch
