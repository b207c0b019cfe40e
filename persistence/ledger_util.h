#ifndef BATCHFETCH_PERSISTENCE_LEDGER_UTIL_H_
#define BATCHFETCH_PERSISTENCE_LEDGER_UTIL_H_

// Small helpers shared by the ledger implementations (SQLite and PostgreSQL).

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/report.h"
#include "persistence/status.h"

namespace batchfetch::ledger_util {

// Unix milliseconds: how every ledger stores a time.
inline int64_t ToMillis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

inline WallTime FromMillis(int64_t ms) { return WallTime(std::chrono::milliseconds(ms)); }

// "a,b,c" -> {"a", "b", "c"}; "" -> {}.
std::vector<std::string> SplitCsv(const std::string& csv);

// ReportSpec::FiltersText() back into filters: one per line; "" -> {}.
std::vector<std::string> SplitLines(const std::string& text);

// One line of the attempt history kept in batches.errors (JSON lines); error is cut to
// 500 characters.
std::string HistoryLine(int attempt, int64_t at_ms, std::string_view error, bool dead);

// What RegisterReport needs: a site, and an id that is spec.Id(). kInvalid, one line.
Status ValidateReport(const Report& report);

// What PlanDays needs: every day a real YYYY-MM-DD. kInvalid naming the first bad one.
Status ValidateDays(std::span<const std::string> days);

// Dates (YYYY-MM-DD, ascending, distinct) as ranges of consecutive days:
// {"2025-01-01..2025-01-03", "2025-01-05"}.
std::vector<std::string> DayRanges(const std::vector<std::string>& dates);

// "DATE:START_ROW", how reports name a page.
inline std::string PageName(const std::string& date, int64_t start_row) {
  return date + ":" + std::to_string(start_row);
}

}  // namespace batchfetch::ledger_util

#endif  // BATCHFETCH_PERSISTENCE_LEDGER_UTIL_H_
