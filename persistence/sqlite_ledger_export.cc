// SqliteLedger::ExportRows: one SELECT stepped row by row (`batchfetch export`).

#include "core/civil_date.h"
#include "persistence/sqlite_ledger.h"
#include "persistence/sqlite_ledger_statements.h"

namespace batchfetch {
namespace {

using Code = Status::Code;

// A whole-report scan reads each page once: a small page cache keeps the export's memory
// flat however long the report is. The connection's usual cache comes back afterwards.
constexpr const char* kScanCache = "PRAGMA cache_size = -2048";
constexpr const char* kUsualCache = "PRAGMA cache_size = -32768";

}  // namespace

Status SqliteLedger::ExportRows(const std::string& report_id, const std::string& from,
                                const std::string& to,
                                const std::function<Status(const Row&)>& on_row) {
  for (const std::string* date : {&from, &to}) {
    if (!date->empty() && !IsValidDate(*date)) {
      return Status::Error(Code::kInvalid, "bad date " + *date + " (want YYYY-MM-DD)");
    }
  }
  Status status = Transaction(false, [&]() -> Status {
    Report report;
    return ReadReport(report_id, &report);
  });
  if (status.ok()) status = SqliteExec(db_, kScanCache);
  if (!status.ok()) return status;

  // One statement reads one snapshot: rows committed meanwhile are not mixed in.
  const std::string last = to.empty() ? "9999-12-31" : to;
  SqliteStatement& select = stmts_->export_rows;
  select.BindText(1, report_id);
  select.BindText(2, from);
  select.BindText(3, last);
  Row row;
  for (;;) {
    bool has_row = false;
    status = select.Step(&has_row);
    if (!status.ok() || !has_row) break;
    row.date = select.ColumnText(0);
    row.hour = select.ColumnText(1);
    row.query = select.ColumnText(2);
    row.page = select.ColumnText(3);
    row.country = select.ColumnText(4);
    row.device = select.ColumnText(5);
    row.search_appearance = select.ColumnText(6);
    row.clicks = select.ColumnDouble(7);
    row.impressions = select.ColumnDouble(8);
    row.ctr = select.ColumnDouble(9);
    row.position = select.ColumnDouble(10);
    status = on_row(row);
    if (!status.ok()) break;
  }
  select.Reset();
  const Status restored = SqliteExec(db_, kUsualCache);
  return status.ok() ? restored : status;
}

}  // namespace batchfetch
