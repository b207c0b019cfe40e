#ifndef BATCHFETCH_TOOLS_BATCHFETCH_DRY_RUN_H_
#define BATCHFETCH_TOOLS_BATCHFETCH_DRY_RUN_H_

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "tools/batchfetch/backfill_flags.h"

namespace batchfetch {

// One report as `backfill --dry-run` sees it.
struct DryRunReport {
  std::string id;
  std::string describe;          // Report::Describe()
  int64_t days = 0;              // days in [from, to]
  int64_t days_held = 0;         // of those, held in the database
  int64_t days_to_fetch = 0;     // of those, not held or held but in the refresh window
  int64_t pages_held = 0;        // pages done for the report, every day
  int64_t pages_unfinished = 0;  // pages planned by an earlier run and not done
  double pages_per_day = 1;      // pages a held day took (every day held), at least 1
};

// Counts one report's days: days is the run's range, held the days the database holds
// (any order, any range), refresh_from the first day fetched again although held ("" =
// none).
void CountDryRunDays(std::span<const std::string> days, const std::set<std::string>& held,
                     const std::string& refresh_from, DryRunReport* out);

// What a run would cost.
struct RunEstimate {
  int64_t requests = 0;  // days to fetch x the report's pages per day, rounded up
  double minutes = 0;    // at budget requests per window_s (one principal's quota bounds
                         // every report of the run)
};

// REQUIRES: budget >= 1, window_s > 0.
RunEstimate EstimateRun(std::span<const DryRunReport> reports, int64_t budget, double window_s);

// `backfill --dry-run`: prints each report's days and pages already held and the estimate
// on stdout (one JSON object with --json). Opens an existing database read-only; creates
// nothing, writes nothing, sends no request. Returns the exit code.
int DryRun(const BackfillFlags& flags);

}  // namespace batchfetch

#endif  // BATCHFETCH_TOOLS_BATCHFETCH_DRY_RUN_H_
