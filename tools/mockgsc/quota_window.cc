#include "tools/mockgsc/quota_window.h"

#include <algorithm>

namespace mockgsc {

QuotaWindow::QuotaWindow(Duration window) : window_(window) {}

int64_t QuotaWindow::Arrive(const std::string& key, Duration now) {
  KeyState& state = keys_[key];
  while (!state.arrivals.empty() && state.arrivals.front() <= now - window_) {
    state.arrivals.pop_front();
  }
  state.arrivals.push_back(now);
  const auto count = int64_t(state.arrivals.size());
  state.max_in_window = std::max(state.max_in_window, count);
  max_overall_ = std::max(max_overall_, count);
  return count;
}

std::map<std::string, int64_t> QuotaWindow::MaxByKey() const {
  std::map<std::string, int64_t> out;
  for (const auto& [key, state] : keys_) out[key] = state.max_in_window;
  return out;
}

}  // namespace mockgsc
