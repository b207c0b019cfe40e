#include "tools/batchfetch/run_summary.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

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

}  // namespace

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
  const std::size_t k = std::min(v.size() - 1, rank > 0 ? rank - 1 : 0);
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

std::string SummaryLine(const RunSummary& s, int64_t reports, int64_t budget, double window_s) {
  const double secs = std::chrono::duration<double>(s.elapsed).count();
  const double per_minute = secs > 0 ? static_cast<double>(s.requests) * 60.0 / secs : 0;
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "batchfetch: %s: %lld pages, %lld rows in %.1f s; %lld requests "
      "(%.0f/min; peak %lld in one %gs window, budget %lld); retries %lld, quota errors %lld, "
      "dead pages %lld; latency p50/p95/p99 %.0f/%.0f/%.0f ms; mailbox peak %lld; ledger "
      "%lld/%lld pages done in %lld report%s",
      OutcomeWord(s.outcome), static_cast<long long>(s.pages), static_cast<long long>(s.rows), secs,
      static_cast<long long>(s.requests), per_minute, static_cast<long long>(s.peak_window_grants),
      window_s, static_cast<long long>(budget), static_cast<long long>(s.retries),
      static_cast<long long>(s.quota_errors), static_cast<long long>(s.progress.dead),
      Percentile(s.latency_ms, 0.5), Percentile(s.latency_ms, 0.95), Percentile(s.latency_ms, 0.99),
      static_cast<long long>(s.max_mailbox_depth), static_cast<long long>(s.progress.done),
      static_cast<long long>(s.progress.total()), static_cast<long long>(reports),
      reports == 1 ? "" : "s");
  std::string line = buf;
  if (s.outcome == RunSummary::Outcome::kHalted || s.outcome == RunSummary::Outcome::kInterrupted) {
    line += "; run the same command again to resume";
  }
  return line;
}

}  // namespace batchfetch
