#ifndef TOOLS_MOCKGSC_QUERY_REQUEST_H_
#define TOOLS_MOCKGSC_QUERY_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/mockgsc/civil_date.h"
#include "tools/mockgsc/dimension.h"

namespace mockgsc {

// A validated searchAnalytics.query request body. Value type.
struct QueryRequest {
  CivilDate start_date;
  CivilDate end_date;  // >= start_date.
  std::vector<Dimension> dimensions;
  std::string type = "web";               // web, image, video, news, discover, googleNews.
  int64_t row_limit = 1000;               // 1..25000.
  int64_t start_row = 0;                  // >= 0.
  std::string data_state = "final";       // final, all, hourly_all.
  std::string aggregation_type = "auto";  // auto, byPage, byProperty, byNewsShowcasePanel.

  // Parses and validates a JSON request body. On failure returns nullopt and sets *error to
  // the message of the 400 the API would send. dimensionFilterGroups are validated, not
  // applied.
  static std::optional<QueryRequest> Parse(std::string_view body, std::string* error);
};

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_QUERY_REQUEST_H_
