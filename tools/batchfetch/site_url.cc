#include "tools/batchfetch/site_url.h"

#include <algorithm>
#include <cctype>

namespace batchfetch {
namespace {

constexpr std::string_view kDomainPrefix = "sc-domain:";
constexpr std::string_view kHint = " (batchfetch sites lists yours)";

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

// A plausible host name: letters, digits, '-', '.', ':' (a port), at least one dot or
// "localhost"; no spaces, slashes or schemes.
bool LooksLikeHost(std::string_view host) {
  if (host.empty()) return false;
  for (char c : host) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '-' && c != '.' && c != ':' && c != '_' && u < 0x80) {
      return false;
    }
  }
  const std::string_view name = host.substr(0, host.find(':'));
  return name.find('.') != std::string_view::npos || name == "localhost";
}

std::string_view StripScheme(std::string_view url) {
  for (std::string_view scheme : {"https://", "http://"}) {
    if (StartsWithNoCase(url, scheme)) return url.substr(scheme.size());
  }
  return url;
}

}  // namespace

std::optional<std::string> SiteFormWarning(std::string_view site) {
  const std::string quoted = "--site " + std::string(site);
  if (StartsWithNoCase(site, kDomainPrefix)) {
    const std::string_view name = site.substr(kDomainPrefix.size());
    if (LooksLikeHost(name)) return std::nullopt;
    // sc-domain:https://www.example.com/ -> sc-domain:www.example.com
    std::string_view host = StripScheme(name);
    host = host.substr(0, host.find('/'));
    if (LooksLikeHost(host)) {
      return quoted + " is not a domain property: write sc-domain:" + std::string(host) +
             " (a bare domain, no scheme or path)" + std::string(kHint);
    }
    return quoted + " is not a domain property: write sc-domain:example.com" + std::string(kHint);
  }
  const std::string_view rest = StripScheme(site);
  if (rest.size() != site.size()) {
    const std::string_view host = rest.substr(0, rest.find('/'));
    if (!LooksLikeHost(host)) {
      return quoted + " has no host name: write https://www.example.com/ or " +
             "sc-domain:example.com" + std::string(kHint);
    }
    if (site.back() == '/') return std::nullopt;
    return quoted + " is not a URL-prefix property: a URL prefix ends in /, write " +
           std::string(site) + "/" + std::string(kHint);
  }
  // No scheme and no sc-domain: a bare domain, perhaps with a path.
  const std::string_view host = site.substr(0, site.find('/'));
  if (LooksLikeHost(host)) {
    std::string prefix = "https://" + std::string(site);
    if (prefix.back() != '/') prefix += '/';
    return quoted +
           " is neither a domain property nor a URL prefix: write sc-domain:" + std::string(host) +
           " or " + prefix + std::string(kHint);
  }
  return quoted +
         " is neither a domain property nor a URL prefix: write sc-domain:example.com or "
         "https://www.example.com/" +
         std::string(kHint);
}

}  // namespace batchfetch
