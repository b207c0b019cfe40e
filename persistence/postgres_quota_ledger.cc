#include "persistence/postgres_quota_ledger.h"

#include <algorithm>

#include "persistence/postgres_ledger.h"

namespace batchfetch {

Status PostgresQuotaLedger::Open(const std::string& uri, std::unique_ptr<QuotaLedger>* out) {
  std::unique_ptr<PgConnection> conn;
  Status status = PgConnection::Connect(uri, &conn);
  if (status.ok()) status = EnsurePostgresSchema(*conn);
  if (status.ok()) {
    status = conn->Prepare("try_grant", "SELECT * FROM batchfetch_try_grant($1, $2, $3, $4)");
  }
  if (!status.ok()) return status;
  out->reset(new PostgresQuotaLedger(std::move(conn)));
  return Status::Ok();
}

Status PostgresQuotaLedger::TryGrant(const std::string& key, int64_t n, int64_t budget,
                                     std::chrono::milliseconds window, QuotaDecision* out) {
  if (n < 1 || n > budget || window.count() <= 0) {
    return Status::Error(Status::Code::kInvalid, "a grant needs 1 <= n <= budget and a window > 0");
  }
  PgParams params;
  params.Add(key).Add(n).Add(budget).Add(static_cast<int64_t>(window.count()));
  PgResult res;
  // A lost row-lock race surfaces as a deadlock or serialization error: retry a little.
  Status status;
  for (int attempt = 0; attempt < 5; ++attempt) {
    status = conn_->Run("try_grant", params, &res);
    if (status.code() != Status::Code::kBusy) break;
  }
  if (!status.ok()) return status;
  if (res.rows() != 1) {
    return Status::Error(Status::Code::kIoError, "batchfetch_try_grant returned no decision");
  }
  out->granted = res.Text(0, 0) == "t";
  const int64_t now = res.Int64(0, 1), retry_at = res.Int64(0, 2);
  out->retry_after =
      std::chrono::milliseconds(out->granted ? 0 : std::max<int64_t>(1, retry_at - now));
  out->in_window = res.Int64(0, 3);
  return Status::Ok();
}

}  // namespace batchfetch
