#include "tools/mockgsc/dimension.h"

#include <algorithm>
#include <array>
#include <utility>

#include "tools/mockgsc/key_values.h"

namespace mockgsc {
namespace {

constexpr std::array<std::pair<Dimension, std::string_view>, 7> kNames = {{
    {Dimension::kDate, "date"},
    {Dimension::kQuery, "query"},
    {Dimension::kPage, "page"},
    {Dimension::kCountry, "country"},
    {Dimension::kDevice, "device"},
    {Dimension::kSearchAppearance, "searchAppearance"},
    {Dimension::kHour, "hour"},
}};

}  // namespace

std::string_view DimensionName(Dimension dimension) {
  for (const auto& [d, name] : kNames) {
    if (d == dimension) return name;
  }
  return "";
}

std::optional<Dimension> ParseDimension(std::string_view name) {
  for (const auto& [d, n] : kNames) {
    if (n == name) return d;
  }
  return std::nullopt;
}

int64_t DimensionCardinality(Dimension dimension) {
  switch (dimension) {
    case Dimension::kDate:
      return 1;
    case Dimension::kHour:
      return 24;
    case Dimension::kDevice:
      return int64_t(kDevices.size());
    case Dimension::kCountry:
      return int64_t(kCountries.size());
    case Dimension::kSearchAppearance:
      return int64_t(kSearchAppearances.size());
    case Dimension::kQuery:
    case Dimension::kPage:
      return 0;
  }
  return 0;
}

std::optional<std::vector<Dimension>> ParseDimensionList(std::string_view csv) {
  std::vector<Dimension> out;
  if (csv.empty()) return out;
  size_t pos = 0;
  while (true) {
    size_t comma = csv.find(',', pos);
    std::string_view item = csv.substr(pos, comma == csv.npos ? csv.npos : comma - pos);
    auto d = ParseDimension(item);
    if (!d || std::find(out.begin(), out.end(), *d) != out.end()) return std::nullopt;
    out.push_back(*d);
    if (comma == csv.npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace mockgsc
