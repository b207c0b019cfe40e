#include "tools/batchfetch/run_summary.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "telemetry/progress_display.h"

namespace batchfetch {

namespace {

const char* OutcomeWord(RunSummary::Outcome o) {
  switch (o) {
    case RunSummary::Outcome::kDone:
      return "done";
    case RunSummary::Outcome::kDeadPages:
      return "finished with dead pages";
    case RunSummary::Outcome::kHalted:
      return "halted";
    case RunSummary::Outcome::kInterrupted:
      return "interrupted";
  }
  return "?";
}

const char* OutcomeKey(RunSummary::Outcome o) {
  switch (o) {
    case RunSummary::Outcome::kDone:
      return "done";
    case RunSummary::Outcome::kDeadPages:
      return "dead_pages";
    case RunSummary::Outcome::kHalted:
      return "halted";
    case RunSummary::Outcome::kInterrupted:
      return "interrupted";
  }
  return "?";
}

bool Resumable(const RunSummary& s) {
  return s.outcome == RunSummary::Outcome::kHalted ||
         s.outcome == RunSummary::Outcome::kInterrupted;
}

double Seconds(const RunSummary& s) { return std::chrono::duration<double>(s.elapsed).count(); }

int64_t PerMinute(const RunSummary& s) {
  const double secs = Seconds(s);
  return secs > 0 ? std::llround(static_cast<double>(s.requests) * 60.0 / secs) : 0;
}

std::string N(int64_t n) { return WithThousands(n); }

}  // namespace

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
  const std::size_t k = std::min(v.size() - 1, rank > 0 ? rank - 1 : 0);
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

std::string SummaryText(const RunSummary& s, const SummaryContext& c) {
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f", Seconds(s));
  char window[32];
  std::snprintf(window, sizeof window, "%g", c.window_s);
  auto ms = [&](double p) { return N(std::llround(Percentile(s.latency_ms, p))); };
  std::string text = std::string("batchfetch: ") + OutcomeWord(s.outcome) + ": " + N(s.pages) +
                     " pages, " + N(s.rows) + " rows in " + secs + " s; " + N(s.requests) +
                     " requests\n";
  // No rate for a run shorter than one window: it would extrapolate a burst.
  text += "  requests  " + (Seconds(s) >= c.window_s ? N(PerMinute(s)) + "/min; " : "") + "peak " +
          N(s.peak_window_grants) + " in one " + window + " s window (budget " + N(c.budget) +
          ")\n";
  text += "  errors    retries " + N(s.retries) + ", quota errors " + N(s.quota_errors) +
          ", dead pages " + N(s.progress.dead) + "\n";
  text += "  latency   p50 " + ms(0.5) + " ms, p95 " + ms(0.95) + " ms, p99 " + ms(0.99) + " ms\n";
  text += s.progress_unknown ? "  progress  unknown (the database could not be read) in "
                             : "  progress  " + N(s.progress.done) + "/" + N(s.progress.total()) +
                                   " pages done in ";
  text += N(c.reports) + (c.reports == 1 ? " report" : " reports");
  if (s.outcome == RunSummary::Outcome::kHalted && !s.halt_reason.empty()) {
    text += "\n  halted    " + s.halt_reason;
  }
  if (s.outcome == RunSummary::Outcome::kDeadPages) {
    text += "\n`batchfetch status` lists the dead pages; `batchfetch retry` puts them back";
  }
  if (Resumable(s)) text += "\nrun the same command again to resume";
  return text;
}

std::string SummaryJson(const RunSummary& s, const SummaryContext& c) {
  boost::json::object o;
  o["outcome"] = OutcomeKey(s.outcome);
  o["exit_code"] = ExitCode(s);
  o["pages"] = s.pages;
  o["rows"] = s.rows;
  o["requests"] = s.requests;
  o["elapsed_ms"] = static_cast<int64_t>(std::llround(Seconds(s) * 1000));
  o["requests_per_minute"] = PerMinute(s);
  o["peak_window_requests"] = s.peak_window_grants;
  o["budget"] = c.budget;
  o["window_ms"] = static_cast<int64_t>(std::llround(c.window_s * 1000));
  o["retries"] = s.retries;
  o["quota_errors"] = s.quota_errors;
  o["dead_pages"] = s.progress.dead;
  auto ms = [&](double p) {
    return static_cast<int64_t>(std::llround(Percentile(s.latency_ms, p)));
  };
  o["latency_ms"] = {{"p50", ms(0.5)}, {"p95", ms(0.95)}, {"p99", ms(0.99)}};
  o["pages_done"] = s.progress.done;
  o["pages_total"] = s.progress.total();
  o["progress_unknown"] = s.progress_unknown;
  o["reports"] = c.reports;
  o["mailbox_peak"] = s.max_mailbox_depth;
  if (s.outcome == RunSummary::Outcome::kHalted) o["halt_reason"] = s.halt_reason;
  o["resume"] = Resumable(s);
  return boost::json::serialize(o);
}

}  // namespace batchfetch
