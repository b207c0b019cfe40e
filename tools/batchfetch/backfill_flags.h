#ifndef BATCHFETCH_TOOLS_BATCHFETCH_BACKFILL_FLAGS_H_
#define BATCHFETCH_TOOLS_BATCHFETCH_BACKFILL_FLAGS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/run_options.h"
#include "core/report.h"
#include "telemetry/listen_address.h"

namespace batchfetch {

// Everything `batchfetch backfill` was told, validated.
struct BackfillFlags {
  Job job;  // every --site x --type, in the order given; from, to, row limit, refresh days
  RunOptions run;
  std::string today;  // the API's day the run counts from: ApiDay(now) or --today
  std::string db = "batchfetch.db";
  std::string api_base = "https://www.googleapis.com";
  std::string token;             // never logged
  std::string token_cmd;         // --token-cmd: prints a token (gcloud auth print-access-token)
  std::string credentials;       // --credentials: a service-account key or authorized_user file
  std::string subject;           // --subject: the user a service account acts as (delegation)
  std::string quota_project;     // --quota-project: x-goog-user-project on every API request
  bool token_from_flag = false;  // given with --token (visible in ps)
  double qpm = 1200;
  double qpm_utilization = 0.8;
  double qpm_window_s = 60;
  std::string quota_user;      // --quota-user: names the principal's quota key
  double project_qpm = 40000;  // hidden --project-qpm: the API's per-project limit, per
                               // --qpm-window like --qpm (tests scale it down)
  double request_timeout_s = 60;
  std::string log_format = "console";
  std::string log_level = "info";
  std::string progress = "auto";
  std::optional<ListenAddress> metrics;  // --metrics-addr; none = no metrics server
  double metrics_hold_s = 0;             // keep serving /metrics this long after the run
  std::string audit_log;                 // --audit-log path; "" = none
  bool dry_run = false;                  // --dry-run: print the plan, write and send nothing
  bool json = false;                     // --json: the end-of-run summary as one JSON object
  std::vector<std::string> warnings;     // legal but suspicious input, to log once
  bool appearance_second_pass = false;   // --preset by-search-appearance: after the first
                                         // pass, one report per appearance found

  // floor(qpm x utilization), at least 1.
  long Budget() const;
};

// What the environment says about credentials (BATCHFETCH_TOKEN,
// GOOGLE_APPLICATION_CREDENTIALS, the gcloud ADC file); "" when unset.
struct CredentialEnv {
  std::string token;
  std::string credentials;
  std::string adc_path;  // $HOME/.config/gcloud/application_default_credentials.json if present
};

// The environment variable that sets --flag_name (long name without dashes):
// "max-concurrency" -> "BATCHFETCH_MAX_CONCURRENCY". --token's is BATCHFETCH_TOKEN, read
// through CredentialEnv.
std::string FlagEnvName(std::string_view flag_name);

// Parses and validates argv (argv[0] = "backfill"). Every flag also comes from its
// FlagEnvName variable and from a --config TOML file (`max-concurrency = 4`); a flag on
// the command line wins over the environment, which wins over the file, which wins over
// the default. Returns nullopt to go on, or the
// exit code to return at once: 0 after --help, 1 with a one-line *error for bad input
// (then out->log_format alone is set, as far as it was read, to print the error in).
// api_today is ApiDay(now), the API's day (--today overrides it).
std::optional<int> ParseBackfillFlags(int argc, char** argv, const CredentialEnv& env,
                                      const std::string& api_today, BackfillFlags* out,
                                      std::string* error);

// The usage example printed after every input error.
const char* BackfillExample();

// The last day the API has data for on api_today (YYYY-MM-DD, the API's day): the day
// before for data state "final", the day itself for "all" and "hourly_all" (fresh data).
std::string LastDayWithData(std::string_view api_today, std::string_view data_state);

}  // namespace batchfetch

#endif  // BATCHFETCH_TOOLS_BATCHFETCH_BACKFILL_FLAGS_H_
