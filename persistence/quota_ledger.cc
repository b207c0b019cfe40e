#include "persistence/quota_ledger.h"

#include <set>
#include <string_view>

#include "persistence/ledger.h"
#include "persistence/postgres_quota_ledger.h"
#include "persistence/sqlite_quota_ledger.h"

namespace batchfetch {

Status OpenQuotaLedger(const std::string& target, std::unique_ptr<QuotaLedger>* out) {
  if (IsPostgresTarget(target)) return PostgresQuotaLedger::Open(target, out);
  return SqliteQuotaLedger::Open(target + "-quota", out);
}

Status CheckQuotaRequest(std::span<const QuotaAsk> keys, int64_t n,
                         std::chrono::milliseconds window) {
  const auto invalid = [](const char* why) { return Status::Error(Status::Code::kInvalid, why); };
  if (keys.empty()) return invalid("a quota grant needs at least one key");
  if (window.count() <= 0) return invalid("a quota grant needs a window > 0");
  std::set<std::string_view> seen;
  for (const QuotaAsk& ask : keys) {
    if (n < 1 || n > ask.budget) return invalid("a quota grant needs 1 <= n <= budget");
    if (!seen.insert(ask.key).second) return invalid("a quota grant names a key twice");
  }
  return Status::Ok();
}

Status CheckQuotaRequests(std::span<const QuotaRequest> requests,
                          std::chrono::milliseconds window) {
  for (const QuotaRequest& r : requests) {
    if (Status status = CheckQuotaRequest(r.keys, r.n, window); !status.ok()) return status;
  }
  return Status::Ok();
}

Status QuotaLedger::TryGrantAll(std::span<const QuotaRequest> requests,
                                std::chrono::milliseconds window, std::vector<QuotaDecision>* out) {
  out->clear();
  if (Status status = CheckQuotaRequests(requests, window); !status.ok()) return status;
  std::vector<QuotaDecision> decisions(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    Status status = TryGrant(requests[i].keys, requests[i].n, window, &decisions[i]);
    if (!status.ok()) return status;
  }
  *out = std::move(decisions);
  return Status::Ok();
}

}  // namespace batchfetch
