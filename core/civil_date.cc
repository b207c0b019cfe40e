#include "core/civil_date.h"

#include <chrono>
#include <cstdio>

namespace batchfetch {
namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

std::string Format(const year_month_day& ymd) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// The n-th Sunday (1-based) of month in year, as days since the epoch.
int64_t NthSunday(int year, unsigned month, int n) {
  const sys_days first{std::chrono::year{year} / std::chrono::month{month} / 1};
  const std::chrono::weekday wd{first};
  const unsigned to_sunday = (7 - wd.c_encoding()) % 7;
  return (first + days{to_sunday + 7 * (n - 1)}).time_since_epoch().count();
}

}  // namespace

std::optional<int64_t> ParseCivilDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto number = [&](std::size_t pos, std::size_t len) -> std::optional<int> {
    int value = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      value = value * 10 + (s[i] - '0');
    }
    return value;
  };
  const auto y = number(0, 4), m = number(5, 2), d = number(8, 2);
  if (!y || !m || !d) return std::nullopt;
  const year_month_day ymd{std::chrono::year{*y}, std::chrono::month{static_cast<unsigned>(*m)},
                           std::chrono::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd}.time_since_epoch().count();
}

std::string FormatCivilDate(int64_t d) { return Format(year_month_day{sys_days{days{d}}}); }

bool IsValidDate(std::string_view date) { return ParseCivilDate(date).has_value(); }

std::vector<std::string> DaysBetween(std::string_view from, std::string_view to) {
  std::vector<std::string> out;
  const auto first = ParseCivilDate(from), last = ParseCivilDate(to);
  if (!first || !last) return out;
  for (int64_t d = *first; d <= *last; ++d) out.push_back(FormatCivilDate(d));
  return out;
}

int64_t CountDays(std::string_view from, std::string_view to) {
  const auto first = ParseCivilDate(from), last = ParseCivilDate(to);
  if (!first || !last || *first > *last) return 0;
  return *last - *first + 1;
}

std::string AddDays(std::string_view date, int64_t n) {
  const auto parsed = ParseCivilDate(date);
  if (!parsed) return "";
  return FormatCivilDate(*parsed + n);
}

std::string ApiDay(WallTime t) {
  using namespace std::chrono;
  const int64_t utc_s = duration_cast<seconds>(t.time_since_epoch()).count();
  // Standard time first; then daylight time when the standard-time moment is inside it.
  const int64_t pst_s = utc_s - int64_t{8} * 3600;
  const int64_t day = pst_s >= 0 ? pst_s / 86400 : (pst_s - 86399) / 86400;
  const int year = static_cast<int>(year_month_day{sys_days{days{day}}}.year());
  // Transitions at 02:00 local standard time (10:00 UTC) in both directions: DST begins
  // at 02:00 PST and ends at 02:00 PDT = 01:00 PST.
  const int64_t dst_start = int64_t{NthSunday(year, 3, 2)} * 86400 + int64_t{2} * 3600;
  const int64_t dst_end = int64_t{NthSunday(year, 11, 1)} * 86400 + int64_t{1} * 3600;
  const int64_t local_s = (pst_s >= dst_start && pst_s < dst_end) ? pst_s + 3600 : pst_s;
  const int64_t local_day = local_s >= 0 ? local_s / 86400 : (local_s - 86399) / 86400;
  return FormatCivilDate(local_day);
}

}  // namespace batchfetch
