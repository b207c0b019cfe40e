#ifndef TOOLS_MOCKGSC_SERVER_STATS_H_
#define TOOLS_MOCKGSC_SERVER_STATS_H_

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mockgsc {

// Counters behind GET /__stats, about query requests only (not /__stats itself).
// Thread-compatible (the caller locks).
class ServerStats {
 public:
  // A query request arrived; returns its 1-based number.
  int64_t Arrived();
  // A query request's answer has been sent (or its connection dropped).
  void Finished() { --in_flight_; }
  // Counts one answer under `outcome`: an HTTP status ("200") or a fault name ("reset").
  void CountOutcome(std::string_view outcome) { ++by_status_[std::string(outcome)]; }
  void CountQuotaRejection() { ++quota_rejections_; }
  // A page identified by `page_key` was served with data (200).
  void CountPageServed(const std::string& page_key);

  // The /__stats fields owned here: requests, by_status, page_fetches_total,
  // pages_fetched_more_than_once, quota_rejections, in_flight, max_in_flight.
  boost::json::object ToJson() const;

 private:
  int64_t requests_ = 0;
  std::map<std::string, int64_t> by_status_;
  int64_t page_fetches_total_ = 0;
  std::unordered_map<std::string, int64_t> page_fetch_counts_;  // By page key.
  int64_t pages_fetched_more_than_once_ = 0;
  int64_t quota_rejections_ = 0;
  int64_t in_flight_ = 0;
  int64_t max_in_flight_ = 0;
};

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_SERVER_STATS_H_
