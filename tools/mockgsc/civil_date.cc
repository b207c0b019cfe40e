#include "tools/mockgsc/civil_date.h"

#include <chrono>
#include <cstdio>

namespace mockgsc {

std::optional<CivilDate> CivilDate::Parse(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto digits = [&](size_t pos, size_t len) -> std::optional<int> {
    int value = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  auto y = digits(0, 4), m = digits(5, 2), d = digits(8, 2);
  if (!y || !m || !d) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year{*y}, std::chrono::month{unsigned(*m)},
                                  std::chrono::day{unsigned(*d)}};
  if (!ymd.ok()) return std::nullopt;
  return CivilDate(std::chrono::sys_days(ymd).time_since_epoch().count());
}

CivilDate CivilDate::Today() {
  auto now = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  return CivilDate(now.time_since_epoch().count());
}

std::string CivilDate::ToString() const {
  std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days_}}};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", int(ymd.year()), unsigned(ymd.month()),
                unsigned(ymd.day()));
  return buf;
}

}  // namespace mockgsc
