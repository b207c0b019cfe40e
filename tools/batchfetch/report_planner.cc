#include "tools/batchfetch/report_planner.h"

#include <spdlog/spdlog.h>

#include "core/civil_date.h"

namespace batchfetch {

Status PlanReports(Ledger& ledger, const Job& job, const std::string& today,
                   std::vector<PlannedReport>* out) {
  const std::vector<std::string> days = DaysBetween(job.from, job.to);
  const RefreshPolicy refresh{today, job.refresh_days};
  for (const auto& report : job.reports) {
    PlannedReport planned{report.get(), {}};
    if (Status s = ledger.RegisterReport(*report); !s.ok()) return s;
    if (Status s = ledger.PlanDays(report->id, days, refresh, &planned.plan); !s.ok()) return s;
    const DayPlan& p = planned.plan;
    spdlog::info(
        "report {} ({}): {}..{}: {} new days, {} refreshed, {} already held, {} unfinished",
        report->id, report->spec.Describe(), job.from, job.to, p.added, p.refreshed, p.held,
        p.unfinished);
    out->push_back(planned);
  }
  return Status::Ok();
}

}  // namespace batchfetch
