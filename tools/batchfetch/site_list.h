#ifndef BATCHFETCH_TOOLS_BATCHFETCH_SITE_LIST_H_
#define BATCHFETCH_TOOLS_BATCHFETCH_SITE_LIST_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace batchfetch {

// One property of a sites.list answer.
struct SiteEntry {
  std::string site_url;          // sc-domain:example.com or https://www.example.com/
  std::string permission_level;  // siteOwner, siteFullUser, siteRestrictedUser,
                                 // siteUnverifiedUser
};

// GET {api_base}/webmasters/v3/sites (a trailing '/' on api_base is ignored).
std::string SitesUrl(std::string_view api_base);

// Parses a sites.list answer: {"siteEntry": [{"siteUrl", "permissionLevel"}...]}; an
// absent siteEntry is no property. Returns nullopt and a one-line *error when the body
// is not that shape.
std::optional<std::vector<SiteEntry>> ParseSiteList(std::string_view body, std::string* error);

// The properties as an aligned two-column table under a header line, in the given
// order, each line ending in '\n'; a siteUnverifiedUser line says it reads no data.
// With no entries: one line saying the credential can read no property.
std::string FormatSiteList(const std::vector<SiteEntry>& entries);

}  // namespace batchfetch

#endif  // BATCHFETCH_TOOLS_BATCHFETCH_SITE_LIST_H_
