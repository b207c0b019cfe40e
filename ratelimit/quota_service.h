#ifndef BATCHFETCH_RATELIMIT_QUOTA_SERVICE_H_
#define BATCHFETCH_RATELIMIT_QUOTA_SERVICE_H_

#include <boost/asio/any_io_executor.hpp>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "persistence/quota_ledger.h"
#include "persistence/status.h"
#include "ratelimit/quota_keys.h"
#include "ratelimit/rate_limiter.h"

namespace batchfetch {

namespace detail {
class KeySetLimiter;
}

// The quota of one process over one ledger: ONE decision thread with ONE QuotaLedger
// connection serves every quota key of the process, however many sites it fetches.
//
// Limiter(keys) hands out a RateLimiter for a set of keys (a report's site, principal
// and project). Its Acquire decides ALL the keys together: granted only if every key
// fits, recorded for every key at once, so no key's grant ages while another key waits.
// The waiters of one limiter queued when the thread comes round share one decision
// (FIFO, up to the budget), and the decisions of every limiter ready then go to the
// ledger together (QuotaLedger::TryGrantAll: one transaction, one round trip, in
// round-robin order so each key set takes its turn first): 330 sites sending at once
// cost one commit, not 330. A grant is used at once, so the ledger's grant time is the
// send time give or take a few milliseconds; `margin` is added to the window in the
// ledger's arithmetic to absorb that delay (and its jitter) between the grant and the
// server's arrival; a waiter that resumes more than margin/4 after its decision began
// (the ledger stamps the grant inside it, so a slow commit ages the grant too) wastes it
// and waits for a fresh one, so a busy io thread or a slow disk cannot send a grant late.
// The rest of the margin (3/4) absorbs the jitter of the send itself and of the server's
// reading. A grant is never refunded, even when its waiter was cancelled meanwhile.
//
// A key's budget is asked of the ledger, where the smallest live ask of any process wins;
// when another process asks for less, `notice` gets one line per key saying so. A limit
// below the budget is learned from the API's answers (OnApiAnswer, see LimitLearner):
// the key set's budgets drop to what the API accepts, are asked of the ledger from then
// on (so every process shares them), and `notice` gets one line naming the --qpm to use.
//
// Thread rule: Limiter(), Close() and the limiters' methods on the executor's thread
// (the limiters' getters from any thread); `notice` is called on the decision thread.
class QuotaService {
 public:
  using Duration = Clock::Duration;

  struct Options {
    Duration window = std::chrono::seconds(60);  // the quota window (--qpm-window)
    Duration margin{-1};                         // < 0: DefaultMargin(window)
    double utilization = 0.8;  // --qpm-utilization: names the --qpm a learned limit means
    // One line for the log (never a secret); may be empty.
    std::function<void(std::string_view)> notice;
  };

  // max(250 ms, 2% of the window): a time-scaled window (6 s) still absorbs a loaded
  // machine's scheduling delays (the jitter does not scale with the window).
  static Duration DefaultMargin(Duration window);

  // ledger is used only by the decision thread. clock (PauseUntil, GrantsInWindow and
  // the waits between decisions) must outlive the service.
  // REQUIRES: ledger != nullptr, window > 0, margin >= 0.
  QuotaService(boost::asio::any_io_executor ex, std::unique_ptr<QuotaLedger> ledger,
               Options options, const Clock& clock = SteadyClock::Instance());
  // Closes, then joins the thread. REQUIRES: no Acquire of its limiters still running.
  ~QuotaService();

  QuotaService(const QuotaService&) = delete;
  QuotaService& operator=(const QuotaService&) = delete;

  // The limiter of this key set: the same set of names (in any order) gives the same
  // limiter, which lives as long as the service. A name asked with several budgets asks
  // the ledger for the smallest. REQUIRES: keys non-empty, distinct names, budgets >= 1.
  RateLimiter& Limiter(std::vector<QuotaKey> keys);

  // Every current and future Acquire of every limiter completes with operation_aborted.
  void Close();

  // Ledger transactions so far (round trips to the ledger), each deciding the waiters
  // of every key set ready then.
  int64_t decisions() const;
  // Grants wasted because their waiter resumed more than margin/4 after the decision
  // (each such waiter waited for another grant instead of sending late).
  int64_t stale_grants() const;
  // The last ledger error; ok when the last decision succeeded.
  Status last_error() const;
  // The budget in force for a key as of the last decision on it (the smallest live ask),
  // or 0 for a key never decided.
  int64_t BudgetInForce(const std::string& key) const;

 private:
  friend class detail::KeySetLimiter;
  struct KeyState;

  struct Pending;  // one limiter's head, being decided

  // Key sets decided in one ledger transaction at most: bounds how long one decision
  // holds the quota file's lock against the other processes.
  static constexpr std::size_t kMaxBatch = 512;

  void Run();
  // Decides the heads of these limiters' queues in ONE ledger transaction. REQUIRES: lock
  // held; releases it while the ledger decides.
  void Decide(const std::vector<detail::KeySetLimiter*>& ready, std::unique_lock<std::mutex>& lock);
  // Takes a limiter's head for a decision. REQUIRES: lock held.
  Pending TakeHead(detail::KeySetLimiter& limiter);
  // Grants or requeues a taken head by the ledger's answer. REQUIRES: lock held.
  void Apply(Pending& p, const Status& status, const QuotaDecision& d, Clock::TimePoint asked_at,
             Clock::TimePoint now, std::vector<std::string>* notices);

  boost::asio::any_io_executor ex_;
  std::unique_ptr<QuotaLedger> ledger_;
  const Duration window_;
  const Duration margin_;
  const double utilization_;
  const std::function<void(std::string_view)> notice_;
  const Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::unique_ptr<KeyState>> keys_;  // guarded by mu_
  std::map<std::vector<std::string>, std::unique_ptr<detail::KeySetLimiter>>
      limiters_;                               // guarded by mu_; by sorted key names
  std::vector<detail::KeySetLimiter*> order_;  // guarded by mu_; round-robin order
  std::size_t next_ = 0;                       // guarded by mu_; round-robin position
  bool closed_ = false;                        // guarded by mu_
  bool stopping_ = false;                      // guarded by mu_
  int64_t decisions_ = 0;                      // guarded by mu_
  int64_t stale_grants_ = 0;                   // guarded by mu_
  Status last_error_;                          // guarded by mu_
  std::thread thread_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_RATELIMIT_QUOTA_SERVICE_H_
