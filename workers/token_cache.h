#ifndef BATCHFETCH_WORKERS_TOKEN_CACHE_H_
#define BATCHFETCH_WORKERS_TOKEN_CACHE_H_

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"

namespace batchfetch {

// A fetched token kept until its refresh time, with single-flight fetching: while one
// caller fetches, every other caller waits for that fetch instead of starting its own.
// The building block of the refreshing TokenSources.
//
// Thread rule: the io thread only.
class TokenCache {
 public:
  // What one fetch produced.
  struct Fetched {
    boost::system::error_code ec;  // non-zero: error says why
    std::string token;
    std::string error;             // one line, no secret
    Clock::Duration reuse_for{0};  // hand the token out for this long, then fetch again
  };
  using Fetch = std::function<boost::asio::awaitable<Fetched>()>;

  explicit TokenCache(const Clock& clock) : clock_(clock) {}

  // The cached token if it is still fresh, else the result of fetch() (run by the first
  // caller only; a caller that finds a fetch running waits for its result). A fetch that
  // was cancelled is retried by a waiter. Cancelling the caller: operation_aborted.
  boost::asio::awaitable<boost::system::error_code> Get(const Fetch& fetch, std::string* token,
                                                        std::string* error);

  // Forgets token if it is the cached one.
  void Invalidate(const std::string& token);

  // Fetches started so far (tests, diagnostics).
  int fetches() const { return fetches_; }

 private:
  struct Flight;

  const Clock& clock_;
  std::string token_;               // "" = none cached
  Clock::TimePoint refresh_at_{};   // fetch again from here on
  std::shared_ptr<Flight> flight_;  // the fetch running now, or null
  int fetches_ = 0;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_TOKEN_CACHE_H_
