#ifndef BATCHFETCH_TOOLS_BATCHFETCH_REPORT_PLANNER_H_
#define BATCHFETCH_TOOLS_BATCHFETCH_REPORT_PLANNER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/report.h"
#include "persistence/ledger.h"

namespace batchfetch {

// What the command line asks for, before --type all and --preset are expanded.
struct ReportChoice {
  std::vector<std::string> sites;
  std::vector<std::string> types = {"web"};  // "all" = every type valid for the query
  std::vector<std::string> dimensions = {"date", "query", "page"};
  std::string preset;  // "" or a name of Presets(); replaces dimensions
  std::string data_state = "final";
  std::string aggregation_type = "auto";
  std::vector<std::string> filters;  // "dimension:operator:expression"
};

// The search types "all" stands for, in the order reports are made.
const std::vector<std::string>& AllSearchTypes();

// The --preset names, in help order: by-date, by-country, by-device, by-page, by-query,
// by-query-page, by-search-appearance.
const std::vector<std::string>& Presets();

// The dimensions of a preset (by-search-appearance: its first pass, searchAppearance
// alone); nullopt for an unknown name.
std::optional<std::vector<std::string>> PresetDimensions(std::string_view preset);

// The dimensions of by-search-appearance's second pass: one report per appearance found
// by the first, filtered on it.
const std::vector<std::string>& AppearanceDetailDimensions();

// Every site x type of choice as a report spec, in the order given (types in
// AllSearchTypes() order for "all", which keeps only the types the API accepts for these
// dimensions, filters and aggregation), each checked with ValidateQuery. Returns "" or a
// one-line error (nothing in *out is then meaningful).
std::string ChooseReports(const ReportChoice& choice, std::vector<ReportSpec>* out);

// By-search-appearance's second pass for one first-pass report (dimensions
// searchAppearance alone) and the appearances it found: for each appearance (sorted,
// each once, empty ones skipped), the same site, type, data state and filters plus
// searchAppearance:equals:APPEARANCE, grouped by AppearanceDetailDimensions(). A
// combination the API refuses is left out.
std::vector<ReportSpec> AppearanceSecondPass(const ReportSpec& first_pass,
                                             const std::vector<std::string>& appearances);

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
