// PostgresLedger::ExportRows: a server-side cursor fetched 1,000 rows at a time inside one
// read-only REPEATABLE READ transaction, so the client holds one batch, never the report.

#include <charconv>
#include <string>

#include "core/civil_date.h"
#include "persistence/postgres_ledger.h"

namespace batchfetch {
namespace {

using Code = Status::Code;

constexpr const char* kDeclare =
    "DECLARE bf_export NO SCROLL CURSOR FOR"
    " SELECT to_char(date, 'YYYY-MM-DD'), hour, query, page, country, device,"
    " search_appearance, clicks, impressions, ctr, position FROM search_analytics"
    " WHERE report_id = $1 AND date >= $2::date AND date <= $3::date"
    " ORDER BY date, hour, query, page, country, device, search_appearance";
constexpr const char* kFetch = "FETCH 1000 FROM bf_export";

double Number(const PgResult& res, int row, int column) {
  const std::string text = res.Text(row, column);
  double v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

}  // namespace

Status PostgresLedger::ExportRows(const std::string& report_id, const std::string& from,
                                  const std::string& to,
                                  const std::function<Status(const Row&)>& on_row) {
  for (const std::string* date : {&from, &to}) {
    if (!date->empty() && !IsValidDate(*date)) {
      return Status::Error(Code::kInvalid, "bad date " + *date + " (want YYYY-MM-DD)");
    }
  }
  // Not PgConnection::Transaction: it retries the body, which would hand rows out twice.
  Status status = conn_->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  if (!status.ok()) return status;
  Report report;
  status = ReadReport(report_id, &report);
  if (status.ok()) {
    PgParams p;
    p.Add(report_id).Add(from.empty() ? "0001-01-01" : from).Add(to.empty() ? "9999-12-31" : to);
    status = conn_->RunOnce(kDeclare, p);
  }
  Row row;
  while (status.ok()) {
    PgResult batch;
    status = conn_->Exec(kFetch, &batch);
    if (!status.ok() || batch.rows() == 0) break;
    for (int i = 0; status.ok() && i < batch.rows(); ++i) {
      row.date = batch.Text(i, 0);
      row.hour = batch.Text(i, 1);
      row.query = batch.Text(i, 2);
      row.page = batch.Text(i, 3);
      row.country = batch.Text(i, 4);
      row.device = batch.Text(i, 5);
      row.search_appearance = batch.Text(i, 6);
      row.clicks = Number(batch, i, 7);
      row.impressions = Number(batch, i, 8);
      row.ctr = Number(batch, i, 9);
      row.position = Number(batch, i, 10);
      status = on_row(row);
    }
  }
  // Read-only: ending it either way changes nothing; the first error is the one to report.
  const Status end = conn_->Exec(status.ok() ? "COMMIT" : "ROLLBACK");
  return status.ok() ? end : status;
}

}  // namespace batchfetch
