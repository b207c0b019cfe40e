#include "persistence/report_views.h"

#include <string_view>

namespace batchfetch {
namespace {

struct Dimension {
  std::string_view api;     // the API's name, as stored in reports.dimensions
  std::string_view column;  // the search_analytics column
};

// Every dimension but date (the view's first column whatever the report asked).
constexpr Dimension kDimensions[] = {
    {"hour", "hour"},       {"query", "query"},   {"page", "page"},
    {"country", "country"}, {"device", "device"}, {"searchAppearance", "search_appearance"},
};

bool IsReportId(const std::string& id) {
  if (id.size() != 16) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string_view ColumnOf(std::string_view api) {
  for (const Dimension& d : kDimensions) {
    if (d.api == api) return d.column;
  }
  return {};
}

}  // namespace

std::string ReportViewName(const std::string& report_id) { return "report_" + report_id; }

Status ReportViewSql(const Report& report, SqlDialect dialect, std::string* sql) {
  if (!IsReportId(report.id)) {
    return Status::Error(Status::Code::kInvalid, "bad report id for a view: " + report.id);
  }
  const std::string exists =
      dialect == SqlDialect::kSqlite ? "CREATE VIEW IF NOT EXISTS " : "CREATE VIEW ";
  std::string columns = "date";
  for (const std::string& name : report.spec.dimensions) {
    const std::string_view column = ColumnOf(name);
    if (!column.empty()) columns += ", " + std::string(column);
  }
  columns += ", clicks, impressions, ctr, position";
  *sql = exists + ReportViewName(report.id) + " AS SELECT " + columns +
         " FROM search_analytics WHERE report_id = '" + report.id + "'";
  return Status::Ok();
}

std::string GeneralViewSql(SqlDialect dialect) {
  const bool sqlite = dialect == SqlDialect::kSqlite;
  std::string sql = sqlite ? "CREATE VIEW IF NOT EXISTS " : "CREATE VIEW ";
  sql +=
      "search_analytics_v AS SELECT s.report_id, r.site, r.search_type, r.dimensions,"
      " r.data_state, r.aggregation_type, r.filters, s.date";
  for (const Dimension& d : kDimensions) {
    // The column holds '' when the report did not ask for the dimension.
    const std::string asked =
        sqlite ? "instr(',' || r.dimensions || ',', '," + std::string(d.api) + ",') > 0"
               : "'" + std::string(d.api) + "' = ANY(string_to_array(r.dimensions, ','))";
    sql += ", CASE WHEN " + asked + " THEN s." + std::string(d.column) + " END AS " +
           std::string(d.column);
  }
  sql +=
      ", s.clicks, s.impressions, s.ctr, s.position"
      " FROM search_analytics AS s JOIN reports AS r ON r.id = s.report_id";
  return sql;
}

}  // namespace batchfetch
