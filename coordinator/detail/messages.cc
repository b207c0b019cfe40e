#include "coordinator/detail/messages.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "core/clock.h"

namespace batchfetch::detail {

LedgerTask ClaimTask(std::vector<ClaimRequest> requests, std::string owner,
                     std::chrono::milliseconds lease) {
  return [requests = std::move(requests), owner = std::move(owner), lease](Ledger& l) -> Message {
    ClaimedMsg m;
    m.status = l.Claim(requests, owner, lease, WallClock::now(), &m.leases);
    return m;
  };
}

LedgerTask FailTask(effect::RecordFailure f, int max_attempts) {
  return [f = std::move(f), max_attempts](Ledger& l) -> Message {
    const WallTime now = WallClock::now();
    bool held = false;
    return WriteDoneMsg{
        l.FailPage(f.lease, f.error, f.final, max_attempts, now + f.retry_in, now, &held)};
  };
}

LedgerTask ReleaseTask(std::vector<Lease> leases) {
  return [leases = std::move(leases)](Ledger& l) -> Message {
    return WriteDoneMsg{l.Release(leases, WallClock::now())};
  };
}

LedgerTask RenewTask(std::vector<Lease> leases, std::chrono::milliseconds lease) {
  return [leases = std::move(leases), lease](Ledger& l) -> Message {
    return WriteDoneMsg{l.Renew(leases, WallClock::now() + lease)};
  };
}

LedgerTask ProgressTask(std::vector<std::string> report_ids, bool for_gauges) {
  return [ids = std::move(report_ids), for_gauges](Ledger& l) -> Message {
    ProgressedMsg p;
    p.for_gauges = for_gauges;
    p.status = l.Progress(ids, &p.progress);
    return p;
  };
}

std::vector<PlanReport> PlanReportsOf(const std::vector<ReportRun>& runs) {
  std::vector<PlanReport> out;
  out.reserve(runs.size());
  for (const ReportRun& r : runs) out.push_back({r.report->id, r.report->spec.site});
  return out;
}

bool WriteLog(const effect::Log& log) {
  std::string line = log.message;
  if (log.resume_in) line += ", resuming at " + LocalIsoTimeAfter(*log.resume_in);
  switch (log.level) {
    case effect::Log::Level::kError:
      spdlog::error("{}", line);
      return line.rfind("halting: ", 0) == 0;
    case effect::Log::Level::kWarn:
      spdlog::warn("{}", line);
      return false;
    case effect::Log::Level::kInfo:
      spdlog::info("{}", line);
      return false;
  }
  return false;
}

std::string WhatOf(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

std::string LocalIsoTimeAfter(std::chrono::milliseconds in) {
  const std::time_t t = WallClock::to_time_t(WallClock::now() + in);
  std::tm local{};
  if (localtime_r(&t, &local) == nullptr) return "?";
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &local);
  return n == 0 ? "?" : std::string(buf, n);
}

}  // namespace batchfetch::detail
