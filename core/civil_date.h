#ifndef BATCHFETCH_CORE_CIVIL_DATE_H_
#define BATCHFETCH_CORE_CIVIL_DATE_H_

// Civil dates as the API writes them (YYYY-MM-DD, proleptic Gregorian), and the API's
// own day: Search Console counts days in America/Los_Angeles.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace batchfetch {

// Days since 1970-01-01 of a date written YYYY-MM-DD; nullopt unless it is a real day.
std::optional<int64_t> ParseCivilDate(std::string_view date);

// The date `days` days after 1970-01-01, as YYYY-MM-DD.
std::string FormatCivilDate(int64_t days);

// True when date is a real calendar day written YYYY-MM-DD.
bool IsValidDate(std::string_view date);

// Every day from `from` to `to`, both inclusive, in order. Empty when either date is
// invalid or from > to.
std::vector<std::string> DaysBetween(std::string_view from, std::string_view to);

// Days from `from` to `to` inclusive (0 when from > to or either is invalid), without
// materialising them.
int64_t CountDays(std::string_view from, std::string_view to);

// date moved by days (negative = earlier); "" when date is invalid.
std::string AddDays(std::string_view date, int64_t days);

// The API's day at t: the civil date in America/Los_Angeles (US daylight-saving rules
// since 2007: UTC-7 from the second Sunday of March 02:00 to the first Sunday of
// November 02:00 local, else UTC-8).
std::string ApiDay(WallTime t);

}  // namespace batchfetch

#endif  // BATCHFETCH_CORE_CIVIL_DATE_H_
