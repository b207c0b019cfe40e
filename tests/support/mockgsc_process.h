#ifndef TESTS_SUPPORT_MOCKGSC_PROCESS_H_
#define TESTS_SUPPORT_MOCKGSC_PROCESS_H_

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/subprocess.h"

namespace batchfetch::testing {

// A running `$MOCKGSC_BIN --port 0 <args>` for one test; stopped with SIGTERM (then
// SIGKILL after 5 s) on destruction. Used from one thread.
// The integer field key of a JSON object (a /__stats answer, say); throws if absent.
int64_t JsonInt(const boost::json::object& object, std::string_view key);

class MockGsc {
 public:
  // What GET /__expected says a complete fetch of one day stores.
  struct ExpectedDay {
    int64_t rows = 0;
    std::string checksum;    // 16 hex digits; see tests/support/checksum.h.
    bool truncated = false;  // The day had more rows than the 50,000 served.
  };

  // Starts mockgsc and waits (10 s max) for its "listening on" line. Throws
  // std::runtime_error if MOCKGSC_BIN is unset or the server does not come up.
  explicit MockGsc(const std::vector<std::string>& args = {});
  ~MockGsc();
  MockGsc(const MockGsc&) = delete;
  MockGsc& operator=(const MockGsc&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT" (no trailing slash); pass it as the engine's --api-base.
  std::string base_url() const;
  // base_url() + "/webmasters/v3/sites/<encoded site>/searchAnalytics/query".
  std::string QueryUrl(const std::string& site) const;

  // GET /__stats. Throws std::runtime_error on a transport or parse failure.
  boost::json::object Stats() const;
  // GET /__expected for one day. `dimensions` is comma-separated ("date,query,page").
  ExpectedDay Expected(const std::string& site, const std::string& type, const std::string& date,
                       const std::string& dimensions) const;

  // Sends SIGTERM and waits up to `timeout`; returns the exit code (nullopt if still up).
  std::optional<int> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  Subprocess& process() { return *process_; }

 private:
  std::unique_ptr<Subprocess> process_;
  uint16_t port_ = 0;
};

}  // namespace batchfetch::testing

#endif  // TESTS_SUPPORT_MOCKGSC_PROCESS_H_
