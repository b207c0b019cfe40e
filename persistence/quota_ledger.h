#ifndef BATCHFETCH_PERSISTENCE_QUOTA_LEDGER_H_
#define BATCHFETCH_PERSISTENCE_QUOTA_LEDGER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "persistence/status.h"

namespace batchfetch {

// One quota key of a decision and the budget (grants per window) this process asks for.
struct QuotaAsk {
  std::string key;
  int64_t budget = 0;
};

// The answer to one TryGrant, about every key asked, in the order asked.
struct QuotaDecision {
  bool granted = false;
  // When not granted: how long from the ledger's now until enough earlier grants leave
  // the window for every key to fit. A duration, not a time, so the caller's clock never
  // has to agree with the ledger's.
  std::chrono::milliseconds retry_after{0};
  std::vector<int64_t> in_window;  // per key: grants in the window after this decision
  std::vector<int64_t> budget;     // per key: the budget in force (smallest live ask)
};

// One request of a TryGrantAll: n grants for every key of keys (which must outlive the call).
struct QuotaRequest {
  std::span<const QuotaAsk> keys;
  int64_t n = 0;
};

// The shared state of the quota: a log of grants per quota key that every process on a
// ledger draws from, so together they never exceed a key's budget in any window.
//
// A key's budget lives here too: each decision records the budget this process asks for
// each key (an "ask", alive for AskLifetime(window) after the process's last decision on
// it), and the budget in force is the smallest live ask, so two processes with different
// --qpm never exceed the smaller.
//
// Each decision is ONE transaction that locks every key asked (BEGIN IMMEDIATE on
// SQLite; row locks taken in key order on PostgreSQL, so decisions never deadlock) and
// reads time from the ledger's clock after taking the locks (so grant times never go
// backwards across processes): on PostgreSQL the server's clock_timestamp(), which
// removes skew between machines; on SQLite CLOCK_BOOTTIME, which never steps and is
// shared by every process on the machine.
//
// Thread rule: one thread at a time; it should be a connection of its own (not the
// writer's), so big commits never delay a token.
class QuotaLedger {
 public:
  // How long an ask outlives the decision that made it.
  static std::chrono::milliseconds AskLifetime(std::chrono::milliseconds window) {
    return std::max(2 * window, std::chrono::milliseconds(10000));
  }

  virtual ~QuotaLedger() = default;

  // Grants n for ALL keys iff for every key the grants in the window (now - window, now]
  // plus n stay <= the key's budget in force; then records n at now for every key, else
  // records nothing. Records the asks and prunes what left the window either way.
  // REQUIRES: keys non-empty and distinct, 1 <= n <= every ask's budget, window > 0.
  virtual Status TryGrant(std::span<const QuotaAsk> keys, int64_t n,
                          std::chrono::milliseconds window, QuotaDecision* out) = 0;

  // Decides the requests in order, each as TryGrant would, a later one counting the
  // grants of the earlier ones; out gets one decision per request. SQLite decides them
  // all in ONE transaction at one instant (one lock, one commit, each key's window read
  // once), so a process serving many sites pays one round trip for the waiters of all of
  // them. The default calls TryGrant for each. On an error nothing is granted (out is
  // left empty), although the default may have recorded the grants of earlier requests:
  // budget unused, never exceeded. REQUIRES: TryGrant's, for each request.
  virtual Status TryGrantAll(std::span<const QuotaRequest> requests,
                             std::chrono::milliseconds window, std::vector<QuotaDecision>* out);
};

// Opens the quota ledger beside the ledger named by target: the same PostgreSQL
// database, or for an SQLite ledger file F the file "F-quota" (its own write lock, so
// grants never wait for the writer's commits). Creates what is missing.
Status OpenQuotaLedger(const std::string& target, std::unique_ptr<QuotaLedger>* out);

// Checks TryGrant's REQUIRES; a one-line kInvalid error when broken.
Status CheckQuotaRequest(std::span<const QuotaAsk> keys, int64_t n,
                         std::chrono::milliseconds window);
// Checks TryGrantAll's REQUIRES: CheckQuotaRequest for each request.
Status CheckQuotaRequests(std::span<const QuotaRequest> requests, std::chrono::milliseconds window);

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_QUOTA_LEDGER_H_
