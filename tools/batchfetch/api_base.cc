#include "tools/batchfetch/api_base.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace batchfetch {

ApiBaseCheck CheckApiBase(const std::string& url) {
  ApiBaseCheck out;
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    out.error = "--api-base '" + url + "' is not a URL (example: https://www.googleapis.com)";
    return out;
  }
  const boost::urls::url_view u = *parsed;
  const std::string scheme(u.scheme());
  if (scheme != "https" && scheme != "http") {
    out.error = "--api-base '" + url + "' must start with https://";
    return out;
  }
  if (u.has_userinfo()) {
    out.error = "--api-base must not hold a user name or password ('user@host'): it hides the host";
    return out;
  }
  switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
      out.loopback = u.host_ipv4_address().is_loopback();
      break;
    case boost::urls::host_type::ipv6:
      out.loopback = u.host_ipv6_address().is_loopback();
      break;
    case boost::urls::host_type::name:
      out.loopback = u.encoded_host() == "localhost";
      break;
    default:
      break;
  }
  // Boost.URL 1.81 reads "http://127.0.0.1.evil.com/" as host 127.0.0.1 and path
  // ".evil.com/": a path that does not start with '/' means the host was misread.
  const auto path = u.encoded_path();
  if (!path.empty() && path.front() != '/') {
    out.error = "--api-base '" + url + "' has an unusual host; write it as https://HOST[:PORT]";
    out.loopback = false;
  } else if (u.encoded_host().empty()) {
    out.error = "--api-base '" + url + "' has no host";
  } else if (scheme == "http" && !out.loopback) {
    out.error =
        "--api-base '" + url + "' must be https:// (plain http:// only for a loopback test server)";
  }
  return out;
}

}  // namespace batchfetch
