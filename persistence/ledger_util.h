#ifndef BATCHFETCH_PERSISTENCE_LEDGER_UTIL_H_
#define BATCHFETCH_PERSISTENCE_LEDGER_UTIL_H_

// Small helpers shared by the ledger implementations (SQLite and PostgreSQL).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/page.h"
#include "persistence/status.h"

namespace batchfetch::ledger_util {

// Unix milliseconds: how every ledger stores a time.
inline int64_t ToMillis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

inline WallTime FromMillis(int64_t ms) { return WallTime(std::chrono::milliseconds(ms)); }

// "a,b,c" -> {"a", "b", "c"}; "" -> {}.
std::vector<std::string> SplitCsv(const std::string& csv);

// One line of the attempt history kept in batches.errors (JSON lines); error is cut to
// 500 characters.
std::string HistoryLine(int attempt, int64_t at_ms, std::string_view error, bool dead);

// Checks what RegisterJob needs (an id, a site, a row limit of 1..25000, a valid date
// range) and lists the range's days into *days. kInvalid with a one-line reason.
Status ValidateJob(const Job& job, std::vector<std::string>* days);

// "DATE:START_ROW", how reports name a page.
inline std::string PageName(const std::string& date, int64_t start_row) {
  return date + ":" + std::to_string(start_row);
}

}  // namespace batchfetch::ledger_util

#endif  // BATCHFETCH_PERSISTENCE_LEDGER_UTIL_H_
