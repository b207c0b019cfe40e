#include "tools/batchfetch/appearance_passes.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "persistence/ledger.h"
#include "tools/batchfetch/backfill_run.h"
#include "tools/batchfetch/commands.h"
#include "tools/batchfetch/report_planner.h"

namespace batchfetch {

int RunAppearancePasses(BackfillFlags flags) {
  BackfillFlags second = flags;
  spdlog::info("search appearance pass 1 of 2: the appearances of {} report(s)",
               flags.job.reports.size());
  const int first_code = BackfillRun(std::move(flags)).Execute();
  if (first_code != kExitOk && first_code != kExitDeadPages) return first_code;

  std::unique_ptr<Ledger> ledger;
  if (Status s = OpenLedger(second.db, OpenMode::kReadOnly, &ledger); !s.ok()) {
    spdlog::error("batchfetch backfill: cannot read the appearances back: {}", s.ToString());
    return kExitHalted;
  }
  std::vector<std::shared_ptr<const Report>> detail;
  for (const auto& report : second.job.reports) {
    std::set<std::string> found;
    Status s = ledger->ExportRows(report->id, second.job.from, second.job.to, [&](const Row& row) {
      found.insert(row.search_appearance);
      return Status::Ok();
    });
    if (!s.ok()) {
      spdlog::error("batchfetch backfill: cannot read the appearances back: {}", s.ToString());
      return kExitHalted;
    }
    for (ReportSpec& spec :
         AppearanceSecondPass(report->spec, std::vector<std::string>(found.begin(), found.end()))) {
      detail.push_back(Report::Make(std::move(spec)));
    }
  }
  ledger.reset();
  if (detail.empty()) {
    spdlog::info("search appearance pass 2 of 2: no appearance found in {}..{}; nothing to fetch",
                 second.job.from, second.job.to);
    return first_code;
  }
  spdlog::info("search appearance pass 2 of 2: {} report(s), one per appearance", detail.size());
  second.job.reports = std::move(detail);
  second.appearance_second_pass = false;
  const int second_code = BackfillRun(std::move(second)).Execute();
  return second_code != kExitOk ? second_code : first_code;
}

}  // namespace batchfetch
