#include "workers/token_cache.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace batchfetch {

namespace asio = boost::asio;

// One fetch in progress. Waiters wait on `done`, which never expires: the fetcher
// cancels it when the result is in.
struct TokenCache::Flight {
  explicit Flight(const asio::any_io_executor& ex)
      : done(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer done;
  bool finished = false;
  Fetched result;
};

asio::awaitable<boost::system::error_code> TokenCache::Get(const Fetch& fetch, std::string* token,
                                                           std::string* error) {
  for (;;) {
    if (!token_.empty() && clock_.Now() < refresh_at_) {
      *token = token_;
      co_return boost::system::error_code{};
    }
    if (flight_) {
      std::shared_ptr<Flight> flight = flight_;
      co_await flight->done.async_wait(asio::as_tuple(asio::use_awaitable));
      auto cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) {
        co_return asio::error::operation_aborted;
      }
      if (flight->finished && !flight->result.ec) {
        *token = flight->result.token;
        co_return boost::system::error_code{};
      }
      if (flight->finished && flight->result.ec != asio::error::operation_aborted) {
        *error = flight->result.error;
        co_return flight->result.ec;
      }
      continue;  // the fetcher was cancelled (or threw): fetch again
    }

    auto flight = std::make_shared<Flight>(co_await asio::this_coro::executor);
    flight_ = flight;
    ++fetches_;
    token_.clear();
    // Wakes the waiters however the fetch ends, exceptions included.
    struct Release {
      TokenCache* cache;
      Flight* flight;
      ~Release() {
        if (cache->flight_.get() == flight) cache->flight_.reset();
        flight->finished = true;
        try {
          flight->done.cancel();  // a timer's cancel throws only on a broken reactor
        } catch (...) {
        }
      }
    };
    Fetched fetched;
    flight->result.ec = asio::error::operation_aborted;  // unless the fetch completes
    {
      Release release{this, flight.get()};
      fetched = co_await fetch();
      flight->result = fetched;
      if (!fetched.ec) {
        token_ = fetched.token;
        refresh_at_ = clock_.Now() + fetched.reuse_for;
      }
    }
    if (fetched.ec) {
      *error = fetched.error;
      co_return fetched.ec;
    }
    *token = fetched.token;
    co_return boost::system::error_code{};
  }
}

void TokenCache::Invalidate(const std::string& token) {
  if (!token.empty() && token == token_) token_.clear();
}

}  // namespace batchfetch
