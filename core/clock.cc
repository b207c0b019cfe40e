#include "core/clock.h"

namespace batchfetch {

const SteadyClock& SteadyClock::Instance() {
  static const SteadyClock clock;
  return clock;
}

}  // namespace batchfetch
