#ifndef BATCHFETCH_PERSISTENCE_QUOTA_LEDGER_H_
#define BATCHFETCH_PERSISTENCE_QUOTA_LEDGER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "persistence/status.h"

namespace batchfetch {

// The answer to one TryGrant.
struct QuotaDecision {
  bool granted = false;
  // When not granted: how long from the ledger's now until enough earlier grants leave
  // the window for this request to fit. A duration, not a time, so the caller's clock
  // never has to agree with the ledger's.
  std::chrono::milliseconds retry_after{0};
  int64_t in_window = 0;  // grants in the window after this decision, every process's
};

// The shared state of the quota: a log of grants per quota key that every process on a
// ledger draws from, so together they never exceed a budget in any window. Each
// decision is one transaction that serialises on the key (BEGIN IMMEDIATE on SQLite, a
// row lock on PostgreSQL) and reads time from the ledger's clock after taking that lock
// (so grant times never go backwards across processes): on PostgreSQL the server's
// clock_timestamp(), which removes skew between machines; on SQLite the machine's own
// clock, shared by every process on it.
//
// Thread rule: one thread at a time; it should be a connection of its own (not the
// writer's), so big commits never delay a token.
class QuotaLedger {
 public:
  virtual ~QuotaLedger() = default;

  // Grants n iff the grants of key in the window (now - window, now] plus n stay <=
  // budget, recording them at now; prunes grants older than the window.
  // REQUIRES: 1 <= n <= budget, window > 0.
  virtual Status TryGrant(const std::string& key, int64_t n, int64_t budget,
                          std::chrono::milliseconds window, QuotaDecision* out) = 0;
};

// Opens the quota ledger beside the ledger named by target: the same PostgreSQL
// database, or for an SQLite ledger file F the file "F-quota" (its own write lock, so
// grants never wait for the writer's commits). Creates what is missing.
Status OpenQuotaLedger(const std::string& target, std::unique_ptr<QuotaLedger>* out);

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_QUOTA_LEDGER_H_
