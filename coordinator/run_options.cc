#include "coordinator/run_options.h"

namespace batchfetch {

int ExitCode(const RunSummary& summary) {
  switch (summary.outcome) {
    case RunSummary::Outcome::kDone:
      return 0;
    case RunSummary::Outcome::kDeadPages:
      return 2;
    case RunSummary::Outcome::kHalted:
      return 3;
    case RunSummary::Outcome::kInterrupted:
      return 128 + summary.signal;
  }
  return 3;
}

}  // namespace batchfetch
