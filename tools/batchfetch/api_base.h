#ifndef BATCHFETCH_TOOLS_BATCHFETCH_API_BASE_H_
#define BATCHFETCH_TOOLS_BATCHFETCH_API_BASE_H_

#include <string>

namespace batchfetch {

// What --api-base may be: https:// to any host, or plain http:// to a loopback address
// (127.0.0.0/8, ::1, localhost) for a test server. The URL is parsed, never matched by
// prefix, and a user-info part ("user@") is refused outright: it hides the real host.
struct ApiBaseCheck {
  std::string error;      // one line; "" when the URL may be used
  bool loopback = false;  // the host is a loopback address
};

ApiBaseCheck CheckApiBase(const std::string& url);

}  // namespace batchfetch

#endif  // BATCHFETCH_TOOLS_BATCHFETCH_API_BASE_H_
