#ifndef BATCHFETCH_TOOLS_BATCHFETCH_BACKFILL_FLAGS_H_
#define BATCHFETCH_TOOLS_BATCHFETCH_BACKFILL_FLAGS_H_

#include <optional>
#include <string>
#include <vector>

#include "coordinator/run_options.h"
#include "core/page.h"
#include "telemetry/listen_address.h"

namespace batchfetch {

// Everything `batchfetch backfill` was told, validated.
struct BackfillFlags {
  JobSpec spec;               // the first job; every job differs only in site and type
  std::vector<JobSpec> jobs;  // one per --site x --type, in the order given
  RunOptions run;
  std::string db = "batchfetch.db";
  std::string api_base = "https://www.googleapis.com";
  std::string token;        // never logged
  std::string token_cmd;    // --token-cmd: prints a token (e.g. gcloud auth print-access-token)
  std::string credentials;  // --credentials: a service-account JSON key file
  bool token_from_flag = false;  // given with --token (visible in ps)
  double qpm = 1200;
  double qpm_utilization = 0.8;
  double qpm_window_s = 60;
  double request_timeout_s = 60;
  std::string log_format = "console";
  std::string log_level = "info";
  std::string progress = "auto";
  std::optional<ListenAddress> metrics;  // --metrics-addr; none = no metrics server
  double metrics_hold_s = 0;             // keep serving /metrics this long after the run
  std::string audit_log;                 // --audit-log path; "" = none
  int refresh_days = 3;                  // --refresh-days: finished days on/after today - N (and
                                         // provisional days) are fetched again
  std::vector<std::string> warnings;     // legal but suspicious input, to log once

  // floor(qpm x utilization), at least 1.
  long Budget() const;
};

// Parses and validates argv (argv[0] = "backfill"). Returns nullopt to go on, or the
// exit code to return at once: 0 after --help, 1 with a one-line *error (and the usage
// example appended) for bad input. env_token is BATCHFETCH_TOKEN ("" if unset);
// today is YYYY-MM-DD, to judge the 16-month retention.
std::optional<int> ParseBackfillFlags(int argc, char** argv, const std::string& env_token,
                                      const std::string& today, BackfillFlags* out,
                                      std::string* error);

// The usage example printed after every input error.
const char* BackfillExample();

// True for a real calendar date written YYYY-MM-DD.
bool IsValidDate(const std::string& date);

}  // namespace batchfetch

#endif  // BATCHFETCH_TOOLS_BATCHFETCH_BACKFILL_FLAGS_H_
