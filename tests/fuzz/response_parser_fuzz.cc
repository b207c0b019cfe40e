// libFuzzer target: ParseQueryResponse and Classify on arbitrary bodies.
//
// Input layout: byte 0 picks the HTTP status (and transport failure), byte 1 is a bitmask
// of the dimensions asked for, byte 2 (mod 32) is the length of a Retry-After value that
// follows; the rest is the body. Beyond "no crash, no sanitizer report" it checks the
// contracts: errors and reasons are one line, reasons are bounded and valid UTF-8, parsed
// keys are valid UTF-8, a failed parse leaves no rows, only 2xx is kNone.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "workers/error_classifier.h"
#include "workers/search_console_codec.h"

namespace {

using batchfetch::Classification;
using batchfetch::HttpResponse;

constexpr std::array<long, 14> kStatuses = {200, 204, 400, 401, 403, 403, 404,
                                            408, 429, 500, 502, 503, 302, 0};
constexpr std::array<const char*, 7> kDimensions = {"date",    "hour",   "query",           "page",
                                                    "country", "device", "searchAppearance"};

bool ValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const long status = kStatuses[data[0] % kStatuses.size()];
  std::vector<std::string> dimensions;
  for (std::size_t d = 0; d < kDimensions.size(); ++d) {
    if (data[1] & (1u << d)) dimensions.emplace_back(kDimensions[d]);
  }
  std::size_t retry_len = data[2] % 32;
  data += 3;
  size -= 3;
  if (retry_len > size) retry_len = size;
  const std::string_view retry_after(reinterpret_cast<const char*>(data), retry_len);
  const std::string_view body(reinterpret_cast<const char*>(data) + retry_len, size - retry_len);

  batchfetch::ParsedPage page;
  std::string error;
  if (batchfetch::ParseQueryResponse(body, dimensions, &page, &error)) {
    for (const batchfetch::Row& row : page.rows) {
      Check(ValidUtf8(row.query) && ValidUtf8(row.page));
    }
  } else {
    Check(!error.empty() && error.find('\n') == std::string::npos);
    Check(page.rows.empty());
  }

  HttpResponse response;
  response.status = status;
  response.body.assign(body);
  response.retry_after.assign(retry_after);
  if (status == 0) {
    response.curl_code = 28;
    response.error = "Operation timed out";
  }
  const Classification c = batchfetch::Classify(response, batchfetch::WallClock::now());
  Check(c.reason.find('\n') == std::string::npos && c.reason.size() <= 260 && ValidUtf8(c.reason));
  Check((c.kind == batchfetch::ErrorKind::kNone) == (status >= 200 && status < 300));
  if (c.retry_after) Check(c.retry_after->count() >= 0);
  return 0;
}
