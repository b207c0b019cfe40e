#ifndef BATCHFETCH_TOOLS_BATCHFETCH_BACKFILL_RUN_H_
#define BATCHFETCH_TOOLS_BATCHFETCH_BACKFILL_RUN_H_

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "ratelimit/quota_keys.h"
#include "tools/batchfetch/backfill_flags.h"

namespace batchfetch {

// One `batchfetch backfill` after its flags are valid: credentials, the metrics server,
// the ledger (every report registered and planned), the quota service, the audit log,
// then ONE Coordinator over every report on one io thread, with the writer on its own
// thread, until every page is done, the run halts, or a signal stops it.
//
// Thread rule: Execute() once, on the calling thread (which becomes the io thread).
class BackfillRun {
 public:
  explicit BackfillRun(BackfillFlags flags);
  ~BackfillRun();

  // Runs it; returns the process's exit code (README "Exit codes"). A setup error logs
  // one line and returns 1 (bad input) or 3 (the database cannot be used).
  int Execute();

 private:
  struct State;  // backfill_run.cc

  // Everything before the coordinator starts; 0 to go on, else the exit code.
  int Prepare();
  // The coordinator's run ended: summary, last log lines, the --metrics-hold wait.
  void Finished();
  int Fail(int code, const std::string& message);
  QuotaPolicy Policy() const;

  BackfillFlags flags_;
  std::string quota_project_;  // x-goog-user-project: --quota-project or the credential's
  boost::asio::io_context io_{1};
  std::unique_ptr<State> state_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_TOOLS_BATCHFETCH_BACKFILL_RUN_H_
