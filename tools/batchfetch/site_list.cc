#include "tools/batchfetch/site_list.h"

#include <algorithm>
#include <boost/json.hpp>

namespace batchfetch {
namespace {

namespace json = boost::json;

constexpr std::string_view kHeader = "PROPERTY";

}  // namespace

std::string SitesUrl(std::string_view api_base) {
  if (!api_base.empty() && api_base.back() == '/') api_base.remove_suffix(1);
  return std::string(api_base) + "/webmasters/v3/sites";
}

std::optional<std::vector<SiteEntry>> ParseSiteList(std::string_view body, std::string* error) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) {
    *error = "the sites answer is not a JSON object";
    return std::nullopt;
  }
  std::vector<SiteEntry> out;
  const json::value* list = doc.get_object().if_contains("siteEntry");
  if (!list) return out;
  if (!list->is_array()) {
    *error = "the sites answer's siteEntry is not an array";
    return std::nullopt;
  }
  for (const json::value& item : list->get_array()) {
    const json::object* entry = item.if_object();
    const json::value* url = entry ? entry->if_contains("siteUrl") : nullptr;
    const json::value* level = entry ? entry->if_contains("permissionLevel") : nullptr;
    if (!url || !url->is_string() || url->get_string().empty()) {
      *error = "a siteEntry of the sites answer has no siteUrl";
      return std::nullopt;
    }
    out.push_back({std::string(url->get_string()),
                   level && level->is_string() ? std::string(level->get_string()) : ""});
  }
  return out;
}

std::string FormatSiteList(const std::vector<SiteEntry>& entries) {
  if (entries.empty()) return "this credential can read no Search Console property\n";
  size_t width = kHeader.size();
  for (const SiteEntry& e : entries) width = std::max(width, e.site_url.size());
  auto line = [width](std::string_view left, std::string_view right) {
    std::string out(left);
    out.append(width + 2 - left.size(), ' ');
    out += right;
    return out + '\n';
  };
  std::string out = line(kHeader, "PERMISSION");
  for (const SiteEntry& e : entries) {
    out += line(e.site_url, e.permission_level == "siteUnverifiedUser"
                                ? "siteUnverifiedUser (not verified: no data)"
                                : e.permission_level);
  }
  return out;
}

}  // namespace batchfetch
