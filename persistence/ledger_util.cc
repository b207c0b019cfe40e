#include "persistence/ledger_util.h"

#include <cstdio>

namespace batchfetch::ledger_util {
namespace {

// The attempt history keeps this much of each error message.
constexpr std::size_t kMaxErrorChars = 500;

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

}  // namespace

std::string HistoryLine(int attempt, int64_t at_ms, std::string_view error, bool dead) {
  std::string line = "{\"attempt\":" + std::to_string(attempt) +
                     ",\"at\":" + std::to_string(at_ms) + ",\"dead\":" + (dead ? "true" : "false") +
                     ",\"error\":";
  AppendJsonString(error.substr(0, kMaxErrorChars), &line);
  line += '}';
  return line;
}

std::vector<std::string> SplitCsv(const std::string& csv) {
  std::vector<std::string> out;
  if (csv.empty()) return out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = csv.find(',', start);
    out.push_back(csv.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

Status ValidateJob(const Job& job, std::vector<std::string>* days) {
  // The API caps rowLimit at this many rows per request.
  constexpr int kMaxRowLimit = 25000;
  const JobSpec& spec = job.spec;
  if (job.id.empty() || spec.site.empty()) {
    return Status::Error(Status::Code::kInvalid, "a job needs an id and a site");
  }
  if (spec.row_limit < 1 || spec.row_limit > kMaxRowLimit) {
    return Status::Error(Status::Code::kInvalid, "row limit " + std::to_string(spec.row_limit) +
                                                     " is outside 1.." +
                                                     std::to_string(kMaxRowLimit));
  }
  *days = DaysBetween(spec.start_date, spec.end_date);
  if (days->empty()) {
    return Status::Error(Status::Code::kInvalid, "bad date range " + spec.start_date + " .. " +
                                                     spec.end_date +
                                                     " (want YYYY-MM-DD, from <= to)");
  }
  return Status::Ok();
}

}  // namespace batchfetch::ledger_util
