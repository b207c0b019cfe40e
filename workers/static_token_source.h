#ifndef BATCHFETCH_WORKERS_STATIC_TOKEN_SOURCE_H_
#define BATCHFETCH_WORKERS_STATIC_TOKEN_SOURCE_H_

#include <string>

#include "workers/token_source.h"

namespace batchfetch {

// A token given as is (--token or $BATCHFETCH_TOKEN). It cannot be refreshed: once the
// API rejects it, Token() fails with TokenError::kRejected.
//
// Thread rule: the io thread only.
class StaticTokenSource final : public TokenSource {
 public:
  // origin names where the token came from, for messages: "--token", "BATCHFETCH_TOKEN".
  StaticTokenSource(std::string token, std::string origin)
      : token_(std::move(token)), origin_(std::move(origin)) {}

  boost::asio::awaitable<boost::system::error_code> Token(std::string* token,
                                                          std::string* error) override;
  void Invalidate(const std::string& token) override;
  std::string Describe() const override { return origin_; }

 private:
  const std::string token_;
  const std::string origin_;
  bool rejected_ = false;  // the API said 401 for token_
};

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_STATIC_TOKEN_SOURCE_H_
