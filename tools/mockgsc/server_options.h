#ifndef TOOLS_MOCKGSC_SERVER_OPTIONS_H_
#define TOOLS_MOCKGSC_SERVER_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tools/mockgsc/civil_date.h"

namespace mockgsc {

// Everything the mockgsc command line configures. Value type.
struct ServerOptions {
  uint16_t port = 0;                   // 0 = any free port.
  uint64_t seed = 1;                   // Data, latency and fault draws.
  double latency_ms = 0;               // Median service delay.
  double latency_p99_ms = -1;          // 99th percentile; < latency_ms means "= latency_ms".
  int64_t qpm = 1200;                  // Quota per window, per site and per bearer token.
  double qpm_window_s = 60;            // Sliding quota window.
  int64_t project_qpm = 0;             // Quota per window over every query request; 0 = none.
  int quota_status = 429;              // 429 or 403.
  std::set<std::string> forbid_sites;  // Sites answered 403 PERMISSION_DENIED (forbidden).
  std::string forbid_message;          // That 403's message; set alone, every site is forbidden.
  std::vector<std::string> sites = {"sc-domain:example.com", "https://www.example.org/",
                                    "sc-domain:example.net"};  // GET /webmasters/v3/sites lists
  // these (siteOwner) and forbid_sites (siteUnverifiedUser).
  double error_rate = 0;    // Fraction of query requests given a random fault.
  int64_t fatal_after = 0;  // 0 = never.
  std::set<std::pair<std::string, int64_t>> fail_pages;  // (YYYY-MM-DD, startRow) -> 500.
  std::string token;                // Required bearer token; empty = no auth check.
  std::string service_account_key;  // JSON key file: enables POST /token; issued tokens
                                    // are then required (besides `token`) on queries.
  std::string refresh_token;        // Enables the refresh-token grant on POST /token for
                                    // this refresh token (any client id and secret).
  int64_t token_lifetime_s = 3600;  // How long an issued token is accepted.
  int64_t rows_per_day = 2000;      // Mean rows of an ordinary day.
  int huge_day_percent = 5;         // Days (in 100) with 60,000 rows (two full pages, truncated).
  int64_t stall_ms = 10000;         // How long a stall fault holds the connection.
  int64_t stall_after = 0;          // 0 = never; else from this request on every non-fatal
                                    // query stalls (for halt tests).
  int threads = 1;                  // io_context threads.
  std::string misbehave;            // --misbehave: answer every query wrongly (misbehavior.h).
  int64_t oversized_mb = 200;       // Body size of --misbehave oversized.
  std::optional<CivilDate> today;   // The freshness rule's "today"; none = the real UTC date.
};

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_SERVER_OPTIONS_H_
