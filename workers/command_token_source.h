#ifndef BATCHFETCH_WORKERS_COMMAND_TOKEN_SOURCE_H_
#define BATCHFETCH_WORKERS_COMMAND_TOKEN_SOURCE_H_

#include <chrono>
#include <string>

#include "core/clock.h"
#include "workers/token_cache.h"
#include "workers/token_source.h"

namespace batchfetch {

// A token printed by a shell command (--token-cmd 'gcloud auth print-access-token'). The
// command runs off the io thread; its stdout, trimmed, is the token, reused for
// `lifetime` and fetched again after it or after Invalidate(). A command that fails,
// times out or prints nothing gives TokenError::kCommandFailed with its exit status and
// the first line of its stderr (never its stdout, which may hold a token).
//
// Thread rule: the io thread only.
class CommandTokenSource final : public TokenSource {
 public:
  CommandTokenSource(std::string command, std::chrono::seconds lifetime,
                     std::chrono::seconds timeout, const Clock& clock);

  boost::asio::awaitable<boost::system::error_code> Token(std::string* token,
                                                          std::string* error) override;
  void Invalidate(const std::string& token) override { cache_.Invalidate(token); }
  std::string Describe() const override;

  // Times the command has been run.
  int runs() const { return cache_.fetches(); }

 private:
  boost::asio::awaitable<TokenCache::Fetched> RunOnce();

  const std::string command_;
  const std::chrono::seconds lifetime_;
  const std::chrono::seconds timeout_;
  TokenCache cache_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_COMMAND_TOKEN_SOURCE_H_
