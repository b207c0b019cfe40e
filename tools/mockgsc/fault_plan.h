#ifndef TOOLS_MOCKGSC_FAULT_PLAN_H_
#define TOOLS_MOCKGSC_FAULT_PLAN_H_

#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace mockgsc {

// A transport or server failure injected instead of a normal answer.
enum class Fault {
  kNone,
  kInternalError,    // 500 with a JSON error body.
  kUnavailable,      // 503 with Retry-After: 1.
  kTooManyRequests,  // 429 with Retry-After: 1 (a quota-looking transient).
  kReset,            // The connection is reset without an answer.
  kTruncatedBody,    // Full Content-Length announced, half the body sent, then close.
  kMalformedJson,    // 200 whose body is not JSON.
  kStall,            // Nothing is sent for --stall-ms, then the connection closes.
};

// Decides which query requests fail: --fatal-after, --fail-page and --error-rate.
// Random draws come from a seeded generator, so a run is reproducible for a given order of
// arrivals. Thread-compatible (the caller locks).
class FaultPlan {
 public:
  struct Options {
    uint64_t seed = 1;
    double error_rate = 0;    // Fraction of requests given a random fault.
    int64_t fatal_after = 0;  // 0 = never; else the request number from which 403s start.
    std::set<std::pair<std::string, int64_t>> fail_pages;  // (YYYY-MM-DD, startRow).
  };

  explicit FaultPlan(Options options);

  // Parses "YYYY-MM-DD:START_ROW"; nullopt if malformed.
  static std::optional<std::pair<std::string, int64_t>> ParseFailPage(std::string_view text);

  // True if the 1-based query request number `n` must get the permission-denied 403.
  bool IsFatal(int64_t n) const { return options_.fatal_after > 0 && n >= options_.fatal_after; }
  // True if the page (date, start_row) always fails with 500.
  bool IsFailPage(const std::string& date, int64_t start_row) const;
  // Draws whether this request fails and how (uniform over the fault kinds).
  Fault Draw();

  // The name /__stats uses for a fault that has no HTTP status ("reset", ...); "" otherwise.
  static std::string_view OutcomeName(Fault fault);

 private:
  const Options options_;
  std::mt19937_64 rng_;
};

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_FAULT_PLAN_H_
