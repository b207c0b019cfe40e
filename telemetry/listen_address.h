#ifndef BATCHFETCH_TELEMETRY_LISTEN_ADDRESS_H_
#define BATCHFETCH_TELEMETRY_LISTEN_ADDRESS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace batchfetch {

// Where the metrics server listens.
struct ListenAddress {
  std::string host = "127.0.0.1";  // an IP literal (v4, or v6 without brackets)
  uint16_t port = 0;               // 0 = any free port
};

// Parses "PORT", ":PORT", "HOST:PORT" or "[V6]:PORT". A missing host is 127.0.0.1
// (loopback unless the user names another address). nullopt and a one-line *error for
// anything else, including a host that is not an IP literal.
std::optional<ListenAddress> ParseListenAddress(std::string_view text, std::string* error);

}  // namespace batchfetch

#endif  // BATCHFETCH_TELEMETRY_LISTEN_ADDRESS_H_
