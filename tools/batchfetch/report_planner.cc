#include "tools/batchfetch/report_planner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/civil_date.h"
#include "workers/query_rules.h"

namespace batchfetch {

namespace {

const std::map<std::string, std::vector<std::string>, std::less<>>& PresetTable() {
  static const auto* table = new std::map<std::string, std::vector<std::string>, std::less<>>{
      {"by-date", {"date"}},
      {"by-country", {"date", "country"}},
      {"by-device", {"date", "device"}},
      {"by-page", {"date", "page"}},
      {"by-query", {"date", "query"}},
      {"by-query-page", {"date", "query", "page"}},
      {"by-search-appearance", {"searchAppearance"}},
  };
  return *table;
}

// The choice's query shape for one type, or an error.
std::string ShapeOf(const ReportChoice& c, const std::vector<std::string>& dimensions,
                    QueryShape* shape) {
  *shape = QueryShape{"web", dimensions, c.aggregation_type, c.data_state, {}};
  for (const std::string& text : c.filters) {
    std::string why;
    std::optional<Filter> filter = ParseFilter(text, &why);
    if (!filter) return "--filter '" + text + "': " + why;
    shape->filters.push_back(*filter);
  }
  return "";
}

}  // namespace

const std::vector<std::string>& AllSearchTypes() {
  static const auto* types =
      new std::vector<std::string>{"web", "image", "video", "news", "discover", "googleNews"};
  return *types;
}

const std::vector<std::string>& Presets() {
  static const auto* names =
      new std::vector<std::string>{"by-date",  "by-country",    "by-device",           "by-page",
                                   "by-query", "by-query-page", "by-search-appearance"};
  return *names;
}

std::optional<std::vector<std::string>> PresetDimensions(std::string_view preset) {
  auto it = PresetTable().find(preset);
  if (it == PresetTable().end()) return std::nullopt;
  return it->second;
}

const std::vector<std::string>& AppearanceDetailDimensions() {
  static const auto* dims = new std::vector<std::string>{"date", "page"};
  return *dims;
}

std::string ChooseReports(const ReportChoice& c, std::vector<ReportSpec>* out) {
  out->clear();
  std::vector<std::string> dimensions = c.dimensions;
  if (!c.preset.empty()) {
    auto preset = PresetDimensions(c.preset);
    if (!preset) return "--preset '" + c.preset + "' is not one of the presets";
    dimensions = *preset;
  }
  std::set<std::string> seen;
  for (const std::string& d : dimensions) {
    if (!seen.insert(d).second) return "--dimensions: '" + d + "' is given twice";
  }
  if (dimensions.empty()) return "--dimensions is empty";
  QueryShape shape;
  if (std::string e = ShapeOf(c, dimensions, &shape); !e.empty()) return e;

  const bool all = std::find(c.types.begin(), c.types.end(), "all") != c.types.end();
  std::vector<std::string> types;
  if (all) {
    std::string first_refusal;
    for (const std::string& type : AllSearchTypes()) {
      shape.type = type;
      if (auto rule = ValidateQuery(shape)) {
        if (first_refusal.empty()) first_refusal = *rule;
        continue;
      }
      types.push_back(type);
    }
    if (types.empty()) return "--type all: no search type accepts this query: " + first_refusal;
  } else {
    for (const std::string& type : c.types) {
      if (std::find(types.begin(), types.end(), type) == types.end()) types.push_back(type);
    }
  }
  for (const std::string& site : c.sites) {
    if (site.empty()) return "--site is empty";
    for (const std::string& type : types) {
      shape.type = type;
      if (auto rule = ValidateQuery(shape)) return *rule;
      ReportSpec spec;
      spec.site = site;
      spec.search_type = type;
      spec.dimensions = dimensions;
      spec.data_state = c.data_state;
      spec.aggregation_type = c.aggregation_type;
      spec.filters = c.filters;
      out->push_back(std::move(spec));
    }
  }
  return "";
}

std::vector<ReportSpec> AppearanceSecondPass(const ReportSpec& first_pass,
                                             const std::vector<std::string>& appearances) {
  std::set<std::string> values(appearances.begin(), appearances.end());
  values.erase("");
  std::vector<ReportSpec> out;
  for (const std::string& value : values) {
    ReportSpec spec = first_pass;
    spec.dimensions = AppearanceDetailDimensions();
    spec.filters.push_back("searchAppearance:equals:" + value);
    ReportChoice check;
    check.aggregation_type = spec.aggregation_type;
    check.data_state = spec.data_state;
    check.filters = spec.filters;
    QueryShape shape;
    if (!ShapeOf(check, spec.dimensions, &shape).empty()) continue;
    shape.type = spec.search_type;
    if (ValidateQuery(shape)) continue;
    out.push_back(std::move(spec));
  }
  return out;
}

Status PlanReports(Ledger& ledger, const Job& job, const std::string& today,
                   std::vector<PlannedReport>* out) {
  const std::vector<std::string> days = DaysBetween(job.from, job.to);
  const RefreshPolicy refresh{today, job.refresh_days};
  // Two transactions for the whole run, whatever its number of reports.
  std::vector<const Report*> reports;
  std::vector<std::string> ids;
  for (const auto& report : job.reports) {
    reports.push_back(report.get());
    ids.push_back(report->id);
  }
  std::vector<DayPlan> plans;
  if (Status s = ledger.RegisterReports(reports); !s.ok()) return s;
  if (Status s = ledger.PlanReports(ids, days, refresh, &plans); !s.ok()) return s;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const Report& report = *reports[i];
    const DayPlan& p = plans[i];
    spdlog::info(
        "report {} ({}): {}..{}: {} new days, {} refreshed, {} already held, {} unfinished",
        report.id, report.spec.Describe(), job.from, job.to, p.added, p.refreshed, p.held,
        p.unfinished);
    out->push_back(PlannedReport{&report, p});
  }
  return Status::Ok();
}

}  // namespace batchfetch
