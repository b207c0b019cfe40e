#include "telemetry/listen_address.h"

#include <boost/asio/ip/address.hpp>

namespace batchfetch {

std::optional<ListenAddress> ParseListenAddress(std::string_view text, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<ListenAddress> {
    *error = "--metrics-addr '" + std::string(text) + "': " + why +
             " (examples: 9464, :9464, 127.0.0.1:9464, [::1]:9464)";
    return std::nullopt;
  };
  ListenAddress out;
  std::string_view port_text = text;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail("expected [V6]:PORT");
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else if (const std::size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    if (text.find(':') != colon) return fail("write an IPv6 address in brackets");
    if (colon > 0) out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5) return fail("the port must be 0..65535");
  unsigned long port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return fail("the port must be 0..65535");
    port = port * 10 + static_cast<unsigned long>(c - '0');
  }
  if (port > 65535) return fail("the port must be 0..65535");
  out.port = static_cast<uint16_t>(port);
  boost::system::error_code ec;
  boost::asio::ip::make_address(out.host, ec);
  if (ec) return fail("'" + out.host + "' is not an IP address");
  return out;
}

}  // namespace batchfetch
