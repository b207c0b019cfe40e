#ifndef BATCHFETCH_COORDINATOR_DETAIL_MESSAGES_H_
#define BATCHFETCH_COORDINATOR_DETAIL_MESSAGES_H_

// The messages the coordinator's actor receives: one per BatchPlan input, plus gauge
// reads. Every sender (workers, the writer thread via a post, timers, signals) reaches
// the actor only through these.

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "coordinator/batch_plan.h"
#include "coordinator/coordinator.h"
#include "core/page.h"
#include "persistence/ledger.h"
#include "persistence/status.h"
#include "workers/error_classifier.h"

namespace batchfetch::detail {

struct IdleMsg {
  int worker = 0;
};
struct FetchedMsg {
  int worker = 0;
  Lease lease;
};
struct FailedMsg {
  int worker = 0;
  Lease lease;
  Classification failure;
  bool unreachable = false;
  int64_t grants_in_window = 0;
  int64_t budget = 0;
};
struct ReturnedMsg {
  int worker = 0;
  Lease lease;
};
struct CommittedMsg {
  Lease lease;
  Status status;
  bool lease_held = false;
  int64_t rows = 0;
  std::chrono::microseconds persist_time{0};
};
struct ClaimedMsg {
  Status status;
  std::vector<Lease> leases;
};
struct WriteDoneMsg {
  Status status;
};
struct ProgressedMsg {
  Status status;
  ReportProgress progress;
  bool for_gauges = false;  // a gauge snapshot, not an answer to the plan
};
struct StopMsg {
  int signal = 0;
};
struct HaltMsg {
  std::string reason;
};
struct TickMsg {};
struct GaugeTickMsg {};
struct ExitedMsg {
  int worker = 0;
};

using Message =
    std::variant<IdleMsg, FetchedMsg, FailedMsg, ReturnedMsg, CommittedMsg, ClaimedMsg,
                 WriteDoneMsg, ProgressedMsg, StopMsg, HaltMsg, TickMsg, GaugeTickMsg, ExitedMsg>;

// Work for the writer thread; its result is the message that answers it.
using LedgerTask = std::function<Message(Ledger&)>;
LedgerTask ClaimTask(std::vector<ClaimRequest> requests, std::string owner,
                     std::chrono::milliseconds lease);
LedgerTask FailTask(effect::RecordFailure failure, int max_attempts);
LedgerTask ReleaseTask(std::vector<Lease> leases);
LedgerTask RenewTask(std::vector<Lease> leases, std::chrono::milliseconds lease);
LedgerTask ProgressTask(std::vector<std::string> report_ids, bool for_gauges);

// The plan's view of the run's reports.
std::vector<PlanReport> PlanReportsOf(const std::vector<ReportRun>& runs);

// Writes the plan's log line (with its local resume time, if any); true when it
// announces a halt.
bool WriteLog(const effect::Log& log);

// The message of the exception e holds (one line), for a log.
std::string WhatOf(std::exception_ptr e);

// now + in as local ISO 8601 time with its offset: "2026-12-03T17:40:00+0100".
std::string LocalIsoTimeAfter(std::chrono::milliseconds in);

}  // namespace batchfetch::detail

#endif  // BATCHFETCH_COORDINATOR_DETAIL_MESSAGES_H_
