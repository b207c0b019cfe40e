#ifndef BATCHFETCH_TOOLS_BATCHFETCH_REPORT_PLANNER_H_
#define BATCHFETCH_TOOLS_BATCHFETCH_REPORT_PLANNER_H_

#include <string>
#include <vector>

#include "core/report.h"
#include "persistence/ledger.h"

namespace batchfetch {

// What PlanReports did for one report.
struct PlannedReport {
  const Report* report = nullptr;  // owned by the job
  DayPlan plan;
};

// Registers every report of job and plans its days [job.from, job.to] (refresh window
// counted from today, the API's day), before anything is fetched. Logs one line per
// report: new days, refreshed, already held, unfinished. Stops at the first error.
Status PlanReports(Ledger& ledger, const Job& job, const std::string& today,
                   std::vector<PlannedReport>* out);

}  // namespace batchfetch

#endif  // BATCHFETCH_TOOLS_BATCHFETCH_REPORT_PLANNER_H_
