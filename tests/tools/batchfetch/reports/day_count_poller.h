#ifndef TESTS_TOOLS_BATCHFETCH_REPORTS_DAY_COUNT_POLLER_H_
#define TESTS_TOOLS_BATCHFETCH_REPORTS_DAY_COUNT_POLLER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace batchfetch::testing {

// A reader beside a running batchfetch: on its own thread, over one connection (sqlite3
// read-only or libpq), runs `SELECT COUNT(*) FROM search_analytics WHERE report_id = ? AND
// date = ?` every `interval_ms` until Stop(), and tallies every count it saw.
// Thread rule: construct, Stop() and read results from one thread.
class DayCountPoller {
 public:
  // Starts polling at once. target: a SQLite path or a postgresql:// URI.
  DayCountPoller(std::string target, std::string report_id, std::string date, int interval_ms = 2);
  ~DayCountPoller();
  DayCountPoller(const DayCountPoller&) = delete;
  DayCountPoller& operator=(const DayCountPoller&) = delete;

  // Stops and joins the thread. Idempotent.
  void Stop();

  // count -> times seen. REQUIRES: Stop() was called.
  const std::map<int64_t, int64_t>& seen() const { return seen_; }
  int64_t polls() const { return polls_; }
  // The first database error, "" when none.
  const std::string& error() const { return error_; }

 private:
  void Loop();
  void LoopSqlite(const std::string& sql);
  void LoopPostgres(const std::string& sql);

  const std::string target_;
  const std::string report_id_;
  const std::string date_;
  const int interval_ms_;
  std::atomic<bool> stop_{false};
  std::map<int64_t, int64_t> seen_;  // written by the thread only until joined
  int64_t polls_ = 0;
  std::string error_;
  std::thread thread_;
};

}  // namespace batchfetch::testing

#endif  // TESTS_TOOLS_BATCHFETCH_REPORTS_DAY_COUNT_POLLER_H_
