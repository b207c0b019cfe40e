#include "coordinator/detail/messages.h"

#include <ctime>

#include "core/clock.h"

namespace batchfetch::detail {

std::string LocalIsoTimeAfter(std::chrono::milliseconds in) {
  const std::time_t t = WallClock::to_time_t(WallClock::now() + in);
  std::tm local{};
  if (localtime_r(&t, &local) == nullptr) return "?";
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &local);
  return n == 0 ? "?" : std::string(buf, n);
}

}  // namespace batchfetch::detail
