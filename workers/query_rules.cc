#include "workers/query_rules.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>

namespace batchfetch {
namespace {

namespace json = boost::json;

constexpr size_t kMaxExpression = 4096;

constexpr std::array<std::string_view, 6> kTypes = {"web",  "image",    "video",
                                                    "news", "discover", "googleNews"};
constexpr std::array<std::string_view, 7> kDimensions = {
    "date", "query", "page", "country", "device", "searchAppearance", "hour"};
constexpr std::array<std::string_view, 5> kFilterDimensions = {"country", "device", "page", "query",
                                                               "searchAppearance"};
constexpr std::array<std::string_view, 6> kOperators = {
    "equals", "notEquals", "contains", "notContains", "includingRegex", "excludingRegex"};
constexpr std::array<std::string_view, 4> kAggregations = {"auto", "byPage", "byProperty",
                                                           "byNewsShowcasePanel"};
constexpr std::array<std::string_view, 3> kDataStates = {"final", "all", "hourly_all"};
constexpr std::array<std::string_view, 3> kDevices = {"DESKTOP", "MOBILE", "TABLET"};

// ISO 3166-1 alpha-3 (Debian iso-codes), plus the codes Search Console itself reports:
// XKK (Kosovo) and ZZZ (unknown region).
constexpr std::string_view kCountries =
    "ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES "
    "BFA BGD BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE "
    "CHL CHN CIV CMR COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK "
    "DOM DZA ECU EGY ERI ESH ESP EST ETH FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB "
    "GIN GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN IND "
    "IOT IRL IRN IRQ ISL ISR ITA JAM JEY JOR JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN "
    "LBR LBY LCA LIE LKA LSO LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT "
    "MMR MNE MNG MNP MOZ MRT MSR MTQ MUS MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR "
    "NPL NRU NZL OMN PAK PAN PCN PER PHL PLW PNG POL PRI PRK PRT PRY PSE PYF QAT REU ROU "
    "RUS RWA SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK SVN "
    "SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA "
    "UKR UMI URY USA UZB VAT VCT VEN VGB VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE "
    "XKK ZZZ ";

template <size_t N>
bool OneOf(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

template <size_t N>
std::string List(const std::array<std::string_view, N>& names) {
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool IsCountryCode(std::string_view code) {
  if (code.size() != 3) return false;
  for (char c : code) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return false;
  }
  return kCountries.find(Upper(code) + ' ') != std::string_view::npos;
}

bool IsNewsSurface(std::string_view type) { return type == "discover" || type == "googleNews"; }

std::string Quote(std::string_view text) { return "'" + std::string(text) + "'"; }

// The filter's dimension, operator and expression are present and known.
std::optional<std::string> CheckFilterForm(const Filter& f) {
  if (!OneOf(kFilterDimensions, f.dimension)) {
    return "filter dimension " + Quote(f.dimension) + " is not one of " + List(kFilterDimensions);
  }
  if (!OneOf(kOperators, f.op)) {
    return "filter operator " + Quote(f.op) + " is not one of " + List(kOperators);
  }
  if (f.expression.empty()) {
    return "filter " + Quote(f.dimension + ":" + f.op + ":") + " has an empty expression";
  }
  return std::nullopt;
}

// The rules that concern one filter alone.
std::optional<std::string> ValidateFilter(const Filter& f) {
  if (auto problem = CheckFilterForm(f)) return problem;
  const std::string name = Quote(f.dimension + ":" + f.op + ":...");
  if (f.expression.size() > kMaxExpression) {
    return "filter " + name + " expression is " + std::to_string(f.expression.size()) +
           " characters; the API allows at most 4096";
  }
  const bool regex = f.op == "includingRegex" || f.op == "excludingRegex";
  if (regex && f.dimension != "page" && f.dimension != "query") {
    return "filter " + name +
           ": regex operators work only on page and query; use equals or "
           "notEquals for " +
           f.dimension;
  }
  const bool exact = f.op == "equals" || f.op == "notEquals";
  if (exact && f.dimension == "country" && !IsCountryCode(f.expression)) {
    return "filter country:" + f.op + ":" + f.expression.substr(0, 40) +
           ": a country is an ISO 3166-1 alpha-3 code such as USA, FRA or DEU";
  }
  if (exact && f.dimension == "device" && !OneOf(kDevices, Upper(f.expression))) {
    return "filter device:" + f.op + ":" + f.expression.substr(0, 40) +
           ": a device is DESKTOP, MOBILE or TABLET";
  }
  return std::nullopt;
}

}  // namespace

std::optional<Filter> ParseFilter(std::string_view text, std::string* error) {
  const size_t first = text.find(':');
  const size_t second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) {
    *error = "filter " + Quote(text.substr(0, 60)) +
             " is not dimension:operator:expression (e.g. query:contains:shoes)";
    return std::nullopt;
  }
  Filter f{std::string(text.substr(0, first)),
           std::string(text.substr(first + 1, second - first - 1)),
           std::string(text.substr(second + 1))};
  if (auto problem = CheckFilterForm(f)) {
    *error = *problem;
    return std::nullopt;
  }
  return f;
}

std::optional<std::string> ValidateQuery(const QueryShape& q) {
  if (!OneOf(kTypes, q.type)) return "type " + Quote(q.type) + " is not one of " + List(kTypes);
  if (!OneOf(kAggregations, q.aggregation_type)) {
    return "aggregation type " + Quote(q.aggregation_type) + " is not one of " +
           List(kAggregations);
  }
  if (!OneOf(kDataStates, q.data_state)) {
    return "data state " + Quote(q.data_state) + " is not one of " + List(kDataStates);
  }
  for (size_t i = 0; i < q.dimensions.size(); ++i) {
    const std::string& d = q.dimensions[i];
    if (!OneOf(kDimensions, d)) {
      return "dimension " + Quote(d) + " is not one of " + List(kDimensions);
    }
    const auto seen_end = q.dimensions.begin() + static_cast<std::ptrdiff_t>(i);
    if (std::find(q.dimensions.begin(), seen_end, d) != seen_end) {
      return "dimension " + Quote(d) + " is listed twice; name each dimension once";
    }
  }
  for (const Filter& f : q.filters) {
    if (auto problem = ValidateFilter(f)) return problem;
  }

  auto has_dimension = [&](std::string_view d) {
    return std::find(q.dimensions.begin(), q.dimensions.end(), d) != q.dimensions.end();
  };
  auto has_filter_on = [&](std::string_view d) {
    return std::any_of(q.filters.begin(), q.filters.end(),
                       [&](const Filter& f) { return f.dimension == d; });
  };

  if (has_dimension("searchAppearance") && q.dimensions.size() > 1) {
    return "searchAppearance cannot be grouped with other dimensions; use it alone, or filter "
           "on it (searchAppearance:equals:VALUE) and group by the others";
  }
  if (has_dimension("hour") && q.data_state != "hourly_all") {
    return "the hour dimension needs --data-state hourly_all";
  }
  if (IsNewsSurface(q.type) && has_dimension("query")) {
    return "type " + q.type + " has no query dimension; remove query from --dimensions";
  }
  if (IsNewsSurface(q.type) && has_filter_on("query")) {
    return "type " + q.type + " has no query dimension; remove the query filter";
  }
  if (q.aggregation_type == "byProperty") {
    if (has_dimension("page")) {
      return "aggregation type byProperty cannot be used with the page dimension; remove page "
             "from --dimensions or use --aggregation-type auto or byPage";
    }
    if (has_filter_on("page")) {
      return "aggregation type byProperty cannot be used with a page filter; remove the filter "
             "or use --aggregation-type auto or byPage";
    }
    if (IsNewsSurface(q.type)) {
      return "aggregation type byProperty is not supported for type " + q.type +
             "; use --aggregation-type auto or byPage";
    }
  }
  if (q.aggregation_type == "byNewsShowcasePanel") {
    if (!IsNewsSurface(q.type)) {
      return "aggregation type byNewsShowcasePanel needs --type discover or googleNews (not " +
             q.type + ")";
    }
    if (has_dimension("page") || has_filter_on("page")) {
      return "aggregation type byNewsShowcasePanel cannot be used with a page dimension or "
             "filter; remove page";
    }
    bool showcase = false;
    for (const Filter& f : q.filters) {
      if (f.dimension != "searchAppearance") continue;
      if (f.op == "equals" && f.expression == "NEWS_SHOWCASE") {
        showcase = true;
      } else {
        return "aggregation type byNewsShowcasePanel allows no searchAppearance filter other "
               "than searchAppearance:equals:NEWS_SHOWCASE";
      }
    }
    if (!showcase) {
      return "aggregation type byNewsShowcasePanel needs the filter "
             "searchAppearance:equals:NEWS_SHOWCASE";
    }
  }
  return std::nullopt;
}

void AddQueryExtras(const QueryShape& shape, json::object* body) {
  if (!shape.aggregation_type.empty() && shape.aggregation_type != "auto") {
    (*body)["aggregationType"] = shape.aggregation_type;
  }
  if (shape.filters.empty()) return;
  json::array filters;
  for (const Filter& f : shape.filters) {
    filters.push_back(
        json::object{{"dimension", f.dimension}, {"operator", f.op}, {"expression", f.expression}});
  }
  (*body)["dimensionFilterGroups"] =
      json::array{json::object{{"groupType", "and"}, {"filters", std::move(filters)}}};
}

std::string WithQueryExtras(std::string_view body, const QueryShape& shape) {
  const bool nothing =
      (shape.aggregation_type.empty() || shape.aggregation_type == "auto") && shape.filters.empty();
  if (nothing) return std::string(body);
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return "";
  AddQueryExtras(shape, &doc.get_object());
  return json::serialize(doc);
}

}  // namespace batchfetch
