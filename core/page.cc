#include "core/page.h"

#include <algorithm>

namespace batchfetch {

int64_t PageRowLimit(int row_limit, int64_t start_row) {
  return std::max<int64_t>(0, std::min<int64_t>(row_limit, kDailyRowCap - start_row));
}

bool ReachesDailyCap(int64_t start_row, int64_t row_count) {
  return start_row + row_count >= kDailyRowCap;
}

ReportProgress& ReportProgress::operator+=(const ReportProgress& o) {
  pending += o.pending;
  leased += o.leased;
  done += o.done;
  dead += o.dead;
  rows += o.rows;
  days_held += o.days_held;
  truncated_days += o.truncated_days;
  provisional_days += o.provisional_days;
  return *this;
}

}  // namespace batchfetch
