#include "tools/mockgsc/fault_plan.h"

#include <charconv>

#include "tools/mockgsc/civil_date.h"

namespace mockgsc {

FaultPlan::FaultPlan(Options options)
    : options_(std::move(options)), rng_(options_.seed ^ 0xfa017ULL) {}

std::optional<std::pair<std::string, int64_t>> FaultPlan::ParseFailPage(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == text.npos || !CivilDate::Parse(text.substr(0, colon))) return std::nullopt;
  std::string_view row = text.substr(colon + 1);
  int64_t start_row = -1;
  auto [ptr, ec] = std::from_chars(row.data(), row.data() + row.size(), start_row);
  if (ec != std::errc() || ptr != row.data() + row.size() || start_row < 0) return std::nullopt;
  return std::make_pair(std::string(text.substr(0, colon)), start_row);
}

bool FaultPlan::IsFailPage(const std::string& date, int64_t start_row) const {
  return options_.fail_pages.count({date, start_row}) > 0;
}

Fault FaultPlan::Draw() {
  if (options_.error_rate <= 0) return Fault::kNone;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (unit(rng_) >= options_.error_rate) return Fault::kNone;
  std::uniform_int_distribution<int> kind{static_cast<int>(Fault::kInternalError),
                                          static_cast<int>(Fault::kStall)};
  return Fault(kind(rng_));
}

std::string_view FaultPlan::OutcomeName(Fault fault) {
  switch (fault) {
    case Fault::kReset:
      return "reset";
    case Fault::kTruncatedBody:
      return "truncated";
    case Fault::kMalformedJson:
      return "malformed";
    case Fault::kStall:
      return "stall";
    default:
      return "";
  }
}

}  // namespace mockgsc
