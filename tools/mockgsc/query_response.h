#ifndef TOOLS_MOCKGSC_QUERY_RESPONSE_H_
#define TOOLS_MOCKGSC_QUERY_RESPONSE_H_

#include <string>

#include "tools/mockgsc/civil_date.h"
#include "tools/mockgsc/data_generator.h"
#include "tools/mockgsc/query_request.h"

namespace mockgsc {

// The 200 body for `request` against `site`: the page [startRow, startRow + rowLimit) of
// the requested days' rows (each day capped at DataGenerator::kDailyRowCap, then all merged
// by clicks desc, ties in date order then day rank). `rows` is omitted when the page is
// empty. With dataState all/hourly_all, metadata.firstIncompleteDate is the first requested
// day within the last 3 days (today - 2 .. today), omitted if there is none, and those
// days serve their provisional rows (DataGenerator::ProvisionalDay), not the final ones.
std::string RenderQueryResponse(const QueryRequest& request, const std::string& site,
                                DataGenerator& generator, CivilDate today);

// True when a query with data_state is served day's provisional rows: dataState all or
// hourly_all and day on/after today - 2 (the first incomplete date).
bool IsProvisional(const std::string& data_state, CivilDate day, CivilDate today);

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_QUERY_RESPONSE_H_
