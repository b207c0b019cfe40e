#include "tools/batchfetch/dry_run.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <memory>

#include "core/civil_date.h"
#include "core/clock.h"
#include "persistence/ledger.h"
#include "telemetry/progress_display.h"
#include "tools/batchfetch/commands.h"

namespace batchfetch {

namespace {

// "2025-01-01..2025-01-31" or "2025-02-03" into held.
void AddHeldRange(const std::string& range, std::set<std::string>* held) {
  const std::size_t dots = range.find("..");
  if (dots == std::string::npos) {
    held->insert(range);
    return;
  }
  for (std::string& d : DaysBetween(range.substr(0, dots), range.substr(dots + 2))) {
    held->insert(std::move(d));
  }
}

}  // namespace

void CountDryRunDays(std::span<const std::string> days, const std::set<std::string>& held,
                     const std::string& refresh_from, DryRunReport* out) {
  out->days = static_cast<int64_t>(days.size());
  out->days_held = out->days_to_fetch = 0;
  for (const std::string& day : days) {
    const bool is_held = held.count(day) > 0;
    out->days_held += is_held;
    out->days_to_fetch += !is_held || (!refresh_from.empty() && day >= refresh_from);
  }
}

RunEstimate EstimateRun(std::span<const DryRunReport> reports, int64_t budget, double window_s) {
  RunEstimate e;
  for (const DryRunReport& r : reports) {
    e.requests += static_cast<int64_t>(
        std::ceil(static_cast<double>(r.days_to_fetch) * std::max(1.0, r.pages_per_day) - 1e-9));
  }
  e.minutes = static_cast<double>(e.requests) / static_cast<double>(budget) * window_s / 60.0;
  return e;
}

int DryRun(const BackfillFlags& flags) {
  const std::string db = RedactTarget(flags.db);
  std::unique_ptr<Ledger> ledger;
  bool exists = true;
  if (Status s = OpenLedger(flags.db, OpenMode::kReadOnly, &ledger); !s.ok()) {
    if (s.code() != Status::Code::kNotFound) {
      spdlog::error("batchfetch backfill: cannot read --db {}: {}", db, s.ToString());
      return kExitUsage;
    }
    exists = false;
  }
  const std::vector<std::string> days = DaysBetween(flags.job.from, flags.job.to);
  const std::string refresh_from =
      flags.job.refresh_days > 0 ? AddDays(flags.today, -flags.job.refresh_days) : "";
  std::vector<DryRunReport> reports;
  for (const auto& report : flags.job.reports) {
    DryRunReport r{report->id, report->spec.Describe()};
    std::set<std::string> held;
    if (ledger) {
      ReportStatus status;
      Status s = ledger->Describe(report->id, WallClock::now(), &status);
      if (s.ok()) {
        for (const std::string& range : status.days_held) AddHeldRange(range, &held);
        r.pages_held = status.progress.done;
        r.pages_unfinished =
            status.progress.pending + status.progress.leased + status.progress.dead;
        if (status.progress.days_held > 0) {
          r.pages_per_day =
              static_cast<double>(r.pages_held) / static_cast<double>(status.progress.days_held);
        }
      } else if (s.code() != Status::Code::kNotFound) {
        spdlog::error("batchfetch backfill: cannot read --db {}: {}", db, s.ToString());
        return kExitHalted;
      }
    }
    CountDryRunDays(days, held, refresh_from, &r);
    reports.push_back(std::move(r));
  }
  const RunEstimate e = EstimateRun(reports, flags.Budget(), flags.qpm_window_s);

  if (flags.json) {
    boost::json::object o;
    o["dry_run"] = true;
    o["db"] = db;
    o["db_exists"] = exists;
    o["from"] = flags.job.from;
    o["to"] = flags.job.to;
    boost::json::array list;
    for (const DryRunReport& r : reports) {
      list.push_back({{"id", r.id},
                      {"report", r.describe},
                      {"days", r.days},
                      {"days_held", r.days_held},
                      {"days_to_fetch", r.days_to_fetch},
                      {"pages_held", r.pages_held},
                      {"pages_unfinished", r.pages_unfinished}});
    }
    o["reports"] = std::move(list);
    o["estimated_requests"] = e.requests;
    o["estimated_seconds"] = static_cast<int64_t>(std::llround(e.minutes * 60));
    o["budget"] = flags.Budget();
    o["window_ms"] = static_cast<int64_t>(std::llround(flags.qpm_window_s * 1000));
    std::printf("%s\n", boost::json::serialize(o).c_str());
    return kExitOk;
  }
  std::printf("dry run: nothing written, no request sent; database %s%s\n", db.c_str(),
              exists ? "" : " (does not exist yet)");
  for (const DryRunReport& r : reports) {
    std::printf("  report %s (%s)\n    %s..%s: %s days, %s held (%s pages), %s to fetch\n",
                r.id.c_str(), r.describe.c_str(), flags.job.from.c_str(), flags.job.to.c_str(),
                WithThousands(r.days).c_str(), WithThousands(r.days_held).c_str(),
                WithThousands(r.pages_held).c_str(), WithThousands(r.days_to_fetch).c_str());
  }
  char window[32];
  std::snprintf(window, sizeof window, "%g", flags.qpm_window_s);
  std::printf(
      "estimate: %s requests (a day to fetch takes the pages a held day took, else 1), "
      "%s%s at %s requests per %s s window\n",
      WithThousands(e.requests).c_str(), e.minutes * 60 < 1 ? "" : "about ",
      e.minutes * 60 < 1 ? "under 1s" : ShortDuration(e.minutes * 60).c_str(),
      WithThousands(flags.Budget()).c_str(), window);
  return kExitOk;
}

}  // namespace batchfetch
