#ifndef BATCHFETCH_PERSISTENCE_REPORT_VIEWS_H_
#define BATCHFETCH_PERSISTENCE_REPORT_VIEWS_H_

// The analysts' views over search_analytics, as SQL for either database:
//
//   report_<id>         one report's rows: date (TEXT YYYY-MM-DD on SQLite, DATE on
//                       PostgreSQL), the report's dimensions other than date as columns
//                       in the report's order (absent ones omitted; searchAppearance is
//                       search_appearance), clicks, impressions, ctr, position.
//   search_analytics_v  every stored row with NULL for a dimension its report did not
//                       ask for, and the report's site, search_type, dimensions,
//                       data_state, aggregation_type and filters joined from reports.
//
// Nothing a user typed reaches the SQL: the id must be 16 hex digits and dimensions are
// mapped through a fixed list (an unknown name is left out).

#include <string>

#include "core/report.h"
#include "persistence/status.h"

namespace batchfetch {

enum class SqlDialect { kSqlite, kPostgres };

// "report_<id>". REQUIRES: id is 16 lowercase hex digits (see ReportViewSql).
std::string ReportViewName(const std::string& report_id);

// One statement creating report's view: if it does not exist yet on SQLite; on PostgreSQL
// (no IF NOT EXISTS for views, and OR REPLACE would lock out its readers) a plain CREATE
// VIEW the caller runs only when the view is missing. kInvalid when the id is not 16
// lowercase hex digits.
Status ReportViewSql(const Report& report, SqlDialect dialect, std::string* sql);

// One statement creating search_analytics_v (as ReportViewSql: IF NOT EXISTS on SQLite).
std::string GeneralViewSql(SqlDialect dialect);

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_REPORT_VIEWS_H_
