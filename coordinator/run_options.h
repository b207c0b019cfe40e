#ifndef BATCHFETCH_COORDINATOR_RUN_OPTIONS_H_
#define BATCHFETCH_COORDINATOR_RUN_OPTIONS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/page.h"

namespace batchfetch {

// How one backfill runs. The CLI fills it from flags of the same names.
struct RunOptions {
  int max_concurrency = 8;                       // worker coroutines
  int queue_limit = 1000;                        // claimed pages held in memory, at most
  int inflight_limit = 10;                       // fetched pages waiting for the writer
  int max_attempts = kDefaultMaxAttempts;        // failed attempts before a page is dead
  std::chrono::milliseconds lease{60000};        // lease length; renewed every third
  std::chrono::milliseconds halt_timeout{5000};  // graceful stop: in-flight deadline
  std::chrono::milliseconds retry_base{1000};    // back-off base (full jitter)
  std::chrono::milliseconds retry_cap{60000};    // back-off cap
  std::chrono::milliseconds quota_cooldown{15 * 60 * 1000};  // load-quota cool-down
  std::chrono::milliseconds poll_interval{250};       // re-claim while pages wait for a retry
  std::chrono::milliseconds retry_after_cap{300000};  // longest Retry-After honoured
  std::string worker_id;                              // lease owner name
};

// What a run did, for the summary line and the exit code.
struct RunSummary {
  enum class Outcome {
    kDone,         // every page done
    kDeadPages,    // finished, some pages dead
    kHalted,       // an unrecoverable error stopped the run
    kInterrupted,  // stopped by a signal after a graceful stop
  };

  Outcome outcome = Outcome::kDone;
  std::string halt_reason;   // one line, when halted
  int signal = 0;            // the signal that stopped the run, when interrupted
  int64_t pages = 0;         // pages committed by this run
  int64_t rows = 0;          // rows committed by this run
  int64_t requests = 0;      // requests sent (retries included)
  int64_t retries = 0;       // transient failures that will be retried
  int64_t quota_errors = 0;  // 429 / quota 403 answers
  int64_t dead = 0;          // pages that became dead in this run
  int64_t lost_leases = 0;   // commits whose lease had been taken over
  int64_t max_mailbox_depth = 0;
  int64_t peak_window_grants = 0;  // most limiter grants seen in one window
  ReportProgress progress;         // the ledger's view at the end, every report summed
  bool progress_unknown = false;   // the ledger could not be read for progress at all
  std::chrono::steady_clock::duration elapsed{};
  std::vector<double> latency_ms;  // request latencies (a bounded sample)
};

// Exit code for a summary: 0 done, 2 dead pages, 3 halted, 128 + signal interrupted.
int ExitCode(const RunSummary& summary);

}  // namespace batchfetch

#endif  // BATCHFETCH_COORDINATOR_RUN_OPTIONS_H_
