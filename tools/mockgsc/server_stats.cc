#include "tools/mockgsc/server_stats.h"

#include <algorithm>

namespace mockgsc {

int64_t ServerStats::Arrived() {
  ++in_flight_;
  max_in_flight_ = std::max(max_in_flight_, in_flight_);
  return ++requests_;
}

void ServerStats::CountPageServed(const std::string& page_key) {
  ++page_fetches_total_;
  if (++page_fetch_counts_[page_key] == 2) ++pages_fetched_more_than_once_;
}

boost::json::object ServerStats::ToJson() const {
  boost::json::object by_status;
  for (const auto& [outcome, n] : by_status_) by_status[outcome] = n;
  return {{"requests", requests_},
          {"by_status", std::move(by_status)},
          {"page_fetches_total", page_fetches_total_},
          {"pages_fetched_more_than_once", pages_fetched_more_than_once_},
          {"quota_rejections", quota_rejections_},
          {"in_flight", in_flight_},
          {"max_in_flight", max_in_flight_}};
}

}  // namespace mockgsc
