#ifndef BATCHFETCH_TOOLS_BATCHFETCH_RUN_SUMMARY_H_
#define BATCHFETCH_TOOLS_BATCHFETCH_RUN_SUMMARY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "coordinator/run_options.h"

namespace batchfetch {

// What a summary needs besides the run's own figures.
struct SummaryContext {
  int64_t reports = 0;  // reports in the run
  int64_t budget = 0;   // grants per window of one site
  double window_s = 60;
};

// The end-of-run summary for a person, a few lines (no trailing newline), e.g.
//   batchfetch: done: 12 pages, 6,000 rows in 2.0 s; 13 requests
//     requests  390/min; peak 12 in one 60 s window (budget 960)
//     errors    retries 1, quota errors 0, dead pages 0
//     latency   p50 10 ms, p95 30 ms, p99 30 ms
//     progress  12/12 pages done in 3 reports
// and a last line "run the same command again to resume" when stopped or halted. The
// requests/min rate is left out of a run shorter than one window.
std::string SummaryText(const RunSummary& summary, const SummaryContext& context);

// The same figures as one JSON object on one line (--json): outcome, exit_code, pages,
// rows, requests, elapsed_ms, requests_per_minute, peak_window_requests, budget,
// window_ms, retries, quota_errors, dead_pages, latency_ms {p50,p95,p99}, pages_done,
// pages_total, reports, mailbox_peak, halt_reason (when halted), resume (bool).
std::string SummaryJson(const RunSummary& summary, const SummaryContext& context);

// The value at quantile p (0..1) of v; 0 when v is empty.
double Percentile(std::vector<double> v, double p);

}  // namespace batchfetch

#endif  // BATCHFETCH_TOOLS_BATCHFETCH_RUN_SUMMARY_H_
