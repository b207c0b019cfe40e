#ifndef BATCHFETCH_TOOLS_BATCHFETCH_SITE_URL_H_
#define BATCHFETCH_TOOLS_BATCHFETCH_SITE_URL_H_

#include <optional>
#include <string>
#include <string_view>

namespace batchfetch {

// The API names a property two ways only: a domain property "sc-domain:example.com" or a
// URL-prefix property "https://www.example.com/" (http or https, ending in "/"). Returns
// nullopt for a site of either form, else one line (a warning, not an error: the API is
// the judge) saying what to write instead, e.g. for "example.com": "--site example.com is
// neither a domain property nor a URL prefix: write sc-domain:example.com or
// https://example.com/ (batchfetch sites lists yours)".
std::optional<std::string> SiteFormWarning(std::string_view site);

}  // namespace batchfetch

#endif  // BATCHFETCH_TOOLS_BATCHFETCH_SITE_URL_H_
