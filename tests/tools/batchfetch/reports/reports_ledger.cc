#include "tests/tools/batchfetch/reports/reports_ledger.h"

#include <sqlite3.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "tests/support/checksum.h"
#include "tests/support/pg_cluster.h"

namespace batchfetch::testing {
namespace {

std::vector<std::string> SplitCsv(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

// The search_analytics column holding a dimension's key, as text.
std::string KeyColumn(const std::string& dimension) {
  if (dimension == "date") return "CAST(date AS TEXT)";
  if (dimension == "searchAppearance") return "search_appearance";
  return dimension;
}

std::vector<std::vector<std::string>> SqliteQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path + ": " + msg);
  }
  if (sqlite3_busy_timeout(db, 5000) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("busy_timeout failed");
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error("prepare: " + msg + ": " + sql);
  }
  std::vector<std::vector<std::string>> rows;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
      const unsigned char* text = sqlite3_column_text(stmt, c);
      row.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
  }
  std::string msg = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (rc != SQLITE_DONE) throw std::runtime_error("step: " + msg + ": " + sql);
  return rows;
}

}  // namespace

std::string SqlText(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

ReportsLedger::ReportsLedger(std::string target)
    : target_(std::move(target)),
      postgres_(target_.rfind("postgresql://", 0) == 0 || target_.rfind("postgres://", 0) == 0) {}

std::vector<std::vector<std::string>> ReportsLedger::Query(const std::string& sql) const {
  return postgres_ ? PgQuery(target_, sql) : SqliteQuery(target_, sql);
}

int64_t ReportsLedger::Scalar(const std::string& sql) const {
  auto rows = Query(sql);
  if (rows.empty() || rows[0].empty()) return 0;
  return std::strtoll(rows[0][0].c_str(), nullptr, 10);
}

std::vector<std::string> ReportsLedger::ReportIds() const {
  std::vector<std::string> ids;
  for (auto& row : Query("SELECT id FROM reports ORDER BY id")) ids.push_back(row.at(0));
  return ids;
}

std::string ReportsLedger::OnlyReportId() const {
  std::vector<std::string> ids = ReportIds();
  if (ids.size() != 1) {
    throw std::runtime_error("expected exactly one report, found " + std::to_string(ids.size()));
  }
  return ids[0];
}

std::map<std::string, ReportsLedger::Day> ReportsLedger::Days(const std::string& report_id,
                                                              const std::string& dimensions) const {
  const std::vector<std::string> dims = SplitCsv(dimensions);
  std::string sql = "SELECT CAST(date AS TEXT), clicks, impressions";
  for (const std::string& d : dims) sql += ", " + KeyColumn(d);
  sql += " FROM search_analytics WHERE report_id = " + SqlText(report_id);
  std::map<std::string, RowSetChecksum> sums;
  std::map<std::string, int64_t> clicks;
  for (const auto& row : Query(sql)) {
    std::vector<std::string> keys(row.begin() + 3, row.end());
    const int64_t c = std::strtoll(row[1].c_str(), nullptr, 10);
    sums[row[0]].Add(keys, c, std::strtoll(row[2].c_str(), nullptr, 10));
    clicks[row[0]] += c;
  }
  std::map<std::string, Day> out;
  for (auto& [date, sum] : sums) out[date] = Day{sum.rows(), sum.Hex(), clicks[date]};
  return out;
}

int64_t ReportsLedger::DuplicateRows() const {
  return Scalar(
      "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM search_analytics GROUP BY "
      "report_id, date, hour, query, page, country, device, search_appearance "
      "HAVING COUNT(*) > 1) AS d");
}

}  // namespace batchfetch::testing
