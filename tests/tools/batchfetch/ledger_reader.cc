#include "tests/tools/batchfetch/ledger_reader.h"

#include <sqlite3.h>

#include <sstream>
#include <stdexcept>

#include "core/report.h"
#include "tests/support/checksum.h"

namespace batchfetch::testing {

namespace {

std::vector<std::string> SplitCsv(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

std::string ColumnOf(const std::string& dimension) {
  if (dimension == "searchAppearance") return "search_appearance";
  return dimension;
}

}  // namespace

LedgerReader::LedgerReader(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("cannot open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
}

LedgerReader::~LedgerReader() { sqlite3_close(db_); }

int64_t LedgerReader::Scalar(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("prepare: ") + sqlite3_errmsg(db_) + ": " + sql);
  }
  int64_t value = 0;
  if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return value;
}

std::map<std::string, LedgerReader::Day> LedgerReader::Days(const std::string& site,
                                                            const std::string& type,
                                                            const std::string& dimensions,
                                                            const std::string& data_state) {
  const std::vector<std::string> dims = SplitCsv(dimensions);
  std::string sql = "SELECT date, clicks, impressions";
  for (const std::string& d : dims) sql += ", " + ColumnOf(d);
  sql += " FROM search_analytics WHERE report_id = ?1";
  ReportSpec spec;  // the report a run registers: the defaults but for these three
  spec.site = site;
  spec.search_type = type;
  spec.dimensions = dims;
  spec.data_state = data_state;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("prepare: ") + sqlite3_errmsg(db_));
  }
  const std::string report_id = spec.Id();
  sqlite3_bind_text(stmt, 1, report_id.c_str(), -1, SQLITE_TRANSIENT);
  std::map<std::string, RowSetChecksum> sums;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    std::string date = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < dims.size(); ++i) {
      const unsigned char* t = sqlite3_column_text(stmt, static_cast<int>(3 + i));
      keys.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
    }
    sums[date].Add(keys, sqlite3_column_int64(stmt, 1), sqlite3_column_int64(stmt, 2));
  }
  sqlite3_finalize(stmt);
  std::map<std::string, Day> out;
  for (auto& [date, sum] : sums) out[date] = Day{sum.rows(), sum.Hex()};
  return out;
}

int64_t LedgerReader::DuplicateRows() {
  return Scalar(
      "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM search_analytics GROUP BY "
      "report_id, date, hour, query, page, country, device, "
      "search_appearance HAVING n > 1)");
}

int64_t LedgerReader::TotalRows() { return Scalar("SELECT COUNT(*) FROM search_analytics"); }

}  // namespace batchfetch::testing
