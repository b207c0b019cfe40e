#ifndef TESTS_TOOLS_BATCHFETCH_REPORTS_REPORTS_LEDGER_H_
#define TESTS_TOOLS_BATCHFETCH_REPORTS_REPORTS_LEDGER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace batchfetch::testing {

// Reads a batchfetch ledger (SQLite file or postgresql:// URI) with plain SQL, as a user
// would with sqlite3 or psql: reports, search_analytics by report_id, batches. Independent
// of the engine's persistence code. Each call opens its own connection (read-only for
// SQLite). Throws std::runtime_error on any database error. Thread-compatible.
class ReportsLedger {
 public:
  explicit ReportsLedger(std::string target);

  // One stored day of one report.
  struct Day {
    int64_t rows = 0;
    std::string checksum;  // as GET /__expected computes it (tests/support/checksum.h)
    int64_t clicks = 0;    // sum of clicks
  };

  // Every row of sql as text ("" for NULL). Write SQL portable to both backends.
  std::vector<std::vector<std::string>> Query(const std::string& sql) const;
  // The first column of the first row as an integer (0 when there is no row).
  int64_t Scalar(const std::string& sql) const;

  // Ids of every report, ordered by id.
  std::vector<std::string> ReportIds() const;
  // The id of the only report; gtest-style failure (throws) when there is not exactly one.
  std::string OnlyReportId() const;
  // Stored rows per date of report_id; dimensions as given to --dimensions, in order.
  std::map<std::string, Day> Days(const std::string& report_id,
                                  const std::string& dimensions = "date,query,page") const;
  // Rows whose key (report_id, date, hour, query, page, country, device,
  // search_appearance) appears more than once.
  int64_t DuplicateRows() const;

  const std::string& target() const { return target_; }

 private:
  std::string target_;
  bool postgres_ = false;
};

// sql string literal: text in single quotes, quotes doubled.
std::string SqlText(const std::string& text);

}  // namespace batchfetch::testing

#endif  // TESTS_TOOLS_BATCHFETCH_REPORTS_REPORTS_LEDGER_H_
