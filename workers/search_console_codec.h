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
// dimensions, type, dataState, rowLimit = row_limit, startRow, and the report's
// aggregationType (unless auto) and filters. REQUIRES: the spec's filters parse
// (ParseFilter); one that does not is left out.
std::string QueryBody(const ReportSpec& spec, std::string_view date, int64_t start_row,
                      int64_t row_limit);

struct ParsedPage {
  std::vector<Row> rows;              // in the order the API sent them
  std::string first_incomplete_date;  // metadata.firstIncompleteDate, or ""
};

// What a request asked for, so that its answer can be checked against it.
struct QueryExpectation {
  std::vector<std::string> dimensions;  // in the request's order
  std::string date;                     // the requested day; "" = not checked
  int64_t row_limit = 0;                // rowLimit asked; 0 = not checked
};

// Parses a 200 response body: `rows` absent means an empty page. Each row's keys are
// mapped onto the Row fields named by the dimensions (in order). Returns false, no rows
// and a one-line *error for malformed JSON, a wrong shape, invalid UTF-8, or an answer
// that does not match its request: a key count other than the dimensions', a row dated
// another day than expect.date (when "date" is a dimension), more rows than
// expect.row_limit (refused before any row is converted), clicks or impressions that are
// not finite non-negative integers, ctr outside [0, 1], a position that is not finite or
// negative. Never throws.
bool ParseQueryResponse(std::string_view body, const QueryExpectation& expect, ParsedPage* out,
                        std::string* error);

// The same with only the dimensions checked against the request (date and row count
// unchecked): for tools that parse an answer without its request.
bool ParseQueryResponse(std::string_view body, const std::vector<std::string>& dimensions,
                        ParsedPage* out, std::string* error);

// The dimensions the API knows; a job may name only these.
bool IsKnownDimension(std::string_view dimension);

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_SEARCH_CONSOLE_CODEC_H_
