#ifndef BATCHFETCH_TOOLS_BATCHFETCH_RUN_SUMMARY_H_
#define BATCHFETCH_TOOLS_BATCHFETCH_RUN_SUMMARY_H_

#include <string>

#include "coordinator/run_options.h"

namespace batchfetch {

// The one summary line of a backfill, for stdout:
// "batchfetch: done: 12 pages, 6000 rows in 1.2 s; 12 requests (...); ledger 12/12 pages
// done in 3 reports" — with "; run the same command again to resume" when stopped or halted.
// budget is the grants per window of one site, window_s the window.
std::string SummaryLine(const RunSummary& summary, int64_t reports, int64_t budget,
                        double window_s);

// The value at quantile p (0..1) of v; 0 when v is empty.
double Percentile(std::vector<double> v, double p);

}  // namespace batchfetch

#endif  // BATCHFETCH_TOOLS_BATCHFETCH_RUN_SUMMARY_H_
