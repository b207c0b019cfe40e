#ifndef BATCHFETCH_WORKERS_QUERY_RULES_H_
#define BATCHFETCH_WORKERS_QUERY_RULES_H_

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace batchfetch {

// One dimension filter of searchAnalytics.query (all filters are ANDed in one group).
struct Filter {
  std::string dimension;  // country, device, page, query, searchAppearance
  std::string op;  // equals, notEquals, contains, notContains, includingRegex, excludingRegex
  std::string expression;

  friend bool operator==(const Filter&, const Filter&) = default;
};

// The parts of a query that the API's combination rules are about.
struct QueryShape {
  std::string type = "web";  // web, image, video, news, discover, googleNews
  std::vector<std::string>
      dimensions;  // date, query, page, country, device, searchAppearance, hour
  std::string aggregation_type = "auto";  // auto, byPage, byProperty, byNewsShowcasePanel
  std::string data_state = "final";       // final, all, hourly_all
  std::vector<Filter> filters;
};

// Parses the command-line form "dimension:operator:expression" (the expression may hold
// further colons: "page:contains:https://x/"). Checks only the form and the names; the
// value rules are ValidateQuery's. Returns nullopt and a one-line *error otherwise.
std::optional<Filter> ParseFilter(std::string_view text, std::string* error);

// Applies the API's own rules to shape, so a query it would answer 400 is refused before
// anything is sent. Returns nullopt when valid, else one line saying what to change.
// Rules: known names; no duplicate dimension; byProperty not with a page dimension or
// filter, nor with discover/googleNews; byNewsShowcasePanel only with discover/googleNews,
// a `searchAppearance:equals:NEWS_SHOWCASE` filter, no other searchAppearance filter and
// no page dimension or filter; discover/googleNews have no query dimension or filter;
// searchAppearance cannot be grouped with another dimension; hour needs data_state
// hourly_all; regex operators only on page and query; expressions 1..4096 characters;
// country equals/notEquals an ISO 3166-1 alpha-3 code; device equals/notEquals
// DESKTOP, MOBILE or TABLET.
std::optional<std::string> ValidateQuery(const QueryShape& shape);

// Adds "aggregationType" (unless "auto") and "dimensionFilterGroups" (one "and" group,
// when there are filters) to a request body. REQUIRES: ValidateQuery(shape) passed.
void AddQueryExtras(const QueryShape& shape, boost::json::object* body);

// The same on serialized JSON: body (the codec's QueryBody output) with the extras added.
// Returns body unchanged when there is nothing to add; "" if body is not a JSON object.
std::string WithQueryExtras(std::string_view body, const QueryShape& shape);

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_QUERY_RULES_H_
