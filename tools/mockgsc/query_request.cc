#include "tools/mockgsc/query_request.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>

namespace mockgsc {
namespace {

namespace json = boost::json;

// Returns the canonical spelling of `value` among `allowed` (case-insensitive), or "".
template <size_t N>
std::string Canonical(std::string_view value, const std::array<std::string_view, N>& allowed) {
  for (std::string_view a : allowed) {
    if (a.size() == value.size() &&
        std::equal(a.begin(), a.end(), value.begin(), [](char x, char y) {
          return std::tolower((unsigned char)x) == std::tolower((unsigned char)y);
        })) {
      return std::string(a);
    }
  }
  return "";
}

constexpr std::array<std::string_view, 6> kTypes = {"web",  "image",    "video",
                                                    "news", "discover", "googleNews"};
constexpr std::array<std::string_view, 3> kDataStates = {"final", "all", "hourly_all"};
constexpr std::array<std::string_view, 4> kAggregations = {"auto", "byPage", "byProperty",
                                                           "byNewsShowcasePanel"};
constexpr std::array<std::string_view, 6> kOperators = {
    "equals", "notEquals", "contains", "notContains", "includingRegex", "excludingRegex"};

// Protobuf JSON accepts integers as numbers or decimal strings.
std::optional<int64_t> AsInteger(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= uint64_t(INT64_MAX)) return int64_t(v.get_uint64());
  if (v.is_double() && v.get_double() == double(int64_t(v.get_double()))) {
    return int64_t(v.get_double());
  }
  if (v.is_string()) {
    std::string_view s = v.get_string();
    int64_t out = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) return out;
  }
  return std::nullopt;
}

std::string UnknownField(std::string_view where, std::string_view name) {
  return "Invalid JSON payload received. Unknown name \"" + std::string(name) + "\" at '" +
         std::string(where) + "': Cannot find field.";
}

bool ValidateFilterGroups(const json::value& v, std::string* error) {
  if (!v.is_array()) {
    *error = "Invalid value at 'dimension_filter_groups': expected a list.";
    return false;
  }
  for (const json::value& group : v.get_array()) {
    if (!group.is_object()) {
      *error = "Invalid value at 'dimension_filter_groups': expected an object.";
      return false;
    }
    for (const auto& [key, value] : group.get_object()) {
      if (key == "groupType") {
        if (!value.is_string() ||
            Canonical(value.get_string(), std::array<std::string_view, 1>{"and"}).empty()) {
          *error = "Invalid value at 'dimension_filter_groups.group_type'.";
          return false;
        }
      } else if (key == "filters") {
        if (!value.is_array()) {
          *error = "Invalid value at 'dimension_filter_groups.filters': expected a list.";
          return false;
        }
        for (const json::value& filter : value.get_array()) {
          if (!filter.is_object()) {
            *error = "Invalid value at 'dimension_filter_groups.filters': expected an object.";
            return false;
          }
          bool has_expression = false;
          for (const auto& [fkey, fvalue] : filter.get_object()) {
            if (fkey == "dimension") {
              if (!fvalue.is_string() || !ParseDimension(fvalue.get_string()) ||
                  fvalue.get_string() == "date" || fvalue.get_string() == "hour") {
                *error = "Invalid value at 'dimension_filter_groups.filters.dimension'.";
                return false;
              }
            } else if (fkey == "operator") {
              if (!fvalue.is_string() || Canonical(fvalue.get_string(), kOperators).empty()) {
                *error = "Invalid value at 'dimension_filter_groups.filters.operator'.";
                return false;
              }
            } else if (fkey == "expression") {
              if (!fvalue.is_string()) {
                *error = "Invalid value at 'dimension_filter_groups.filters.expression'.";
                return false;
              }
              has_expression = true;
            } else {
              *error = UnknownField("dimension_filter_groups.filters", fkey);
              return false;
            }
          }
          if (!has_expression) {
            *error = "Filter expression is required.";
            return false;
          }
        }
      } else {
        *error = UnknownField("dimension_filter_groups", key);
        return false;
      }
    }
  }
  return true;
}

}  // namespace

std::optional<QueryRequest> QueryRequest::Parse(std::string_view body, std::string* error) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) {
    *error = "Invalid JSON payload received. Expected an object.";
    return std::nullopt;
  }
  QueryRequest req;
  std::optional<CivilDate> start, end;
  std::string type_field, search_type_field;
  for (const auto& [key, value] : doc.get_object()) {
    if (key == "startDate" || key == "endDate") {
      auto date = value.is_string() ? CivilDate::Parse(value.get_string()) : std::nullopt;
      if (!date) {
        *error = "Invalid value at '" + std::string(key) + "': expected YYYY-MM-DD.";
        return std::nullopt;
      }
      (key == "startDate" ? start : end) = date;
    } else if (key == "dimensions") {
      if (!value.is_array()) {
        *error = "Invalid value at 'dimensions': expected a list.";
        return std::nullopt;
      }
      for (const json::value& d : value.get_array()) {
        auto dim = d.is_string() ? ParseDimension(d.get_string()) : std::nullopt;
        if (!dim) {
          *error = "Invalid value at 'dimensions': unknown dimension " + json::serialize(d) + ".";
          return std::nullopt;
        }
        if (std::find(req.dimensions.begin(), req.dimensions.end(), *dim) != req.dimensions.end()) {
          *error = "Dimension " + json::serialize(d) + " is repeated.";
          return std::nullopt;
        }
        req.dimensions.push_back(*dim);
      }
    } else if (key == "type" || key == "searchType") {
      std::string canonical = value.is_string() ? Canonical(value.get_string(), kTypes) : "";
      if (canonical.empty()) {
        *error = "Invalid value at '" + std::string(key) + "'.";
        return std::nullopt;
      }
      (key == "type" ? type_field : search_type_field) = canonical;
    } else if (key == "rowLimit" || key == "startRow") {
      auto n = AsInteger(value);
      bool is_limit = key == "rowLimit";
      if (!n || (is_limit && (*n < 1 || *n > 25000)) || (!is_limit && *n < 0)) {
        *error = is_limit ? "rowLimit must be between 1 and 25000."
                          : "startRow must be a non-negative integer.";
        return std::nullopt;
      }
      (is_limit ? req.row_limit : req.start_row) = *n;
    } else if (key == "dataState") {
      req.data_state = value.is_string() ? Canonical(value.get_string(), kDataStates) : "";
      if (req.data_state.empty()) {
        *error = "Invalid value at 'data_state'.";
        return std::nullopt;
      }
    } else if (key == "aggregationType") {
      req.aggregation_type = value.is_string() ? Canonical(value.get_string(), kAggregations) : "";
      if (req.aggregation_type.empty()) {
        *error = "Invalid value at 'aggregation_type'.";
        return std::nullopt;
      }
    } else if (key == "dimensionFilterGroups") {
      if (!ValidateFilterGroups(value, error)) return std::nullopt;
    } else {
      *error = UnknownField("", key);
      return std::nullopt;
    }
  }
  if (!start || !end) {
    *error = "startDate and endDate are required.";
    return std::nullopt;
  }
  if (*start > *end) {
    *error = "startDate must not be after endDate.";
    return std::nullopt;
  }
  req.start_date = *start;
  req.end_date = *end;
  if (!type_field.empty() && !search_type_field.empty() && type_field != search_type_field) {
    *error = "type and searchType disagree.";
    return std::nullopt;
  }
  if (!type_field.empty()) req.type = type_field;
  if (!search_type_field.empty()) req.type = search_type_field;
  auto has = [&](Dimension d) {
    return std::find(req.dimensions.begin(), req.dimensions.end(), d) != req.dimensions.end();
  };
  if (req.aggregation_type == "byProperty" && has(Dimension::kPage)) {
    *error =
        "Request contains an invalid argument: aggregationType byProperty is not supported "
        "when grouping by page.";
    return std::nullopt;
  }
  if ((req.type == "discover" || req.type == "googleNews") && has(Dimension::kQuery)) {
    *error =
        "Request contains an invalid argument: the query dimension is not supported for "
        "search type " +
        req.type + ".";
    return std::nullopt;
  }
  return req;
}

}  // namespace mockgsc
