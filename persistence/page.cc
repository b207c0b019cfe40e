#include "persistence/page.h"

#include <chrono>
#include <cstdio>
#include <optional>

namespace batchfetch {
namespace {

std::optional<std::chrono::year_month_day> ParseDate(std::string_view s) {
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
  const std::chrono::year_month_day ymd{std::chrono::year{*y},
                                        std::chrono::month{static_cast<unsigned>(*m)},
                                        std::chrono::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  return ymd;
}

std::string FormatDate(const std::chrono::year_month_day& ymd) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// FNV-1a, 64 bit: small, stable across platforms and releases.
class Fnv1a64 {
 public:
  // Adds a length-prefixed field, so ("ab","c") and ("a","bc") differ.
  void AddField(std::string_view field) {
    AddBytes(std::to_string(field.size()));
    AddBytes(":");
    AddBytes(field);
  }
  uint64_t value() const { return hash_; }

 private:
  void AddBytes(std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash_ ^= c;
      hash_ *= 0x100000001b3ULL;
    }
  }
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace

std::string JobSpec::DimensionsCsv() const {
  std::string out;
  for (const std::string& d : dimensions) {
    if (!out.empty()) out += ',';
    out += d;
  }
  return out;
}

std::string JobSpec::Id() const {
  Fnv1a64 h;
  h.AddField("batchfetch-job-v1");
  h.AddField(site);
  h.AddField(search_type);
  h.AddField(DimensionsCsv());
  h.AddField(data_state);
  h.AddField(start_date);
  h.AddField(end_date);
  h.AddField(std::to_string(row_limit));
  // Added later: only when set, so the ids of plain jobs stay what they were.
  if (aggregation_type != "auto") h.AddField("aggregation=" + aggregation_type);
  for (const std::string& f : filters) h.AddField("filter=" + f);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h.value()));
  return buf;
}

bool IsValidDate(std::string_view date) { return ParseDate(date).has_value(); }

std::vector<std::string> DaysBetween(std::string_view from, std::string_view to) {
  std::vector<std::string> out;
  const auto first = ParseDate(from), last = ParseDate(to);
  if (!first || !last) return out;
  const std::chrono::sys_days end{*last};
  for (std::chrono::sys_days day{*first}; day <= end; day += std::chrono::days{1}) {
    out.push_back(FormatDate(std::chrono::year_month_day{day}));
  }
  return out;
}

std::string AddDays(std::string_view date, int days) {
  const auto parsed = ParseDate(date);
  if (!parsed) return "";
  return FormatDate(
      std::chrono::year_month_day{std::chrono::sys_days{*parsed} + std::chrono::days{days}});
}

}  // namespace batchfetch
