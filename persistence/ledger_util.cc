#include "persistence/ledger_util.h"

#include <optional>

#include "core/civil_date.h"
#include "core/json_escape.h"

namespace batchfetch::ledger_util {
namespace {

// The attempt history keeps this much of each error message.
constexpr std::size_t kMaxErrorChars = 500;

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = text.find(separator, start);
    out.push_back(text.substr(start, at - start));
    if (at == std::string::npos) break;
    start = at + 1;
  }
  return out;
}

}  // namespace

std::string HistoryLine(int attempt, int64_t at_ms, std::string_view error, bool dead) {
  return "{\"attempt\":" + std::to_string(attempt) + ",\"at\":" + std::to_string(at_ms) +
         ",\"dead\":" + (dead ? "true" : "false") + ",\"error\":\"" +
         JsonEscape(error.substr(0, kMaxErrorChars)) + "\"}";
}

std::vector<std::string> SplitCsv(const std::string& csv) { return Split(csv, ','); }

std::vector<std::string> SplitLines(const std::string& text) { return Split(text, '\n'); }

Status ValidateReport(const Report& report) {
  if (report.spec.site.empty()) {
    return Status::Error(Status::Code::kInvalid, "a report needs a site");
  }
  if (report.id != report.spec.Id()) {
    return Status::Error(
        Status::Code::kInvalid,
        "report id " + report.id + " is not the id of its fields (" + report.spec.Id() + ")");
  }
  return Status::Ok();
}

Status ValidateDays(std::span<const std::string> days) {
  for (const std::string& day : days) {
    if (!IsValidDate(day)) {
      return Status::Error(Status::Code::kInvalid,
                           "bad date \"" + JsonEscape(day) + "\" (want YYYY-MM-DD)");
    }
  }
  return Status::Ok();
}

std::vector<std::string> DayRanges(const std::vector<std::string>& dates) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < dates.size()) {
    std::size_t j = i;
    const std::optional<int64_t> first = ParseCivilDate(dates[i]);
    while (first && j + 1 < dates.size()) {
      const std::optional<int64_t> next = ParseCivilDate(dates[j + 1]);
      if (!next || *next != *first + static_cast<int64_t>(j + 1 - i)) break;
      ++j;
    }
    out.push_back(j == i ? dates[i] : dates[i] + ".." + dates[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace batchfetch::ledger_util
