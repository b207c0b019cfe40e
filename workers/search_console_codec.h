#ifndef BATCHFETCH_WORKERS_SEARCH_CONSOLE_CODEC_H_
#define BATCHFETCH_WORKERS_SEARCH_CONSOLE_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/page.h"

namespace batchfetch {

// The URL of searchAnalytics.query for site under api_base (e.g.
// "https://www.googleapis.com"): .../webmasters/v3/sites/{percent-encoded
// site}/searchAnalytics/query
std::string QueryUrl(std::string_view api_base, std::string_view site);

// The JSON body asking for one page of one day: startDate = endDate = date,
// dimensions, type, dataState, rowLimit, startRow.
std::string QueryBody(const JobSpec& spec, std::string_view date, int64_t start_row);

struct ParsedPage {
  std::vector<Row> rows;              // in the order the API sent them
  std::string first_incomplete_date;  // metadata.firstIncompleteDate, or ""
};

// Parses a 200 response body: `rows` absent means an empty page. Each row's keys are
// mapped onto the Row fields named by dimensions (in order). Returns false and a
// one-line *error for malformed JSON, a wrong shape, a key count that does not match
// the dimensions, or invalid UTF-8. Never throws.
bool ParseQueryResponse(std::string_view body, const std::vector<std::string>& dimensions,
                        ParsedPage* out, std::string* error);

// The dimensions the API knows; a job may name only these.
bool IsKnownDimension(std::string_view dimension);

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_SEARCH_CONSOLE_CODEC_H_
