#ifndef TOOLS_MOCKGSC_DIMENSION_H_
#define TOOLS_MOCKGSC_DIMENSION_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace mockgsc {

// A Search Analytics grouping dimension, as named in the API request.
enum class Dimension { kDate, kQuery, kPage, kCountry, kDevice, kSearchAppearance, kHour };

// The API name for `dimension` ("searchAppearance", ...).
std::string_view DimensionName(Dimension dimension);
// The dimension whose API name is `name`; nullopt if none.
std::optional<Dimension> ParseDimension(std::string_view name);
// Distinct values a dimension takes within one day; 0 for query and page (unbounded).
int64_t DimensionCardinality(Dimension dimension);
// Parses "date,query,page"; nullopt on an unknown name, a repeat, or an empty item.
// The empty string is the empty list.
std::optional<std::vector<Dimension>> ParseDimensionList(std::string_view csv);

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_DIMENSION_H_
